#!/usr/bin/env bash
# `spectral-diffusion schedule` over a 1-hour song's CSV (86 400 frames x 256 bins at 24 fps,
# about 220 MB of text): wall time and peak memory (GNU time's maximum resident set size).
# Target: under 1 s and under 100 MB. Not a test: the figures depend on the machine.
#
# Usage: bench/schedule.sh
# Environment:
#   SPECTRAL_DIFFUSION=path  use this binary instead of building target/release/spectral-diffusion
# Needs: python3, GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
work=target/bench-schedule
mkdir -p "$work"
bin=${SPECTRAL_DIFFUSION:-}
if [ -z "$bin" ]; then
    cargo build --release -q
    bin=target/release/spectral-diffusion
fi
if [ ! -f "$work/hour/spectrum.csv" ]; then
    "$bin" render --demo --csv-only --out "$work/demo" --quiet
    python3 bench/make_hour_csv.py "$work/demo" "$work/hour" --seconds 3600
fi
echo "input: $(du -h "$work/hour/spectrum.csv" | cut -f1) CSV, $(($(wc -l < "$work/hour/spectrum.csv") - 1)) frames"
for run in 1 2 3; do
    /usr/bin/time -f "run $run: %e s wall, %U s user, %M KB max resident" \
        "$bin" schedule "$work/hour" --quiet \
        --lane kick=30-120,release_ms=150 \
        --lane hats=6000-16000,attack_ms=10,release_ms=80 \
        --lane level=loudness,curve=exp \
        --lane hits=onsets:30-120 \
        --target strength_schedule=kick,min=0.45,max=0.75,invert \
        --target zoom_schedule=hits,min=1,max=1.04 \
        --target angle_schedule=hats,min=-2,max=2
done
ls -l "$work/hour"
