#!/usr/bin/env bash
# How good the guide frames are as img2img guides, per view, on music the look was not tuned in
# code against: renders held-out music (bench/make_music_wav.py, 80 s) with the release CLI at
# 512 px for every view, then prints bench/guide_quality.py's table: the share of the frame the
# spectrum shape covers, the mean frame-to-frame change, brightness, and fixed structure (plus a
# per-pixel temporal variance map per view). The definitions are in guide_quality.py.
#
# Usage: bench/guide_quality.sh [LABEL [IN.wav]]
#   LABEL  names the work folder target/guide_quality/LABEL [default: current]
#   IN     default: target/guide_quality/music.wav, written by bench/make_music_wav.py
# Environment:
#   SPECTRAL_DIFFUSION=path  use this binary instead of building target/release/spectral-diffusion
#   VIEWS="pie polar bars"   the views to render (any of `render --view`'s values)
#   LOOK="--palette grey"    extra `render` options for every render, to compare looks
# Needs: python3 with venv (numpy and pillow are installed into target/bench-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
label=${1:-current}
root=target/guide_quality
work=$root/$label
mkdir -p "$work"

venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import numpy, PIL' 2>/dev/null; then
    "$venv/bin/pip" install -q numpy pillow
fi
input=${2:-$root/music.wav}
if [ ! -f "$input" ]; then
    "$venv/bin/python" bench/make_music_wav.py "$input"
fi
silence=$root/silence.wav
if [ ! -f "$silence" ]; then
    "$venv/bin/python" -c "import wave; w = wave.open('$silence', 'wb'); w.setnchannels(2); \
w.setsampwidth(2); w.setframerate(44100); w.writeframes(bytes(4 * 44100)); w.close()"
fi
bin=${SPECTRAL_DIFFUSION:-}
if [ -z "$bin" ]; then
    cargo build --release -q --bin spectral-diffusion
    bin=target/release/spectral-diffusion
fi
views=${VIEWS:-pie polar bars}
read -r -a look <<<"${LOOK:-}"

# render INPUT OUT [OPTIONS...]: a 512 px render into OUT, replacing an earlier one
render() {
    local input=$1 out=$2
    shift 2
    "$bin" render "$input" --out "$out" --size 512 --quiet ${look[@]+"${look[@]}"} "$@"
}
for view in $views; do
    render "$input" "$work/$view" --view "$view"
    render "$input" "$work/$view-shape" --view "$view" --noise 0
    render "$silence" "$work/$view-silence" --view "$view" --noise 0
done
echo "$label: $input, $bin ${LOOK:-}"
# shellcheck disable=SC2086
"$venv/bin/python" bench/guide_quality.py "$work" $views | tee "$work/report.md"
