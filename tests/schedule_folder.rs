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

/// The `# name` lines of a strings file.
fn schedule_names(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|line| line.strip_prefix("# ").map(str::to_owned))
        .collect()
}

/// Targets are columns of schedule.csv beside the lanes; a lane no target follows stays a
/// schedule of its own name, unless `--targets-only`; a target may not take a lane's name.
#[test]
fn targets_are_columns_and_free_lanes_stay_schedules() {
    let dir = TempDir::new().unwrap();
    let out = render(dir.path(), "out", "24", false);
    let base = [
        "schedule",
        path_arg(&out),
        "--lane",
        "kick=30-120",
        "--lane",
        "level=loudness",
        "--target",
        "strength_schedule=kick,min=0.45,max=0.75,invert",
    ];
    let output = run_ok(&base);
    assert!(
        stderr(&output).starts_with("wrote 2 lanes and 2 schedules over 120 frames"),
        "{}",
        stderr(&output)
    );
    let (names, columns) = common::schedule_csv(&out);
    assert_eq!(names, ["kick", "level", "strength_schedule"]);
    for (kick, strength) in columns[0].iter().zip(&columns[2]) {
        assert!(
            (strength - (0.75 - 0.3 * kick)).abs() < 1e-6,
            "{kick} {strength}"
        );
    }
    for file in ["deforum.txt", "animatediff.txt", "comfyroll.txt"] {
        assert_eq!(
            schedule_names(&out.join(file)),
            ["strength_schedule", "level"],
            "{file}"
        );
    }

    let mut args = base.to_vec();
    args.push("--targets-only");
    let output = run_ok(&args);
    assert!(
        stderr(&output).starts_with("wrote 2 lanes and 1 schedule over"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        schedule_names(&out.join("deforum.txt")),
        ["strength_schedule"]
    );
    let (names, _) = common::schedule_csv(&out);
    assert_eq!(
        names,
        ["kick", "level", "strength_schedule"],
        "the lanes stay columns"
    );

    let output = run_ok(&["schedule", path_arg(&out), "--lane", "kick=30-120"]);
    assert!(
        stderr(&output).starts_with("wrote 1 lane and 1 schedule over"),
        "{}",
        stderr(&output)
    );
    expect_failure(
        &[
            "schedule",
            path_arg(&out),
            "--lane",
            "kick=30-120",
            "--targets-only",
        ],
        2,
        &["--target"],
    );
    expect_failure(
        &[
            "schedule",
            path_arg(&out),
            "--lane",
            "kick=30-120",
            "--target",
            "kick=kick",
        ],
        2,
        &["a lane has that name"],
    );
    // The lane error names every kind of lane.
    expect_failure(
        &["schedule", path_arg(&out), "--lane", "kick=bass"],
        2,
        &[
            "loudness",
            "onsets:LO-HI",
            "beats",
            "bars",
            "note:N",
            "cc:N",
            "macro:N",
        ],
    );
}

/// A schedule at another rate than the render's is refused in its folder, naming both rates
/// (exit 2, nothing written); from audio into an empty folder or one without a render, any rate
/// goes. What the schedule was made from is in derived.json.
#[test]
fn a_schedule_at_another_rate_is_refused_in_a_render_folder() {
    let dir = TempDir::new().unwrap();
    let out = render(dir.path(), "out", "24", false);
    let wav = song(dir.path());
    let audio_schedule = |out: &Path, extra: &[&str]| {
        let mut args = vec!["schedule", path_arg(&wav), "--lane", "hits=onsets:30-120"];
        args.extend(["--out", path_arg(out), "--quiet"]);
        args.extend(extra);
        cli(&args)
    };
    let output = audio_schedule(&out, &["--fps", "23.976"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let text = stderr(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains("at 24 fps") && text.contains("at 23.976 fps"),
        "{text}"
    );
    assert!(text.contains("--fps 24"), "{text}");
    assert!(!out.join("schedule.csv").exists(), "nothing written");

    // The render's own rate fits; an empty folder and a folder without a render take any rate.
    assert!(audio_schedule(&out, &[]).status.success());
    for name in ["empty", "notes"] {
        let elsewhere = dir.path().join(name);
        if name == "notes" {
            fs::create_dir(&elsewhere).unwrap();
            fs::write(elsewhere.join("notes.txt"), "mine").unwrap();
        }
        let output = audio_schedule(&elsewhere, &["--fps", "23.976"]);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        let derived: serde_json::Value =
            serde_json::from_slice(&fs::read(elsewhere.join("derived.json")).unwrap()).unwrap();
        assert_eq!(derived["schedule"]["from"], "audio");
        assert_eq!(derived["schedule"]["fps"], serde_json::json!([24000, 1001]));
    }

    run_ok(&[
        "schedule",
        path_arg(&out),
        "--lane",
        "kick=30-120",
        "--epsilon",
        "0.01",
    ]);
    let derived: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("derived.json")).unwrap()).unwrap();
    let record = &derived["schedule"];
    assert_eq!(record["from"]["render"]["fps"], serde_json::json!([24, 1]));
    assert_eq!(record["num_frames"], 120);
    assert_eq!(
        record["files"],
        serde_json::json!([
            "schedule.csv",
            "deforum.txt",
            "animatediff.txt",
            "comfyroll.txt",
            "parseq.json"
        ])
    );
    assert_eq!(record["lanes"], serde_json::json!(["kick=30-120"]));
    assert_eq!(record["options"], serde_json::json!(["--epsilon", "0.01"]));
}

/// A schedule file that derived.json does not list is the user's: refused (exit 3, one line,
/// untouched) unless `--force`, as `render` refuses a folder that is not ours.
#[test]
fn the_users_schedule_files_are_replaced_only_with_force() {
    let dir = TempDir::new().unwrap();
    let wav = song(dir.path());
    let mine = dir.path().join("mine");
    fs::create_dir(&mine).unwrap();
    fs::write(mine.join("deforum.txt"), "my keyframes").unwrap();
    let schedule = |extra: &[&str]| {
        let mut args = vec!["schedule", path_arg(&wav), "--lane", "kick=30-120"];
        args.extend(["--out", path_arg(&mine), "--quiet"]);
        args.extend(extra);
        args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>()
    };
    let args = schedule(&[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    expect_failure(
        &args,
        3,
        &["deforum.txt is not a schedule of ours", "--force"],
    );
    assert_eq!(
        fs::read_to_string(mine.join("deforum.txt")).unwrap(),
        "my keyframes"
    );
    assert!(!mine.join("schedule.csv").exists());

    let forced = schedule(&["--force"]);
    run_ok(&forced.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        fs::read_to_string(mine.join("deforum.txt"))
            .unwrap()
            .starts_with("# kick")
    );
    // Now ours: a second run replaces them without --force.
    run_ok(&args);
}
