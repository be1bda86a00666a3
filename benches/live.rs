//! Live's overhead per picture on loopback: the round trip (guide taken → picture decoded) minus
//! the server's own execution time, for 512 px guides as the guide look renders them. Goal:
//! under 20 ms. What is timed is that difference, per picture.
//!
//! `cargo bench --bench live` runs it against the in-process fake ComfyUI (which samples in no
//! time and stamps its execution like the real server) and the fake A1111 (which reports no time
//! of its own: its figure is the whole round trip). Against a real ComfyUI:
//! `LIVE_SERVER=http://127.0.0.1:8188 LIVE_CHECKPOINT=model.safetensors cargo bench --bench live`
//! (set `LIVE_STEPS`, default 1, to keep the server's part short).

#[path = "../tests/fake_servers/mod.rs"]
mod fake_servers;

use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, criterion_group, criterion_main};
use spectral_diffusion::diffuse::BackendKind;
use spectral_diffusion::diffuse::live::{LiveConfig, LiveLoop, LiveSettings};
use spectral_diffusion::render::{RenderSettings, Renderer};

use fake_servers::{CHECKPOINT, comfy, start_a1111, start_comfy};

/// A spectrum shaped like music that moves with `frame_idx`, so every guide differs.
fn music_like(num_bins: usize, frame_idx: u64) -> Vec<f32> {
    (0..num_bins)
        .map(|i| {
            let x = i as f32 / num_bins as f32;
            let t = frame_idx as f32 * 0.1;
            (0.9 - 0.6 * x + 0.1 * (x * 40.0 + t).sin()).clamp(0.0, 1.0)
        })
        .collect()
}

/// Sends one new guide at a time and adds up each picture's overhead.
fn overhead(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, config: LiveConfig) {
    let settings = LiveSettings {
        steps: std::env::var("LIVE_STEPS")
            .ok()
            .and_then(|steps| steps.parse().ok())
            .unwrap_or(1),
        max_fps: 60.0,
        ..LiveSettings::default()
    };
    let frame = settings.frame_settings(&[0.0; 8]);
    let mut renderer = Renderer::new(&RenderSettings::default()).expect("default settings");
    let mut live = LiveLoop::start(config);
    let mut frame_idx = 0;
    group.bench_function(name, |b| {
        b.iter_custom(|num_iters| {
            let mut total = Duration::ZERO;
            for _ in 0..num_iters {
                frame_idx += 1;
                let image = renderer.render(frame_idx, &music_like(256, frame_idx));
                let num_drawn = live.status().num_drawn;
                live.offer(frame_idx, image, &frame, Duration::ZERO);
                let start = Instant::now();
                while live.status().num_drawn == num_drawn {
                    let status = live.status();
                    if let Some(error) = status.servers.iter().find_map(|s| s.error.as_ref()) {
                        panic!("{error}");
                    }
                    if let Some(error) = &status.setup_error {
                        panic!("{error}");
                    }
                    assert!(start.elapsed() < Duration::from_secs(600), "no picture");
                    std::thread::sleep(Duration::from_micros(200));
                }
                let status = live.status();
                total += status
                    .overhead()
                    .or(status.round_trip)
                    .expect("a picture has its round trip");
            }
            total
        });
    });
    let status = live.status();
    eprintln!(
        "{name}: last picture: round trip {:?}, server {:?}",
        status.round_trip, status.execution
    );
    live.join();
}

fn live_overhead(c: &mut Criterion) {
    let config = |backend, server: &str, checkpoint: &str| {
        LiveSettings {
            backend,
            servers: server.to_owned(),
            checkpoint: checkpoint.to_owned(),
            ..LiveSettings::default()
        }
        .config(512)
    };
    let mut group = c.benchmark_group("live");
    if let Ok(server) = std::env::var("LIVE_SERVER") {
        // A picture takes seconds on a real server: ten samples of one picture each.
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(1))
            .measurement_time(Duration::from_secs(1));
        let checkpoint = std::env::var("LIVE_CHECKPOINT").unwrap_or_default();
        overhead(
            &mut group,
            "overhead 512px, real ComfyUI",
            config(BackendKind::Comfyui, &server, &checkpoint),
        );
        return;
    }
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    let fake_comfy = start_comfy(comfy(0));
    overhead(
        &mut group,
        "overhead 512px, fake ComfyUI",
        config(BackendKind::Comfyui, &fake_comfy.url, CHECKPOINT),
    );
    let fake_a1111 = start_a1111(None, Duration::ZERO);
    overhead(
        &mut group,
        "round trip 512px, fake A1111",
        config(BackendKind::A1111, &fake_a1111.url, ""),
    );
}

criterion_group!(benches, live_overhead);
criterion_main!(benches);
