//! The analyzer's promises, through its public API: sines land in their bin at their level,
//! silence sits at the floor, garbage input stays finite.

use std::f64::consts::TAU;

use spectral_diffusion::analysis::{
    AnalysisSettings, Analyzer, Preset, WindowKind, WindowPlacement,
};

fn sine(freq_hz: f64, amplitude: f64, sample_rate: u32, len: usize, phase: f64) -> Vec<f32> {
    (0..len)
        .map(|n| {
            (amplitude * (TAU * freq_hz * n as f64 / f64::from(sample_rate) + phase).sin()) as f32
        })
        .collect()
}

fn window_len(analyzer: &Analyzer) -> usize {
    match analyzer.placement() {
        WindowPlacement::FrameCentre { len } => len,
        WindowPlacement::FrameStart { max_len } => max_len,
    }
}

fn analyze(analyzer: &mut Analyzer, samples: &[f32]) -> Vec<f32> {
    let mut bins = vec![0.0; analyzer.num_bins()];
    analyzer.analyze(samples, &mut bins);
    bins
}

fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(idx, _)| idx)
        .unwrap()
}

/// The band whose log-spaced range holds `freq_hz` (edges are geometric means of neighbours' centres).
fn band_holding(analyzer: &Analyzer, freq_hz: f32) -> usize {
    let centres = &analyzer.bin_map().centre_freqs_hz;
    centres
        .iter()
        .position(|&centre| centre * (centres[1] / centres[0]).sqrt() > freq_hz)
        .unwrap()
}

/// A sine at f peaks in the band whose range holds f, for frequencies across the spectrum,
/// sample rates and windows, including sines that fall between two FFT bins. The sines sit
/// anywhere but the outer fifth of a band: below 200 Hz a band is narrower than a tenth of an FFT
/// bin, and no FFT can tell which side of such an edge a sine is on.
#[test]
fn default_preset_sine_peaks_in_its_band() {
    for sample_rate in [44_100, 48_000, 96_000] {
        for window in [
            WindowKind::Hann,
            WindowKind::BlackmanHarris,
            WindowKind::FlatTop,
        ] {
            let settings = AnalysisSettings {
                window,
                ..AnalysisSettings::default()
            };
            let mut analyzer = Analyzer::new(&settings, sample_rate).unwrap();
            let centres = analyzer.bin_map().centre_freqs_hz.clone();
            let band_ratio = f64::from(centres[1] / centres[0]);
            let bands_and_offsets = [
                (30, 0.3),
                (70, -0.3),
                (110, 0.0),
                (150, 0.25),
                (190, -0.2),
                (230, 0.1),
                (250, 0.3),
            ];
            for (band, offset) in bands_and_offsets {
                let freq_hz = f64::from(centres[band]) * band_ratio.powf(offset);
                if window == WindowKind::FlatTop && band < 100 {
                    // Flat-top trades frequency resolution for level accuracy: its 10-bin main
                    // lobe cannot place a sine within bands this narrow, so it is checked above.
                    continue;
                }
                let samples = sine(freq_hz, 0.5, sample_rate, window_len(&analyzer), 0.3);
                let bins = analyze(&mut analyzer, &samples);
                assert_eq!(
                    argmax(&bins),
                    band_holding(&analyzer, freq_hz as f32),
                    "{freq_hz} Hz at {sample_rate} Hz, {window:?}"
                );
            }
        }
    }
}

/// A full-scale sine reads 0 dB within ±0.5 dB wherever it sits between FFT bins.
#[test]
fn default_preset_full_scale_sine_reads_zero_db() {
    let settings = AnalysisSettings {
        floor_db: -90.0,
        ..AnalysisSettings::default()
    };
    let mut analyzer = Analyzer::new(&settings, 48_000).unwrap();
    let bin_hz = 48_000.0 / 4096.0;
    for offset in [0.0, 0.25, 0.5, 0.75] {
        let freq_hz = (85.0 + offset) * bin_hz;
        analyzer.analyze(&sine(freq_hz, 1.0, 48_000, 4096, 0.0), &mut vec![0.0; 256]);
        let level_db = analyzer
            .band_levels_db()
            .iter()
            .copied()
            .fold(f32::MIN, f32::max);
        assert!(level_db.abs() <= 0.5, "{freq_hz} Hz reads {level_db} dB");
    }
}

/// A -20 dBFS sine reads -20 dB: the unit values map the floor..0 dB range linearly.
#[test]
fn default_preset_levels_map_linearly_in_db() {
    let mut analyzer = Analyzer::new(&AnalysisSettings::default(), 48_000).unwrap();
    let bins = analyze(&mut analyzer, &sine(1000.0, 0.1, 48_000, 4096, 0.0));
    let peak = bins[argmax(&bins)];
    let peak_db = analyzer
        .band_levels_db()
        .iter()
        .copied()
        .fold(f32::MIN, f32::max);
    assert!(
        (peak_db + 20.0).abs() < 0.5,
        "band_levels_db reads {peak_db} dB"
    );
    let expected = 1.0 - 20.0 / 90.0;
    assert!(
        (peak - expected).abs() < 0.5 / 90.0,
        "peak {peak}, expected {expected}"
    );
}

/// Silence reads the floor (0.0) in every band.
#[test]
fn default_preset_silence_reads_the_floor() {
    let mut analyzer = Analyzer::new(&AnalysisSettings::default(), 44_100).unwrap();
    assert!(
        analyze(&mut analyzer, &vec![0.0; 4096])
            .iter()
            .all(|&v| v == 0.0)
    );
}

/// NaN, infinities and denormals never turn into NaN bins, in either preset.
#[test]
fn non_finite_input_gives_finite_bins() {
    for settings in [AnalysisSettings::default(), AnalysisSettings::seed()] {
        let mut analyzer = Analyzer::new(&settings, 44_100).unwrap();
        let mut samples = sine(440.0, 0.5, 44_100, window_len(&analyzer), 0.0);
        samples[10] = f32::NAN;
        samples[20] = f32::INFINITY;
        samples[30] = f32::NEG_INFINITY;
        samples[40] = 1e-40;
        let bins = analyze(&mut analyzer, &samples);
        assert!(bins.iter().all(|v| v.is_finite()), "{:?}", settings.preset);
        assert!(bins.iter().any(|&v| v > 0.0), "the sine must still show");
    }
}

/// The tilt lifts highs and lowers lows around 1 kHz by its dB per octave.
#[test]
fn tilt_pivots_at_one_kilohertz() {
    let flat = AnalysisSettings::default();
    let tilted = AnalysisSettings {
        tilt_db_per_octave: 3.0,
        ..flat.clone()
    };
    for (freq_hz, octaves) in [(4000.0, 2.0), (250.0, -2.0)] {
        let samples = sine(freq_hz, 0.1, 48_000, 4096, 0.0);
        let flat_bins = analyze(&mut Analyzer::new(&flat, 48_000).unwrap(), &samples);
        let tilted_bins = analyze(&mut Analyzer::new(&tilted, 48_000).unwrap(), &samples);
        let idx = argmax(&flat_bins);
        let change_db = (tilted_bins[idx] - flat_bins[idx]) * 90.0;
        // The band centre is within half a band of the sine, so allow a little.
        assert!(
            (change_db - 3.0 * octaves).abs() < 0.1,
            "{freq_hz} Hz moved {change_db} dB"
        );
    }
}

/// The post's formula puts a sine's energy at the logspace index nearest its frequency.
#[test]
fn seed_preset_sine_peaks_at_its_index() {
    let mut analyzer = Analyzer::new(&AnalysisSettings::seed(), 44_100).unwrap();
    assert_eq!(analyzer.settings().preset, Preset::Seed);
    for freq_hz in [200.0, 1000.0, 5000.0] {
        // One 24 fps chunk, zero-padded to the 0.1 s FFT, as the post does.
        let bins = analyze(&mut analyzer, &sine(freq_hz, 0.5, 44_100, 1837, 0.0));
        let peak_freq = analyzer.bin_map().centre_freqs_hz[argmax(&bins)];
        // The logspace indices near f are a few FFT bins (10 Hz each) apart.
        assert!(
            (peak_freq - freq_hz as f32).abs() < 0.03 * freq_hz as f32,
            "{freq_hz} Hz peaks at {peak_freq} Hz"
        );
    }
}

/// Settings that cannot work are refused up front with a readable reason.
#[test]
fn absurd_settings_are_refused() {
    let bad = [
        AnalysisSettings {
            num_bins: 0,
            ..AnalysisSettings::default()
        },
        AnalysisSettings {
            fft_size: Some(16),
            ..AnalysisSettings::default()
        },
        AnalysisSettings {
            fft_size: Some(1 << 24),
            ..AnalysisSettings::default()
        },
        AnalysisSettings {
            floor_db: 10.0,
            ..AnalysisSettings::default()
        },
        AnalysisSettings {
            window_seconds: f64::NAN,
            ..AnalysisSettings::seed()
        },
    ];
    for settings in bad {
        let error = Analyzer::new(&settings, 48_000)
            .err()
            .expect("must be refused");
        assert!(!error.to_string().is_empty());
    }
    assert!(Analyzer::new(&AnalysisSettings::default(), 1_000).is_err());
    assert!(Analyzer::new(&AnalysisSettings::default(), 10_000_000).is_err());
}
