//! Live's overhead per picture on loopback: the round trip (guide taken → picture decoded) minus
//! the server's own execution time (and its queue wait behind other clients, where it says), for
//! 512 px guides as the guide look renders them. Goal: under 20 ms. What is timed is that
//! difference, per picture.
//!
//! `cargo bench --bench live` runs it against the in-process fake ComfyUI (which samples in no
//! time and stamps its execution like the real server) and the fake A1111 (which reports no time
//! of its own: its figure is the whole round trip). The fakes' HTTP server (tiny_http) leaves
//! Nagle's algorithm on, so about a third of the fake A1111's answers wait some 40 ms for the
//! client's delayed ACK; ComfyUI and A1111 are asyncio servers, which set TCP_NODELAY (against a
//! stand-in A1111 that sets it, the round trip at 512 px was 1.6–9.5 ms, against 45 ms without). Against a real ComfyUI:
//! `LIVE_SERVER=http://127.0.0.1:8188 LIVE_CHECKPOINT=model.safetensors cargo bench --bench live`
//! prints `LIVE_FRAMES` pictures (default 3) one by one (`LIVE_STEPS`, default 1, keeps the
//! server's part short; `LIVE_SIZE`, default 512, is the guide's side in pixels).

#[path = "../tests/fake_servers/mod.rs"]
mod fake_servers;

use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use spectral_diffusion::diffuse::live::{LiveConfig, LiveLoop, LiveSettings, LiveStatus};
use spectral_diffusion::diffuse::{BackendKind, FrameSettings};
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

/// One new 512 px guide at a time through a running loop: each picture's round trip and the
/// server's own time.
struct Pictures {
    live: LiveLoop,
    renderer: Renderer,
    frame: FrameSettings,
    frame_idx: u64,
}

impl Pictures {
    fn new(config: LiveConfig) -> Self {
        let settings = LiveSettings {
            steps: std::env::var("LIVE_STEPS")
                .ok()
                .and_then(|steps| steps.parse().ok())
                .unwrap_or(1),
            ..LiveSettings::default()
        };
        Self {
            live: LiveLoop::start(config.clone()),
            renderer: Renderer::new(&RenderSettings {
                size: config.side_px,
                ..RenderSettings::default()
            })
            .expect("a size the renderer takes"),
            frame: settings.frame_settings(&[0.0; 8]),
            frame_idx: 0,
        }
    }

    /// Offers a new guide and waits for its picture: the loop's status then.
    fn next(&mut self) -> LiveStatus {
        self.frame_idx += 1;
        let bins = music_like(256, self.frame_idx);
        let image = self.renderer.render(self.frame_idx, &bins);
        let num_drawn = self.live.status().num_drawn;
        self.live
            .offer(self.frame_idx, image, &self.frame, Duration::ZERO);
        let start = Instant::now();
        loop {
            let status = self.live.status();
            if status.num_drawn > num_drawn {
                return status.clone();
            }
            if let Some(error) = status.servers.iter().find_map(|s| s.error.as_ref()) {
                panic!("{error}");
            }
            if let Some(error) = &status.setup_error {
                panic!("{error}");
            }
            assert!(start.elapsed() < Duration::from_secs(900), "no picture");
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

/// Criterion times each picture's overhead (its round trip where the server reports no time).
fn overhead(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, config: LiveConfig) {
    let mut pictures = Pictures::new(config);
    group.bench_function(name, |b| {
        b.iter_custom(|num_iters| {
            (0..num_iters)
                .map(|_| {
                    let status = pictures.next();
                    status
                        .overhead()
                        .or(status.round_trip)
                        .expect("a picture has its round trip")
                })
                .sum()
        });
    });
    let last = pictures.next();
    eprintln!(
        "{name}: a last picture: round trip {:?}, queue {:?}, server {:?}, overhead {:?}",
        last.round_trip,
        last.queued,
        last.execution,
        last.overhead()
    );
}

/// Against a real server each picture takes seconds to minutes: `LIVE_FRAMES` pictures
/// (default 3), each printed, without criterion's sampling.
fn real_server(server: &str) {
    let config = LiveSettings {
        servers: server.to_owned(),
        checkpoint: std::env::var("LIVE_CHECKPOINT").unwrap_or_default(),
        ..LiveSettings::default()
    }
    .config(
        std::env::var("LIVE_SIZE")
            .ok()
            .and_then(|size| size.parse().ok())
            .unwrap_or(512),
    );
    let num_frames = std::env::var("LIVE_FRAMES")
        .ok()
        .and_then(|frames| frames.parse().ok())
        .unwrap_or(3);
    let mut pictures = Pictures::new(config);
    let ms = |duration: Option<Duration>| duration.unwrap_or_default().as_secs_f64() * 1e3;
    for _ in 0..num_frames {
        let status = pictures.next();
        println!(
            "{server} {} px: round trip {:.1} ms, queue {:.1} ms, server {:.1} ms, overhead {:.1} ms",
            pictures.renderer.settings().size,
            ms(status.round_trip),
            ms(status.queued),
            ms(status.execution),
            ms(status.overhead())
        );
    }
}

fn live_overhead(c: &mut Criterion) {
    if let Ok(server) = std::env::var("LIVE_SERVER") {
        real_server(&server);
        return;
    }
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
