//! `schedule`'s files in an output folder (issue 17): read by one bounded reader (`page`,
//! `diffuse`), a broken one never stops `render`, a schedule at another rate is refused in a
//! render folder, and the user's own files of those names are replaced only with `--force`.

// Each test crate uses its own part of the shared helpers.
#[allow(dead_code)]
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{cli, path_arg};
use tempfile::TempDir;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn run_ok(args: &[&str]) -> Output {
    let output = cli(args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    output
}

/// Fails with `code` and one `error:` line holding every one of `wanted`.
fn expect_failure(args: &[&str], code: i32, wanted: &[&str]) {
    let output = cli(args);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {text}");
    assert_eq!(text.lines().count(), 1, "{args:?}: one line: {text}");
    assert!(text.starts_with("error: "), "{args:?}: {text}");
    for wanted in wanted {
        assert!(text.contains(wanted), "{args:?}: {wanted:?} in {text}");
    }
}

/// 5 s of the test song, 48 kHz mono.
fn song(dir: &Path) -> PathBuf {
    let wav = dir.join("song.wav");
    if !wav.exists() {
        common::write_wav_i16(&wav, &common::to_i16(&common::song(48_000, 5.0)), 48_000);
    }
    wav
}

/// The song rendered at `fps` into `dir/name`, CSV-only unless `has_images` (64 px frames).
fn render(dir: &Path, name: &str, fps: &str, has_images: bool) -> PathBuf {
    let out = dir.join(name);
    let wav = song(dir);
    let mut args = vec!["render", path_arg(&wav), "--out", path_arg(&out)];
    args.extend(["--fps", fps, "--quiet"]);
    if has_images {
        args.extend(["--size", "64"]);
    } else {
        args.push("--csv-only");
    }
    run_ok(&args);
    out
}

/// A row far past the render (`999999999999,0.5`) is one line naming the file, the line and
/// the frame, exit 1, for `page` and `diffuse`; `render` into the folder still writes its page,
/// with the loudness lane and a warning.
#[test]
fn a_row_past_the_render_is_one_line_and_does_not_stop_render() {
    let dir = TempDir::new().unwrap();
    let out = render(dir.path(), "out", "24", true);
    run_ok(&[
        "schedule",
        path_arg(&out),
        "--lane",
        "kick=30-120",
        "--quiet",
    ]);
    let csv_path = out.join("schedule.csv");
    let mut csv = fs::read_to_string(&csv_path).unwrap();
    let line_no = csv.lines().count() + 1;
    csv.push_str("999999999999,0.5\n");
    fs::write(&csv_path, &csv).unwrap();
    let where_ = format!("schedule.csv: line {line_no}: frame 999999999999");
    expect_failure(&["page", path_arg(&out)], 1, &[&where_, "120 frames"]);
    expect_failure(
        &[
            "diffuse",
            path_arg(&out),
            "--server",
            "http://127.0.0.1:9",
            "--checkpoint",
            "model.safetensors",
            "--denoise-from",
            "kick",
            "--dry-run",
        ],
        1,
        &[&where_],
    );

    // The render goes on, and draws its page without the schedule.
    fs::remove_file(out.join("index.html")).unwrap();
    let wav = song(dir.path());
    let output = run_ok(&[
        "render",
        path_arg(&wav),
        "--out",
        path_arg(&out),
        "--fps",
        "24",
        "--size",
        "64",
        "--quiet",
    ]);
    let text = stderr(&output);
    assert!(
        text.contains("warning: ") && text.contains(&where_),
        "{text}"
    );
    assert!(text.contains("plots the loudness instead"), "{text}");
    let page = fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("loudness dB"), "the page plots the loudness");
}

/// Bad tables are one line each: every mistake names its line.
#[test]
fn bad_schedule_tables_name_their_line() {
    let dir = TempDir::new().unwrap();
    let out = render(dir.path(), "out", "24", false);
    for (csv, wanted) in [
        ("", "empty"),
        (
            "time,kick\n0,1\n",
            "line 1: the first column must be `frame`",
        ),
        (
            "frame,kick,kick\n",
            "line 1: the column `kick` is named twice",
        ),
        (
            "frame,kick\n0,0.5\n0,0.6\n",
            "line 3: frame 0 after frame 0",
        ),
        (
            "frame,kick\n0,NaN\n",
            "line 2: `kick`: \"NaN\" is not a number",
        ),
        ("frame,kick\n0,0.5,7\n", "line 2: 2 values for 1 columns"),
        (
            "frame,kick\n-3,0.5\n",
            "line 2: the frame \"-3\" is not a whole number",
        ),
        (
            "frame,kick\n120,0.5\n",
            "line 2: frame 120 is past the render's 120 frames",
        ),
    ] {
        fs::write(out.join("schedule.csv"), csv).unwrap();
        expect_failure(&["page", path_arg(&out)], 1, &["schedule.csv", wanted]);
    }
}
