//! The `seed` preset reproduces the post's numbers: decoding the fixture WAV with `FileSource`,
//! cutting frames with `FrameClock` and analyzing with `AnalysisSettings::seed()` gives the rows
//! that the reference pipeline (`shared/bench/seed_pipeline.py --no-images`, NumPy/SciPy) wrote.

use std::path::Path;

use spectral_diffusion::analysis::{AnalysisSettings, Analyzer};
use spectral_diffusion::audio::decode::{FileSource, MonoSource};
use spectral_diffusion::clock::{FrameClock, FrameRate};

/// Relative tolerance per bin. Both sides compute in `f64` from identical inputs (16-bit samples
/// mixed and halved exactly); ours rounds the result to `f32` (relative 6e-8) and the two FFTs
/// (pocketfft, rustfft) differ by ~1e-16 of the frame's energy.
const RELATIVE_TOLERANCE: f64 = 1e-5;
/// Bins in a deep spectral null carry the FFT's absolute rounding error (a tiny fraction of the
/// frame's loudest bin), so a relative error against a near-zero value means nothing: the
/// denominator is never taken below this fraction of the frame's loudest expected bin.
const NEAR_ZERO_FRACTION: f64 = 1e-6;

#[test]
fn seed_preset_matches_the_reference_pipeline() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let expected: Vec<Vec<f64>> = std::fs::read_to_string(fixtures.join("seed_expected.csv"))
        .unwrap()
        .lines()
        .map(|line| line.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(expected.len(), 12);

    let mut source = FileSource::open(&fixtures.join("seed_input.wav")).unwrap();
    let sample_rate = source.info().sample_rate;
    let mut mono = Vec::new();
    while source.read_mono(&mut mono).unwrap() {}

    let mut analyzer = Analyzer::new(&AnalysisSettings::seed(), sample_rate).unwrap();
    let clock = FrameClock::new(FrameRate::FPS_24, sample_rate, analyzer.placement());
    // The post makes floor(samples * fps / sr) frames, we make the ceiling; this fixture is a
    // whole number of frames long, so both agree.
    assert_eq!(clock.num_frames(mono.len() as u64), 24);
    let mut bins = vec![0.0; analyzer.num_bins()];
    // The post's chunk c (its file `c + 1`) is our frame k = c.
    for (frame_idx, row) in expected.iter().enumerate() {
        let span = clock.window(frame_idx as i64);
        let start = span.start as usize;
        let end = (span.end() as usize).min(mono.len());
        analyzer.analyze(&mono[start..end], &mut bins);
        assert_eq!(bins.len(), row.len());
        let frame_max = row.iter().fold(0.0f64, |max, v| max.max(v.abs()));
        for (bin_idx, (&actual, &wanted)) in bins.iter().zip(row).enumerate() {
            let denominator = wanted.abs().max(NEAR_ZERO_FRACTION * frame_max);
            let error = (f64::from(actual) - wanted).abs() / denominator;
            assert!(
                error <= RELATIVE_TOLERANCE,
                "frame {frame_idx} bin {bin_idx}: {actual} vs {wanted} (relative error {error:e})"
            );
        }
    }
}
