//! The plugin's whole process path, driven through a CLAP host (clack-host) like a DAW:
//! 60 s of stereo 48 kHz in 64-sample blocks. `cargo bench --bench process`.
//!
//! - `armed`: recorder armed and rolling (tap, frame clock, analysis, queue), GUI closed.
//! - `monitor`: live analyzer running as if the editor were open, recorder disarmed.
//! - `idle`: disarmed, GUI closed (pass-through only).
//!
//! The real-time budget of 60 s of audio is 60 s of one core: a 60 s run taking 0.3 s is 0.5 %.
//! The writer thread (CSV only here) runs on another core and is not counted.
//!
//! Measured 2026-11-23 (`cargo bench --bench process --profile release`, 2 shared cores, busy):
//! armed 109 ms per 60 s (0.18 % of one core, ~550x real time); monitor 178 ms (0.30 %, 60
//! analyses a second of a 4096-point FFT into 512 bands); idle 5.7 ms (0.009 %, mostly host and
//! wrapper overhead).

#[path = "../tests/plugin_host/mod.rs"]
mod plugin_host;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use plugin_host::{TestPlugin, Transport, song};

const SAMPLE_RATE: u32 = 48_000;
const BLOCK: usize = 64;

/// One pass over `audio` from position 0, then a stopped block (ends the take).
fn run(
    plugin: &mut TestPlugin,
    audio: &[Vec<f32>],
    buffers: &mut [Vec<f32>],
    scratch: &mut [Vec<f32>],
) {
    let total = audio[0].len();
    let mut offset = 0;
    while offset < total {
        let len = BLOCK.min(total - offset);
        for (b, a) in buffers.iter_mut().zip(audio) {
            b[..len].copy_from_slice(&a[offset..offset + len]);
        }
        plugin.process_in_place(buffers, scratch, len, Transport::playing_at(offset as i64));
        offset += len;
    }
    for _ in 0..2 {
        plugin.process_in_place(buffers, scratch, BLOCK, Transport::stopped_at(total as i64));
    }
}

fn process(c: &mut Criterion) {
    let audio = song(SAMPLE_RATE, 60.0);
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("process_60s_stereo_48k_64");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for (name, armed, monitor) in [
        ("armed", true, false),
        ("monitor", false, true),
        ("idle", false, false),
    ] {
        let mut plugin = TestPlugin::new();
        plugin.arm_into(dir.path(), name);
        plugin.configure(&[("armed", serde_json::json!({"bool": armed}))], &[]);
        // SAFETY: single-threaded bench setup; the plugin reads it once, at activation.
        unsafe {
            if monitor {
                std::env::set_var("SPECTRAL_DIFFUSION_FORCE_MONITOR", "1");
            } else {
                std::env::remove_var("SPECTRAL_DIFFUSION_FORCE_MONITOR");
            }
        }
        plugin.set_offline(false);
        plugin.activate(f64::from(SAMPLE_RATE), BLOCK, 2);
        let mut buffers = vec![vec![0.0f32; BLOCK]; 2];
        let mut scratch = vec![vec![0.0f32; BLOCK]; 2];
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    run(&mut plugin, &audio, &mut buffers, &mut scratch);
                }
                let elapsed = start.elapsed();
                let per_run = elapsed.as_secs_f64() / iters as f64;
                eprintln!(
                    "{name}: {:.1} ms per 60 s = {:.3} % of one core, {:.0}x real time",
                    per_run * 1000.0,
                    per_run / 60.0 * 100.0,
                    60.0 / per_run
                );
                elapsed
            })
        });
        plugin.deactivate();
    }
    group.finish();
}

criterion_group!(benches, process);
criterion_main!(benches);
