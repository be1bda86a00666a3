//! The recorder's writer thread through a real CLAP host (clack-host): it outlives activations, never
//! asks the host for a restart, and keeps its folder honest (DESIGN.md §7). The writer is made
//! genuinely slow where it matters: 512 px frames with the whole post chain take it far longer
//! than the host takes to play them.

mod plugin_host;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use plugin_host::{TestPlugin, Transport, read_csv, song};
use serde_json::json;
use spectral_diffusion::handoff::RecorderStatus;
use spectral_diffusion::params::PluginParams;
use spectral_diffusion::plugin::writer::{SHUTDOWN_WAIT, WriterThread};

const TRACK: &str = "Mix Bus";

/// Plays `seconds` of the song from timeline position `start_pos` with the transport rolling,
/// then two stopped blocks (the take ends).
fn take(plugin: &mut TestPlugin, start_pos: i64, seconds: f64) {
    let audio = song(48_000, seconds);
    plugin.play(&audio, &mut || 512, &mut |pos| {
        Transport::playing_at(start_pos + pos as i64)
    });
    stop(plugin, start_pos + audio[0].len() as i64);
}

fn stop(plugin: &mut TestPlugin, pos: i64) {
    let silence = [vec![0.0f32; 16], vec![0.0f32; 16]];
    for _ in 0..2 {
        plugin.process(&[&silence[0], &silence[1]], Transport::stopped_at(pos));
    }
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

fn session_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("session.json")).unwrap()).unwrap()
}

fn frame_numbers(dir: &Path) -> Vec<u64> {
    read_csv(&dir.join("spectrum.csv"))
        .1
        .iter()
        .map(|(frame, _)| *frame)
        .collect()
}

fn png_numbers(dir: &Path) -> Vec<u64> {
    let mut numbers: Vec<u64> = std::fs::read_dir(dir.join("frames"))
        .unwrap()
        .map(|entry| {
            let name = entry.unwrap().file_name();
            let name = name.to_str().unwrap();
            name.strip_suffix(".png").unwrap().parse().unwrap()
        })
        .collect();
    numbers.sort_unstable();
    numbers
}

/// Deactivating with a full queue returns without waiting for the writer, and loses nothing: a
/// second activation while the writer still drains carries on into the same folder, and both
/// takes end up in the CSV, the manifest and `frames/`.
#[test]
fn deactivate_with_a_full_queue_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut plugin = TestPlugin::new();
    plugin.arm_into(dir.path(), TRACK);
    plugin.configure(
        &[
            ("queue-frames", json!({"i32": 32})),
            ("write-images", json!({"bool": true})),
            ("image-size", json!({"i32": 512})),
            ("equalize", json!({"bool": true})),
        ],
        &[],
    );
    // Offline: the host waits for room, so the queue is full when the bounce ends.
    plugin.set_offline(true);
    plugin.activate(48_000.0, 512, 2);
    take(&mut plugin, 0, 4.0);
    let start = Instant::now();
    plugin.deactivate();
    eprintln!(
        "deactivate with a full queue of 32 frames: {:.2} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );
    plugin.activate(48_000.0, 512, 2);
    take(&mut plugin, 6 * 48_000, 2.0);
    drop(plugin);

    let out = dir.path().join(TRACK);
    let expected: Vec<u64> = (0..96).chain(144..192).collect();
    assert_eq!(frame_numbers(&out), expected);
    assert_eq!(png_numbers(&out), expected);
    let manifest = manifest(&out);
    assert_eq!(manifest["frames_written"], 144);
    assert_eq!(manifest["frames_dropped"], 0);
    assert_eq!(manifest["takes"].as_array().unwrap().len(), 2, "{manifest}");
}

/// Closing the plugin with more frames queued than its writer can write in `SHUTDOWN_WAIT` (a
/// real-time take of 2048 px frames, as clap-validator's fuzzer makes them) returns after about
/// that wait, not after the queue: the take keeps the frames it has on disk, the CSV and `frames/`
/// list the same ones, and the manifest counts the rest as dropped and says why.
#[test]
fn closing_with_a_long_queue_waits_a_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut plugin = TestPlugin::new();
    plugin.arm_into(dir.path(), TRACK);
    plugin.configure(
        &[
            ("write-images", json!({"bool": true})),
            ("image-size", json!({"i32": 2048})),
            ("equalize", json!({"bool": true})),
        ],
        &[],
    );
    plugin.activate(48_000.0, 512, 2);
    take(&mut plugin, 0, 10.0);
    let start = Instant::now();
    drop(plugin);
    let elapsed = start.elapsed();

    let out = dir.path().join(TRACK);
    let written = frame_numbers(&out);
    assert_eq!(png_numbers(&out), written, "the CSV lists the PNGs");
    let manifest = manifest(&out);
    let num_written = manifest["frames_written"].as_u64().unwrap();
    let num_dropped = manifest["frames_dropped"].as_u64().unwrap();
    assert_eq!(num_written, written.len() as u64);
    assert_eq!(num_written + num_dropped, 240, "{manifest}");
    eprintln!(
        "closing with 240 frames of 2048 px: {:.1} s, {num_written} written, {num_dropped} not",
        elapsed.as_secs_f64()
    );
    // The wait, then at most the frame being written and the listing.
    assert!(
        elapsed < SHUTDOWN_WAIT + Duration::from_secs(10),
        "closing took {elapsed:?}"
    );
    assert!(num_dropped > 0, "the writer kept up: make the take longer");
    let warnings = manifest["warnings"].to_string();
    assert!(warnings.contains("frames not written"), "{warnings}");
}

/// Automating guide settings during a take (floor, tilt, frame rate, preset, view, post chain)
/// never asks the host for a restart; the take goes on as it started, and the next take uses the
/// new settings, in a new numbered folder beside the first.
#[test]
fn guide_setting_change_during_playback_causes_no_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut plugin = TestPlugin::new();
    plugin.arm_into(dir.path(), TRACK);
    plugin.set_offline(true);
    plugin.activate(48_000.0, 512, 2);
    assert!(!plugin.restart_requested());

    let audio = song(48_000, 2.0);
    let mut block_idx = 0;
    let half = audio[0].len() / 2;
    let mut offset = 0;
    while offset < audio[0].len() {
        let len = 512.min(audio[0].len() - offset);
        let block: Vec<&[f32]> = audio.iter().map(|c| &c[offset..offset + len]).collect();
        // Mid-take automation, in nice-plug's CLAP values (step index or normalized value).
        let changes: &[(&str, f64)] = if offset >= half && block_idx % 7 == 0 {
            &[
                ("floor-db", 0.25),
                ("tilt", 0.75),
                ("fps", 6.0),
                ("preset", 1.0),
                ("view", 2.0),
                ("blur", 0.0),
                ("invert", 1.0),
            ]
        } else {
            &[]
        };
        plugin.process_with_params(&block, Transport::playing_at(offset as i64), changes);
        offset += len;
        block_idx += 1;
    }
    stop(&mut plugin, audio[0].len() as i64);
    assert!(!plugin.restart_requested(), "a restart was requested");
    take(&mut plugin, 10 * 48_000, 2.0);
    assert!(!plugin.restart_requested(), "a restart was requested");
    drop(plugin);

    let first = dir.path().join(TRACK);
    assert_eq!(frame_numbers(&first), (0..48).collect::<Vec<_>>());
    let manifest_1 = manifest(&first);
    assert_eq!(manifest_1["fps"]["num"], 24);
    assert_eq!(manifest_1["analysis"]["preset"], "default");

    let second = dir.path().join(format!("{TRACK}-2"));
    assert_eq!(frame_numbers(&second), (300..360).collect::<Vec<_>>());
    let manifest_2 = manifest(&second);
    assert_eq!(manifest_2["fps"]["num"], 30);
    assert_eq!(manifest_2["analysis"]["preset"], "seed");
    // Lanes of a session share one frame rate: the 30 fps lane is written but not listed.
    let index = session_json(dir.path());
    assert_eq!(index["fps"], json!({"num": 24, "den": 1}));
    let names: Vec<&str> = index["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|lane| lane["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [TRACK]);
}

/// Two instances on tracks of the same name never share a folder: the second writes beside the
/// first, and each folder holds its own instance's take whole.
#[test]
fn two_instances_with_the_same_track_get_two_folders() {
    let dir = tempfile::tempdir().unwrap();
    let mut plugins = [TestPlugin::new(), TestPlugin::new()];
    for plugin in &mut plugins {
        plugin.arm_into(dir.path(), TRACK);
        plugin.set_offline(true);
        plugin.activate(48_000.0, 512, 2);
    }
    let [first, second] = &mut plugins;
    take(first, 0, 1.0);
    take(second, 48_000, 2.0);
    drop(plugins);

    // The lane folders; `session.json` and its lock sit beside them.
    let mut folders: Vec<(String, Vec<u64>)> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .map(|path| {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            (name, frame_numbers(&path))
        })
        .collect();
    folders.sort();
    assert_eq!(
        folders,
        [
            (TRACK.to_owned(), (0..24).collect()),
            (format!("{TRACK}-2"), (24..72).collect()),
        ]
    );
}

/// Arms `plugin` into `folder` with small images, offline (every frame reaches the disk).
fn arm_with_images(plugin: &mut TestPlugin, folder: &Path) {
    plugin.arm_into(folder, TRACK);
    plugin.configure(
        &[
            ("write-images", json!({"bool": true})),
            ("image-size", json!({"i32": 64})),
        ],
        &[],
    );
    plugin.set_offline(true);
}

/// The folder is the timeline: a take in a second instance, loaded after the first was gone (a
/// plugin reload), adds to the first's folder instead of replacing it. The overlap is written
/// again (last write wins) and the CSV, the PNGs and the manifest list every frame once.
#[test]
fn takes_accumulate_across_plugin_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = TestPlugin::new();
    arm_with_images(&mut first, dir.path());
    first.activate(48_000.0, 512, 2);
    take(&mut first, 0, 1.0);
    drop(first);

    let mut second = TestPlugin::new();
    arm_with_images(&mut second, dir.path());
    second.activate(48_000.0, 512, 2);
    // From 0.5 s: frames 12..36, half of them over the first take's.
    take(&mut second, 24_000, 1.0);
    drop(second);

    let out = dir.path().join(TRACK);
    let expected: Vec<u64> = (0..36).collect();
    assert_eq!(frame_numbers(&out), expected);
    assert_eq!(png_numbers(&out), expected);
    let manifest = manifest(&out);
    assert_eq!(manifest["frame_ranges"], json!([[0, 35]]), "{manifest}");
    assert_eq!(manifest["takes"].as_array().unwrap().len(), 2, "{manifest}");
    assert!(
        !dir.path().join(format!("{TRACK}-2")).exists(),
        "the second instance opened a new folder"
    );
}

/// A reloaded instance with other guide settings does not mix its frames into the folder: it
/// writes beside it, and the first folder keeps its take.
#[test]
fn a_reload_with_other_settings_writes_beside_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = TestPlugin::new();
    first.arm_into(dir.path(), TRACK);
    first.set_offline(true);
    first.activate(48_000.0, 512, 2);
    take(&mut first, 0, 1.0);
    drop(first);

    let mut second = TestPlugin::new();
    second.arm_into(dir.path(), TRACK);
    second.configure(&[("preset", json!({"i32": 1}))], &[]);
    second.set_offline(true);
    second.activate(48_000.0, 512, 2);
    take(&mut second, 48_000, 1.0);
    drop(second);

    let first_dir = dir.path().join(TRACK);
    assert_eq!(frame_numbers(&first_dir), (0..24).collect::<Vec<_>>());
    assert_eq!(manifest(&first_dir)["analysis"]["preset"], "default");
    let beside = dir.path().join(format!("{TRACK}-2"));
    assert_eq!(frame_numbers(&beside), (24..48).collect::<Vec<_>>());
    assert_eq!(manifest(&beside)["analysis"]["preset"], "seed");
}

/// "Clear" (the session command the recorder panel sends) removes the frames and CSV a take
/// wrote, and leaves the user's own files in the folder and in `frames/`, with a manifest listing
/// nothing: the folder stays ours, and the next take writes there again.
#[test]
fn clear_removes_our_files_and_keeps_the_users() {
    let dir = tempfile::tempdir().unwrap();
    let mut plugin = TestPlugin::new();
    arm_with_images(&mut plugin, dir.path());
    plugin.activate(48_000.0, 512, 2);
    take(&mut plugin, 0, 1.0);
    drop(plugin);
    let out = dir.path().join(TRACK);
    assert_eq!(png_numbers(&out).len(), 24);
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    std::fs::write(out.join("frames").join("cover.jpg"), "mine too").unwrap();

    let params = PluginParams::default();
    *params.output_folder.write().unwrap() = dir.path().display().to_string();
    *params.track_name.write().unwrap() = TRACK.into();
    let status = Arc::new(RecorderStatus::default());
    let (writer, _link) = WriterThread::new(Arc::clone(&status), params.folder_fields());
    writer.control().clear_folder();
    // Dropping the writer thread's handle waits for it, and it serves every command first.
    drop(writer);

    let mut left: Vec<String> = walk(&out);
    left.sort();
    assert_eq!(
        left,
        [
            ".spectral-diffusion.lock",
            "frames/cover.jpg",
            "manifest.json",
            "notes.txt"
        ],
        "notice: {}",
        status.folder_notice.lock().unwrap()
    );
    assert_eq!(manifest(&out)["frame_ranges"], json!([]));
    // A cleared lane leaves the session, and its next take lists it again.
    let lanes = || session_json(dir.path())["lanes"].clone();
    assert_eq!(lanes(), json!([]));

    let mut plugin = TestPlugin::new();
    arm_with_images(&mut plugin, dir.path());
    plugin.activate(48_000.0, 512, 2);
    take(&mut plugin, 0, 0.5);
    drop(plugin);
    assert_eq!(frame_numbers(&out), (0..12).collect::<Vec<_>>());
    assert!(out.join("frames/000011.png").exists());
    assert!(out.join("frames/cover.jpg").exists());
    assert_eq!(lanes()[0]["name"], TRACK);
    assert_eq!(lanes()[0]["first_frame"], 0);
    assert_eq!(lanes()[0]["last_frame"], 11);
    assert_eq!(lanes()[0]["frames_written"], 12);
    assert!(!dir.path().join(format!("{TRACK}-2")).exists());
}

/// Every file under `dir`, as paths relative to it.
fn walk(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if path.is_dir() {
            files.extend(walk(&path).into_iter().map(|file| format!("{name}/{file}")));
        } else {
            files.push(name);
        }
    }
    files
}
