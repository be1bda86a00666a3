//! Per-frame costs of the offline engine: analysis, PNG encoding, and a whole frame.
//! `cargo bench --bench engine`; the render views have their own bench (`render`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use spectral_diffusion::analysis::{AnalysisSettings, Analyzer};
use spectral_diffusion::clock::FrameRate;
use spectral_diffusion::export::{FrameEncoder, JobInfo, Source};
use spectral_diffusion::render::{RenderSettings, Renderer};

/// A frame's worth of a chord with some noise: a realistic, non-sparse spectrum.
fn test_signal(len: usize) -> Vec<f32> {
    let mut state = 1u32;
    (0..len)
        .map(|n| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let t = n as f32 / 48_000.0;
            let tone: f32 = [110.0, 440.0, 1320.0, 5000.0]
                .iter()
                .map(|f| (std::f32::consts::TAU * f * t).sin())
                .sum();
            0.2 * tone + 0.05 * (state as f32 / u32::MAX as f32 - 0.5)
        })
        .collect()
}

fn analysis(c: &mut Criterion) {
    for (name, settings) in [
        ("analysis/default", AnalysisSettings::default()),
        ("analysis/seed", AnalysisSettings::seed()),
    ] {
        let mut analyzer = Analyzer::new(&settings, 48_000).unwrap();
        let samples = test_signal(analyzer.max_input_len());
        let mut bins = vec![0.0; analyzer.num_bins()];
        c.bench_function(name, |b| {
            b.iter(|| analyzer.analyze(black_box(&samples), &mut bins))
        });
    }
}

fn job(render: RenderSettings) -> (JobInfo, Vec<f32>) {
    let mut analyzer = Analyzer::new(&AnalysisSettings::default(), 48_000).unwrap();
    let mut bins = vec![0.0; analyzer.num_bins()];
    analyzer.analyze(&test_signal(analyzer.max_input_len()), &mut bins);
    let job = JobInfo {
        source: Source::Demo,
        sample_rate: 48_000,
        fps: FrameRate::FPS_24,
        analysis: AnalysisSettings::default(),
        render,
        bin_freqs_hz: analyzer.bin_map().centre_freqs_hz.clone(),
        audio: None,
        frames_expected: None,
    };
    (job, bins)
}

/// PNG encoding of one rendered 512x512 frame at the compression levels worth considering.
fn png_encoding(c: &mut Criterion) {
    let (job, bins) = job(RenderSettings::default());
    let mut renderer = Renderer::new(&job.render).unwrap();
    let image = renderer.render(0, &bins);
    for (name, compression) in [
        ("png/fast", png::Compression::Fast),
        ("png/balanced", png::Compression::Balanced),
        ("png/none", png::Compression::NoCompression),
    ] {
        let mut out = Vec::new();
        c.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                let mut encoder = png::Encoder::new(&mut out, image.width, image.height);
                encoder.set_color(png::ColorType::Grayscale);
                encoder.set_compression(compression);
                let mut writer = encoder.write_header().unwrap();
                writer.write_image_data(&image.pixels).unwrap();
                writer.finish().unwrap();
            })
        });
        println!("{name}: {} bytes", out.len());
    }
}

/// Render and encode one frame, as each CLI worker does (file write excluded).
fn whole_frame(c: &mut Criterion) {
    let (job, bins) = job(RenderSettings::default());
    let mut encoder = FrameEncoder::new(&job, std::path::Path::new("unused")).unwrap();
    let mut frame_idx = 0;
    c.bench_function("frame/pie-512", |b| {
        b.iter(|| {
            frame_idx += 1;
            black_box(encoder.encode(frame_idx, &bins).unwrap().len())
        })
    });
}

criterion_group!(benches, analysis, png_encoding, whole_frame);
criterion_main!(benches);
