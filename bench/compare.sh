#!/usr/bin/env bash
# Side by side on one WAV and one machine: this CLI, the post's Python pipeline
# (bench/seed_reference.py) and ffmpeg's showcqt, each writing 512x512 PNGs at 24 fps.
# Prints wall time, peak memory, the ratios, and how far our `seed` preset's CSV is from Python's.
# Absolute times drift between runs; ratios do not.
#
# Usage: bench/compare.sh [IN.wav]
#   default input: 180 s of sweeps and kicks, written by bench/make_test_wav.py
# Environment:
#   SPECTRAL_DIFFUSION=path  use this binary instead of building target/release/spectral-diffusion
#   SKIP_PYTHON_IMAGES=1     skip Python's image render (the slowest row: minutes of both cores)
# Needs: python3 with venv (numpy, scipy and pillow are installed into target/bench-venv),
# GNU time, bc; ffmpeg for the showcqt row (skipped when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
work=target/compare
mkdir -p "$work"

venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q numpy scipy pillow
fi
input=${1:-$work/test.wav}
if [ ! -f "$input" ]; then
    "$venv/bin/python" bench/make_test_wav.py "$input"
fi
ours=${SPECTRAL_DIFFUSION:-}
if [ -z "$ours" ]; then
    cargo build --release -q
    ours=target/release/spectral-diffusion
fi

# run NAME COMMAND...: wall seconds and peak RSS (MB) into $work/NAME.time
run() {
    local name=$1
    shift
    rm -rf "${work:?}/$name"
    mkdir -p "$work/$name"
    /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" >/dev/null 2>&1
    read -r seconds kilobytes <"$work/$name.time"
    printf '%-22s %8.2f s %8.0f MB  %6d PNGs\n' "$name" "$seconds" "$((kilobytes / 1024))" \
        "$(find "$work/$name" -name '*.png' | wc -l)"
}
seconds_of() { cut -d' ' -f1 "$work/$1.time"; }
ratio() { echo "scale=1; $(seconds_of "$1") / $(seconds_of "$2")" | bc; }

echo "input: $input ($("$ours" info "$input" | awk '/^duration:/ { print $2 }') s)"
run ours "$ours" render "$input" --out "$work/ours" --quiet
run ours-csv-only "$ours" render "$input" --out "$work/ours-csv-only" --csv-only --quiet
run ours-seed "$ours" render "$input" --out "$work/ours-seed" --preset seed --quiet
run python-csv-only "$venv/bin/python" bench/seed_reference.py "$input" "$work/python-csv-only" --no-images
if command -v ffmpeg >/dev/null; then
    run ffmpeg-showcqt ffmpeg -nostdin -y -i "$input" -filter_complex \
        "showcqt=s=512x512:fps=24:bar_h=512:axis_h=0:sono_h=0,format=gray" -r 24 "$work/ffmpeg-showcqt/%06d.png"
else
    rm -f "$work/ffmpeg-showcqt.time"
    echo "ffmpeg-showcqt         skipped: ffmpeg is not installed"
fi
if [ -z "${SKIP_PYTHON_IMAGES:-}" ]; then
    run python-jobs2 "$venv/bin/python" bench/seed_reference.py "$input" "$work/python-jobs2" --jobs 2
else
    rm -f "$work/python-jobs2.time"
fi

echo
if [ -f "$work/ffmpeg-showcqt.time" ]; then
    echo "showcqt / ours:                  $(ratio ffmpeg-showcqt ours)x"
fi
echo "python CSV-only / ours CSV-only: $(ratio python-csv-only ours-csv-only)x"
if [ -f "$work/python-jobs2.time" ]; then
    echo "python --jobs 2 / ours:          $(ratio python-jobs2 ours)x"
fi
frames=$(find "$work/ours/frames" -name '*.png' | wc -l)
echo "ours: $(echo "scale=0; $frames / $(seconds_of ours)" | bc) frames/s"
# Our CSV has a header and frame/time columns, and one more frame (the zero-padded tail).
"$venv/bin/python" - "$work/ours-seed/spectrum.csv" "$work/python-csv-only/frames.csv" <<'EOF'
import sys
import numpy as np
ours = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)[:, 2:]
python = np.loadtxt(sys.argv[2], delimiter=",", ndmin=2)
n = len(python)
error = np.abs(ours[:n] - python).max() / np.abs(python).max()
print(f"seed preset vs python: largest difference {error:.1e} of the largest value, over {n} frames")
EOF
