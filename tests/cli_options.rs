//! Option combinations that used to panic, through the real binary: each renders every frame, and
//! each frame's analysis reads the audio at that frame's place on the timeline.
//!
//! They all have frames longer than the FFT (a frame's chunk at 44.1 kHz and 24 fps is 1837.5
//! samples; `--fft-size 1024` reads 1024 of them), which once made the frame cutter trim audio it
//! had not read yet: a panic once more than 65 536 samples were buffered and a read ended between
//! two windows. Each file is long enough for that to have happened with WAV's 1152-sample packets
//! (`--fft-size 1800`, with a 37-sample gap between windows, first hit it at 28.5 s).

// Each test crate uses its own part of the shared helpers (this one only the binary runner).
#[allow(dead_code, unused_imports)]
mod common;

use common::cli;
use std::f64::consts::TAU;
use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// The tone's frequency, and the one it switches to for a while near the end (where the cutter
/// has trimmed its buffer many times).
const OUTER_HZ: f64 = 1000.0;
const INNER_HZ: f64 = 3000.0;
/// Where the switch and the switch back are, as fractions of the file.
const SWITCH_AT: f64 = 0.75;
const SWITCH_BACK_AT: f64 = 0.9;

/// Samples of the switch and the switch back in a file of `num_samples`.
fn switches(num_samples: i64) -> (i64, i64) {
    (
        (num_samples as f64 * SWITCH_AT) as i64,
        (num_samples as f64 * SWITCH_BACK_AT) as i64,
    )
}

/// A mono 16-bit WAV of `num_samples` of a -6 dBFS sine at `OUTER_HZ`, `INNER_HZ` between the
/// switches.
fn tone_wav(dir: &Path, sample_rate: u32, num_samples: i64) -> PathBuf {
    let path = dir.join(format!("tones-{sample_rate}.wav"));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    let (switch, switch_back) = switches(num_samples);
    for n in 0..num_samples {
        let freq_hz = if (switch..switch_back).contains(&n) {
            INNER_HZ
        } else {
            OUTER_HZ
        };
        let t = n as f64 / f64::from(sample_rate);
        writer
            .write_sample((16_384.0 * (TAU * freq_hz * t).sin()).round() as i16)
            .unwrap();
    }
    writer.finalize().unwrap();
    path
}

/// Where frame k's analysis reads, as README documents it: `default` an FFT centred on the frame's
/// centre, `seed` the first `fft_len` samples of the frame's chunk.
fn analysis_span(
    preset: &str,
    frame_idx: i64,
    sample_rate: u32,
    fps: i64,
    fft_len: i64,
) -> (i64, i64) {
    let sr = i64::from(sample_rate);
    match preset {
        "seed" => {
            let start = frame_idx * sr / fps;
            (start, start + fft_len.min(sr / fps))
        }
        _ => {
            let centre = (2 * frame_idx + 1) * sr / (2 * fps);
            (centre - fft_len / 2, centre + fft_len / 2)
        }
    }
}

/// Renders `duration_s` of the tone file with `options` and checks the frame count, and that every
/// frame whose analysis lies wholly in one tone peaks at that tone.
fn renders_on_time(
    sample_rate: u32,
    duration_s: i64,
    fps: i64,
    preset: &str,
    fft_len: i64,
    options: &[&str],
) {
    let dir = TempDir::new().unwrap();
    let num_samples = duration_s * i64::from(sample_rate);
    let wav = tone_wav(dir.path(), sample_rate, num_samples);
    let out = dir.path().join("out");
    let mut args = vec![
        "render",
        wav.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(options);
    let output = cli(&args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{options:?}: {stderr}");
    assert_eq!(stderr, "", "{options:?}");

    let csv = fs::read_to_string(out.join("spectrum.csv")).unwrap();
    let mut lines = csv.lines();
    let centre_freqs_hz: Vec<f64> = lines
        .next()
        .unwrap()
        .split(',')
        .skip(2)
        .map(|f| f.parse().unwrap())
        .collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|line| {
            line.split(',')
                .skip(2)
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect();
    let expected_frames = (num_samples * fps + i64::from(sample_rate) - 1) / i64::from(sample_rate);
    assert_eq!(rows.len() as i64, expected_frames, "{options:?}");
    if !options.contains(&"--csv-only") {
        let num_pngs = fs::read_dir(out.join("frames")).unwrap().count() as i64;
        assert_eq!(num_pngs, expected_frames, "{options:?}");
    }

    let (switch, switch_back) = switches(num_samples);
    let mut num_checked = 0;
    for (frame_idx, row) in rows.iter().enumerate() {
        let (start, end) = analysis_span(preset, frame_idx as i64, sample_rate, fps, fft_len);
        let expected_hz = if end <= switch || (start >= switch_back && end <= num_samples) {
            OUTER_HZ
        } else if start >= switch && end <= switch_back {
            INNER_HZ
        } else {
            continue;
        };
        let loudest = (0..row.len())
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap();
        let octaves_off = (centre_freqs_hz[loudest] / expected_hz).log2().abs();
        assert!(
            octaves_off < 1.0 / 12.0,
            "{options:?}: frame {frame_idx} peaks at {} Hz, not {expected_hz} Hz",
            centre_freqs_hz[loudest]
        );
        num_checked += 1;
    }
    assert!(
        num_checked > expected_frames * 9 / 10,
        "{options:?}: {num_checked}"
    );
}

/// 44.1 kHz at 24 fps with FFTs shorter than a frame (1837.5 samples).
#[test]
fn short_ffts_at_44k1_render_every_frame_in_place() {
    for fft_size in [512i64, 1024, 1536, 1800] {
        let fft = fft_size.to_string();
        renders_on_time(
            44_100,
            50,
            24,
            "default",
            fft_size,
            &["--fft-size", &fft, "--csv-only"],
        );
    }
    renders_on_time(
        44_100,
        10,
        24,
        "default",
        1024,
        &["--fft-size", "1024", "--size", "64"],
    );
}

/// 96 kHz with a 2048-sample FFT: a frame is 4000 samples.
#[test]
fn fft_2048_at_96k_renders_every_frame_in_place() {
    renders_on_time(
        96_000,
        10,
        24,
        "default",
        2048,
        &["--fft-size", "2048", "--csv-only"],
    );
}

/// 16 and 8 kHz at 12 fps with nothing else set: the default FFT (1024 and 512) is shorter than a
/// frame (1333 and 666 samples).
#[test]
fn low_rates_at_12_fps_render_with_default_options() {
    renders_on_time(16_000, 20, 12, "default", 1024, &["--fps", "12"]);
    renders_on_time(8_000, 30, 12, "default", 512, &["--fps", "12"]);
}

/// The post's recipe with a window shorter than a frame reads the start of each chunk.
#[test]
fn seed_window_shorter_than_a_frame_reads_each_chunk_start() {
    renders_on_time(
        44_100,
        10,
        24,
        "seed",
        882,
        &["--preset", "seed", "--window-seconds", "0.02", "--csv-only"],
    );
}

/// Options out of range stop with exit 2 and one line, before anything is written.
#[test]
fn options_out_of_range_are_usage_errors() {
    let dir = TempDir::new().unwrap();
    let wav = tone_wav(dir.path(), 8_000, 8_000);
    let out = dir.path().join("out");
    for options in [
        &["--fft-size", "32"][..],
        &["--fft-size", "100000"],
        &["--bins", "0"],
        &["--bins", "5000"],
        &["--size", "4096"],
        &["--preset", "seed", "--window-seconds", "0.001"],
        &["--preset", "seed", "--window-seconds", "10"],
        &["--jobs", "0"],
        &["--jobs", "100000"],
    ] {
        let mut args = vec![
            "render",
            wav.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(options);
        let output = cli(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{options:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{options:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{options:?}: {stderr}");
        assert!(!out.exists(), "{options:?} wrote {}", out.display());
    }
}
