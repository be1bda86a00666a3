//! The live analyzer (the editor's spectrum) as the audio thread runs it: every FFT size, window
//! and channel mode, at ragged block sizes, with allocation forbidden. The plugin runs it only
//! while its editor is open, which no test host can do, so this drives `Monitor` directly under the
//! same `assert_no_alloc` nice-plug wraps around `process()` in debug builds (its global allocator
//! is linked into every debug binary that uses the library).

#[path = "common/song.rs"]
mod song;

use nice_assert_no_alloc::assert_no_alloc;
use spectral_diffusion::handoff::{SpectrumInput, SpectrumKind};
use spectral_diffusion::plugin::monitor::{Monitor, MonitorSettings};
use spectral_diffusion::plugin::params::{ChannelModeParam, FftSizeParam, WindowParam};

fn settings(
    fft_size: FftSizeParam,
    window: WindowParam,
    channel_mode: ChannelModeParam,
) -> MonitorSettings {
    MonitorSettings {
        fft_size,
        hop_fraction: 0.25,
        window,
        channel_mode,
        slope_db_per_octave: 0.0,
        decay_ms: 300.0,
        is_peak_hold: true,
        peak_fall_db_per_s: 12.0,
    }
}

/// Every setting the analyzer controls offer runs without allocating, and publishes.
#[test]
fn every_monitor_setting_runs_without_allocating() {
    let audio = song::song(48_000, 1.0);
    let mut monitor = Monitor::new(48_000).unwrap();
    let (mut input, mut output) = SpectrumInput::new();
    let mut block = [vec![0.0f32; 1024], vec![0.0f32; 1024]];
    let mut sizes = [1usize, 37, 1024, 500].into_iter().cycle();
    for fft_size in FftSizeParam::ALL {
        for window in WindowParam::ALL {
            for channel_mode in [
                ChannelModeParam::Sum,
                ChannelModeParam::Left,
                ChannelModeParam::Side,
            ] {
                let settings = settings(fft_size, window, channel_mode);
                let generation = output.read().generation;
                let mut offset = 0;
                while offset < audio[0].len() {
                    let len = sizes.next().unwrap().min(audio[0].len() - offset);
                    for (dst, src) in block.iter_mut().zip(&audio) {
                        dst[..len].copy_from_slice(&src[offset..offset + len]);
                    }
                    let [left, right] = &mut block;
                    let channels: [&mut [f32]; 2] = [&mut left[..], &mut right[..]];
                    assert_no_alloc(|| {
                        monitor.process_block(&channels, len, &settings, &mut input);
                    });
                    offset += len;
                }
                let spectrum = output.read();
                assert!(spectrum.generation > generation, "{settings:?} published");
                assert_eq!(spectrum.kind, SpectrumKind::MonitorDb);
            }
        }
    }
}

/// A full-scale 1 kHz sine reads about 0 dB in the band that holds 1 kHz.
#[test]
fn monitor_reads_a_sine_at_its_frequency_and_level() {
    let n = 48_000;
    let sine: Vec<f32> = (0..n)
        .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 48_000.0).sin())
        .collect();
    let mut monitor = Monitor::new(48_000).unwrap();
    let (mut input, mut output) = SpectrumInput::new();
    let settings = settings(
        FftSizeParam::S4096,
        WindowParam::Hann,
        ChannelModeParam::Sum,
    );
    for chunk in sine.chunks(512) {
        let mut left = chunk.to_vec();
        let mut right = chunk.to_vec();
        let channels: [&mut [f32]; 2] = [&mut left, &mut right];
        monitor.process_block(&channels, chunk.len(), &settings, &mut input);
    }
    let spectrum = output.read();
    let (peak_idx, &peak_db) = spectrum
        .values()
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    let peak_hz = spectrum.freqs_hz()[peak_idx];
    assert!(
        (peak_hz / 1000.0 - 1.0).abs() < 0.02,
        "peak at {peak_hz} Hz"
    );
    assert!(peak_db.abs() < 0.5, "peak at {peak_db} dB");
}
