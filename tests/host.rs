//! The plugin binary driven through a real CLAP host (clack-host): pass-through, bounce parity
//! with the CLI's analysis, transport edge cases, state. Every `process()` call runs under
//! nice-plug's `assert_process_allocs` (debug build): an allocation on the audio path aborts.

mod plugin_host;

use std::path::Path;

use plugin_host::{
    Rng, TestPlugin, Transport, assert_same_files_as_cli, read_csv, reference_frames,
    run_cli_render, song, write_wav,
};
use serde_json::json;
use spectral_diffusion::analysis::AnalysisSettings;
use spectral_diffusion::clock::{FrameClock, FrameRate};

const TRACK: &str = "Mix Bus";

type BlockSizes = Box<dyn FnMut() -> usize>;

/// Two blocks of a stopped transport, as a host sends after the user stops.
fn stop(plugin: &mut TestPlugin, num_channels: usize, transport: Transport) {
    let silence: Vec<Vec<f32>> = (0..num_channels).map(|_| vec![0.0; 16]).collect();
    let refs: Vec<&[f32]> = silence.iter().map(Vec::as_slice).collect();
    plugin.process(&refs, transport);
    plugin.process(&refs, transport);
}

/// Plays `audio` offline from position 0 with the transport playing, then one stopped block.
fn bounce(
    plugin: &mut TestPlugin,
    audio: &[Vec<f32>],
    block_sizes: &mut dyn FnMut() -> usize,
) -> Vec<Vec<f32>> {
    let out = plugin.play(audio, block_sizes, &mut |pos| {
        Transport::playing_at(pos as i64)
    });
    stop(
        plugin,
        audio.len(),
        Transport::stopped_at(audio[0].len() as i64),
    );
    out
}

fn assert_frames_equal(out_dir: &Path, expected: &[Vec<f32>]) {
    let (header, rows) = read_csv(&out_dir.join("spectrum.csv"));
    assert_eq!(header.len(), 2 + expected[0].len());
    assert_eq!(rows.len(), expected.len(), "frame count");
    for (i, ((frame, values), expected)) in rows.iter().zip(expected).enumerate() {
        assert_eq!(*frame, i as u64, "frames sorted and complete");
        for (bin, (a, b)) in values.iter().zip(expected).enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "frame {frame} bin {bin}: {a} vs {b}"
            );
        }
    }
}

fn offline_plugin(
    folder: &Path,
    sample_rate: f64,
    params: &[(&str, serde_json::Value)],
) -> TestPlugin {
    let mut plugin = TestPlugin::new();
    plugin.arm_into(folder, TRACK);
    if !params.is_empty() {
        plugin.configure(params, &[]);
    }
    plugin.set_offline(true);
    plugin.activate(sample_rate, 4096, 2);
    plugin
}

/// The heart of the product: a bounce writes exactly the frames `render` computes, whatever the
/// host's block size.
#[test]
fn bounce_matches_render_at_every_block_size() {
    let audio = song(48_000, 20.0);
    let expected = reference_frames(
        &audio,
        48_000,
        &AnalysisSettings::default(),
        FrameRate::FPS_24,
    );
    assert_eq!(expected.len(), 480);
    let mut rng = Rng(7);
    let patterns: Vec<(&str, BlockSizes)> = vec![
        ("1", Box::new(|| 1)),
        ("64", Box::new(|| 64)),
        ("512", Box::new(|| 512)),
        ("4096", Box::new(|| 4096)),
        ("random", Box::new(move || 1 + rng.below(4096) as usize)),
    ];
    for (name, mut sizes) in patterns {
        let dir = tempfile::tempdir().unwrap();
        let mut plugin = offline_plugin(dir.path(), 48_000.0, &[]);
        let out = bounce(&mut plugin, &audio, &mut sizes);
        drop(plugin);
        assert_eq!(out, audio, "blocks of {name}: pass-through");
        eprintln!("blocks of {name}: checking frames");
        assert_frames_equal(&dir.path().join(TRACK), &expected);
    }
}

/// The files themselves: a bounce writes the same PNG bytes and the same `spectrum.csv` bytes as
/// `spectral-diffusion render` of the bounced audio (small images keep the debug build quick).
#[test]
fn bounce_writes_the_files_render_writes() {
    let cases = [
        (48_000u32, "24", "128", "default", "pie"),
        (44_100, "23.976", "64", "seed", "polar"),
    ];
    for (sample_rate, fps, size, preset, view) in cases {
        let audio = song(sample_rate, 3.0);
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("bounce.wav");
        write_wav(&wav, &audio, sample_rate);
        let cli_out = dir.path().join("cli");
        run_cli_render(&[
            wav.to_str().unwrap(),
            "--out",
            cli_out.to_str().unwrap(),
            "--fps",
            fps,
            "--size",
            size,
            "--preset",
            preset,
            "--view",
            view,
        ]);

        let mut plugin = offline_plugin(
            dir.path(),
            f64::from(sample_rate),
            &[
                ("fps", json!({"string": fps})),
                ("preset", json!({"string": preset})),
                ("view", json!({"string": view})),
                ("image-size", json!({"i32": size.parse::<i32>().unwrap()})),
                ("write-images", json!({"bool": true})),
            ],
        );
        let mut rng = Rng(3);
        bounce(&mut plugin, &audio, &mut || 1 + rng.below(1024) as usize);
        drop(plugin);

        assert_same_files_as_cli(
            &dir.path().join(TRACK),
            &cli_out,
            &format!("{sample_rate} Hz {fps} fps {preset}"),
        );
    }
}

/// Parity holds at 23.976 fps (rational frame boundaries) and at 44.1 and 96 kHz, and for the
/// post's `seed` preset.
#[test]
fn bounce_matches_render_at_other_rates_and_presets() {
    let cases = [
        (44_100u32, "23.976", FrameRate::new(24_000, 1001), "default"),
        (96_000, "24", FrameRate::FPS_24, "default"),
        (48_000, "23.976", FrameRate::new(24_000, 1001), "default"),
        (44_100, "30", FrameRate::new(30, 1), "seed"),
    ];
    for (sample_rate, fps_id, fps, preset) in cases {
        let audio = song(sample_rate, 6.0);
        let settings = if preset == "seed" {
            AnalysisSettings::seed()
        } else {
            AnalysisSettings::default()
        };
        let expected = reference_frames(&audio, sample_rate, &settings, fps);
        let dir = tempfile::tempdir().unwrap();
        let mut plugin = offline_plugin(
            dir.path(),
            f64::from(sample_rate),
            &[
                ("fps", json!({"string": fps_id})),
                ("preset", json!({"string": preset})),
            ],
        );
        let mut rng = Rng(u64::from(sample_rate));
        bounce(&mut plugin, &audio, &mut || 1 + rng.below(2048) as usize);
        drop(plugin);
        eprintln!("{sample_rate} Hz, {fps_id} fps, {preset}");
        assert_frames_equal(&dir.path().join(TRACK), &expected);
    }
}

/// Bit for bit, `expected` for each sample of `input` (`out` as the plugin returned it).
fn assert_output(out: &[Vec<f32>], input: &[Vec<f32>], expected: impl Fn(f32) -> f32, what: &str) {
    for (o, i) in out.iter().zip(input) {
        assert_eq!(o.len(), i.len(), "{what}");
        for (idx, (a, b)) in o.iter().zip(i).enumerate() {
            let b = expected(*b);
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "{what}: sample {idx}: {a:e} vs {b:e}"
            );
        }
    }
}

/// Audio comes out bit for bit, NaN, infinities and signed zeros included, stereo and mono,
/// armed; subnormals come out as zeros of their sign.
#[test]
fn pass_through_is_bit_exact_and_flushes_subnormals() {
    let mut audio = song(48_000, 2.0);
    let specials = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e-40,
        -0.0,
        -f32::from_bits(1),
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
    ];
    for (i, x) in audio[0].iter_mut().enumerate().step_by(997).skip(1) {
        *x = specials[i % specials.len()];
    }
    // A whole block of subnormals, as the VST3 validator's fuzzer sends.
    for (i, x) in audio[1][20_000..24_096].iter_mut().enumerate() {
        *x = f32::from_bits(1 + i as u32 * 2000) * if i % 2 == 0 { 1.0 } else { -1.0 };
    }
    assert!(audio[1][20_000..24_096].iter().all(|x| x.is_subnormal()));
    let flushed = |x: f32| {
        if x.is_subnormal() {
            0.0f32.copysign(x)
        } else {
            x
        }
    };
    for num_channels in [2usize, 1] {
        let input: Vec<Vec<f32>> = audio[..num_channels].to_vec();
        for block in [1usize, 512, 4096] {
            let dir = tempfile::tempdir().unwrap();
            let mut plugin = TestPlugin::new();
            plugin.arm_into(dir.path(), TRACK);
            plugin.activate(48_000.0, 4096, num_channels);
            let out = bounce(&mut plugin, &input, &mut || block);
            drop(plugin);
            let what = format!("{num_channels} channels, blocks of {block}");
            assert_output(&out, &input, flushed, &what);
            // Non-finite input never reaches a file.
            let (_, rows) = read_csv(&dir.path().join(TRACK).join("spectrum.csv"));
            assert_eq!(rows.len(), 48);
            assert!(rows.iter().all(|(_, v)| v.iter().all(|x| x.is_finite())));
        }
    }
}

/// Rows of a take recorded with `transport(pos)` per 512-sample block over `audio`.
fn record(
    audio: &[Vec<f32>],
    block: usize,
    transport: &mut dyn FnMut(usize) -> Transport,
    end: Transport,
) -> (tempfile::TempDir, Vec<(u64, Vec<f32>)>) {
    let dir = tempfile::tempdir().unwrap();
    let mut plugin = offline_plugin(dir.path(), 48_000.0, &[]);
    plugin.play(audio, &mut || block, transport);
    stop(&mut plugin, 2, end);
    drop(plugin);
    let rows = read_csv(&dir.path().join(TRACK).join("spectrum.csv")).1;
    (dir, rows)
}

fn frame_numbers(rows: &[(u64, Vec<f32>)]) -> Vec<u64> {
    rows.iter().map(|(frame, _)| *frame).collect()
}

/// A host that reports `playing = false` through an offline render while the position advances
/// still gets every frame, identical to a playing host's.
#[test]
fn advancing_position_counts_as_rolling() {
    let audio = song(48_000, 4.0);
    let expected = reference_frames(
        &audio,
        48_000,
        &AnalysisSettings::default(),
        FrameRate::FPS_24,
    );
    let (_dir, rows) = record(
        &audio,
        512,
        &mut |pos| Transport::stopped_at(pos as i64),
        Transport::stopped_at(audio[0].len() as i64),
    );
    assert_eq!(frame_numbers(&rows), (0..96).collect::<Vec<_>>());
    for ((_, values), expected) in rows.iter().zip(&expected) {
        assert_eq!(values, expected);
    }
}

/// A host with no position at all: frames counted from the take's start.
#[test]
fn host_without_position_counts_samples() {
    let audio = song(48_000, 3.0);
    let expected = reference_frames(
        &audio,
        48_000,
        &AnalysisSettings::default(),
        FrameRate::FPS_24,
    );
    let playing = Transport::At {
        playing: true,
        pos_samples: None,
    };
    let (dir, rows) = record(&audio, 512, &mut |_| playing, Transport::None);
    assert_eq!(frame_numbers(&rows), (0..72).collect::<Vec<_>>());
    assert!(rows.iter().zip(&expected).all(|((_, v), e)| v == e));
    let manifest = std::fs::read_to_string(dir.path().join(TRACK).join("manifest.json")).unwrap();
    assert!(manifest.contains("sample-count"), "{manifest}");
}

/// Pre-roll at negative positions produces no frames; frame 0 starts at position 0 as in the CLI.
#[test]
fn pre_roll_produces_no_negative_frames() {
    let sr = 48_000usize;
    let pre_roll = sr; // one second of count-in, audible, before 0
    let audio = song(48_000, 3.0);
    let expected = reference_frames(
        &[audio[0][pre_roll..].to_vec(), audio[1][pre_roll..].to_vec()],
        48_000,
        &AnalysisSettings::default(),
        FrameRate::FPS_24,
    );
    let (_dir, rows) = record(
        &audio,
        512,
        &mut |pos| Transport::playing_at(pos as i64 - pre_roll as i64),
        Transport::stopped_at((audio[0].len() - pre_roll) as i64),
    );
    assert_eq!(frame_numbers(&rows), (0..48).collect::<Vec<_>>());
    assert!(rows.iter().zip(&expected).all(|((_, v), e)| v == e));
}

/// Stop and start again later: two takes, frames of both, none duplicated.
#[test]
fn stop_and_start_record_two_takes() {
    let audio = song(48_000, 4.0);
    let half = audio[0].len() / 2;
    // Play 0..1 s, stop for 1 s (position parked), play from 3 s to 4 s of the timeline.
    let (_dir, rows) = record(
        &audio,
        512,
        &mut |pos| {
            if pos < 48_000 {
                Transport::playing_at(pos as i64)
            } else if pos < half {
                Transport::stopped_at(48_000)
            } else {
                Transport::playing_at((pos + 48_000) as i64)
            }
        },
        Transport::stopped_at(5 * 48_000),
    );
    // Take 1 ends after the block that crosses 1 s (48128), so frame 24 (starting at 48000) is in;
    // take 2 starts at the first block after 2 s (timeline 144256), so frame 72 (144000) is not.
    let frames = frame_numbers(&rows);
    let mut expected: Vec<u64> = (0..=24).collect();
    expected.extend(73..120);
    assert_eq!(frames, expected);
}

/// A loop over frames 100–200 replays them: each frame appears once (last write wins), and the
/// frames kept are those of the loop's last pass. Blocks of 8 samples let the host split exactly
/// at the loop boundary, as hosts do.
#[test]
fn loop_overwrites_frames_instead_of_duplicating() {
    let clock = FrameClock::new(
        FrameRate::FPS_24,
        48_000,
        spectral_diffusion::analysis::WindowPlacement::FrameCentre { len: 4096 },
    );
    let (loop_start, loop_end) = (clock.frame_start(100), clock.frame_start(201));
    let loop_len = loop_end - loop_start;
    // Timeline: play 0..loop_end, then loop_start..loop_end twice more (different audio each pass).
    let total = loop_end + 2 * loop_len;
    let audio = song(48_000, total as f64 / 48_000.0);
    assert_eq!(audio[0].len() as i64, total);
    let (_dir, rows) = record(
        &audio,
        8,
        &mut |pos| {
            let pos = pos as i64;
            let timeline = if pos < loop_end {
                pos
            } else {
                loop_start + (pos - loop_end) % loop_len
            };
            Transport::playing_at(timeline)
        },
        Transport::stopped_at(loop_start),
    );
    let frames = frame_numbers(&rows);
    assert_eq!(
        frames,
        (0..=200).collect::<Vec<_>>(),
        "each frame once, sorted"
    );
    // The last pass on its own: silence before the loop start, its audio up to the loop end.
    let last_pass: Vec<Vec<f32>> = audio
        .iter()
        .map(|channel| {
            let mut timeline = vec![0.0; loop_end as usize];
            timeline[loop_start as usize..]
                .copy_from_slice(&channel[(total - loop_len) as usize..]);
            timeline
        })
        .collect();
    let expected = reference_frames(
        &last_pass,
        48_000,
        &AnalysisSettings::default(),
        FrameRate::FPS_24,
    );
    for frame in 100..=200 {
        assert_eq!(
            rows[frame].1, expected[frame],
            "frame {frame} holds the last pass"
        );
    }
}

/// A jump backwards restarts the clock: frames after the jump point overwrite, none duplicate.
#[test]
fn jump_backwards_restarts_the_clock() {
    let audio = song(48_000, 4.0);
    let (_dir, rows) = record(
        &audio,
        512,
        &mut |pos| {
            let pos = pos as i64;
            if pos < 3 * 48_000 {
                Transport::playing_at(pos)
            } else {
                Transport::playing_at(pos - 2 * 48_000)
            }
        },
        Transport::stopped_at(2 * 48_000),
    );
    // The block that crosses 3 s plays to 144384, so frame 72 (144000) is in the first pass.
    assert_eq!(frame_numbers(&rows), (0..=72).collect::<Vec<_>>());
}

/// A new activation at another sample rate starts clean and matches `render` at that rate.
#[test]
fn reactivation_at_another_rate_resets_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut plugin = offline_plugin(dir.path(), 48_000.0, &[]);
    bounce(&mut plugin, &song(48_000, 2.0), &mut || 512);
    plugin.deactivate();
    let second = tempfile::tempdir().unwrap();
    plugin.configure(&[], &[("output-folder", second.path().to_str().unwrap())]);
    plugin.activate(44_100.0, 1024, 2);
    let audio = song(44_100, 3.0);
    bounce(&mut plugin, &audio, &mut || 1000);
    drop(plugin);
    let expected = reference_frames(
        &audio,
        44_100,
        &AnalysisSettings::default(),
        FrameRate::FPS_24,
    );
    assert_frames_equal(&second.path().join(TRACK), &expected);
}

/// Saving and loading the state restores parameters and the output folder in a new instance.
#[test]
fn state_round_trip_restores_params_and_folder() {
    let mut plugin = TestPlugin::new();
    plugin.configure(
        &[
            ("fps", json!({"string": "29.97"})),
            ("image-size", json!({"i32": 768})),
            ("armed", json!({"bool": true})),
        ],
        &[("output-folder", "/tmp/some folder")],
    );
    let state = plugin.save_state();
    let mut other = TestPlugin::new();
    let fresh = other.save_state();
    assert_ne!(
        fresh["fields"]["instance-id"],
        state["fields"]["instance-id"]
    );
    other.load_state(&state);
    let restored = other.save_state();
    assert_eq!(restored["params"], state["params"]);
    assert_eq!(restored["fields"], state["fields"]);
    assert_eq!(restored["params"]["fps"], json!({"string": "29.97"}));
    assert_eq!(
        restored["fields"]["output-folder"],
        json!("\"/tmp/some folder\"")
    );
}

/// A new instance starts at SPAN's 4.5 dB/oct slope, and a project saved with the old 0 dB/oct
/// default keeps it: nice-plug saves every parameter by id, so the saved value wins.
#[test]
fn slope_defaults_to_span_and_old_projects_keep_theirs() {
    let mut plugin = TestPlugin::new();
    let mut state = plugin.save_state();
    assert_eq!(state["params"]["slope"], json!({"string": "4.5"}));
    state["params"]["slope"] = json!({"string": "0"});
    let mut old_project = TestPlugin::new();
    old_project.load_state(&state);
    assert_eq!(
        old_project.save_state()["params"]["slope"],
        json!({"string": "0"})
    );
}

/// An unwritable folder stops the recorder but never the audio, and nothing is written.
#[test]
fn unwritable_folder_keeps_audio_flowing() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"a file where the folder should be").unwrap();
    let audio = song(48_000, 2.0);
    for offline in [true, false] {
        let mut plugin = TestPlugin::new();
        plugin.arm_into(&blocker, TRACK);
        plugin.set_offline(offline);
        plugin.activate(48_000.0, 512, 2);
        let out = bounce(&mut plugin, &audio, &mut || 512);
        drop(plugin);
        assert_eq!(out, audio);
    }
    assert!(blocker.is_file());
}

/// A host may offer any sample rate (the validators try 1234.57 Hz): activation succeeds, audio
/// passes through bit for bit, and the recorder, outside the rates the analysis supports, writes
/// nothing.
#[test]
fn any_sample_rate_activates_and_passes_audio() {
    for sample_rate in [1234.57, 1_234_567.8] {
        let audio = song(48_000, 1.0);
        for offline in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let mut plugin = TestPlugin::new();
            plugin.arm_into(dir.path(), TRACK);
            plugin.set_offline(offline);
            plugin.activate(sample_rate, 4096, 2);
            let out = bounce(&mut plugin, &audio, &mut || 1000);
            drop(plugin);
            let what = format!("{sample_rate} Hz, offline {offline}");
            assert_output(&out, &audio, |x| x, &what);
            assert!(!dir.path().join(TRACK).exists(), "{what}: nothing recorded");
        }
    }
}

/// The files a bounce of `audio` in blocks of `block` (the host's maximum) writes: `spectrum.csv`
/// and every PNG, by name.
fn bounce_files(audio: &[Vec<f32>], block: usize) -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let mut plugin = TestPlugin::new();
    plugin.arm_into(dir.path(), TRACK);
    plugin.configure(
        &[
            ("write-images", json!({"bool": true})),
            ("image-size", json!({"i32": 64})),
        ],
        &[],
    );
    plugin.set_offline(true);
    plugin.activate(48_000.0, block, 2);
    let out = bounce(&mut plugin, audio, &mut || block);
    drop(plugin);
    assert_eq!(out, audio, "blocks of {block}: pass-through");
    let out_dir = dir.path().join(TRACK);
    let mut names: Vec<String> = std::fs::read_dir(out_dir.join("frames"))
        .unwrap()
        .map(|e| format!("frames/{}", e.unwrap().file_name().to_str().unwrap()))
        .collect();
    names.sort();
    names.push("spectrum.csv".into());
    names
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(out_dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

/// A host may send blocks far longer than 65 536 samples: one block of 131 072 samples writes
/// the very files (CSV and PNG bytes) that 64-sample blocks write.
#[test]
fn one_huge_block_equals_small_blocks() {
    const HUGE: usize = 131_072;
    let audio: Vec<Vec<f32>> = song(48_000, 3.0)
        .into_iter()
        .map(|channel| channel[..HUGE].to_vec())
        .collect();
    let huge = bounce_files(&audio, HUGE);
    let small = bounce_files(&audio, 64);
    // 2.73 s at 24 fps: frames 0..=65, each starting inside the audio.
    assert_eq!(huge.len(), 66 + 1, "66 frames and the CSV");
    assert_eq!(
        huge.iter().map(|(name, _)| name).collect::<Vec<_>>(),
        small.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    for ((name, a), (_, b)) in huge.iter().zip(&small) {
        assert!(a == b, "{name} differs");
    }
}
