//! Test audio: a deterministic "song" and writers for the files the CLI reads.

use std::f32::consts::TAU;
use std::path::Path;

/// `seconds` of stereo audio at `sample_rate` with a kick, a bass note, a chord and noise hats,
/// so every part of the spectrum moves from frame to frame. Deterministic.
pub fn song(seconds: f32, sample_rate: u32) -> Vec<[f32; 2]> {
    let mut noise_state = 0x2545_f491_4f6c_dd1du64;
    let num_samples = (seconds * sample_rate as f32) as usize;
    (0..num_samples)
        .map(|n| {
            let t = n as f32 / sample_rate as f32;
            let beat_t = t % 0.5;
            noise_state ^= noise_state << 13;
            noise_state ^= noise_state >> 7;
            noise_state ^= noise_state << 17;
            let noise = (noise_state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
            let kick = (TAU * (50.0 + 100.0 * (-beat_t * 30.0).exp()) * beat_t).sin()
                * (-beat_t * 8.0).exp();
            let bass = (TAU * [55.0, 65.4, 73.4, 49.0][(t / 2.0) as usize % 4] * t).sin() * 0.3;
            let chord: f32 = [261.6, 329.6, 392.0]
                .iter()
                .map(|f| (TAU * f * t).sin() * 0.1)
                .sum();
            let hat = if (t % 0.25) < 0.03 { noise * 0.2 } else { 0.0 };
            let left = 0.5 * kick + bass + chord + hat;
            let right = 0.5 * kick + bass - chord * 0.5 + hat;
            [left * 0.8, right * 0.8]
        })
        .collect()
}

/// 16-bit integer samples, as a WAV or FLAC file stores them.
pub fn to_i16(frames: &[[f32; 2]]) -> Vec<i32> {
    frames
        .iter()
        .flatten()
        .map(|&x| (x * 32767.0).round().clamp(-32768.0, 32767.0) as i32)
        .collect()
}

pub fn write_wav_i16(path: &Path, interleaved: &[i32], sample_rate: u32) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &sample in interleaved {
        writer.write_sample(sample as i16).unwrap();
    }
    writer.finalize().unwrap();
}

pub fn write_wav_f32(path: &Path, interleaved: &[f32], channels: u16, sample_rate: u32) {
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &sample in interleaved {
        writer.write_sample(sample).unwrap();
    }
    writer.finalize().unwrap();
}

pub fn write_flac_i16(path: &Path, interleaved: &[i32], sample_rate: u32) {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;
    let config = flacenc::config::Encoder::default().into_verified().unwrap();
    let source = flacenc::source::MemSource::from_samples(interleaved, 2, 16, sample_rate as usize);
    let stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size).unwrap();
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream.write(&mut sink).unwrap();
    std::fs::write(path, sink.as_slice()).unwrap();
}
