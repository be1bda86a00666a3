//! The output folder as one project (issue 17, DESIGN.md §7): every command reads it the same
//! way, through the binary, as a user meets it: from other working directories, with stems
//! rendered by the CLI, with derived files made at another rate or from an earlier render, after
//! an interruption, and beside the user's own files.

// Each test crate uses its own part of the shared helpers.
#[allow(dead_code)]
mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs the binary in `cwd`.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spectral-diffusion"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_ok(output: &Output) {
    assert!(output.status.success(), "{}", stderr(output));
}

/// A one-line error with `exit_code` that says `what`.
fn assert_fails(output: &Output, exit_code: i32, what: &str) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(exit_code), "{text}");
    assert!(text.contains(what), "wanted {what:?} in: {text}");
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// `seconds` of the test song at 44.1 kHz as `path`.
fn write_song(path: &Path, seconds: f64) {
    let song = common::to_i16(&common::song(44_100, seconds));
    common::write_wav_i16(path, &song, 44_100);
}

/// The manifest records the audio so that `page` finds it from any working directory: relative
/// to the folder when the audio lies beside it, absolute when it is elsewhere.
#[test]
fn page_finds_the_audio_from_any_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    let music = dir.path().join("music");
    fs::create_dir_all(project.join("out")).unwrap();
    fs::create_dir_all(&music).unwrap();
    write_song(&project.join("out/song.wav"), 1.0);
    write_song(&music.join("far.wav"), 1.0);
    let args = ["--size", "64", "--quiet"];
    let beside = ["render", "out/song.wav", "--out", "out/song"];
    assert_ok(&run_in(&project, &[&beside[..], &args].concat()));
    let far = music.join("far.wav");
    let elsewhere = ["render", far.to_str().unwrap(), "--out", "out/far"];
    assert_ok(&run_in(&project, &[&elsewhere[..], &args].concat()));

    assert_eq!(manifest(&project.join("out/song"))["audio"], "../song.wav");
    let recorded = manifest(&project.join("out/far"))["audio"].clone();
    assert!(
        Path::new(recorded.as_str().unwrap()).is_absolute(),
        "{recorded}"
    );
    for (folder, audio) in [("song", "../song.wav"), ("far", "music/far.wav")] {
        let page = run_in(dir.path(), &["page", &format!("project/out/{folder}")]);
        assert_ok(&page);
        let said = stderr(&page);
        assert!(said.contains("audio ") && said.contains(audio), "{said}");
        assert!(!said.contains("plays on a timer"), "{said}");
    }
}

/// `compose` takes folders the CLI rendered from stems: each channel carries its stem's grey
/// values, the frames are the union of the stems', and the manifest says what was combined.
/// Stems at another frame rate, or cut short by an interruption, are refused in one line.
#[test]
fn compose_combines_stems_rendered_by_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (stem, seconds) in [("bass", 1.0), ("mid", 1.5), ("hats", 0.5)] {
        write_song(&root.join(format!("{stem}.wav")), seconds);
        let render = [
            "render",
            &format!("{stem}.wav"),
            "--out",
            &format!("out/{stem}"),
            "--size",
            "64",
            "--quiet",
            "--noise",
            "0",
        ];
        assert_ok(&run_in(root, &render));
    }
    let compose = [
        "compose", "--red", "out/bass", "--green", "out/mid", "--blue", "out/hats", "--out",
        "out/rgb",
    ];
    assert_ok(&run_in(root, &compose));
    let rgb = root.join("out/rgb");
    let composite = manifest(&rgb);
    assert_eq!(composite["frame_ranges"], serde_json::json!([[0, 35]]));
    assert_eq!(composite["source"]["kind"], "composite");
    assert_eq!(
        composite["source"]["lanes"],
        serde_json::json!(["out/bass", "out/mid", "out/hats"])
    );
    assert_eq!(composite["layout"]["red"], "out/bass");
    assert_eq!(composite["complete"], true);
    let frame = |dir: &str, frame_idx: u64| root.join(format!("{dir}/frames/{frame_idx:06}.png"));
    for frame_idx in [0, 11, 23, 30] {
        let pixels = image::open(frame("out/rgb", frame_idx))
            .unwrap()
            .into_rgb8();
        for (channel, stem) in ["bass", "mid", "hats"].into_iter().enumerate() {
            let stem_frame = frame(&format!("out/{stem}"), frame_idx);
            let grey = stem_frame
                .exists()
                .then(|| image::open(&stem_frame).unwrap().into_luma8());
            for (x, y, pixel) in pixels.enumerate_pixels() {
                let want = grey.as_ref().map_or(0, |grey| grey.get_pixel(x, y).0[0]);
                assert_eq!(
                    pixel.0[channel], want,
                    "frame {frame_idx} {stem} ({x}, {y})"
                );
            }
        }
    }

    let other_rate = [
        "render",
        "mid.wav",
        "--out",
        "out/mid30",
        "--size",
        "64",
        "--fps",
        "30",
        "--quiet",
    ];
    assert_ok(&run_in(root, &other_rate));
    let mixed = [
        "compose",
        "--red",
        "out/bass",
        "--green",
        "out/mid30",
        "--out",
        "out/mixed",
    ];
    assert_fails(&run_in(root, &mixed), 1, "share a frame rate");
    let mut interrupted = manifest(&root.join("out/hats"));
    interrupted["complete"] = false.into();
    fs::write(
        root.join("out/hats/manifest.json"),
        serde_json::to_vec_pretty(&interrupted).unwrap(),
    )
    .unwrap();
    let cut_short = ["compose", "--red", "out/hats", "--out", "out/cut"];
    assert_fails(&run_in(root, &cut_short), 1, "is an interrupted render");
    assert!(!root.join("out/mixed").exists() && !root.join("out/cut").exists());
}

/// Renders one second of the test song (`root/song.wav`) into `root/out` at 64 px; returns the
/// command, to run again.
fn render_song<'a>(root: &Path, out: &'a str) -> [&'a str; 7] {
    write_song(&root.join("song.wav"), 1.0);
    let render = [
        "render", "song.wav", "--out", out, "--size", "64", "--quiet",
    ];
    assert_ok(&run_in(root, &render));
    render
}

/// Marks the render in `dir` as interrupted after its frames: `"complete": false`, and the
/// frames the whole song would have had.
fn mark_interrupted(dir: &Path, frames_expected: u64) {
    let mut interrupted = manifest(dir);
    interrupted["complete"] = false.into();
    interrupted["frames_expected"] = frames_expected.into();
    fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&interrupted).unwrap(),
    )
    .unwrap();
}

/// `schedule FOLDER` and `diffuse` refuse an interrupted render in one line that says how far
/// it got and what to do; `--partial` takes its frames as they are.
#[test]
fn an_interrupted_render_is_not_consumed_silently() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    render_song(root, "out/inc");
    mark_interrupted(&root.join("out/inc"), 48);

    let refusal = "out/inc is an interrupted render (24 of 48 frames): run render --resume, or \
                   pass --partial";
    let schedule = ["schedule", "out/inc", "--lane", "level=loudness", "--quiet"];
    assert_fails(&run_in(root, &schedule), 1, refusal);
    assert!(!root.join("out/inc/schedule.csv").exists());
    let diffuse = [
        "diffuse",
        "out/inc",
        "--checkpoint",
        "model.safetensors",
        "--dry-run",
    ];
    assert_fails(&run_in(root, &diffuse), 1, refusal);

    assert_ok(&run_in(root, &[&schedule[..], &["--partial"]].concat()));
    assert!(root.join("out/inc/schedule.csv").exists());
    assert_ok(&run_in(root, &[&diffuse[..], &["--partial"]].concat()));
}

/// A schedule that `derived.json` says was made for another render is refused by the commands
/// that read it, in one line naming it, why, and the command that makes it again.
#[test]
fn a_schedule_made_for_another_render_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    render_song(root, "out/song");
    let schedule = [
        "schedule",
        "out/song",
        "--lane",
        "level=loudness",
        "--quiet",
    ];
    assert_ok(&run_in(root, &schedule));
    // The record a schedule made from the song's audio at 12 fps leaves.
    let derived = serde_json::json!({
        "format": 1,
        "tool": "spectral-diffusion",
        "schedule": {
            "from": "audio", "fps": [12, 1], "num_frames": 12,
            "files": ["schedule.csv"], "input": "song.wav",
            "lanes": ["level=loudness"], "targets": []
        }
    });
    fs::write(root.join("out/song/derived.json"), derived.to_string()).unwrap();

    let stale = "out/song/schedule.csv does not match the render in its folder (it is at 12 fps \
                 and the render at 24 fps): make it again with: spectral-diffusion schedule \
                 song.wav --fps 24 --out out/song --lane level=loudness";
    assert_fails(&run_in(root, &["page", "out/song"]), 1, stale);
    let diffuse = [
        "diffuse",
        "out/song",
        "--checkpoint",
        "model.safetensors",
        "--denoise-from",
        "level",
        "--dry-run",
    ];
    assert_fails(&run_in(root, &diffuse), 1, stale);
    // Without a schedule column to read, diffuse has no use for it.
    let without_columns = [&diffuse[..4], &["--dry-run"]].concat();
    assert_ok(&run_in(root, &without_columns));
}

/// A manifest edited to list frames no folder holds is one line naming it, exit 1, for every
/// command that reads it; nothing aborts or tries to allocate for them.
#[test]
fn a_manifest_listing_impossible_frames_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let render = render_song(root, "out/song");
    let mut edited = manifest(&root.join("out/song"));
    edited["frame_ranges"] = serde_json::json!([[0, 999_999_999_999u64]]);
    fs::write(
        root.join("out/song/manifest.json"),
        serde_json::to_vec_pretty(&edited).unwrap(),
    )
    .unwrap();

    let damaged = "out/song/manifest.json: frame_ranges: [0, 999999999999] is no range of frames";
    assert_fails(&run_in(root, &["page", "out/song"]), 1, damaged);
    let schedule = ["schedule", "out/song", "--lane", "level=loudness"];
    assert_fails(&run_in(root, &schedule), 1, damaged);
    let resume = [&render[..], &["--resume"]].concat();
    assert_fails(&run_in(root, &resume), 1, damaged);
}
