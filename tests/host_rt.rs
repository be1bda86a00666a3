//! Real-time mode through a real CLAP host, with a genuinely slow writer: 512 px frames with the
//! whole post chain take the writer far longer than the host takes to play them, when the host
//! runs as fast as it can (like a "real-time" export that freewheels). The queue's length is the
//! user's `Recorder Queue` setting.

mod plugin_host;

use plugin_host::{TestPlugin, Transport, read_csv, song};
use serde_json::json;

const TRACK: &str = "rt";

/// Runs a 10 s song (240 frames at 24 fps) in real-time mode as fast as the host can, writing
/// 512 px images through a queue of `queue_frames`. Returns the folder's manifest, its CSV rows
/// and its PNGs, once the writer has finished (dropping the plugin waits for it).
fn freewheel(queue_frames: i32) -> (serde_json::Value, usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut plugin = TestPlugin::new();
    plugin.arm_into(dir.path(), TRACK);
    plugin.configure(
        &[
            ("queue-frames", json!({"i32": queue_frames})),
            ("write-images", json!({"bool": true})),
            ("image-size", json!({"i32": 512})),
            ("equalize", json!({"bool": true})),
        ],
        &[],
    );
    plugin.set_offline(false);
    plugin.activate(48_000.0, 512, 2);
    let audio = song(48_000, 10.0);
    let out = plugin.play(&audio, &mut || 512, &mut |pos| {
        Transport::playing_at(pos as i64)
    });
    assert_eq!(out, audio);
    let silence = [vec![0.0f32; 16], vec![0.0f32; 16]];
    for _ in 0..2 {
        plugin.process(&[&silence[0], &silence[1]], Transport::stopped_at(480_000));
    }
    drop(plugin);
    let out_dir = dir.path().join(TRACK);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("manifest.json")).unwrap())
            .unwrap();
    let num_rows = read_csv(&out_dir.join("spectrum.csv")).1.len();
    let num_pngs = std::fs::read_dir(out_dir.join("frames")).unwrap().count();
    (manifest, num_rows, num_pngs)
}

/// Within the queue's capacity a slow writer loses nothing, even far faster than real time.
#[test]
fn slow_writer_loses_nothing_within_capacity() {
    let (manifest, num_rows, num_pngs) = freewheel(300);
    assert_eq!(num_rows, 240);
    assert_eq!(num_pngs, 240);
    assert_eq!(manifest["frames_dropped"], 0);
}

/// Beyond the capacity frames are dropped, and the drops are counted, not silent.
#[test]
fn drops_beyond_capacity_are_counted() {
    let (manifest, num_rows, num_pngs) = freewheel(16);
    let dropped = manifest["frames_dropped"].as_u64().unwrap() as usize;
    assert!(dropped > 0, "{manifest}");
    assert_eq!(num_rows + dropped, 240, "{manifest}");
    assert_eq!(num_pngs, num_rows);
    assert!(
        manifest["warnings"]
            .as_array()
            .is_some_and(|w| !w.is_empty())
    );
}
