#!/usr/bin/env python3
"""Writes bench/compare.sh's test input: 180 s of 44.1 kHz 16-bit stereo, exponential sine sweeps
(30 Hz -> 16 kHz in 15 s on the left, the reverse on the right, at -9 dB) under a 120 BPM kick
(150 -> 45 Hz in 0.15 s at -3 dB), the two mixed at half level each.

The same signal as the sox recipe the first benchmark used, synthesized with numpy so the bench
needs no sox; the samples are not bit-identical to sox's (no dither, its own phase arithmetic).

Usage: make_test_wav.py OUT.wav
"""
import sys

import numpy as np
import scipy.io.wavfile

SAMPLE_RATE = 44_100
DURATION_S = 180.0
SWEEP_S = 15.0
KICK_S = 0.15
BEAT_S = 0.5


def db(gain_db):
    return 10.0 ** (gain_db / 20.0)


def exp_sweep(start_hz, end_hz, duration_s):
    """A sine whose frequency goes exponentially from start_hz to end_hz over duration_s."""
    t = np.arange(int(round(duration_s * SAMPLE_RATE))) / SAMPLE_RATE
    ratio = end_hz / start_hz
    phase = 2 * np.pi * start_hz * duration_s / np.log(ratio) * (ratio ** (t / duration_s) - 1)
    return np.sin(phase)


def kick_beat():
    """One beat: a 0.15 s falling sine, quarter-sine fades (2 ms in, 130 ms out), then silence."""
    kick = exp_sweep(150.0, 45.0, KICK_S)
    t = np.arange(len(kick)) / SAMPLE_RATE
    fade_in = np.sin(np.pi / 2 * np.clip(t / 0.002, 0.0, 1.0))
    fade_out = np.sin(np.pi / 2 * np.clip((KICK_S - t) / 0.13, 0.0, 1.0))
    beat = np.zeros(int(round(BEAT_S * SAMPLE_RATE)))
    beat[: len(kick)] = kick * fade_in * fade_out * db(-3)
    return beat


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: make_test_wav.py OUT.wav")
    num_samples = int(DURATION_S * SAMPLE_RATE)
    repeats = int(np.ceil(DURATION_S / SWEEP_S))
    left = np.tile(exp_sweep(30.0, 16_000.0, SWEEP_S), repeats)[:num_samples] * db(-9)
    right = np.tile(exp_sweep(16_000.0, 30.0, SWEEP_S), repeats)[:num_samples] * db(-9)
    kicks = np.tile(kick_beat(), int(np.ceil(DURATION_S / BEAT_S)))[:num_samples]
    # Mixing two inputs, sox halves each.
    stereo = 0.5 * np.stack([left + kicks, right + kicks], axis=1)
    samples = np.round(np.clip(stereo, -1.0, 1.0) * 32767.0).astype(np.int16)
    scipy.io.wavfile.write(sys.argv[1], SAMPLE_RATE, samples)


if __name__ == "__main__":
    main()
