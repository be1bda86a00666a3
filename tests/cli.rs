//! The `spectral-diffusion` binary end to end: files in, an output folder out, and one readable
//! line with the documented exit code for every kind of bad input.

// Each test crate uses its own part of the shared helpers.
#[allow(dead_code)]
mod common;

use common::{cli, path_arg};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use tempfile::TempDir;

/// Runs a render that must succeed; returns the output folder.
fn render(input: &Path, out: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec!["render", path_arg(input), "--out", path_arg(out), "--quiet"];
    args.extend_from_slice(extra);
    let output = cli(&args);
    assert!(
        output.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    out.to_owned()
}

fn manifest(out: &Path) -> Value {
    serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

fn csv_rows(out: &Path) -> Vec<Vec<String>> {
    fs::read_to_string(out.join("spectrum.csv"))
        .unwrap()
        .lines()
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect()
}

fn png_names(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(out.join("frames"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// A 10 s song as a 16-bit WAV in `dir`.
fn ten_second_wav(dir: &Path, sample_rate: u32) -> PathBuf {
    let path = dir.join("song.wav");
    common::write_wav_i16(
        &path,
        &common::to_i16(&common::song(sample_rate, 10.0)),
        sample_rate,
    );
    path
}

/// 10 s at each frame rate gives exactly ceil(10 * fps) PNGs, CSV rows and manifest counts.
#[test]
fn render_writes_one_frame_per_video_frame() {
    let dir = TempDir::new().unwrap();
    let wav = ten_second_wav(dir.path(), 44_100);
    for (fps, expected) in [("24", 240u64), ("29.97", 300), ("23.976", 240)] {
        let out = render(&wav, &dir.path().join(fps), &["--fps", fps, "--size", "64"]);
        let pngs = png_names(&out);
        assert_eq!(pngs.len() as u64, expected, "{fps} fps");
        assert_eq!(pngs.first().unwrap(), "000000.png");
        assert_eq!(pngs.last().unwrap(), &format!("{:06}.png", expected - 1));
        let rows = csv_rows(&out);
        assert_eq!(
            rows.len() as u64,
            expected + 1,
            "header plus one row a frame"
        );
        assert_eq!(rows[0][..2], ["frame", "time_s"]);
        assert_eq!(rows[0].len(), 2 + 256);
        assert!(
            rows[1..]
                .iter()
                .enumerate()
                .all(|(k, row)| row[0] == k.to_string() && row.len() == 258)
        );
        let manifest = manifest(&out);
        assert_eq!(manifest["frames_written"], expected);
        assert_eq!(manifest["first_frame"], 0);
        assert_eq!(manifest["last_frame"], expected - 1);
        assert_eq!(manifest["frames_dropped"], 0);
        assert_eq!(manifest["sample_rate"], 44_100);
        assert_eq!(manifest["bin_freqs_hz"].as_array().unwrap().len(), 256);
        assert_eq!(manifest["frames"]["pattern"], "frames/%06d.png");
        assert_eq!(manifest["frames"]["width"], 64);
        assert!(
            fs::read_dir(&out).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp"))
        );
    }
    let manifest = manifest(&dir.path().join("29.97"));
    assert_eq!(
        (
            manifest["fps"]["num"].as_u64(),
            manifest["fps"]["den"].as_u64()
        ),
        (Some(30_000), Some(1001))
    );
}

/// Frame k's row carries its exact start time k * den / num.
#[test]
fn csv_times_follow_the_exact_frame_rate() {
    let dir = TempDir::new().unwrap();
    let wav = ten_second_wav(dir.path(), 48_000);
    let out = render(
        &wav,
        &dir.path().join("out"),
        &["--fps", "29.97", "--csv-only"],
    );
    let rows = csv_rows(&out);
    let time_s: f64 = rows[1 + 299][1].parse().unwrap();
    assert!(
        (time_s - 299.0 * 1001.0 / 30_000.0).abs() < 1e-6,
        "{time_s}"
    );
    assert!(!out.join("frames").exists(), "--csv-only writes no images");
}

/// The same samples as WAV and as FLAC give identical spectra, to the last digit.
#[test]
fn flac_and_wav_give_identical_csv() {
    let dir = TempDir::new().unwrap();
    // Whole 4096-sample FLAC blocks: flacenc 0.5 marks a short last block in STREAMINFO in a way
    // symphonia 0.5 refuses (see tests/decode.rs).
    let samples = common::to_i16(&common::song(44_100, 4096.0 * 43.0 / 44_100.0));
    let (wav, flac) = (dir.path().join("song.wav"), dir.path().join("song.flac"));
    common::write_wav_i16(&wav, &samples, 44_100);
    common::write_flac_i16(&flac, &samples, 44_100);
    for preset in ["default", "seed"] {
        let wav_out = render(
            &wav,
            &dir.path().join(format!("wav-{preset}")),
            &["--csv-only", "--preset", preset],
        );
        let flac_out = render(
            &flac,
            &dir.path().join(format!("flac-{preset}")),
            &["--csv-only", "--preset", preset],
        );
        let wav_csv = fs::read_to_string(wav_out.join("spectrum.csv")).unwrap();
        assert_eq!(
            wav_csv.lines().count(),
            1 + 96,
            "ceil(176128 * 24 / 44100) frames"
        );
        assert_eq!(
            wav_csv,
            fs::read_to_string(flac_out.join("spectrum.csv")).unwrap(),
            "{preset}"
        );
    }
}

/// Rendering the same file twice gives the same bytes in every file but nothing else.
#[test]
fn render_is_deterministic() {
    let dir = TempDir::new().unwrap();
    let wav = ten_second_wav(dir.path(), 44_100);
    let first = render(
        &wav,
        &dir.path().join("a"),
        &["--size", "128", "--view", "polar"],
    );
    let second = render(
        &wav,
        &dir.path().join("b"),
        &["--size", "128", "--view", "polar", "--jobs", "1"],
    );
    for name in [
        "frames/000000.png",
        "frames/000120.png",
        "frames/000239.png",
        "spectrum.csv",
    ] {
        assert_eq!(
            fs::read(first.join(name)).unwrap(),
            fs::read(second.join(name)).unwrap(),
            "{name}"
        );
    }
}

/// `--csv seed` writes the post's bare rows: 256 values, no header, no frame or time columns.
#[test]
fn seed_csv_has_bare_rows() {
    let dir = TempDir::new().unwrap();
    let wav = ten_second_wav(dir.path(), 44_100);
    let out = render(
        &wav,
        &dir.path().join("out"),
        &["--csv-only", "--preset", "seed", "--csv", "seed"],
    );
    let rows = csv_rows(&out);
    assert_eq!(rows.len(), 240);
    assert!(
        rows.iter().all(
            |row| row.len() == 256 && row.iter().all(|v| v.parse::<f32>().unwrap().is_finite())
        )
    );
}

/// NaN and infinite samples in a float WAV render, and every CSV value is a finite number.
#[test]
fn nan_and_inf_samples_give_finite_output() {
    let dir = TempDir::new().unwrap();
    let mut samples = common::interleave(&common::song(44_100, 2.0));
    for (i, sample) in samples.iter_mut().enumerate().step_by(97) {
        *sample = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][i % 3];
    }
    let wav = dir.path().join("nan.wav");
    common::write_wav_f32(&wav, &samples, 2, 44_100);
    for preset in ["default", "seed"] {
        let out = render(
            &wav,
            &dir.path().join(preset),
            &["--preset", preset, "--size", "64"],
        );
        let rows = csv_rows(&out);
        assert_eq!(rows.len(), 1 + 48);
        assert!(
            rows[1..]
                .iter()
                .flat_map(|row| &row[2..])
                .all(|v| v.parse::<f32>().unwrap().is_finite())
        );
    }
}

/// `info` reports the file and the frame count a render would make.
#[test]
fn info_reports_duration_and_frames() {
    let dir = TempDir::new().unwrap();
    let wav = ten_second_wav(dir.path(), 44_100);
    let output = cli(&["info", path_arg(&wav), "--fps", "29.97"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("duration:    10.000 s"), "{text}");
    assert!(text.contains("sample rate: 44100 Hz"), "{text}");
    assert!(text.contains("channels:    2"), "{text}");
    assert!(text.contains("frames:      300 at 29.97 fps"), "{text}");
}

/// The built-in demo renders without any input file.
#[test]
fn demo_renders_without_input() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("demo");
    let output = cli(&["render", "--demo", "--out", path_arg(&out), "--csv-only"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let manifest = manifest(&out);
    assert_eq!(manifest["source"]["kind"], "demo");
    assert!(manifest["frames_written"].as_u64().unwrap() >= 24 * 8);
}

/// Asserts a failed run: the exit code, one line on stderr that says `what`, no panic.
fn assert_fails(output: &Output, exit_code: i32, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(exit_code), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.to_lowercase().contains(what),
        "{stderr:?} should mention {what:?}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
}

/// Nothing but complete files may be left in a folder after a failed render.
fn assert_no_partial_files(dir: &Path) {
    for entry in fs::read_dir(dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        assert!(
            !path.to_string_lossy().ends_with(".tmp"),
            "left behind: {}",
            path.display()
        );
        if path.is_dir() {
            assert_no_partial_files(&path);
        }
    }
}

/// Files that are missing, empty, truncated, random or not audio fail with exit code 1.
#[test]
fn bad_input_files_fail_with_one_line() {
    let dir = TempDir::new().unwrap();
    let good_wav = fs::read(ten_second_wav(dir.path(), 44_100)).unwrap();
    let cases: [(&str, Vec<u8>); 5] = [
        ("empty.wav", Vec::new()),
        ("truncated.wav", good_wav[..30].to_vec()),
        (
            "random.wav",
            (0..5000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
        (
            "notes.mp3",
            b"these are not the samples you are looking for\n".repeat(50),
        ),
        ("silence.wav", good_wav[..44].to_vec()),
    ];
    for (name, bytes) in cases {
        let input = dir.path().join(name);
        fs::write(&input, bytes).unwrap();
        let out = dir.path().join(format!("out-{name}"));
        assert_fails(
            &cli(&["render", path_arg(&input), "--out", path_arg(&out)]),
            1,
            name,
        );
        assert_no_partial_files(&out);
    }
    assert_fails(&cli(&["render", "/no/such/song.flac"]), 1, "song.flac");
    assert_fails(&cli(&["info", "/no/such/song.flac"]), 1, "song.flac");
}

/// Settings no render can use are usage errors (exit code 2), reported before any work.
#[test]
fn absurd_settings_fail_with_usage_code() {
    let dir = TempDir::new().unwrap();
    let wav = ten_second_wav(dir.path(), 44_100);
    for (args, what) in [
        (&["--fps", "0"][..], "frame rate"),
        (&["--fps", "1000"], "frame rate"),
        (&["--size", "0"], "size"),
        (&["--size", "100000"], "size"),
        (&["--bins", "0"], "bin"),
        (&["--fft-size", "1"], "fft size"),
        (&["--fft-size", "100000000"], "fft size"),
        (&["--jobs", "0"], "jobs"),
        (&["--preset", "loud"], "preset"),
    ] {
        let mut full = vec!["render", path_arg(&wav), "--out", path_arg(dir.path())];
        full.extend_from_slice(args);
        assert_fails(&cli(&full), 2, what);
    }
    assert_fails(&cli(&["render"]), 2, "input");
}

/// An output folder that cannot be created is an I/O error (exit code 3) naming the path.
#[test]
fn unwritable_output_folder_fails_with_io_code() {
    let dir = TempDir::new().unwrap();
    let wav = ten_second_wav(dir.path(), 44_100);
    let blocker = dir.path().join("a-file");
    fs::write(&blocker, b"not a folder").unwrap();
    let out = blocker.join("out");
    assert_fails(
        &cli(&["render", path_arg(&wav), "--out", path_arg(&out)]),
        3,
        "a-file",
    );
}
