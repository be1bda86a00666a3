//! The plugin's whole process path, driven through a CLAP host (clack-host) like a DAW:
//! 60 s of stereo 48 kHz in 64-sample blocks. `cargo bench --bench process`.
//!
//! - `armed`: recorder armed and rolling (tap, frame clock, analysis, queue), GUI closed.
//! - `idle`: disarmed, GUI closed (pass-through only).
//! - `tap`: what the audio thread adds while the editor is open: copying each block into the
//!   tap's ring (no test host can open the editor, so it is driven directly; add `idle` for the
//!   whole path). The GUI's drain every 768 samples (16 ms) is included.
//! - `gui_analysis`: the GUI thread's share, not the audio thread's: the live analyzer with two
//!   traces (L + R) and the meter strip over the same 60 s, in repaint-sized chunks.
//! - `deactivate_full_queue`: `deactivate()` right after a real-time bounce filled the queue
//!   (1024 frames, a writer drawing 512 px frames with the whole post chain), as a host does when
//!   a CLAP bounce switches the render mode back.
//! - `idle_memory`: resident memory per idle, activated instance (30 instances, `/proc` on Linux).
//!
//! The real-time budget of 60 s of audio is 60 s of one core: a 60 s run taking 0.3 s is 0.5 %.
//! The writer thread (CSV only here) runs on another core and is not counted.

#[path = "../tests/plugin_host/mod.rs"]
mod plugin_host;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use plugin_host::{TestPlugin, Transport, song};
use serde_json::json;
use spectral_diffusion::editor::meters::Meters;
use spectral_diffusion::editor::monitor::{Monitor, MonitorSettings};
use spectral_diffusion::handoff::TapInput;
use spectral_diffusion::params::{ChannelModeParam, FftSizeParam, WindowParam};

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

fn report(name: &str, elapsed: Duration, iters: u64) {
    let per_run = elapsed.as_secs_f64() / iters as f64;
    eprintln!(
        "{name}: {:.1} ms per 60 s = {:.4} % of one core, {:.0}x real time",
        per_run * 1000.0,
        per_run / 60.0 * 100.0,
        60.0 / per_run
    );
}

fn process(c: &mut Criterion) {
    let audio = song(SAMPLE_RATE, 60.0);
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("process_60s_stereo_48k_64");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for (name, armed) in [("armed", true), ("idle", false)] {
        let mut plugin = TestPlugin::new();
        plugin.arm_into(dir.path(), name);
        plugin.configure(&[("armed", json!({"bool": armed}))], &[]);
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
                report(name, elapsed, iters);
                elapsed
            })
        });
    }

    let (mut tap, mut tap_output) = TapInput::new();
    tap.start_stream(SAMPLE_RATE, 2);
    let mut block = [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]];
    let (mut left, mut right) = (Vec::with_capacity(4096), Vec::with_capacity(4096));
    group.bench_function("tap", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for offset in (0..audio[0].len()).step_by(BLOCK) {
                    let len = BLOCK.min(audio[0].len() - offset);
                    for (dst, src) in block.iter_mut().zip(&audio) {
                        dst[..len].copy_from_slice(&src[offset..offset + len]);
                    }
                    let [l, r] = &mut block;
                    let channels: [&mut [f32]; 2] = [&mut l[..], &mut r[..]];
                    tap.push(&channels, len);
                    if offset % 768 == 0 {
                        left.clear();
                        right.clear();
                        tap_output.drain_into(&mut left, &mut right);
                    }
                }
            }
            let elapsed = start.elapsed();
            report("tap", elapsed, iters);
            elapsed
        })
    });

    let mut monitor = Monitor::new(SAMPLE_RATE).unwrap();
    let mut meters = Meters::new(SAMPLE_RATE, 2).unwrap();
    let settings = MonitorSettings {
        fft_size: FftSizeParam::Auto,
        hop_fraction: 0.5,
        window: WindowParam::Hann,
        channel_mode: ChannelModeParam::LeftRight,
        slope_db_per_octave: 4.5,
        decay_ms: 300.0,
    };
    group.bench_function("gui_analysis", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for (l, r) in audio[0].chunks(800).zip(audio[1].chunks(800)) {
                    meters.process(l, r);
                    monitor.process(l, r, &settings);
                }
            }
            let elapsed = start.elapsed();
            report("gui_analysis", elapsed, iters);
            elapsed
        })
    });
    group.finish();
}

/// `deactivate()` with a full queue: the time the host's main thread waits.
fn deactivate(c: &mut Criterion) {
    let audio = song(SAMPLE_RATE, 60.0);
    let dir = tempfile::tempdir().unwrap();
    let mut plugin = TestPlugin::new();
    plugin.arm_into(dir.path(), "deactivate");
    plugin.configure(
        &[
            ("queue-frames", json!({"i32": 1024})),
            ("write-images", json!({"bool": true})),
            ("image-size", json!({"i32": 512})),
            ("equalize", json!({"bool": true})),
        ],
        &[],
    );
    plugin.set_offline(false);
    let mut buffers = vec![vec![0.0f32; 4096]; 2];
    let mut scratch = vec![vec![0.0f32; 4096]; 2];
    let mut group = c.benchmark_group("session");
    group.sample_size(10);
    group.bench_function("deactivate_full_queue", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                plugin.activate(f64::from(SAMPLE_RATE), 4096, 2);
                // 60 s at 24 fps is 1440 frames: more than the queue holds, far faster than the
                // writer draws them.
                for offset in (0..audio[0].len()).step_by(4096) {
                    let len = 4096.min(audio[0].len() - offset);
                    for (dst, src) in buffers.iter_mut().zip(&audio) {
                        dst[..len].copy_from_slice(&src[offset..offset + len]);
                    }
                    let transport = Transport::playing_at(offset as i64);
                    plugin.process_in_place(&mut buffers, &mut scratch, len, transport);
                }
                let start = Instant::now();
                plugin.deactivate();
                let elapsed = start.elapsed();
                eprintln!(
                    "deactivate with a full queue: {:.3} ms",
                    elapsed.as_secs_f64() * 1000.0
                );
                total += elapsed;
            }
            total
        })
    });
    group.finish();
    eprintln!("waiting for the writer to drain the queue…");
    drop(plugin);
}

/// Resident memory of idle instances (activated, disarmed, editor closed), per instance.
fn idle_memory(_: &mut Criterion) {
    let Some(before) = resident_bytes() else {
        eprintln!("idle_memory: no /proc/self/statm here");
        return;
    };
    const NUM_INSTANCES: usize = 30;
    let mut plugins: Vec<TestPlugin> = (0..NUM_INSTANCES).map(|_| TestPlugin::new()).collect();
    let silence = [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]];
    for plugin in &mut plugins {
        plugin.activate(f64::from(SAMPLE_RATE), 1024, 2);
        for _ in 0..100 {
            plugin.process(&[&silence[0], &silence[1]], Transport::stopped_at(0));
        }
    }
    let after = resident_bytes().unwrap_or(before);
    eprintln!(
        "idle_memory: {:.0} KiB resident per idle instance ({NUM_INSTANCES} instances)",
        after.saturating_sub(before) as f64 / NUM_INSTANCES as f64 / 1024.0
    );
}

/// This process's resident set, from `/proc/self/statm` (pages).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

criterion_group!(benches, process, deactivate, idle_memory);
criterion_main!(benches);
