#!/usr/bin/env bash
# A session across tracks in a real DAW: three stems (Drums, Bass, Keys) on three tracks of a
# headless Ardour 7 session, the Spectral Diffusion VST3 armed on each, one bounce. Then checks:
# - `session.json` in the plugin's folder lists three lanes, and every lane holds byte for byte
#   the frames and spectrum.csv that `spectral-diffusion render` makes from one stem;
# - each lane's `transport.csv` has Ardour's tempo (120 bpm), and a `beats` lane of `schedule`
#   pulses on exactly the frames that hold the beats (every 12th frame at 24 fps);
# - `compose --red/--green/--blue` makes one RGB guide per frame.
# Prints one verdict line; exits 1 on any difference.
#
# Usage: bench/ardour-tracks.sh [SECONDS]     (default 10.3 s)
# Needs: Debian's ardour package (ardour7-lua, ardour7-export), python3.
# Everything lives in target/ardour-tracks/ (see bench/ardour-common.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-10.3}
work=$PWD/target/ardour-tracks
stems=$work/stems
cli=target/release/spectral-diffusion
source bench/ardour-common.sh

build_and_install

# Three stereo 16-bit stems of one length, each starting and ending with 128 samples of silence,
# so Ardour's 64-sample region fades change nothing and each track plays its stem exactly.
mkdir -p "$stems"
python3 - "$stems" "$rate" "$seconds" <<'EOF'
import math, struct, sys, wave
folder, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
num_samples = int(rate * seconds)
PAD = 128
f0, f1 = 40.0, 16000.0
k = math.log(f1 / f0) / seconds
stems = {
    # A kick every 0.5 s: a 55 Hz thump with a click.
    "Drums": lambda t: 0.8 * math.exp(-(t % 0.5) * 30) * math.sin(2 * math.pi * 55 * (t % 0.5))
    + 0.3 * math.exp(-(t % 0.5) * 200) * math.sin(2 * math.pi * 3000 * (t % 0.5)),
    # A bass line: 110 Hz, then 82.4 Hz, each for a second.
    "Bass": lambda t: 0.4 * math.sin(2 * math.pi * (110.0 if int(t) % 2 == 0 else 82.4) * t),
    # A sweep over the whole range.
    "Keys": lambda t: 0.3 * math.sin(2 * math.pi * f0 * (math.exp(k * t) - 1) / k),
}
for name, wave_at in stems.items():
    frames = bytearray()
    for i in range(num_samples):
        value = 0.0 if i < PAD or i >= num_samples - PAD else wave_at(i / rate)
        sample = round(value * 32767)
        frames += struct.pack("<hh", sample, sample)
    with wave.open(f"{folder}/{name}.wav", "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
EOF

make_session Drums="$stems/Drums.wav" Bass="$stems/Bass.wav" Keys="$stems/Keys.wav"
export_bounce

session="$home/Spectral Diffusion"
problems=()
if [ ! -f "$session/session.json" ]; then
    echo "the plugin wrote no session.json in $session"
    exit 1
fi
lanes=$(python3 -c 'import json, sys
print("\n".join(lane["name"] for lane in json.load(open(sys.argv[1]))["lanes"]))' \
    "$session/session.json")
if [ "$(echo "$lanes" | grep -c .)" -ne 3 ]; then
    problems+=("session.json lists $(echo "$lanes" | grep -c .) lanes, not 3")
fi

# Each lane is one stem's render, and each stem is some lane's.
start=$EPOCHREALTIME
matched_stems=()
num_frames=0
for stem in Drums Bass Keys; do
    "$cli" render "$stems/$stem.wav" --out "$work/cli/$stem" --quiet
done
echo "render: $(elapsed "$start") s ($work/cli)"
while read -r lane; do
    match=
    for stem in Drums Bass Keys; do
        saved=("${problems[@]}")
        compare_folders "$session/$lane" "$work/cli/$stem"
        if [ ${#problems[@]} -eq ${#saved[@]} ]; then
            match=$stem
            num_frames=$compared_frames
            break
        fi
        problems=("${saved[@]}")
    done
    if [ -z "$match" ]; then
        problems+=("lane $lane equals no stem's render")
    else
        matched_stems+=("$lane=$match")
    fi
done <<<"$lanes"

# Ardour's grid: 120 bpm from the session start, a beat every 12 frames.
first_lane=$(echo "$lanes" | head -n 1)
if ! python3 - "$session/$first_lane/transport.csv" <<'EOF'; then
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
tempos = {float(row["tempo_bpm"]) for row in rows}
if tempos != {120.0}:
    sys.exit(f"transport.csv: tempos {sorted(tempos)}, not 120")
EOF
    problems+=("transport.csv is not Ardour's 120 bpm")
fi
"$cli" schedule "$session" --lane beat=beats,release_ms=0 --out "$work/schedule" --quiet
if ! python3 - "$work/schedule/schedule.csv" "$num_frames" <<'EOF'; then
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
pulses = [int(row["frame"]) for row in rows if float(row["beat"]) == 1.0]
wanted = list(range(0, int(sys.argv[2]), 12))
if pulses != wanted:
    sys.exit(f"beats on frames {pulses[:6]}…, wanted {wanted[:6]}…")
EOF
    problems+=("the beat lane misses Ardour's beats")
fi

lane_list=$(echo "$lanes" | paste -sd' ')
read -r red green blue <<<"$lane_list"
"$cli" compose "$session" --red "$red" --green "$green" --blue "$blue" --out "$work/composite"
num_composite=$(find "$work/composite/frames" -name '*.png' | wc -l)
if [ "$num_composite" -ne "$num_frames" ]; then
    problems+=("compose wrote $num_composite frames, not $num_frames")
fi

if [ ${#problems[@]} -eq 0 ]; then
    echo "3 lanes (${matched_stems[*]}), $num_frames frames each, identical to the stems' renders;" \
        "beats every 12 frames; $num_composite RGB frames ($session)"
else
    message=$(printf '%s; ' "${problems[@]}")
    echo "MISMATCH: ${message%; } ($session)"
    exit 1
fi
