#!/usr/bin/env python3
"""The post's guide-frame pipeline in Python, the peer bench/compare.sh measures us against.

Written from The Strange Agency's *Spectral Diffusion* post. The post's steps, as it gives them:
  chunk c is signal[int(c * sr / fps) : int(int(c * sr / fps) + sr / fps)]; stereo becomes
  sum / 2; the 16-bit integers are divided by 2**16; amps = |rfft(chunk, floor(0.1 * sr))|
  (rfft crops or zero-pads the chunk to that length); the row is amps at
  logspace(1, log10(n / 2), 256).astype(int). Each image: a blurred noise field, one pieslice
  per bin from i * step - 90 to (i + 1) * step - 90 degrees (step = 180 / bins),
  GaussianBlur(radius=2), convert('L'), ImageOps.autocontrast, PNG.

Where the post is silent, the same choices as the project's first benchmark, so figures compare
across runs: the chunk count is floor(samples / (sr / fps)); the noise field is uniform RGB noise
seeded with the frame index, blurred with radius 4; a bin's wedge reaches from 5 % to 48 % of the
image size as its value goes from 0 to the frame's loudest; bins are coloured by hue; the CSV has no
header and Python's repr of each float; PNGs use Pillow's defaults.

Usage: seed_reference.py IN.wav OUT_DIR [--fps 24] [--size 512] [--no-images] [--jobs N]
Needs numpy, scipy and pillow.
"""
import argparse
import colorsys
import csv
import math
import os

import numpy as np
import scipy.fft
import scipy.io.wavfile
from PIL import Image, ImageDraw, ImageFilter, ImageOps

NUM_BINS = 256
WINDOW_SIZE_S = 0.1

# Set in main() before any worker forks, read by frame().
job = {}


def spectrum(c):
    """Chunk c's 256 values, step for step as the post writes them."""
    signal_original, sample_rate, n_chunk_samples = job["signal"], job["sample_rate"], job["n_chunk"]
    sample_start = int(c * n_chunk_samples)
    sample_end = int(sample_start + n_chunk_samples)
    signal = signal_original[sample_start:sample_end]
    if len(signal.shape) == 2:
        signal = signal.sum(axis=1) / 2
    signal = np.divide(signal, 2**16)
    n_window_samples = math.floor(WINDOW_SIZE_S * sample_rate)
    amps = np.absolute(scipy.fft.rfft(signal, n_window_samples))
    indices = np.logspace(1, math.log(n_window_samples / 2, 10), num=NUM_BINS).astype(int)
    return np.take(amps, indices)


def image(c, amps):
    """Frame c's guide image: noise, half pie, blur, grey, autocontrast."""
    size = job["size"]
    noise = np.random.default_rng(c).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    im = Image.fromarray(noise, "RGB").filter(ImageFilter.GaussianBlur(radius=4))
    draw = ImageDraw.Draw(im)
    peak = float(amps.max())
    angle_step = 180.0 / NUM_BINS
    centre = size / 2.0
    for i, amp in enumerate(amps):
        radius = size * (0.05 + 0.43 * (float(amp) / peak if peak > 0 else 0.0))
        box = (centre - radius, centre - radius, centre + radius, centre + radius)
        draw.pieslice(box, i * angle_step - 90, (i + 1) * angle_step - 90, fill=job["colours"][i])
    im = im.filter(ImageFilter.GaussianBlur(radius=2))
    im = im.convert("L")
    return ImageOps.autocontrast(im)


def frame(c):
    amps = spectrum(c)
    if job["images"]:
        image(c, amps).save(os.path.join(job["out_dir"], f"{c + 1:06d}.png"))
    return amps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wav")
    parser.add_argument("out_dir")
    parser.add_argument("--fps", type=float, default=24.0)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--no-images", action="store_true")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()

    sample_rate, signal = scipy.io.wavfile.read(args.wav)
    if signal.dtype != np.int16:
        raise SystemExit(f"{args.wav}: the post reads 16-bit WAVs, this one holds {signal.dtype}")
    os.makedirs(args.out_dir, exist_ok=True)
    n_chunk = sample_rate / args.fps
    job.update(
        signal=signal,
        sample_rate=sample_rate,
        n_chunk=n_chunk,
        size=args.size,
        out_dir=args.out_dir,
        images=not args.no_images,
        colours=[tuple(int(255 * v) for v in colorsys.hsv_to_rgb(i / NUM_BINS, 1.0, 1.0))
                 for i in range(NUM_BINS)],
    )
    n_chunks = math.floor(signal.shape[0] / n_chunk)
    if args.jobs <= 1:
        rows = [frame(c) for c in range(n_chunks)]
    else:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            rows = pool.map(frame, range(n_chunks), chunksize=16)
    with open(os.path.join(args.out_dir, "frames.csv"), "w", newline="") as file:
        writer = csv.writer(file)
        for amps in rows:
            writer.writerow([repr(float(v)) for v in amps])


if __name__ == "__main__":
    main()
