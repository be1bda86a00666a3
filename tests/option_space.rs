//! Property tests over the CLI's option space, through the library's entry points: any sample
//! rate, frame rate, FFT size, preset, bin count and image size either renders every frame or is
//! refused as a setting, and nothing panics.
//!
//! Bounded for the debug test build: a few seconds in all. `PROPTEST_CASES=2000 cargo test
//! --release --test option_space` searches further.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use proptest::prelude::*;
use spectral_diffusion::analysis::{
    AnalysisSettings, Analyzer, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Preset, WindowKind,
};
use spectral_diffusion::audio::decode::{AudioInfo, DecodeError, MonoSource};
use spectral_diffusion::clock::{FrameClock, FrameRate};
use spectral_diffusion::export::{CsvFormat, ExportSettings, OpenMode, Source};
use spectral_diffusion::pipeline::{self, PipelineError, RenderJob};
use spectral_diffusion::render::{RenderSettings, View};

/// Audio whose sample n is `n` (exact in `f32` below 2^24), handed out in chunks of varying size,
/// as decoders do.
struct CountingSource {
    info: AudioInfo,
    position: usize,
    chunk_lens: Vec<usize>,
    num_reads: usize,
}

impl CountingSource {
    fn new(sample_rate: u32, num_samples: usize, chunk_lens: Vec<usize>) -> Self {
        Self {
            info: AudioInfo {
                sample_rate,
                num_channels: 1,
                num_samples: Some(num_samples as u64),
                codec: "test".to_owned(),
            },
            position: 0,
            chunk_lens,
            num_reads: 0,
        }
    }

    fn num_samples(&self) -> usize {
        self.info.num_samples.unwrap() as usize
    }
}

impl MonoSource for CountingSource {
    fn info(&self) -> &AudioInfo {
        &self.info
    }

    fn read_mono(&mut self, out: &mut Vec<f32>) -> Result<bool, DecodeError> {
        let chunk_len = self.chunk_lens[self.num_reads % self.chunk_lens.len()];
        self.num_reads += 1;
        let end = (self.position + chunk_len).min(self.num_samples());
        if self.position == end {
            return Ok(false);
        }
        out.extend((self.position..end).map(|n| n as f32));
        self.position = end;
        Ok(true)
    }
}

fn frame_rate() -> impl Strategy<Value = FrameRate> {
    prop::sample::select(FrameRate::SUPPORTED.to_vec())
}

/// Analysis settings across both presets, valid or not: FFT sizes and windows straddle the limits.
fn analysis_settings() -> impl Strategy<Value = AnalysisSettings> {
    (
        prop_oneof![Just(Preset::Default), Just(Preset::Seed)],
        prop_oneof![1usize..=512, 0usize..=5000],
        prop::option::of(prop_oneof![
            32usize..=8192,
            prop::sample::select(vec![512, 1024, 1536, 1800, 2048, 4096, 65_536, 65_537])
        ]),
        prop_oneof![0.002f64..0.5, Just(0.1), 0.0f64..2.0],
        prop_oneof![
            Just(WindowKind::Hann),
            Just(WindowKind::BlackmanHarris),
            Just(WindowKind::FlatTop)
        ],
    )
        .prop_map(
            |(preset, num_bins, fft_size, window_seconds, window)| AnalysisSettings {
                preset,
                num_bins,
                fft_size,
                window,
                window_seconds,
                ..AnalysisSettings::default()
            },
        )
}

/// Every rate we accept, weighted towards the ends and the common ones, plus a few we refuse.
fn sample_rate() -> impl Strategy<Value = u32> {
    prop_oneof![
        prop::sample::select(vec![
            8_000, 11_025, 16_000, 22_050, 44_100, 48_000, 88_200, 96_000, 192_000, 768_000
        ]),
        MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE,
        prop::sample::select(vec![1, MIN_SAMPLE_RATE - 1, MAX_SAMPLE_RATE + 1]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Frame k receives exactly the samples of its window on the timeline (zeros before 0 and
    /// after the end), however the audio arrives in chunks and however the window compares with
    /// the frame's length.
    #[test]
    fn every_frame_gets_the_samples_of_its_window(
        sample_rate in MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE,
        fps in frame_rate(),
        settings in analysis_settings(),
        duration_s in 0.0f64..3.0,
        chunk_lens in prop::collection::vec(1usize..20_000, 1..4),
    ) {
        let Ok(analyzer) = Analyzer::new(&settings, sample_rate) else {
            return Ok(());
        };
        let clock = FrameClock::new(fps, sample_rate, analyzer.placement());
        let num_samples = (duration_s * f64::from(sample_rate)) as usize;
        let mut source = CountingSource::new(sample_rate, num_samples, chunk_lens);
        let mut next_frame_idx = 0;
        let num_frames = pipeline::cut_frames(&mut source, &clock, |frame_idx, window| {
            assert_eq!(frame_idx, next_frame_idx);
            next_frame_idx += 1;
            let span = clock.window(frame_idx as i64);
            assert_eq!(window.len(), span.len);
            assert!(window.len() <= analyzer.max_input_len());
            for (offset, &x) in window.iter().enumerate() {
                let t = span.start + offset as i64;
                let expected = if (0..num_samples as i64).contains(&t) { t as f32 } else { 0.0 };
                assert_eq!(x, expected, "frame {frame_idx}, sample {t}");
            }
            Ok(ControlFlow::Continue(()))
        })
        .unwrap();
        prop_assert_eq!(num_frames, Some(clock.num_frames(num_samples as u64)));
    }

    /// Any settings either make an analyzer or a one-line error; an analyzer turns any input,
    /// NaN and infinities included, into finite bins at frequencies below Nyquist.
    #[test]
    fn analyzer_accepts_or_refuses_any_settings(
        sample_rate in sample_rate(),
        settings in analysis_settings(),
        samples in prop::collection::vec(
            prop_oneof![-1.0f32..1.0, Just(f32::NAN), Just(f32::INFINITY), Just(1e-40f32)],
            0..200,
        ),
    ) {
        let mut analyzer = match Analyzer::new(&settings, sample_rate) {
            Ok(analyzer) => analyzer,
            Err(error) => {
                prop_assert!(settings.validate(sample_rate).is_err());
                prop_assert!(!error.to_string().contains('\n'));
                return Ok(());
            }
        };
        let nyquist_hz = sample_rate as f32 / 2.0;
        prop_assert_eq!(analyzer.num_bins(), settings.num_bins);
        prop_assert!(analyzer.bin_map().centre_freqs_hz.iter().all(|&f| f > 0.0 && f <= nyquist_hz));
        let input: Vec<f32> = samples.iter().copied().cycle().take(analyzer.max_input_len()).collect();
        let mut bins = vec![f32::NAN; analyzer.num_bins()];
        analyzer.analyze(&input, &mut bins);
        match settings.preset {
            Preset::Default => prop_assert!(bins.iter().all(|v| (0.0..=1.0).contains(v))),
            Preset::Seed => prop_assert!(bins.iter().all(|v| v.is_finite() && *v >= 0.0)),
        }
    }
}

proptest! {
    // Each case renders whole frames, up to 2048 pixels square, in a debug build.
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// A whole render over random options: it writes one CSV row (and PNG) per frame, or stops
    /// with a settings error before writing anything.
    #[test]
    fn render_writes_every_frame_or_refuses_the_settings(
        sample_rate in sample_rate(),
        fps in frame_rate(),
        settings in analysis_settings(),
        size in prop_oneof![64u32..=512, 64u32..=2048],
        view in prop_oneof![Just(View::Pie), Just(View::Polar), Just(View::Bars)],
        write_images in any::<bool>(),
        num_frames_wanted in 1u64..=3,
        long_audio_s in 0.0f64..3.0,
    ) {
        let rate = u64::from(sample_rate.clamp(MIN_SAMPLE_RATE, MAX_SAMPLE_RATE));
        // Images are slow in debug: a few frames. The CSV alone: up to 3 s of audio.
        let num_samples = if write_images {
            num_frames_wanted * rate * u64::from(fps.den) / u64::from(fps.num)
        } else {
            (long_audio_s * rate as f64) as u64
        };
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("out");
        let job = RenderJob {
            source: Source::Demo,
            audio: None,
            fps,
            analysis: settings.clone(),
            render: RenderSettings { size, view, ..RenderSettings::default() },
            export: ExportSettings {
                out_dir: out_dir.clone(),
                csv: CsvFormat::Full,
                write_images,
                is_forced: false,
            },
            mode: OpenMode::Replace,
            num_workers: 2,
        };
        let mut source = CountingSource::new(sample_rate, num_samples as usize, vec![4096]);
        match pipeline::render(&mut source, &job, &AtomicBool::new(false), &|_| {}) {
            Ok(summary) => {
                let num_frames = summary.num_frames;
                prop_assert_eq!(num_frames, fps.num_frames(num_samples, sample_rate));
                prop_assert_eq!(csv_rows(&out_dir), num_frames);
                if write_images {
                    prop_assert_eq!(std::fs::read_dir(out_dir.join("frames")).unwrap().count() as u64, num_frames);
                }
            }
            Err(PipelineError::Analysis(_)) => {
                prop_assert!(settings.validate(sample_rate).is_err());
                prop_assert!(!out_dir.exists());
            }
            Err(PipelineError::NoAudio) => prop_assert_eq!(num_samples, 0),
            Err(error) => prop_assert!(false, "unexpected error: {error}"),
        }
    }
}

/// Rows of `spectrum.csv` after its header.
fn csv_rows(out_dir: &Path) -> u64 {
    let csv = std::fs::read_to_string(out_dir.join("spectrum.csv")).unwrap();
    csv.lines().count() as u64 - 1
}
