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
# Everything lives in target/ardour-bounce/: Ardour runs with HOME=target/ardour-bounce/home, so it
# uses a fresh configuration and plugin cache, finds the bundle in home/.vst3/, and the plugin
# records into its default folder, home/Spectral Diffusion/. The frames folder is the one holding
# the newest manifest.json under home/, whatever the plugin names its subfolders.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-10.3}
rate=48000
session_name=bounce
ardour_lib=${ARDOUR_LIB:-/usr/lib/ardour7}   # where Debian puts ardour-vst3-scanner
work=$PWD/target/ardour-bounce
home=$work/home
session_dir=$work/$session_name
song=$work/song.wav
bounce=$work/export.wav
cli_out=$work/cli

elapsed() { awk -v from="$1" -v to="$EPOCHREALTIME" 'BEGIN { printf "%.1f", to - from }'; }

# Ardour with its own home: fresh config, no stray plugins, frames recorded under $home.
ardour() {
    env HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_CACHE_HOME="$home/.cache" \
        XDG_DATA_HOME="$home/.local/share" "$@"
}
# Runs bench/ardour-session.lua for one step, showing only its own lines (Ardour's are in the log).
session_step() {
    local log=$work/ardour-$1.log
    if ! STEP=$1 SESSION_DIR=$session_dir SESSION_NAME=$session_name SAMPLE_RATE=$rate \
        NUM_SAMPLES=$num_samples ardour timeout 300 ardour7-lua bench/ardour-session.lua \
        >"$log" 2>&1; then
        grep -E '^(error|Error):' "$log" || tail -n 5 "$log"
        echo "ardour7-lua failed at step $1 (log: $log)"
        exit 1
    fi
}

for tool in ardour7-lua ardour7-export python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "$tool is missing (apt-get install ardour python3)"
        exit 1
    fi
done
rm -rf "$work"
mkdir -p "$home"

start=$EPOCHREALTIME
if ! nice -n 19 cargo xtask bundle spectral-diffusion --release >"$work/build.log" 2>&1; then
    tail -n 20 "$work/build.log"
    echo "the build failed (log: $work/build.log)"
    exit 1
fi
echo "build: $(elapsed "$start") s (target/bundled/, target/release/spectral-diffusion)"

# Installed as `cargo xtask install` would, into the home Ardour runs with. ardour7-lua only reads
# the plugin cache: scan the bundle into it, as the GUI's scan would. Ardour trusts a cache entry
# only when it is newer than the plugin, to the second: the copy is dated back.
vst3=$home/.vst3/Spectral\ Diffusion.vst3
mkdir -p "$home/.vst3"
cp -r "target/bundled/Spectral Diffusion.vst3" "$vst3"
find "$vst3" -exec touch -d '-2 seconds' {} +
if ! ardour LD_LIBRARY_PATH="$ardour_lib" "$ardour_lib/ardour-vst3-scanner" -f -q "$vst3" \
    >"$work/vst3-scan.log" 2>&1; then
    cat "$work/vst3-scan.log"
    echo "Ardour's VST3 scanner rejects the bundle"
    exit 1
fi

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
num_samples=$(python3 -c 'import sys, wave; print(wave.open(sys.argv[1]).getnframes())' "$song")

# The session: a track, its region (Ardour 7's Lua API cannot import files, so the region goes
# into the session file, as Ardour writes it after an embed), then the plugin, armed.
start=$EPOCHREALTIME
session_step create
audiofiles=$(echo "$session_dir"/interchange/*/audiofiles)
cp "$song" "$audiofiles/"
python3 - "$session_dir/$session_name.ardour" "$(basename "$song")" <<'EOF'
import sys
import xml.etree.ElementTree as ET

session_file, wav_name = sys.argv[1], sys.argv[2]
tree = ET.parse(session_file)
root = tree.getroot()
# The range marker over the song (in Ardour's own time encoding) becomes the session range.
marker = root.find("Locations/Location")
marker.set("name", "session")
marker.set("flags", "IsSessionRange")
root.set("session-range-is-free", "0")
next_id = 1 + max(int(e.get("id")) for e in root.iter() if (e.get("id") or "").isdigit())
region = {
    "name": wav_name.rsplit(".", 1)[0], "id": str(next_id), "type": "audio",
    "position": "a0", "start": "a0", "length": marker.get("end") + "@a0", "channels": "2",
}
sources = root.find("Sources")
for channel in range(2):
    source_id = str(next_id + 1 + channel)
    ET.SubElement(sources, "Source", {
        "name": wav_name, "type": "audio", "flags": "", "id": source_id,
        "channel": str(channel), "origin": "",
    })
    region[f"source-{channel}"] = region[f"master-source-{channel}"] = source_id
root.set("id-counter", str(next_id + 3))
track = next(r for r in root.iter("Route") if r.get("name") == "Song")
playlist = next(p for p in root.iter("Playlist") if p.get("id") == track.get("audio-playlist"))
ET.SubElement(playlist, "Region", region)
tree.write(session_file, encoding="UTF-8", xml_declaration=True)
EOF
session_step finish
echo "session: $(elapsed "$start") s ($session_dir)"

start=$EPOCHREALTIME
if ! ardour timeout 600 ardour7-export -b float -o "$bounce" "$session_dir" "$session_name" \
    >"$work/ardour-export.log" 2>&1; then
    tail -n 5 "$work/ardour-export.log"
    echo "ardour7-export failed (log: $work/ardour-export.log)"
    exit 1
fi
echo "export: $(elapsed "$start") s ($bounce)"

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

# Byte for byte: the same PNG names on both sides, the same bytes in each, the same CSV.
recorded_frames=$(cd "$recorded/frames" 2>/dev/null && find . -name '*.png' | sort || true)
cli_frames=$(cd "$cli_out/frames" && find . -name '*.png' | sort)
num_frames=$(echo "$cli_frames" | grep -c . || true)
num_recorded=$(echo "$recorded_frames" | grep -c . || true)
problems=()
if [ "$recorded_frames" != "$cli_frames" ]; then
    only_plugin=$(comm -23 <(echo "$recorded_frames") <(echo "$cli_frames"))
    only_cli=$(comm -13 <(echo "$recorded_frames") <(echo "$cli_frames"))
    # "N only by WHO, first NAME"
    only_by() {
        printf '%s only by %s' "$(echo "$1" | grep -c . || true)" "$2"
        [ -z "$1" ] || printf ', first %s' "$(echo "$1" | head -n 1 | cut -c3-)"
    }
    detail="$(only_by "$only_plugin" "the plugin"); $(only_by "$only_cli" "the CLI")"
    problems+=("plugin wrote $num_recorded frames, CLI $num_frames ($detail)")
fi
differing=0
first_differing=
while read -r frame; do
    if [ -n "$frame" ] && [ -f "$recorded/frames/$frame" ] &&
        ! cmp -s "$recorded/frames/$frame" "$cli_out/frames/$frame"; then
        differing=$((differing + 1))
        first_differing=${first_differing:-${frame#./}}
    fi
done <<<"$cli_frames"
if [ "$differing" -gt 0 ]; then
    problems+=("$differing frames differ (first: $first_differing)")
fi
if ! cmp -s "$recorded/spectrum.csv" "$cli_out/spectrum.csv"; then
    first_difference=$(cmp "$recorded/spectrum.csv" "$cli_out/spectrum.csv" 2>&1 || true)
    problems+=("spectrum.csv differs: $first_difference")
fi

if [ ${#problems[@]} -eq 0 ]; then
    echo "$num_frames frames, identical ($recorded vs $cli_out)"
else
    message=$(printf '%s; ' "${problems[@]}")
    echo "MISMATCH: ${message%; } ($recorded vs $cli_out)"
    exit 1
fi
