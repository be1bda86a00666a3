#!/usr/bin/env python3
"""Measures how well guide frames steer img2img; run by bench/guide_quality.sh, which renders them.

For each view VIEW, WORK/VIEW holds three renders of the same settings (see guide_quality.sh):
  VIEW/frames         the guide frames as written (music, the look under test)
  VIEW-shape/frames   the same music with `--noise 0`: the shape on black
  VIEW-silence/frames 1 s of silence with `--noise 0`: what the view draws for no sound

Figures per view (frames are compared as 8-bit grey; RGB frames go through PIL's luma):
  shape    share of the frame the spectrum shape covers, averaged over frames: pixels where the
           shape-on-black frame differs from the silent one by more than COVER_THRESHOLD (10 % of
           full scale). The noise is left out so that it cannot count as shape.
  p10      the same share in the frame at the 10th percentile (quiet passages)
  reach    share of pixels the shape covers in at least 5 % of the frames
  motion   mean absolute difference between consecutive frames, per pixel, in 1/255
  mean     mean brightness of the guide frames, 0..255 (mid-grey is 128)
  contrast mean over frames of the standard deviation of a frame's pixels
  static   fixed structure: of the pixels the shape covers in at least half of the frames, the
           share whose brightness hardly changes over time (temporal std below STATIC_STD)
WORK/VIEW-variance.png maps each pixel's temporal standard deviation (white = 64/255 or more):
dark areas inside the shape are structure that does not move with the music.

Usage: guide_quality.py WORK VIEW...   (prints a Markdown table)
"""
import sys
from pathlib import Path

import numpy as np
from PIL import Image

COVER_THRESHOLD = 25
STATIC_STD = 4.0
REACH_SHARE = 0.05
USUAL_SHARE = 0.5


def frames(folder):
    paths = sorted(Path(folder, "frames").glob("*.png"))
    if not paths:
        sys.exit(f"no frames in {folder}")
    for path in paths:
        with Image.open(path) as image:
            yield np.asarray(image.convert("L"), dtype=np.int16)


def measure(work, view):
    silent = next(frames(work / f"{view}-silence"))
    covered_shares, covered_count = [], None
    for shape in frames(work / f"{view}-shape"):
        covered = np.abs(shape - silent) > COVER_THRESHOLD
        covered_shares.append(covered.mean())
        covered_count = covered.astype(np.int32) if covered_count is None else covered_count + covered

    total = total_sq = None
    diffs, means, contrasts = [], [], []
    previous = None
    for frame in frames(work / view):
        values = frame.astype(np.float64)
        if total is None:
            total, total_sq = np.zeros_like(values), np.zeros_like(values)
        total += values
        total_sq += values * values
        means.append(values.mean())
        contrasts.append(values.std())
        if previous is not None:
            diffs.append(np.abs(frame - previous).mean())
        previous = frame
    num_frames = len(means)
    if num_frames != len(covered_shares):
        sys.exit(f"{view}: {num_frames} guide frames but {len(covered_shares)} shape frames")
    temporal_std = np.sqrt(np.maximum(total_sq / num_frames - (total / num_frames) ** 2, 0.0))
    Image.fromarray(np.clip(temporal_std * 4.0, 0, 255).astype(np.uint8)).save(
        work / f"{view}-variance.png"
    )
    usually = covered_count >= USUAL_SHARE * num_frames
    static = (temporal_std[usually] < STATIC_STD).mean() if usually.any() else 0.0
    return {
        "shape": 100.0 * np.mean(covered_shares),
        "p10": 100.0 * np.percentile(covered_shares, 10),
        "reach": 100.0 * (covered_count >= REACH_SHARE * num_frames).mean(),
        "motion": np.mean(diffs),
        "mean": np.mean(means),
        "contrast": np.mean(contrasts),
        "static": 100.0 * static,
        "frames": num_frames,
    }


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    work = Path(sys.argv[1])
    print("| view | shape % | p10 % | reach % | motion /255 | mean | contrast | static % | frames |")
    print("|---|---|---|---|---|---|---|---|---|")
    for view in sys.argv[2:]:
        m = measure(work, view)
        print(
            f"| {view} | {m['shape']:.1f} | {m['p10']:.1f} | {m['reach']:.1f} | {m['motion']:.2f} "
            f"| {m['mean']:.0f} | {m['contrast']:.0f} | {m['static']:.1f} | {m['frames']} |"
        )


if __name__ == "__main__":
    main()
