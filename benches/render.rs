//! `Renderer::render` per view with the post's chain (blur 2 → grey → autocontrast), the budget
//! being 1 ms a frame at 512 px on one core. Run: `cargo bench --bench render`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use spectral_diffusion::render::{RenderSettings, Renderer, View};

/// A spectrum shaped like music: loud lows, falling highs, a little ripple.
fn music_like(num_bins: usize) -> Vec<f32> {
    (0..num_bins)
        .map(|i| {
            let x = i as f32 / num_bins as f32;
            (0.9 - 0.6 * x + 0.1 * (x * 40.0).sin()).clamp(0.0, 1.0)
        })
        .collect()
}

fn bench_views(c: &mut Criterion) {
    let bins = music_like(256);
    for (view, size) in [
        (View::Pie, 512),
        (View::Pie, 1024),
        (View::Polar, 512),
        (View::Bars, 512),
    ] {
        let settings = RenderSettings {
            view,
            size,
            ..RenderSettings::default()
        };
        let mut renderer = Renderer::new(&settings).expect("valid settings");
        let mut frame_idx = 0;
        c.bench_function(&format!("render {view:?} {size}px"), |b| {
            b.iter(|| {
                frame_idx += 1;
                black_box(renderer.render(frame_idx, black_box(&bins)).pixels[0])
            });
        });
    }
}

criterion_group!(benches, bench_views);
criterion_main!(benches);
