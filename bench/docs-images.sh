#!/usr/bin/env bash
# Redraws the README's pictures from what the default settings render today: docs/frames.png
# (six frames of the demo track, two seconds apart) and docs/preview-page.png (the demo's preview
# page with two schedule lanes, in headless Chromium). Needs ffmpeg and chromium.
#
#   bench/docs-images.sh            (SPECTRAL_DIFFUSION=path/to/binary to use another build)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${SPECTRAL_DIFFUSION:-target/release/spectral-diffusion}"
[ -x "$bin" ] || cargo build --release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" render --demo --out "$work/demo" --quiet
"$bin" schedule "$work/demo" --lane kick=30-120 --lane hats=6000-16000 --quiet
ffmpeg -loglevel error -y -i "$work/demo/frames/%06d.png" \
    -vf "select='not(mod(n\,48))',scale=192:192,tile=6x1:padding=4" -frames:v 1 docs/frames.png
# Root (CI, containers) needs --no-sandbox; the budget lets the page's script draw the plot.
chromium --headless --no-sandbox --hide-scrollbars --window-size=1200,760 \
    --virtual-time-budget=3000 --screenshot="$PWD/docs/preview-page.png" \
    "file://$work/demo/index.html" 2>/dev/null
echo "wrote docs/frames.png and docs/preview-page.png"
