#!/usr/bin/env python3
"""Writes bench/guide_quality.sh's held-out music: 80 s of 44.1 kHz 16-bit stereo at 124 BPM,
synthesized with numpy from a fixed seed (the same bytes every run), in the shape of a dance track:

    0-8 s    intro: chord pad and closed hats
    8-31 s   groove: four-on-the-floor kick, snare on 2 and 4, 16th hats, bass line, chord stabs
    31-43 s  break: the pad alone, low-passed, about 20 dB down
    43-54 s  build: a snare roll that doubles its rate, a noise riser, the pad opening up
    54-77 s  drop: the groove louder, plus a saw lead and open hats
    77-80 s  tail: the last chord ringing out

It is not the tests' fixtures nor the demo track: guide-look tuning is judged on music the
defaults were not fitted to in code.

Usage: make_music_wav.py OUT.wav
"""
import sys
import wave

import numpy as np

SAMPLE_RATE = 44_100
DURATION_S = 80.0
BPM = 124.0
BEAT_S = 60.0 / BPM
RNG = np.random.default_rng(20261130)

NUM_SAMPLES = int(DURATION_S * SAMPLE_RATE)
T = np.arange(NUM_SAMPLES) / SAMPLE_RATE

# A minor, F, C, G: one chord a bar (MIDI notes).
CHORDS = [[57, 60, 64], [53, 57, 60], [48, 52, 55], [55, 59, 62]]
BASS_ROOTS = [33, 29, 36, 31]


def hz(note):
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def db(gain_db):
    return 10.0 ** (gain_db / 20.0)


def envelope(length, attack_s, decay_s):
    """Linear attack, exponential decay (decay_s to -60 dB), `length` samples."""
    t = np.arange(length) / SAMPLE_RATE
    attack = np.clip(t / max(attack_s, 1e-4), 0.0, 1.0)
    return attack * np.exp(-6.9 * t / decay_s)


def lowpass_blocks(x, cutoff_hz, block=512):
    """One-pole low-pass with a per-block cutoff, vectorised within a block by an IIR closed form."""
    y = np.empty_like(x)
    state = 0.0
    for start in range(0, len(x), block):
        seg = x[start:start + block]
        c = cutoff_hz(start / SAMPLE_RATE) if callable(cutoff_hz) else cutoff_hz
        a = np.exp(-2.0 * np.pi * c / SAMPLE_RATE)
        powers = a ** np.arange(1, len(seg) + 1)
        # y[n] = a^(n+1) state + (1-a) sum_k a^(n-k) x[k]
        acc = np.cumsum(seg / powers) * powers * (1.0 - a)
        out = acc + powers * state
        y[start:start + len(seg)] = out
        state = out[-1]
    return y


def add(track, start_s, sound, gain=1.0):
    start = int(round(start_s * SAMPLE_RATE))
    if start >= NUM_SAMPLES:
        return
    end = min(start + len(sound), NUM_SAMPLES)
    track[start:end] += gain * sound[: end - start]


def kick():
    length = int(0.35 * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    freq = 45.0 + 110.0 * np.exp(-t / 0.03)
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    click = RNG.standard_normal(length) * envelope(length, 0.0005, 0.01) * 0.3
    return np.sin(phase) * envelope(length, 0.001, 0.35) + click


def snare():
    length = int(0.25 * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    body = np.sin(2 * np.pi * 185.0 * t) * envelope(length, 0.001, 0.08)
    noise = RNG.standard_normal(length)
    noise = noise - lowpass_blocks(noise, 1500.0)
    return 0.6 * body + 0.5 * noise * envelope(length, 0.001, 0.2)


def hat(open_hat=False):
    length = int((0.3 if open_hat else 0.06) * SAMPLE_RATE)
    noise = RNG.standard_normal(length)
    noise = noise - lowpass_blocks(noise, 7000.0)
    return noise * envelope(length, 0.0005, 0.28 if open_hat else 0.05)


def saw(freq, length, detune=0.0):
    t = np.arange(length) / SAMPLE_RATE
    out = np.zeros(length)
    for cents in (-detune, 0.0, detune):
        f = freq * 2.0 ** (cents / 1200.0)
        out += 2.0 * ((t * f + RNG.random()) % 1.0) - 1.0
    return out / 3.0


def section(start_s, end_s):
    """Beat start times in [start_s, end_s)."""
    return np.arange(start_s, end_s - 1e-9, BEAT_S)


def bar_of(time_s):
    return int(time_s / (4 * BEAT_S)) % 4


def main(out_path):
    drums = np.zeros(NUM_SAMPLES)
    bass = np.zeros(NUM_SAMPLES)
    chords = np.zeros(NUM_SAMPLES)
    lead = np.zeros(NUM_SAMPLES)
    fx = np.zeros(NUM_SAMPLES)
    pad = np.zeros(NUM_SAMPLES)
    k, s = kick(), snare()
    closed, opened = hat(), hat(open_hat=True)

    # Pad: the whole track, one chord a bar, slow attack.
    bar_s = 4 * BEAT_S
    for bar_start in np.arange(0.0, DURATION_S, bar_s):
        length = int((bar_s + 0.5) * SAMPLE_RATE)
        tone = sum(saw(hz(n), length, detune=12.0) for n in CHORDS[bar_of(bar_start)])
        add(pad, bar_start, tone * envelope(length, 0.4, 6.0) * 0.25)
    # The pad is darker except where the build opens it up.
    def pad_cutoff(t):
        if t < 43.0:
            return 900.0
        if t < 54.0:
            return 900.0 + 5000.0 * (t - 43.0) / 11.0
        return 2500.0
    pad = lowpass_blocks(pad, pad_cutoff)

    # Hats: intro 8ths, groove and drop 16ths, drop adds open hats off the beat.
    for t0 in np.arange(0.0, 8.0, BEAT_S / 2):
        add(drums, t0, closed, 0.25)
    for lo, hi, level in ((8.0, 31.0, 0.3), (54.0, 77.0, 0.35)):
        for i, t0 in enumerate(np.arange(lo, hi, BEAT_S / 4)):
            add(drums, t0, closed, level * (1.0 if i % 2 == 0 else 0.6))
    for t0 in section(54.0 + BEAT_S / 2, 77.0):
        add(drums, t0, opened, 0.25)

    # Kick, snare, bass, chord stabs in the groove and the drop.
    for lo, hi, level in ((8.0, 31.0, 0.8), (54.0, 77.0, 1.0)):
        for i, t0 in enumerate(section(lo, hi)):
            add(drums, t0, k, level)
            if i % 2 == 1:
                add(drums, t0, s, 0.6 * level)
            root = BASS_ROOTS[bar_of(t0)]
            for eighth in range(2):
                length = int(BEAT_S / 2 * SAMPLE_RATE)
                note = saw(hz(root + (12 if (i + eighth) % 3 == 2 else 0)), length, 5.0)
                add(bass, t0 + eighth * BEAT_S / 2, note * envelope(length, 0.005, 0.4), 0.5 * level)
            if i % 4 in (1, 3):
                length = int(0.2 * SAMPLE_RATE)
                stab = sum(saw(hz(n + 12), length, 8.0) for n in CHORDS[bar_of(t0)])
                add(chords, t0 + BEAT_S / 2, stab * envelope(length, 0.002, 0.2), 0.18 * level)
    bass = lowpass_blocks(bass, 400.0)

    # Lead in the drop: an arpeggio over the chord, an octave up.
    for i, t0 in enumerate(np.arange(54.0, 77.0, BEAT_S / 2)):
        notes = CHORDS[bar_of(t0)]
        length = int(BEAT_S / 2 * SAMPLE_RATE)
        add(lead, t0, saw(hz(notes[i % 3] + 24), length, 10.0) * envelope(length, 0.003, 0.5), 0.2)
    lead = lowpass_blocks(lead, 5000.0)

    # Build: a snare roll from quarters to 16ths, and a noise riser sweeping up.
    t0 = 43.0
    while t0 < 54.0:
        progress = (t0 - 43.0) / 11.0
        add(drums, t0, s, 0.25 + 0.5 * progress)
        t0 += BEAT_S / (1 if progress < 0.35 else 2 if progress < 0.7 else 4)
    riser_len = int(11.0 * SAMPLE_RATE)
    noise = RNG.standard_normal(riser_len)
    riser = lowpass_blocks(noise, lambda t: 300.0 + 9000.0 * (t / 11.0) ** 2)
    add(fx, 43.0, riser * np.linspace(0.05, 0.5, riser_len))

    mix = drums + bass + chords + lead + fx + pad
    # The break is quiet: everything in it (the pad alone) about 20 dB down, with short fades.
    gain = np.ones(NUM_SAMPLES)
    gain[(T >= 31.0) & (T < 43.0)] = db(-20.0)
    gain = np.convolve(gain, np.ones(2205) / 2205, mode="same")
    gain[T > 77.0] *= np.clip((80.0 - T[T > 77.0]) / 3.0, 0.0, 1.0)
    mix *= gain
    # Stereo: hats and stabs slightly apart; a soft clip; peak at -1 dBFS.
    left = mix + 0.15 * np.roll(chords, 300) * gain
    right = mix + 0.15 * np.roll(drums, 150) * gain
    stereo = np.tanh(np.stack([left, right], axis=1) * 0.9)
    stereo *= db(-1.0) / np.abs(stereo).max()
    pcm = np.round(stereo * 32767.0).astype("<i2")
    with wave.open(out_path, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    main(sys.argv[1])
