//! One session across tracks through a real CLAP host (clack-host), as a DAW bounces it: two
//! plugin instances in one process, on two tracks fed different audio, write two lanes of one
//! session folder and list both in its `session.json` (DESIGN.md §13).

mod plugin_host;

use std::path::Path;

use plugin_host::{
    TestPlugin, Transport, assert_same_files_as_cli, run_cli_render, song, write_wav,
};
use serde_json::json;

const SAMPLE_RATE: u32 = 48_000;
const BLOCK: usize = 512;

/// A bass line: a sine gliding from 40 to 160 Hz with its octave, different in L and R.
fn bass(seconds: f64) -> Vec<Vec<f32>> {
    let num_samples = (seconds * f64::from(SAMPLE_RATE)) as usize;
    let mut phase = 0.0f64;
    let (left, right) = (0..num_samples)
        .map(|i| {
            let t = i as f64 / f64::from(SAMPLE_RATE);
            let freq_hz = 40.0 * 4f64.powf(t / seconds);
            phase += std::f64::consts::TAU * freq_hz / f64::from(SAMPLE_RATE);
            let tone = 0.4 * phase.sin() + 0.1 * (2.0 * phase).sin();
            (tone as f32, (0.8 * tone) as f32)
        })
        .unzip();
    vec![left, right]
}

/// An instance on `track`, armed into the session `folder` with small images, offline.
fn instance(folder: &Path, track: &str) -> TestPlugin {
    let mut plugin = TestPlugin::new();
    plugin.arm_into(folder, track);
    plugin.configure(
        &[
            ("write-images", json!({"bool": true})),
            ("image-size", json!({"i32": 64})),
            ("fps", json!({"string": "24"})),
            ("preset", json!({"string": "default"})),
            ("view", json!({"string": "pie"})),
        ],
        &[],
    );
    plugin.set_offline(true);
    plugin.activate(f64::from(SAMPLE_RATE), BLOCK, 2);
    plugin
}

/// Block `offset..` of `audio`, if it has one.
fn block(audio: &[Vec<f32>], offset: usize) -> Option<Vec<&[f32]>> {
    let end = (offset + BLOCK).min(audio[0].len());
    (offset < end).then(|| audio.iter().map(|c| &c[offset..end]).collect())
}

/// Two blocks of a stopped transport at `pos`: the take ends.
fn stop(plugin: &mut TestPlugin, pos: usize) {
    let silence = [vec![0.0f32; 16], vec![0.0f32; 16]];
    for _ in 0..2 {
        plugin.process(
            &[&silence[0], &silence[1]],
            Transport::stopped_at(pos as i64),
        );
    }
}

/// The first test: two instances in one process, fed different audio block by block as
/// a host runs its tracks, bounce into one session: two lanes, one `session.json` listing both
/// with their frame ranges, and each lane byte for byte the CLI's render of its own audio.
#[test]
fn two_instances_bounce_into_one_session() {
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join("Song");
    let tracks = [("Drums", song(SAMPLE_RATE, 2.0)), ("Bass", bass(3.0))];
    let mut plugins: Vec<TestPlugin> = tracks
        .iter()
        .map(|(track, _)| instance(&session, track))
        .collect();
    let longest = tracks
        .iter()
        .map(|(_, audio)| audio[0].len())
        .max()
        .unwrap();
    let mut offset = 0;
    while offset < longest {
        for (plugin, (_, audio)) in plugins.iter_mut().zip(&tracks) {
            match block(audio, offset) {
                Some(block) => {
                    let out = plugin.process(&block, Transport::playing_at(offset as i64));
                    assert_eq!(out, block, "pass-through");
                }
                // This track's clip has ended: the host stops its take here.
                None if offset < audio[0].len() + BLOCK => stop(plugin, audio[0].len()),
                None => {}
            }
        }
        offset += BLOCK;
    }
    for (plugin, (_, audio)) in plugins.iter_mut().zip(&tracks) {
        if audio[0].len() == longest {
            stop(plugin, longest);
        }
    }
    // Dropping an instance waits for its writer.
    drop(plugins);

    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(session.join("session.json")).unwrap()).unwrap();
    assert_eq!(index["format"], 1);
    assert_eq!(index["fps"], json!({"num": 24, "den": 1}));
    let lanes = index["lanes"].as_array().unwrap();
    let mut listed: Vec<(&str, &str, u64, u64, u64)> = lanes
        .iter()
        .map(|lane| {
            (
                lane["name"].as_str().unwrap(),
                lane["track"].as_str().unwrap(),
                lane["first_frame"].as_u64().unwrap(),
                lane["last_frame"].as_u64().unwrap(),
                lane["frames_written"].as_u64().unwrap(),
            )
        })
        .collect();
    listed.sort_unstable();
    // 2 s and 3 s at 24 fps.
    assert_eq!(
        listed,
        [("Bass", "Bass", 0, 71, 72), ("Drums", "Drums", 0, 47, 48)]
    );
    let instance_ids: Vec<&str> = lanes
        .iter()
        .map(|lane| lane["instance_id"].as_str().unwrap())
        .collect();
    assert!(instance_ids.iter().all(|id| id.starts_with("instance-")));
    assert_ne!(instance_ids[0], instance_ids[1]);
    for lane in lanes {
        let settings = &lane["settings"];
        assert_eq!(settings["sample_rate"], SAMPLE_RATE, "{lane}");
        assert_eq!(settings["write_images"], true, "{lane}");
        assert_eq!(settings["render"]["size"], 64, "{lane}");
        assert_eq!(settings["analysis"]["preset"], "default", "{lane}");
    }

    for (track, audio) in &tracks {
        let wav = dir.path().join(format!("{track}.wav"));
        write_wav(&wav, audio, SAMPLE_RATE);
        let cli_out = dir.path().join(format!("cli-{track}"));
        run_cli_render(&[
            wav.to_str().unwrap(),
            "--out",
            cli_out.to_str().unwrap(),
            "--fps",
            "24",
            "--size",
            "64",
            "--preset",
            "default",
            "--view",
            "pie",
        ]);
        assert_same_files_as_cli(&session.join(track), &cli_out, track);
    }
}
