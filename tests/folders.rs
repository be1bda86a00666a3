//! The output folder's promises, through the real binary: a folder always tells the truth (a new
//! render replaces ours and refuses others'), an interruption leaves a resumable state, and a full
//! disk leaves no temporaries.

#[allow(
    dead_code,
    reason = "shared with tests/cli.rs, which writes FLAC and float WAV too"
)]
mod common;

use common::files;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_spectral-diffusion");

/// `render INPUT --out OUT --quiet EXTRA…`, ready to run or spawn.
fn render_command(input: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("render")
        .arg(input)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra);
    command
}

fn render(input: &Path, out: &Path, extra: &[&str]) -> Output {
    render_command(input, out, extra)
        .output()
        .expect("the binary runs")
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Asserts a failed run: the exit code and one line on stderr that says `what`.
fn assert_fails(output: &Output, exit_code: i32, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(exit_code), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(what), "{stderr:?} should mention {what:?}");
}

/// A song of `seconds` as a 16-bit WAV in `dir`.
fn wav(dir: &Path, name: &str, seconds: f64) -> PathBuf {
    let path = dir.join(name);
    common::write_wav_i16(
        &path,
        &common::to_i16(&common::song(44_100, seconds)),
        44_100,
    );
    path
}

fn names(dir: &Path) -> Vec<String> {
    files(dir).into_iter().map(|(name, _)| name).collect()
}

fn manifest(out: &Path) -> Value {
    serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

fn png_frames(out: &Path) -> BTreeSet<u64> {
    names(out)
        .iter()
        .filter_map(|name| {
            name.strip_prefix("frames/")?
                .strip_suffix(".png")?
                .parse()
                .ok()
        })
        .collect()
}

fn csv_frames(out: &Path) -> BTreeSet<u64> {
    fs::read_to_string(out.join("spectrum.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| line.split(',').next().unwrap().parse().unwrap())
        .collect()
}

fn manifest_frames(out: &Path) -> BTreeSet<u64> {
    manifest(out)["frame_ranges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|range| range[0].as_u64().unwrap()..=range[1].as_u64().unwrap())
        .collect()
}

/// The folder's three listings agree; returns the frames they list.
fn assert_consistent(out: &Path) -> BTreeSet<u64> {
    let pngs = png_frames(out);
    assert_eq!(csv_frames(out), pngs, "spectrum.csv lists the PNGs");
    assert_eq!(manifest_frames(out), pngs, "manifest.json lists the PNGs");
    assert_eq!(manifest(out)["frames_written"], pngs.len() as u64);
    pngs
}

/// No hidden temporary (`.tmp`: partial PNGs, CSVs, manifests, the spill file) under `dir`.
fn assert_no_temporaries(dir: &Path) {
    let left: Vec<String> = names(dir)
        .into_iter()
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// A 40 s render into a 90 s render's folder leaves exactly the 40 s frames (here 4 s into 10 s);
/// a CSV-only render into it leaves no PNG at all.
#[test]
fn rerender_into_a_longer_renders_folder_leaves_only_the_new_frames() {
    let dir = TempDir::new().unwrap();
    let long = wav(dir.path(), "long.wav", 10.0);
    let short = wav(dir.path(), "short.wav", 4.0);
    let out = dir.path().join("out");
    assert_success(&render(&long, &out, &["--size", "64"]));
    assert_eq!(assert_consistent(&out).len(), 240);
    assert_success(&render(&short, &out, &["--size", "64"]));
    assert_eq!(assert_consistent(&out), (0..96).collect());
    assert_eq!(manifest(&out)["complete"], true);
    assert_success(&render(&short, &out, &["--csv-only"]));
    assert_eq!(names(&out), ["index.html", "manifest.json", "spectrum.csv"]);
    assert_eq!(csv_frames(&out).len(), 96);
}

/// A folder with files of someone else's is refused and left alone; `--force` writes beside them,
/// and from then on the folder is ours to replace.
#[test]
fn foreign_folder_is_refused_and_force_keeps_its_files() {
    let dir = TempDir::new().unwrap();
    let song = wav(dir.path(), "song.wav", 2.0);
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("notes.txt"), b"my notes").unwrap();
    let refused = render(&song, &out, &["--size", "64"]);
    assert_fails(&refused, 3, "--force");
    assert_eq!(names(&out), ["notes.txt"]);

    assert_success(&render(&song, &out, &["--size", "64", "--force"]));
    assert_eq!(fs::read(out.join("notes.txt")).unwrap(), b"my notes");
    assert_eq!(assert_consistent(&out).len(), 48);

    let shorter = wav(dir.path(), "shorter.wav", 1.0);
    assert_success(&render(&shorter, &out, &["--size", "64"]));
    assert_eq!(assert_consistent(&out).len(), 24);
    assert_eq!(fs::read(out.join("notes.txt")).unwrap(), b"my notes");
}

/// PNGs in `<out>/frames`.
fn num_pngs(out: &Path) -> usize {
    fs::read_dir(out.join("frames")).map_or(0, |entries| {
        entries
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_str()
                    .unwrap()
                    .ends_with(".png")
            })
            .count()
    })
}

/// Sends `signal` to a render once it has written ten new frames (so it is past its start-up and
/// handles signals); returns its output.
#[cfg(unix)]
fn interrupt(mut command: Command, out: &Path, signal: libc::c_int) -> Output {
    let num_before = num_pngs(out);
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut is_sent = false;
    for _ in 0..60_000 {
        if num_pngs(out) >= num_before + 10 {
            // SAFETY: kill(2) with a child's pid and a valid signal number has no memory effects.
            assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
            is_sent = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(is_sent, "the render wrote no frames");
    child.wait_with_output().unwrap()
}

/// SIGINT (and SIGTERM) mid-render leave a consistent, incomplete folder without temporaries and
/// exit 130; `--resume` then ends with the bytes of an uninterrupted render. Unix signals: on
/// Windows the same handler sees Ctrl-C, which a test cannot send to one child alone.
#[cfg(unix)]
#[test]
fn interrupted_render_resumes_to_the_same_bytes() {
    let dir = TempDir::new().unwrap();
    let song = wav(dir.path(), "song.wav", 60.0);
    let look = ["--size", "128", "--jobs", "2"];
    let clean = dir.path().join("clean");
    assert_success(&render(&song, &clean, &look));
    let num_frames = assert_consistent(&clean).len();
    assert_eq!(num_frames, 1440);

    let out = dir.path().join("out");
    let interrupted = interrupt(render_command(&song, &out, &look), &out, libc::SIGINT);
    assert_fails(&interrupted, 130, "--resume");
    let written = assert_consistent(&out);
    assert!(written.len() < num_frames, "{} frames", written.len());
    assert_eq!(manifest(&out)["complete"], false);
    assert_no_temporaries(&out);

    let mut other_settings = look.to_vec();
    other_settings.extend(["--fps", "30", "--resume"]);
    assert_fails(&render(&song, &out, &other_settings), 2, "fps");
    assert_eq!(assert_consistent(&out), written);

    let mut resume = look.to_vec();
    resume.push("--resume");
    let interrupted_again = interrupt(render_command(&song, &out, &resume), &out, libc::SIGTERM);
    assert_eq!(interrupted_again.status.code(), Some(130));
    assert!(assert_consistent(&out).is_superset(&written));
    assert_no_temporaries(&out);

    assert_success(&render(&song, &out, &resume));
    assert_eq!(manifest(&out)["complete"], true);
    assert!(files(&out) == files(&clean), "resumed folder differs");
}

/// A full disk stops the render with one line and exit 3, and leaves no temporaries. Needs root
/// for a small tmpfs; skipped (with a message) otherwise.
#[test]
fn disk_full_fails_with_one_line_and_no_temporaries() {
    let dir = TempDir::new().unwrap();
    let song = wav(dir.path(), "song.wav", 10.0);
    let disk = dir.path().join("small-disk");
    fs::create_dir(&disk).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&disk)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !mounted {
        println!("skipped: mounting a 1 MB tmpfs needs root (or CAP_SYS_ADMIN)");
        return;
    }
    let out = disk.join("out");
    let png_run = render(&song, &out, &[]);
    let csv_run = render(&song, &disk.join("csv"), &["--csv-only", "--bins", "1024"]);
    let listing = names(&disk);
    // Whatever is left still tells the truth: a consistent listing, or nothing of ours.
    if out.join("manifest.json").exists() {
        assert_consistent(&out);
    } else {
        assert_eq!(png_frames(&out), BTreeSet::new());
    }
    let unmounted = Command::new("umount").arg(&disk).status().unwrap();
    assert!(unmounted.success());
    for output in [&png_run, &csv_run] {
        assert_fails(output, 3, "No space left");
    }
    let left: Vec<&String> = listing.iter().filter(|n| n.ends_with(".tmp")).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
