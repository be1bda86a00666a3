//! CLI thread: the built-in demo track, synthesized at run time (`render --demo`).
//!
//! Eight bars at 120 BPM (16 s) of A minor, F, C, G, twice: a pitch-dropping kick on every beat
//! (lows), a three-harmonic bass on eighth notes and detuned triangle chords (mids), and a noise
//! hi-hat high-passed by a first difference (highs), so every view has something in each range.
//! Deterministic: the same sample rate gives the same samples on every run.

use std::f64::consts::TAU;

use super::decode::{AudioInfo, DecodeError, MonoSource};
use crate::analysis::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, mix_to_mono};

const BPM: f64 = 120.0;
const NUM_BARS: usize = 8;
const BEATS_PER_BAR: usize = 4;
/// The track's peak after normalization, in dBFS.
const PEAK_DB: f64 = -1.5;
/// One chord per bar as MIDI notes (Am, F, C/E, G/D), and the bass root under it.
const CHORDS: [[u8; 3]; 4] = [[57, 60, 64], [53, 57, 60], [52, 55, 60], [50, 55, 59]];
const BASS_ROOTS: [u8; 4] = [33, 29, 36, 31];
/// Detune of the two triangle voices of each chord note, in cents.
const DETUNE_CENTS: f64 = 6.0;

/// The demo's length in seconds.
pub const DEMO_DURATION_S: f64 = NUM_BARS as f64 * BEATS_PER_BAR as f64 * 60.0 / BPM;

/// The demo track as stereo `[left, right]` sample frames at `sample_rate`, peak at -1.5 dBFS.
pub fn demo_track(sample_rate: u32) -> Vec<[f32; 2]> {
    let sr = f64::from(sample_rate);
    let beat_s = 60.0 / BPM;
    let eighth_s = beat_s / 2.0;
    let bar_s = beat_s * BEATS_PER_BAR as f64;
    let num_samples = (DEMO_DURATION_S * sr).round() as usize;
    let mut noise = XorShift(0x2545_F491_4F6C_DD1D);
    let mut previous_noise = 0.0;
    let mut track: Vec<[f32; 2]> = Vec::with_capacity(num_samples);
    for n in 0..num_samples {
        let t = n as f64 / sr;
        let bar_idx = (t / bar_s) as usize;
        let chord_idx = bar_idx % CHORDS.len();
        let in_bar_s = t - bar_idx as f64 * bar_s;
        let in_beat_s = t % beat_s;
        let eighth_idx = (t / eighth_s) as usize;
        let in_eighth_s = t - eighth_idx as f64 * eighth_s;

        let kick = 0.9 * kick(in_beat_s);

        // Root on the beat, octave on the off-beat.
        let is_on_beat = eighth_idx.is_multiple_of(2);
        let octave = if is_on_beat { 1.0 } else { 2.0 };
        let bass_hz = midi_hz(BASS_ROOTS[chord_idx]) * octave;
        let bass_phase = TAU * bass_hz * in_eighth_s;
        let bass = 0.3
            * note_envelope(in_eighth_s, eighth_s, 6.0)
            * (bass_phase.sin() + 0.5 * (2.0 * bass_phase).sin() + 0.25 * (3.0 * bass_phase).sin());

        let chord_envelope = note_envelope(in_bar_s, bar_s, 0.8);
        let (mut chord_left, mut chord_right) = (0.0, 0.0);
        for &note in &CHORDS[chord_idx] {
            let hz = midi_hz(note);
            let detune = 2f64.powf(DETUNE_CENTS / 1200.0);
            let (low, high) = (triangle(hz / detune * t), triangle(hz * detune * t));
            chord_left += 0.7 * low + 0.3 * high;
            chord_right += 0.3 * low + 0.7 * high;
        }
        let chord_gain = 0.12 * chord_envelope;

        // White noise, first-differenced (a gentle high-pass), in bursts on every eighth note;
        // off-beats are louder.
        let white = noise.next_bipolar();
        let hat_level = if is_on_beat { 0.3 } else { 0.6 };
        let hat = hat_level * (-in_eighth_s * 35.0).exp() * (white - previous_noise);
        previous_noise = white;

        let centre = kick + bass;
        track.push([
            (centre + chord_gain * chord_left + 0.4 * hat) as f32,
            (centre + chord_gain * chord_right + 0.6 * hat) as f32,
        ]);
    }
    let peak = track
        .iter()
        .flatten()
        .fold(0.0f64, |peak, &x| peak.max(f64::from(x).abs()));
    let gain = 10f64.powf(PEAK_DB / 20.0) / peak;
    for x in track.iter_mut().flatten() {
        *x = (f64::from(*x) * gain) as f32;
    }
    track
}

/// A sine sweeping from 150 Hz down to 45 Hz within ~100 ms, decaying over ~150 ms.
fn kick(in_beat_s: f64) -> f64 {
    let (end_hz, sweep_hz, sweep_rate) = (45.0, 105.0, 25.0);
    // The phase is the integral of `end_hz + sweep_hz * exp(-sweep_rate * t)`.
    let phase = TAU
        * (end_hz * in_beat_s + sweep_hz * (1.0 - (-sweep_rate * in_beat_s).exp()) / sweep_rate);
    (-in_beat_s * 7.0).exp() * phase.sin()
}

/// A 5 ms attack, exponential decay at `decay_per_s`, and a 10 ms release before `length_s`, so
/// notes start and end without clicks.
fn note_envelope(in_note_s: f64, length_s: f64, decay_per_s: f64) -> f64 {
    let attack = (in_note_s / 0.005).min(1.0);
    let release = ((length_s - in_note_s) / 0.01).clamp(0.0, 1.0);
    attack * release * (-in_note_s * decay_per_s).exp()
}

/// A triangle wave of unit amplitude at `cycles` (frequency × time).
fn triangle(cycles: f64) -> f64 {
    4.0 * (cycles.fract() - 0.5).abs() - 1.0
}

fn midi_hz(note: u8) -> f64 {
    440.0 * 2f64.powf((f64::from(note) - 69.0) / 12.0)
}

/// Marsaglia's xorshift64: a tiny deterministic noise source.
struct XorShift(u64);

impl XorShift {
    /// A uniform value in `-1..1`.
    fn next_bipolar(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// The demo track as a [`MonoSource`], handed out in chunks like a decoded file.
pub struct DemoSource {
    /// Two channels, `synth` codec, the exact sample count.
    info: AudioInfo,
    /// The whole track mixed to mono (it is short, and normalizing needs it whole anyway).
    mono: Vec<f32>,
    /// The next sample `read_mono` hands out.
    position: usize,
}

impl DemoSource {
    /// Samples handed out per `read_mono`, about as many as one decoded packet.
    const CHUNK_LEN: usize = 4096;

    /// Synthesizes the track at `sample_rate` (16 s, held in memory as mono: 2.8 MB at 44.1 kHz).
    ///
    /// # Panics
    /// If `sample_rate` is outside `MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE`.
    pub fn new(sample_rate: u32) -> Self {
        Self::from_track(sample_rate, &demo_track(sample_rate))
    }

    /// The source of a `track` already synthesized by [`demo_track`] at `sample_rate` (the CLI
    /// also saves it as a WAV file).
    ///
    /// # Panics
    /// If `sample_rate` is outside `MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE`.
    pub fn from_track(sample_rate: u32, track: &[[f32; 2]]) -> Self {
        assert!(
            (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate),
            "demo sample rate {sample_rate} Hz is out of range"
        );
        let mono: Vec<f32> = track.iter().copied().map(mix_to_mono).collect();
        Self {
            info: AudioInfo {
                sample_rate,
                num_channels: 2,
                num_samples: Some(mono.len() as u64),
                codec: "synth".to_owned(),
            },
            mono,
            position: 0,
        }
    }
}

impl MonoSource for DemoSource {
    fn info(&self) -> &AudioInfo {
        &self.info
    }

    fn read_mono(&mut self, out: &mut Vec<f32>) -> Result<bool, DecodeError> {
        let end = (self.position + Self::CHUNK_LEN).min(self.mono.len());
        if self.position == end {
            return Ok(false);
        }
        out.extend_from_slice(&self.mono[self.position..end]);
        self.position = end;
        Ok(true)
    }
}
