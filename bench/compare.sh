#!/usr/bin/env bash
# Side by side on one WAV and one machine: this CLI, the post's Python pipeline
# (../shared/bench/seed_pipeline.py) and ffmpeg's showcqt, each writing 512x512 PNGs at 24 fps.
# Prints wall time, peak memory and the ratios. Absolute times drift between runs; ratios do not.
#
# Usage: bench/compare.sh [IN.wav]
#   default input: the 180 s sweep + kick WAV from ../shared/bench/make_test_wav.sh (needs sox)
# Needs: ffmpeg, sox, GNU time, python3 (a venv with numpy, scipy, pillow is made in target/).
set -euo pipefail
cd "$(dirname "$0")/.."
shared_bench=../shared/bench
work=target/compare
mkdir -p "$work"

input=${1:-$work/test.wav}
if [ ! -f "$input" ]; then
    sh "$shared_bench/make_test_wav.sh" "$input"
fi
venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q numpy scipy pillow
fi
cargo build --release -q

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

echo "input: $input ($(soxi -D "$input" 2>/dev/null || echo '?') s)"
run ours target/release/spectral-diffusion render "$input" --out "$work/ours" --quiet
run ours-csv-only target/release/spectral-diffusion render "$input" --out "$work/ours-csv-only" --csv-only --quiet
run ours-seed target/release/spectral-diffusion render "$input" --out "$work/ours-seed" --preset seed --quiet
run python-csv-only "$venv/bin/python" "$shared_bench/seed_pipeline.py" "$input" "$work/python-csv-only" --no-images
run ffmpeg-showcqt ffmpeg -nostdin -y -i "$input" -filter_complex \
    "showcqt=s=512x512:fps=24:bar_h=512:axis_h=0:sono_h=0,format=gray" -r 24 "$work/ffmpeg-showcqt/%06d.png"
if [ "${SKIP_PYTHON_IMAGES:-}" = "" ]; then
    run python-jobs2 "$venv/bin/python" "$shared_bench/seed_pipeline.py" "$input" "$work/python-jobs2" --jobs 2
fi

echo
ratio() { echo "scale=1; $(seconds_of "$1") / $(seconds_of "$2")" | bc; }
echo "showcqt / ours:                  $(ratio ffmpeg-showcqt ours)x"
echo "python CSV-only / ours CSV-only: $(ratio python-csv-only ours-csv-only)x"
if [ -f "$work/python-jobs2.time" ]; then
    echo "python --jobs 2 / ours:          $(ratio python-jobs2 ours)x"
fi
frames=$(find "$work/ours/frames" -name '*.png' | wc -l)
echo "ours: $(echo "scale=0; $frames / $(seconds_of ours)" | bc) frames/s"
