//! `Renderer::render` per view with the post's chain (blur 2 → grey → autocontrast), the budget
//! being 1 ms a frame at 512 px on one core. Run: `cargo bench --bench render`.
//!
//! Times are the thread's CPU time, not wall time: the budget is per core, and on a machine
//! shared with builds wall time mostly measures the scheduler.

use std::hint::black_box;
use std::time::Duration;

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
            b.iter_custom(|num_iters| {
                let start = thread_cpu_time();
                for _ in 0..num_iters {
                    frame_idx += 1;
                    black_box(renderer.render(frame_idx, black_box(&bins)).pixels[0]);
                }
                thread_cpu_time() - start
            });
        });
    }
}

/// CPU time this thread has run.
#[cfg(unix)]
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID exists on Linux.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Elsewhere the wall time since the first call stands in: the figures then include waiting.
#[cfg(not(unix))]
fn thread_cpu_time() -> Duration {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed()
}

criterion_group!(benches, bench_views);
criterion_main!(benches);
