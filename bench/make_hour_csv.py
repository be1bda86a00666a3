#!/usr/bin/env python3
"""Stretches a render folder to an hour: repeats its spectrum.csv rows (renumbered, with their
exact times) to the frame count of `--seconds` of audio, and updates the manifest to match.

Usage: bench/make_hour_csv.py SRC_DIR DST_DIR [--seconds 3600]
SRC_DIR is a `render --csv-only` folder with the full CSV (`--csv full`)."""
import argparse
import json
import os


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--seconds", type=int, default=3600)
    args = parser.parse_args()
    with open(os.path.join(args.src, "manifest.json")) as f:
        manifest = json.load(f)
    num, den = manifest["fps"]["num"], manifest["fps"]["den"]
    num_frames = -(-args.seconds * num // den)
    with open(os.path.join(args.src, "spectrum.csv")) as f:
        header, *rows = f.read().splitlines()
    values = [row.split(",", 2)[2] for row in rows]
    os.makedirs(args.dst, exist_ok=True)
    with open(os.path.join(args.dst, "spectrum.csv"), "w") as out:
        out.write(header + "\n")
        for frame in range(num_frames):
            out.write(f"{frame},{frame * den / num:.6f},{values[frame % len(values)]}\n")
    manifest.update(
        first_frame=0,
        last_frame=num_frames - 1,
        frame_ranges=[[0, num_frames - 1]],
        frames_written=num_frames,
        takes=[],
    )
    with open(os.path.join(args.dst, "manifest.json"), "w") as out:
        json.dump(manifest, out, indent=2)


if __name__ == "__main__":
    main()
