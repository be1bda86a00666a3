//! Real-time mode through a real CLAP host, with the plugin's test hooks (environment variables
//! read at activation: process-wide, so every test here holds `ENV_LOCK`): a deliberately slow
//! writer, a small queue, and the live analyzer forced on as if the editor were open.

mod plugin_host;

use std::sync::Mutex;

use plugin_host::{TestPlugin, Transport, read_csv, song};

const TRACK: &str = "rt";
static ENV_LOCK: Mutex<()> = Mutex::new(());

fn set_env(vars: &[(&str, &str)]) {
    for name in [
        "SPECTRAL_DIFFUSION_QUEUE_FRAMES",
        "SPECTRAL_DIFFUSION_WRITER_DELAY_MS",
        "SPECTRAL_DIFFUSION_FORCE_MONITOR",
    ] {
        // SAFETY: every test in this binary holds ENV_LOCK while it touches the environment and
        // activates the plugin; nothing else reads these variables concurrently.
        unsafe { std::env::remove_var(name) };
    }
    for (name, value) in vars {
        // SAFETY: as above.
        unsafe { std::env::set_var(name, value) };
    }
}

/// Runs a 10 s song (240 frames at 24 fps) in real-time mode as fast as the host can (like a
/// "real-time" export that freewheels), with a writer that needs `delay_ms` per frame.
fn freewheel(queue_frames: usize, delay_ms: u32) -> (tempfile::TempDir, serde_json::Value, usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut plugin = TestPlugin::new();
    plugin.arm_into(dir.path(), TRACK);
    set_env(&[
        ("SPECTRAL_DIFFUSION_QUEUE_FRAMES", &queue_frames.to_string()),
        ("SPECTRAL_DIFFUSION_WRITER_DELAY_MS", &delay_ms.to_string()),
    ]);
    plugin.set_offline(false);
    plugin.activate(48_000.0, 512, 2);
    set_env(&[]);
    let audio = song(48_000, 10.0);
    let out = plugin.play(&audio, &mut || 512, &mut |pos| {
        Transport::playing_at(pos as i64)
    });
    assert_eq!(out, audio);
    let silence = [vec![0.0f32; 16], vec![0.0f32; 16]];
    for _ in 0..2 {
        plugin.process(&[&silence[0], &silence[1]], Transport::stopped_at(480_000));
    }
    plugin.deactivate();
    let out_dir = dir.path().join(TRACK);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("manifest.json")).unwrap())
            .unwrap();
    let num_rows = read_csv(&out_dir.join("spectrum.csv")).1.len();
    (dir, manifest, num_rows)
}

/// Within the queue's capacity a slow writer loses nothing, even far faster than real time.
#[test]
fn slow_writer_loses_nothing_within_capacity() {
    let _lock = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (_dir, manifest, num_rows) = freewheel(300, 5);
    assert_eq!(num_rows, 240);
    assert_eq!(manifest["frames_dropped"], 0);
}

/// Beyond the capacity frames are dropped, and the drops are counted, not silent.
#[test]
fn drops_beyond_capacity_are_counted() {
    let _lock = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (_dir, manifest, num_rows) = freewheel(40, 20);
    let dropped = manifest["frames_dropped"].as_u64().unwrap() as usize;
    assert!(dropped > 0, "{manifest}");
    assert_eq!(num_rows + dropped, 240, "{manifest}");
    assert!(
        manifest["warnings"]
            .as_array()
            .is_some_and(|w| !w.is_empty())
    );
}

/// The whole audio path (tap, recorder, live analyzer, hand-offs) runs under nice-plug's
/// `assert_process_allocs`: an allocation, lock or panic there would abort this test binary.
#[test]
fn process_path_with_monitor_and_recorder_does_not_allocate() {
    let _lock = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut plugin = TestPlugin::new();
    plugin.arm_into(dir.path(), TRACK);
    set_env(&[("SPECTRAL_DIFFUSION_FORCE_MONITOR", "1")]);
    plugin.activate(48_000.0, 1024, 2);
    set_env(&[]);
    let audio = song(48_000, 3.0);
    for (fft, window, channel) in [
        ("auto", "hann", "sum"),
        ("16384", "flat-top", "side"),
        ("1024", "blackman-harris", "left"),
    ] {
        plugin.deactivate();
        plugin.configure(
            &[
                ("fft", serde_json::json!({"string": fft})),
                ("window", serde_json::json!({"string": window})),
                ("channel", serde_json::json!({"string": channel})),
            ],
            &[],
        );
        set_env(&[("SPECTRAL_DIFFUSION_FORCE_MONITOR", "1")]);
        plugin.activate(48_000.0, 1024, 2);
        set_env(&[]);
        let mut sizes = [1usize, 37, 1024, 500].into_iter().cycle();
        let out = plugin.play(&audio, &mut || sizes.next().unwrap(), &mut |pos| {
            Transport::playing_at(pos as i64)
        });
        assert_eq!(out, audio);
    }
    plugin.deactivate();
    assert_eq!(
        read_csv(&dir.path().join(TRACK).join("spectrum.csv"))
            .1
            .len(),
        72
    );
}
