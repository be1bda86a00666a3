#!/usr/bin/env bash
# The plugin in a real DAW: bounce a test song through the Spectral Diffusion VST3 in a headless
# Ardour 7 session, then check that the guide frames the plugin recorded during the export are byte
# for byte the ones `spectral-diffusion render` makes from the exported WAV (every PNG in frames/
# and spectrum.csv), and that Ardour's export is the song itself (the plugin passes audio through).
# Prints one verdict line; exits 1 on any difference.
#
# Usage: bench/ardour-bounce.sh [SECONDS]     (default 10.3 s: a stereo sweep + click test song)
# Needs: Debian's ardour package (ardour7-lua, ardour7-export), python3.
#
# Everything lives in target/ardour-bounce/ (see bench/ardour-common.sh). The frames folder is the
# one holding the newest manifest.json under home/, whatever the plugin names its subfolders.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-10.3}
work=$PWD/target/ardour-bounce
song=$work/song.wav
cli_out=$work/cli
source bench/ardour-common.sh

build_and_install

# A stereo 16-bit test song: an exponential sine sweep 40 Hz..16 kHz on the left, a click every
# 0.5 s over a 110 Hz tone on the right. Its length is no whole number of video frames, so the
# zero-padded last frame is checked too.
python3 - "$song" "$rate" "$seconds" <<'EOF'
import math, struct, sys, wave
path, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
num_samples = int(rate * seconds)
f0, f1 = 40.0, 16000.0
k = math.log(f1 / f0) / seconds
frames = bytearray()
for i in range(num_samples):
    t = i / rate
    sweep = 0.5 * math.sin(2 * math.pi * f0 * (math.exp(k * t) - 1) / k)
    beat = t % 0.5
    click = 0.7 * math.exp(-beat * 60) * math.sin(2 * math.pi * 1000 * beat)
    tone = 0.25 * math.sin(2 * math.pi * 110 * t)
    frames += struct.pack("<hh", round(sweep * 32767), round((click + tone) * 32767))
with wave.open(path, "wb") as out:
    out.setnchannels(2)
    out.setsampwidth(2)
    out.setframerate(rate)
    out.writeframes(bytes(frames))
EOF
make_session "Song=$song"
export_bounce

# The bounce is the song: same length, same samples, except under the region's 64-sample fades.
python3 - "$song" "$bounce" <<'EOF'
import struct, sys, wave
song_path, bounce_path = sys.argv[1], sys.argv[2]
FADE = 64
with wave.open(song_path) as song:
    n = song.getnframes()
    expected = [s / 32768.0 for s in struct.unpack(f"<{2 * n}h", song.readframes(n))]
data = open(bounce_path, "rb").read()
pos, fmt, samples = 12, None, None
while pos + 8 <= len(data):
    chunk, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
    body = data[pos + 8:pos + 8 + size]
    if chunk == b"fmt ":
        fmt = struct.unpack("<HHIIHH", body[:16])
    elif chunk == b"data":
        samples = struct.unpack(f"<{size // 4}f", body)
    pos += 8 + size + (size & 1)
if fmt is None or fmt[0] != 3 or fmt[1] != 2 or fmt[5] != 32 or samples is None:
    sys.exit(f"the bounce is not a stereo 32-bit float WAV: fmt {fmt}")
if len(samples) != len(expected):
    sys.exit(f"the bounce has {len(samples) // 2} samples per channel, the song {n}")
inner = range(2 * FADE, 2 * (n - FADE))
changed = sum(1 for i in inner if samples[i] != expected[i])
if changed:
    sys.exit(f"the bounce differs from the song in {changed} samples outside the region fades")
EOF

manifest=$(find "$home" -name manifest.json -not -path "$home/.*" -printf '%T@ %p\n' |
    sort -n | tail -n 1 | cut -d' ' -f2-)
if [ -z "$manifest" ]; then
    echo "the plugin recorded nothing: no manifest.json under $home"
    exit 1
fi
recorded=$(dirname "$manifest")

start=$EPOCHREALTIME
target/release/spectral-diffusion render "$bounce" --out "$cli_out" --quiet
echo "render: $(elapsed "$start") s ($cli_out)"

problems=()
compare_folders "$recorded" "$cli_out"
if [ ${#problems[@]} -eq 0 ]; then
    echo "$compared_frames frames, identical ($recorded vs $cli_out)"
else
    message=$(printf '%s; ' "${problems[@]}")
    echo "MISMATCH: ${message%; } ($recorded vs $cli_out)"
    exit 1
fi
