#!/usr/bin/env bash
# Issue 18's Ogg cases at full length, against the reference decoder (libvorbis's oggdec):
#   - a 10-minute mono 22.05 kHz Ogg that ffmpeg (libvorbis) concatenates from three MP3 songs,
#   - a stereo 44.1 kHz Ogg from ffmpeg at -q:a 6.
# For each: `info --verify` must exit 0 (no damage) with oggdec's duration, and `render
# --csv-only` of the Ogg is compared with the same render of oggdec's WAV (16-bit, so the spectra
# differ by that rounding) and of ffmpeg's float decode: rows, and the largest and mean absolute
# difference of the bin values. (tests/decode_reference.rs checks the samples themselves.)
#
# Usage: bench/decode-reference.sh
# Environment:
#   SPECTRAL_DIFFUSION=path  use this binary instead of building target/release/spectral-diffusion
# Needs: ffmpeg (libvorbis, libmp3lame), oggdec (vorbis-tools), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
work=target/decode-reference
mkdir -p "$work"

bin=${SPECTRAL_DIFFUSION:-}
if [ -z "$bin" ]; then
    cargo build --release --bin spectral-diffusion
    bin=target/release/spectral-diffusion
fi

# Three "songs" of different lengths and keys as MP3s: a chord, pink noise and a pulse.
for i in 1 2 3; do
    song="$work/song$i.mp3"
    [ -f "$song" ] && continue
    seconds=$((180 + 15 * i))
    freq=$((110 * (i + 1)))
    ffmpeg -v error -y \
        -f lavfi -i "sine=f=$freq:d=$seconds" \
        -f lavfi -i "sine=f=$((freq * 5 / 4)):d=$seconds" \
        -f lavfi -i "anoisesrc=d=$seconds:c=pink:a=0.2:r=44100" \
        -filter_complex "[0][1][2]amix=inputs=3,tremolo=f=$i:d=0.6,volume=0.8,aformat=sample_rates=44100:channel_layouts=stereo" \
        -c:a libmp3lame -q:a 2 "$song"
done

cat_list="$work/songs.txt"
printf "file 'song1.mp3'\nfile 'song2.mp3'\nfile 'song3.mp3'\n" >"$cat_list"
ffmpeg -v error -y -f concat -safe 0 -i "$cat_list" -ac 1 -ar 22050 -c:a libvorbis \
    "$work/concat-mono-22k.ogg"
ffmpeg -v error -y -i "$work/song1.mp3" -ac 2 -ar 44100 -c:a libvorbis -q:a 6 \
    "$work/stereo-44k.ogg"

status=0
for name in concat-mono-22k stereo-44k; do
    ogg="$work/$name.ogg"
    wav="$work/$name.oggdec.wav"
    oggdec -Q -o "$wav" "$ogg"
    echo "== $name.ogg"
    if "$bin" info --verify "$ogg" >"$work/$name.info.txt"; then
        echo "info --verify: exit 0"
    else
        echo "info --verify: exit $? (FAIL)"
        status=1
    fi
    grep -E '^(duration|damage)' "$work/$name.info.txt"
    "$bin" info --verify "$wav" | grep -E '^duration' | sed 's/^/oggdec WAV /'
    ffmpeg -v error -y -i "$ogg" -c:a pcm_f32le "$work/$name.ffmpeg.wav"
    for decoded in "$ogg" "$wav" "$work/$name.ffmpeg.wav"; do
        rm -rf "$decoded.out"
        "$bin" render "$decoded" --csv-only --quiet --out "$decoded.out"
    done
    # oggdec's WAV is 16-bit; ffmpeg's own Vorbis decoder writes floats, so its row shows how much
    # of oggdec's difference is that rounding.
    python3 - "$ogg.out" "$wav.out" "$work/$name.ffmpeg.wav.out" <<'EOF' || status=1
import csv, sys

def rows(folder):
    with open(f"{folder}/spectrum.csv") as f:
        reader = csv.reader(f)
        next(reader)
        return [[float(x) for x in row[2:]] for row in reader]

ours = rows(sys.argv[1])
for label, folder in [("oggdec (16-bit)", sys.argv[2]), ("ffmpeg (float)", sys.argv[3])]:
    reference = rows(folder)
    diffs = [abs(a - b) for r, s in zip(ours, reference) for a, b in zip(r, s)]
    print(f"spectrum.csv vs {label}: {len(ours)} rows vs {len(reference)}; bin values: "
          f"max |diff| {max(diffs):.3g}, mean |diff| {sum(diffs) / len(diffs):.3g}, "
          f"{sum(d == 0 for d in diffs) / len(diffs):.1%} identical")
    if len(ours) != len(reference):
        sys.exit(1)
EOF
done
exit $status
