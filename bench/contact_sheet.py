#!/usr/bin/env python3
"""A before/after contact sheet of two bench/guide_quality.sh runs: per view, a row of frames
from each run (intro, groove, break, build, drop of the held-out track) and its temporal
variance map, as one small grey PNG (docs/guides-before-after.png).

Usage: contact_sheet.py BEFORE_DIR AFTER_DIR OUT.png [VIEW...]
"""
import sys
from pathlib import Path

from PIL import Image, ImageDraw

THUMB_PX = 112
LABEL_PX = 84
HEADER_PX = 16
# Frames at 24 fps: 5 s intro, 20 s groove, 37 s break, 50 s build, 62 s drop.
FRAMES = [(120, "intro"), (480, "groove"), (888, "break"), (1200, "build"), (1488, "drop")]


def thumb(path):
    with Image.open(path) as image:
        return image.convert("L").resize((THUMB_PX, THUMB_PX), Image.LANCZOS)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    runs = [("before", Path(sys.argv[1])), ("after", Path(sys.argv[2]))]
    views = sys.argv[4:] or ["pie", "polar", "bars"]
    columns = len(FRAMES) + 1
    sheet = Image.new(
        "L", (LABEL_PX + columns * THUMB_PX, HEADER_PX + 2 * len(views) * THUMB_PX), 255
    )
    draw = ImageDraw.Draw(sheet)
    for col, (_, name) in enumerate(FRAMES + [(None, "variance")]):
        draw.text((LABEL_PX + col * THUMB_PX + 4, 2), name, fill=0)
    for view_idx, view in enumerate(views):
        for run_idx, (label, folder) in enumerate(runs):
            top = HEADER_PX + (2 * view_idx + run_idx) * THUMB_PX
            draw.text((4, top + THUMB_PX // 2 - 6), f"{view} {label}", fill=0)
            paths = [folder / view / "frames" / f"{k:06d}.png" for k, _ in FRAMES]
            paths.append(folder / f"{view}-variance.png")
            for col, path in enumerate(paths):
                sheet.paste(thumb(path), (LABEL_PX + col * THUMB_PX, top))
    sheet.save(sys.argv[3], optimize=True)


if __name__ == "__main__":
    main()
