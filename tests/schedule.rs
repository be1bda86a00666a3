//! `spectral-diffusion schedule` end to end: every output parses with a parser written here from
//! its consumer's grammar (DESIGN.md §12) and carries the lanes' values; onsets land on the
//! frames that hold the hits for ten minutes at 24 and 23.976 fps; bad input is one line.

// Each test crate uses its own part of the shared helpers.
#[allow(dead_code)]
mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{cli, path_arg, schedule_csv};
use serde_json::Value;
use tempfile::TempDir;

/// The strings' values are rounded to four decimals before decimation.
const ROUNDING: f64 = 0.5e-4;

fn run_ok(args: &[&str]) -> Output {
    let output = cli(args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A 10 s test song rendered CSV-only (default preset unless `extra` says otherwise).
fn render_folder(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let wav = dir.join("song.wav");
    if !wav.exists() {
        common::write_wav_i16(&wav, &common::to_i16(&common::song(48_000, 10.0)), 48_000);
    }
    let out = dir.join(name);
    let mut args = vec!["render", path_arg(&wav), "--out", path_arg(&out)];
    args.extend_from_slice(&["--csv-only", "--quiet"]);
    args.extend_from_slice(extra);
    run_ok(&args);
    out
}

/// A plain decimal: optional minus, digits, optionally a point and digits. No exponent, no sign
/// on the exponent, no `inf`/`nan`.
fn parse_plain_decimal(text: &str) -> f64 {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    assert!(
        !whole.is_empty()
            && whole.chars().all(|c| c.is_ascii_digit())
            && !fraction.is_empty()
            && fraction.chars().all(|c| c.is_ascii_digit()),
        "{text:?} is not a plain decimal"
    );
    text.parse().unwrap()
}

/// The Deforum keyframe grammar: `F:(V)` items joined by `, `, F integer ascending from 0, V a
/// plain decimal, no trailing comma, nothing else.
fn parse_deforum(text: &str) -> Vec<(usize, f64)> {
    parse_items(text, |item| {
        let (frame, rest) = item.split_once(":(").expect("F:(V)");
        let value = rest.strip_suffix(')').expect("closing parenthesis");
        (frame, value)
    })
}

/// AnimateDiff-Evolved value schedules: `idx = value` items joined by `, `.
fn parse_animatediff(text: &str) -> Vec<(usize, f64)> {
    parse_items(text, |item| item.split_once(" = ").expect("idx = value"))
}

fn parse_items<'a>(
    text: &'a str,
    split: impl Fn(&'a str) -> (&'a str, &'a str),
) -> Vec<(usize, f64)> {
    assert!(
        !text.ends_with(',') && !text.ends_with(", "),
        "trailing comma"
    );
    let keyframes: Vec<(usize, f64)> = text
        .split(", ")
        .map(|item| {
            let (frame, value) = split(item);
            assert!(frame.chars().all(|c| c.is_ascii_digit()), "frame {frame:?}");
            (frame.parse().unwrap(), parse_plain_decimal(value))
        })
        .collect();
    assert_eq!(keyframes[0].0, 0, "the first keyframe is frame 0");
    assert!(
        keyframes.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "ascending frames"
    );
    keyframes
}

/// Each `# name` line and the string after it, in a deforum.txt or animatediff.txt.
fn strings(path: &Path) -> Vec<(String, String)> {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines().filter(|line| !line.is_empty());
    let mut out = Vec::new();
    while let Some(name) = lines.next() {
        let name = name.strip_prefix("# ").expect("a # name line");
        out.push((name.to_owned(), lines.next().unwrap().to_owned()));
    }
    out
}

/// Linear interpolation between keyframes, at every frame up to the last keyframe.
fn interpolate(keyframes: &[(usize, f64)]) -> Vec<f64> {
    let mut values = vec![keyframes[0].1];
    for pair in keyframes.windows(2) {
        let ((a, va), (b, vb)) = (pair[0], pair[1]);
        for frame_idx in a + 1..=b {
            values.push(va + (vb - va) * (frame_idx - a) as f64 / (b - a) as f64);
        }
    }
    values
}

fn assert_close(actual: &[f64], wanted: &[f64], tolerance: f64, what: &str) {
    assert_eq!(actual.len(), wanted.len(), "{what}: frame count");
    for (frame_idx, (a, w)) in actual.iter().zip(wanted).enumerate() {
        assert!(
            (a - w).abs() <= tolerance,
            "{what} frame {frame_idx}: {a} vs {w}"
        );
    }
}

/// Deforum and AnimateDiff strings parse by their grammar and, interpolated, give back every
/// frame of the lanes in schedule.csv within the decimation tolerance; Parseq lists every frame
/// with the right values, deltas (zoom multiplicative) and percentages.
#[test]
fn every_output_parses_and_round_trips_the_lanes() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path(), "out", &[]);
    let epsilon = 0.01;
    run_ok(&[
        "schedule",
        path_arg(&folder),
        "--lane",
        "kick=30-120,release_ms=200",
        "--lane",
        "level=loudness,attack_ms=50,curve=exp",
        "--lane",
        "hats=onsets:6000-16000",
        "--epsilon",
        "0.01",
        "--quiet",
    ]);
    let (names, columns) = schedule_csv(&folder);
    assert_eq!(names, ["kick", "level", "hats"]);
    assert_eq!(columns[0].len(), 240, "10 s at 24 fps");
    for (file, parse) in [
        (
            "deforum.txt",
            parse_deforum as fn(&str) -> Vec<(usize, f64)>,
        ),
        ("animatediff.txt", parse_animatediff),
    ] {
        let strings = strings(&folder.join(file));
        assert_eq!(strings.len(), 3, "{file}: one string per lane");
        for ((name, text), (lane, column)) in strings.iter().zip(names.iter().zip(&columns)) {
            assert_eq!(name, lane);
            let keyframes = parse(text);
            assert_eq!(
                keyframes.last().unwrap().0,
                239,
                "{file} {name}: last frame kept"
            );
            assert!(keyframes.len() < 240, "{file} {name}: decimated");
            assert_close(
                &interpolate(&keyframes),
                column,
                epsilon + 1e-9,
                &format!("{file} {name}"),
            );
        }
    }

    // Targets in other ranges, one of them Parseq's multiplicative zoom.
    run_ok(&[
        "schedule",
        path_arg(&folder),
        "--lane",
        "kick=30-120",
        "--target",
        "zoom_schedule=kick,min=1,max=1.1",
        "--target",
        "strength_schedule=kick,min=0.45,max=0.75,invert",
        "--quiet",
    ]);
    let (_, columns) = schedule_csv(&folder);
    let kick = &columns[0];
    let parseq: Value =
        serde_json::from_slice(&fs::read(folder.join("parseq.json")).unwrap()).unwrap();
    assert_eq!(parseq["options"]["output_fps"], 24.0);
    let frames = parseq["rendered_frames"].as_array().unwrap();
    assert_eq!(frames.len(), 240);
    let field = |name: &str| -> Vec<f64> {
        frames
            .iter()
            .enumerate()
            .map(|(idx, frame)| {
                assert_eq!(frame["frame"], idx as u64, "every frame, in order");
                frame[name].as_f64().unwrap()
            })
            .collect()
    };
    let zoom = field("zoom");
    let strength = field("strength");
    let wanted_zoom: Vec<f64> = kick.iter().map(|k| 1.0 + 0.1 * k).collect();
    let wanted_strength: Vec<f64> = kick.iter().map(|k| 0.75 - 0.3 * k).collect();
    assert_close(&zoom, &wanted_zoom, ROUNDING + 1e-6, "parseq zoom");
    assert_close(
        &strength,
        &wanted_strength,
        ROUNDING + 1e-6,
        "parseq strength",
    );
    for (name, values, is_zoom) in [("zoom", &zoom, true), ("strength", &strength, false)] {
        let deltas = field(&format!("{name}_delta"));
        assert_eq!(deltas[0], values[0], "{name}: frame 0's delta is its value");
        for idx in 1..values.len() {
            let change = values[idx] - values[idx - 1];
            let wanted = if is_zoom { 1.0 + change } else { change };
            assert!((deltas[idx] - wanted).abs() < 1e-6, "{name}_delta {idx}");
        }
        // Parseq's meta: the least value and the largest magnitude, which `_pc` divides by.
        let meta = &parseq["rendered_frames_meta"][name];
        let (min, max_abs) = values.iter().fold((f64::MAX, 0.0f64), |(min, max), &v| {
            (min.min(v), max.max(v.abs()))
        });
        assert_eq!(
            (meta["min"].as_f64(), meta["max"].as_f64()),
            (Some(min), Some(max_abs))
        );
        assert_eq!(meta["isFlat"], false);
        for (pc, value) in field(&format!("{name}_pc")).iter().zip(values) {
            assert!((pc - value / max_abs * 100.0).abs() < 1e-3, "{name}_pc");
        }
    }
    let deforum = strings(&folder.join("deforum.txt"));
    assert_eq!(deforum[0].0, "zoom_schedule");
    assert_eq!(deforum[1].0, "strength_schedule");
    assert_close(
        &interpolate(&parse_deforum(&deforum[1].1)),
        &strength,
        0.001 + 1e-9,
        "deforum strength vs parseq",
    );
}

/// Comfyroll's `keyframe_scheduler` (nodes/functions_animation.py) as `CR Simple Value
/// Scheduler` applies it, in Python: for every frame up to the last line's, the line whose frame
/// it is, else the last line before it (values are held); then the node's `float(params)` and
/// `int(params.split('.')[0])`. Reads sections of `frame, value` lines separated by blank lines
/// on stdin, prints each section's floats as JSON.
const COMFYROLL_HARNESS: &str = r#"
import json, sys
out = []
for section in sys.stdin.read().split("\n\n"):
    lines = [line for line in section.split("\n") if line.strip()]
    if not lines:
        continue
    parsed = []
    for line in lines:
        frame_str, params = line.split(",", 1)
        parsed.append((int(frame_str), params.lstrip()))
    values = []
    for current in range(parsed[-1][0] + 1):
        held = ""
        for frame, params in parsed:
            if frame <= current:
                held = params
            if frame >= current:
                break
        int(held.split(".")[0])
        values.append(float(held))
    out.append(values)
print(json.dumps(out))
"#;

/// `comfyroll.txt`: each `# name` line and the `frame, value` lines under it, parsed by
/// Comfyroll's grammar (an integer, a comma, a value that `float` and `int` of its part before
/// the point both read) and held frame by frame as Comfyroll holds them.
fn comfyroll(path: &Path) -> Vec<(String, Vec<f64>)> {
    let text = fs::read_to_string(path).unwrap();
    let mut schedules = Vec::new();
    let mut sections = Vec::new();
    for section in text.split("\n\n").filter(|section| !section.is_empty()) {
        let (name, lines) = section.split_once('\n').unwrap();
        let name = name.strip_prefix("# ").expect("a # name line");
        let mut values = Vec::new();
        for (frame_idx, line) in lines.lines().enumerate() {
            let (frame, value) = line.split_once(", ").expect("frame, value");
            assert_eq!(
                frame,
                frame_idx.to_string(),
                "{name}: every frame, in order"
            );
            values.push(parse_plain_decimal(value));
        }
        schedules.push((name.to_owned(), values));
        sections.push(lines);
    }
    match std::process::Command::new("python3")
        .args(["-c", COMFYROLL_HARNESS])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    {
        Ok(mut child) => {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(sections.join("\n\n").as_bytes())
                .unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "Comfyroll's parser refused the lines"
            );
            let held: Vec<Vec<f64>> = serde_json::from_slice(&output.stdout).unwrap();
            for ((name, values), held) in schedules.iter().zip(held) {
                assert_eq!(&held, values, "{name}: Comfyroll holds what was written");
            }
        }
        Err(error) => {
            assert!(
                std::env::var_os("SPECTRAL_DIFFUSION_REQUIRE_TOOLS").is_none(),
                "python3: {error}"
            );
            eprintln!("skipped Comfyroll's parser in Python: python3: {error}");
        }
    }
    schedules
}

/// Comfyroll's lines hold, on every frame, the schedule's value to 4 decimals.
#[test]
fn comfyroll_lines_parse_by_its_grammar_and_hold_the_schedule() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path(), "out", &[]);
    run_ok(&[
        "schedule",
        path_arg(&folder),
        "--lane",
        "kick=30-120,min=-0.5,max=0.75",
        "--lane",
        "level=loudness,min=5,max=9",
        "--quiet",
    ]);
    let (names, columns) = schedule_csv(&folder);
    let schedules = comfyroll(&folder.join("comfyroll.txt"));
    assert_eq!(schedules.len(), 2);
    for ((name, values), (lane, column)) in schedules.iter().zip(names.iter().zip(&columns)) {
        assert_eq!(name, lane);
        assert_close(values, column, ROUNDING + 1e-6, name);
    }
}

/// `parseq.json`'s frames, by field.
fn parseq_fields(folder: &Path) -> Vec<serde_json::Map<String, Value>> {
    let parseq: Value =
        serde_json::from_slice(&fs::read(folder.join("parseq.json")).unwrap()).unwrap();
    parseq["rendered_frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|frame| frame.as_object().unwrap().clone())
        .collect()
}

/// Parseq's fields carry the names Deforum's `parseq_adapter.py` asks for (`scale` for the CFG
/// scale, `steps_schedule`, `antiblur_*`, the motion names and their `_delta`), with the targets'
/// values. With a Deforum checkout in SPECTRAL_DIFFUSION_DEFORUM, Deforum's adapter itself reads
/// the file (bench/deforum_parseq.py) and takes each of those schedules from it.
#[test]
fn parseq_fields_are_the_names_deforums_adapter_reads() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path(), "out", &[]);
    let targets = [
        ("cfg_scale_schedule", "scale", 5.0, 9.0),
        ("steps_schedule", "steps_schedule", 20.0, 30.0),
        ("kernel_schedule", "antiblur_kernel", 3.0, 7.0),
        ("sigma_schedule", "antiblur_sigma", 0.5, 1.5),
        ("amount_schedule", "antiblur_amount", 0.1, 0.4),
        ("threshold_schedule", "antiblur_threshold", 0.0, 0.2),
        ("strength_schedule", "strength", 0.45, 0.75),
        ("zoom", "zoom", 1.0, 1.04),
        ("translation_x", "translation_x", -2.0, 2.0),
    ];
    let specs: Vec<String> = targets
        .iter()
        .map(|(name, _, min, max)| format!("{name}=kick,min={min},max={max}"))
        .collect();
    let mut args = vec![
        "schedule",
        path_arg(&folder),
        "--lane",
        "kick=30-120",
        "--quiet",
    ];
    for spec in &specs {
        args.extend(["--target", spec.as_str()]);
    }
    run_ok(&args);
    let (names, columns) = schedule_csv(&folder);
    assert_eq!(names[0], "kick");
    let kick = &columns[0];
    let frames = parseq_fields(&folder);
    assert_eq!(frames.len(), kick.len());
    for (_, field, min, max) in targets {
        for (frame_idx, frame) in frames.iter().enumerate() {
            let value = frame[field].as_f64().unwrap();
            let wanted = min + (max - min) * kick[frame_idx];
            assert!(
                (value - wanted).abs() <= ROUNDING + 1e-6,
                "{field} {frame_idx}"
            );
            for suffix in ["_delta", "_pc"] {
                assert!(
                    frame.contains_key(&format!("{field}{suffix}")),
                    "{field}{suffix}"
                );
            }
        }
    }
    // No field under a name the adapter does not read.
    for stray in [
        "cfg_scale",
        "steps",
        "kernel",
        "sigma",
        "amount",
        "threshold",
    ] {
        assert!(!frames[0].contains_key(stray), "{stray}");
    }

    let Some(deforum) = std::env::var_os("SPECTRAL_DIFFUSION_DEFORUM") else {
        eprintln!("skipped Deforum's own adapter: set SPECTRAL_DIFFUSION_DEFORUM to a checkout");
        return;
    };
    for use_deltas in [true, false] {
        let mut command = std::process::Command::new("python3");
        command
            .arg("bench/deforum_parseq.py")
            .arg(&deforum)
            .arg(folder.join("parseq.json"));
        if !use_deltas {
            command.arg("--no-deltas");
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let read: Value = serde_json::from_slice(&output.stdout).unwrap();
        for (series, field) in [
            ("cfg_scale_schedule_series", "scale"),
            ("steps_schedule_series", "steps_schedule"),
            ("kernel_schedule_series", "antiblur_kernel"),
            ("sigma_schedule_series", "antiblur_sigma"),
            ("amount_schedule_series", "antiblur_amount"),
            ("threshold_schedule_series", "antiblur_threshold"),
            ("strength_schedule_series", "strength"),
            (
                "zoom_series",
                if use_deltas { "zoom_delta" } else { "zoom" },
            ),
            (
                "translation_x_series",
                if use_deltas {
                    "translation_x_delta"
                } else {
                    "translation_x"
                },
            ),
        ] {
            let values: Vec<f64> = read["series"][series]
                .as_array()
                .unwrap_or_else(|| panic!("Deforum does not take {series} from parseq.json"))
                .iter()
                .map(|value| value.as_f64().unwrap())
                .collect();
            let wanted: Vec<f64> = frames
                .iter()
                .map(|frame| frame[field].as_f64().unwrap())
                .collect();
            assert_eq!(values, wanted, "{series}");
        }
    }
}

/// A mono 16-bit WAV of `seconds` with a kick (60 Hz, sharp attack, 33 ms decay) every 0.5 s and a
/// steady 1 kHz tone outside the kick band.
fn kick_track(path: &Path, sample_rate: u32, seconds: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    let kick_len = u64::from(sample_rate) / 2;
    let sr = f64::from(sample_rate);
    for n in 0..u64::from(sample_rate) * u64::from(seconds) {
        let t = (n % kick_len) as f64 / sr;
        let kick = 0.5 * (2.0 * std::f64::consts::PI * 60.0 * t).cos() * (-30.0 * t).exp();
        let tone = 0.05 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / sr).sin();
        writer
            .write_sample(((kick + tone) * 32767.0).round() as i16)
            .unwrap();
    }
    writer.finalize().unwrap();
}

/// Frame-boundary rule (src/schedule/onsets.rs): frame k holds samples floor(k·sr/fps) ..
/// floor((k+1)·sr/fps), and a hit fires on the frame that holds its first sample. Ten minutes of
/// kicks every 0.5 s, from audio (analysis only): at 24 fps every kick starts a frame (12n), at
/// 23.976 fps the kicks fall at every position inside their frames; each fires on exactly its
/// frame, to the last kick.
#[test]
fn onsets_land_on_the_frames_holding_the_kicks_for_ten_minutes() {
    let dir = TempDir::new().unwrap();
    let sample_rate = 16_000u64;
    let wav = dir.path().join("kicks.wav");
    kick_track(&wav, sample_rate as u32, 600);
    for (fps, num, den) in [("24", 24u64, 1u64), ("23.976", 24_000, 1001)] {
        let out = dir.path().join(fps);
        run_ok(&[
            "schedule",
            path_arg(&wav),
            "--fps",
            fps,
            "--out",
            path_arg(&out),
            "--lane",
            "kick=onsets:30-120,release_ms=0",
            "--quiet",
        ]);
        // The frame holding sample s: the last k with floor(k·sr·den/num) <= s.
        let frame_holding = |s: u64| (((s + 1) * num - 1) / (sample_rate * den)) as usize;
        let wanted: BTreeSet<usize> = (0..1200u64)
            .map(|kick| frame_holding(kick * sample_rate / 2))
            .collect();
        assert_eq!(wanted.len(), 1200);
        let (_, columns) = schedule_csv(&out);
        let fired: BTreeSet<usize> = (0..columns[0].len())
            .filter(|&frame_idx| columns[0][frame_idx] == 1.0)
            .collect();
        assert_same_frames(&fired, &wanted, &format!("{fps} fps: frames with a pulse"));
        let keyframes = parse_deforum(&strings(&out.join("deforum.txt"))[0].1);
        let pulses: BTreeSet<usize> = keyframes
            .iter()
            .filter(|(_, value)| *value == 1.0)
            .map(|&(frame_idx, _)| frame_idx)
            .collect();
        assert_same_frames(
            &pulses,
            &wanted,
            &format!("{fps} fps: Deforum keyframes at 1"),
        );
        let last = *wanted.last().unwrap();
        assert!(
            last > 14_000,
            "{fps} fps: the last kick is ten minutes in ({last})"
        );
    }
}

/// Names the frames that differ, not the thousand that agree.
fn assert_same_frames(actual: &BTreeSet<usize>, wanted: &BTreeSet<usize>, what: &str) {
    let extra: Vec<_> = actual.difference(wanted).take(10).collect();
    let missing: Vec<_> = wanted.difference(actual).take(10).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{what}: extra {extra:?}, missing {missing:?}"
    );
}

/// The post's bare `--csv seed` rows are the manifest's frames with raw magnitudes: a schedule
/// from them equals one from the same render's full CSV, and each band follows its frequency (a
/// 200 Hz tone, then a 1 kHz tone: the low lane falls where the high lane rises).
#[test]
fn seed_csv_gives_the_full_csv_schedule_and_bands_follow_frequency() {
    let dir = TempDir::new().unwrap();
    let wav = dir.path().join("tones.wav");
    let sr = 48_000u32;
    let tones: Vec<f32> = (0..sr * 4)
        .map(|n| {
            let freq_hz = if n < sr * 2 { 200.0 } else { 1000.0 };
            (0.5 * (2.0 * std::f64::consts::PI * freq_hz * f64::from(n) / f64::from(sr)).sin())
                as f32
        })
        .collect();
    common::write_wav_f32(&wav, &tones, 1, sr);
    let mut schedules = Vec::new();
    for csv in ["seed", "full"] {
        let out = dir.path().join(csv);
        run_ok(&[
            "render",
            path_arg(&wav),
            "--out",
            path_arg(&out),
            "--preset",
            "seed",
            "--csv-only",
            "--csv",
            csv,
            "--quiet",
        ]);
        run_ok(&[
            "schedule",
            path_arg(&out),
            "--lane",
            "low=150-250,normalize=false",
            "--lane",
            "high=900-1100,normalize=false",
            "--quiet",
        ]);
        schedules.push(fs::read(out.join("schedule.csv")).unwrap());
    }
    assert_eq!(
        schedules[0], schedules[1],
        "seed and full CSV give the same schedule"
    );
    let (_, columns) = schedule_csv(&dir.path().join("seed"));
    let (low, high) = (&columns[0], &columns[1]);
    // normalize=false: 0..1 spans floor..0 dB, so 0.2 is 18 dB.
    assert!(
        low[10] - low[80] > 0.2,
        "low lane: {} then {}",
        low[10],
        low[80]
    );
    assert!(
        high[80] - high[10] > 0.2,
        "high lane: {} then {}",
        high[10],
        high[80]
    );
}

/// `schedule AUDIO` runs the render's own analysis: its band lanes equal those from the folder
/// `render --csv-only` writes; a config file gives what the same flags give.
#[test]
fn audio_and_config_give_what_folder_and_flags_give() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path(), "out", &[]);
    let lanes = [
        "--lane",
        "kick=30-120,release_ms=120",
        "--lane",
        "level=loudness,gate_db=-50",
    ];
    let mut args = vec!["schedule", path_arg(&folder), "--quiet"];
    args.extend_from_slice(&lanes);
    args.extend_from_slice(&[
        "--target",
        "strength_schedule=kick,min=0.45,max=0.75,invert",
    ]);
    run_ok(&args);

    let from_audio = dir.path().join("audio");
    let wav = dir.path().join("song.wav");
    let mut args = vec![
        "schedule",
        path_arg(&wav),
        "--out",
        path_arg(&from_audio),
        "--quiet",
    ];
    args.extend_from_slice(&lanes);
    args.extend_from_slice(&[
        "--target",
        "strength_schedule=kick,min=0.45,max=0.75,invert",
    ]);
    run_ok(&args);

    let config = dir.path().join("lanes.toml");
    fs::write(
        &config,
        r#"
[[lane]]
name = "kick"
source = "30-120"
release_ms = 120

[[lane]]
name = "level"
source = "loudness"
gate_db = -50

[[target]]
name = "strength_schedule"
lane = "kick"
min = 0.45
max = 0.75
invert = true
"#,
    )
    .unwrap();
    let from_config = dir.path().join("config");
    run_ok(&[
        "schedule",
        path_arg(&folder),
        "--config",
        path_arg(&config),
        "--out",
        path_arg(&from_config),
        "--quiet",
    ]);
    for name in [
        "schedule.csv",
        "deforum.txt",
        "animatediff.txt",
        "parseq.json",
    ] {
        let wanted = fs::read(folder.join(name)).unwrap();
        assert_eq!(
            fs::read(from_audio.join(name)).unwrap(),
            wanted,
            "audio: {name}"
        );
        assert_eq!(
            fs::read(from_config.join(name)).unwrap(),
            wanted,
            "config: {name}"
        );
    }

    // The render folder's preview page was drawn again with the lanes.
    let page = fs::read_to_string(folder.join("index.html")).unwrap();
    assert!(
        page.contains(r#""name":"kick""#),
        "no kick lane in the page"
    );
    // Schedules made from the audio first are no one else's files: a render goes in beside them.
    run_ok(&[
        "render",
        path_arg(&wav),
        "--out",
        path_arg(&from_audio),
        "--csv-only",
        "--quiet",
    ]);
    assert!(from_audio.join("spectrum.csv").exists());
    assert!(from_audio.join("deforum.txt").exists());
}

/// Bad input: one line starting `error:`, the documented exit code, and nothing written.
#[test]
fn bad_input_is_one_line_with_its_exit_code() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path(), "out", &[]);
    let not_a_render = dir.path().join("empty");
    fs::create_dir(&not_a_render).unwrap();
    let bad_config = dir.path().join("bad.toml");
    fs::write(
        &bad_config,
        "[[lane]]\nname = \"kick\"\nsorce = \"30-120\"\n",
    )
    .unwrap();
    let folder_arg = path_arg(&folder);
    let cases: [(&[&str], i32, &str); 12] = [
        (
            &["--lane", "kick"],
            2,
            "expected NAME=SOURCE, the source one of LO-HI",
        ),
        (&["--lane", "kick=120-30"], 2, "lower to a higher"),
        (&["--lane", "kick=30-120,atack_ms=5"], 2, "unknown field"),
        (
            &["--lane", "air=30000-40000"],
            2,
            "outside the analysed range",
        ),
        (
            &["--lane", "kick=30-120", "--lane", "kick=40-80"],
            2,
            "named twice",
        ),
        (
            &["--lane", "kick=30-120", "--target", "zoom=snare"],
            2,
            "does not exist",
        ),
        (&[], 2, "no lanes"),
        (&["--config", path_arg(&bad_config)], 2, "sorce"),
        (
            &["--lane", "kick=30-120", "--fps", "30"],
            2,
            "--fps applies to audio",
        ),
        (&["--lane", "kick=30-120", "--epsilon=-1"], 2, "--epsilon"),
        (
            &[
                "--lane",
                "kick=30-120",
                "--target",
                "strength_schedule=kick",
                "--target",
                "strength=kick",
            ],
            2,
            "schedules \"strength_schedule\" and \"strength\" would both write Parseq's \"strength\"",
        ),
        (
            &[
                "--lane",
                "kick=30-120",
                "--target",
                "zoom=kick",
                "--target",
                "zoom_delta=kick",
            ],
            2,
            "Parseq's \"zoom_delta\"",
        ),
    ];
    for (extra, code, wanted) in cases {
        let mut args = vec!["schedule", folder_arg];
        args.extend_from_slice(extra);
        expect_failure(&args, code, wanted);
    }
    let missing = dir.path().join("missing");
    expect_failure(
        &["schedule", path_arg(&missing), "--lane", "k=30-120"],
        1,
        "no such file",
    );
    expect_failure(
        &["schedule", path_arg(&not_a_render), "--lane", "k=30-120"],
        1,
        "has no manifest.json",
    );
    let missing_config = dir.path().join("missing.toml");
    expect_failure(
        &[
            "schedule",
            folder_arg,
            "--config",
            path_arg(&missing_config),
        ],
        1,
        "missing.toml",
    );
    assert!(
        !folder.join("schedule.csv").exists(),
        "failures write nothing"
    );
}

fn expect_failure(args: &[&str], code: i32, wanted: &str) {
    let output = cli(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(wanted),
        "{args:?}: {stderr}"
    );
}

/// The test's tempo map, at 24 fps: the take starts 1.3 beats into bar 5 of 4/4 at 120 bpm; at
/// bar 6 (1.35 s) the song turns to 7/8 at 90 bpm (an eighth every 1/3 s). Returns a
/// `transport.csv` of `num_frames` rows, each at its frame's first sample, as the plugin writes it.
fn tempo_change_transport(num_frames: u64) -> String {
    let mut text = "frame,time_s,tempo_bpm,sig_num,sig_den,beat,bar,bar_beat,playing\n".to_owned();
    for frame in 0..num_frames {
        let t = frame as f64 / 24.0;
        let (tempo, sig, quarters, bar, bar_beat) = if t < 1.35 {
            let quarters = 21.3 + 2.0 * t;
            let bar = (quarters / 4.0).floor();
            (120, (4, 4), quarters, bar, quarters - 4.0 * bar)
        } else {
            let eighths = (t - 1.35) * 3.0;
            let bars = (eighths / 7.0).floor();
            (
                90,
                (7, 8),
                24.0 + eighths / 2.0,
                6.0 + bars,
                eighths - 7.0 * bars,
            )
        };
        text += &format!(
            "{frame},{t},{tempo},{},{},{quarters},{bar},{bar_beat},1\n",
            sig.0, sig.1
        );
    }
    text
}

/// A `session.json` listing `lanes` (folders under `session`) at 24 fps, as the plugin writes it.
fn write_session_index(session: &Path, lanes: &[&str]) {
    let lanes: Vec<Value> = lanes
        .iter()
        .map(|name| {
            serde_json::json!({
                "name": name, "track": name, "instance_id": name, "settings": {},
                "first_frame": 0, "last_frame": 239, "frames_written": 240,
            })
        })
        .collect();
    let index = serde_json::json!({"format": 1, "fps": {"num": 24, "den": 1}, "lanes": lanes});
    fs::write(session.join("session.json"), index.to_string()).unwrap();
}

/// The frames whose values are 1.
fn pulse_frames(values: &[f64]) -> BTreeSet<usize> {
    (0..values.len()).filter(|&k| values[k] == 1.0).collect()
}

/// A session of two takes (as the plugin writes them: spectra plus its host tables): beat lanes
/// pulse on the frames that hold the beats of the tempo map, across a tempo and time-signature
/// change; note, CC and macro lanes give the recorded values; a take's spectral lane measures the
/// same in the session as in the take alone.
#[test]
fn session_lanes_follow_the_beat_grid_midi_and_macros() {
    let dir = TempDir::new().unwrap();
    let session = dir.path().join("session");
    let drums = render_folder(dir.path(), "session/Drums", &[]);
    let keys = render_folder(dir.path(), "session/Keys", &[]);
    write_session_index(&session, &["Drums", "Keys"]);
    let num_frames = 240;
    fs::write(
        drums.join("transport.csv"),
        tempo_change_transport(num_frames),
    )
    .unwrap();
    let mut midi = "frame,time_s,note_36,note_38,cc_1\n".to_owned();
    for frame in 0..num_frames {
        let note_36 = if (10..=12).contains(&frame) {
            "0.8"
        } else {
            "0"
        };
        let note_38 = if frame == 11 { "1" } else { "0" };
        midi += &format!(
            "{frame},{},{note_36},{note_38},{}\n",
            frame as f64 / 24.0,
            frame % 2
        );
    }
    fs::write(drums.join("midi.csv"), midi).unwrap();
    let mut macros =
        "frame,time_s,macro_1,macro_2,macro_3,macro_4,macro_5,macro_6,macro_7,macro_8\n".to_owned();
    for frame in 0..num_frames {
        let value = frame as f64 / 239.0;
        macros += &format!("{frame},{},{value},0,0,0,0,0,0,0\n", frame as f64 / 24.0);
    }
    fs::write(keys.join("macros.csv"), macros).unwrap();

    let session_arg = path_arg(&session);
    run_ok(&[
        "schedule",
        session_arg,
        "--quiet",
        "--lane",
        "beat=beats,release_ms=0",
        "--lane",
        "even=Drums/beats:2,release_ms=0",
        "--lane",
        "bar=bars,release_ms=0",
        "--lane",
        "bar2=Drums/bars:2,release_ms=0",
        "--lane",
        "kick=Drums/note:36-38,release_ms=0",
        "--lane",
        "mod=Drums/cc:1",
        "--lane",
        "zoom=Keys/macro:1,min=1,max=1.05",
        "--lane",
        "level=Keys/loudness",
    ]);
    let (names, columns) = schedule_csv(&session);
    assert_eq!(
        names,
        [
            "beat", "even", "bar", "bar2", "kick", "mod", "zoom", "level"
        ]
    );
    assert_eq!(columns[0].len(), num_frames as usize);
    // The beats' times from the tempo map: quarters 22 and 23 of 4/4, then an eighth every 1/3 s
    // from 1.35 s; frame k holds the times k/24 ≤ t < (k+1)/24.
    let beat_times = [0.35, 0.85]
        .into_iter()
        .map(|t| (t, 2 + (t > 0.5) as usize))
        .chain((0..26).map(|n| (1.35 + n as f64 / 3.0, n % 7)));
    let frame_of = |t: f64| (t * 24.0).floor() as usize;
    let beats: Vec<(usize, usize)> = beat_times
        .filter(|&(t, _)| t < 10.0)
        .map(|(t, index_in_bar)| (frame_of(t), index_in_bar))
        .collect();
    let frames_where = |keep: &dyn Fn(usize) -> bool| -> BTreeSet<usize> {
        beats
            .iter()
            .filter(|&&(_, idx)| keep(idx))
            .map(|&(k, _)| k)
            .collect()
    };
    assert_same_frames(
        &pulse_frames(&columns[0]),
        &frames_where(&|_| true),
        "beats",
    );
    assert_same_frames(
        &pulse_frames(&columns[1]),
        &frames_where(&|idx| idx % 2 == 0),
        "beats:2",
    );
    assert_same_frames(
        &pulse_frames(&columns[2]),
        &[32, 88, 144, 200].into(),
        "bars",
    );
    assert_same_frames(&pulse_frames(&columns[3]), &[32, 144].into(), "bars:2");
    assert_eq!(
        &columns[4][9..14],
        [0.0, 0.8, 1.0, 0.8, 0.0],
        "notes: the loudest sounding"
    );
    assert!(
        (0..num_frames as usize).all(|k| columns[5][k] == (k % 2) as f64),
        "cc"
    );
    for (k, &zoom) in columns[6].iter().enumerate() {
        let wanted = 1.0 + 0.05 * k as f64 / 239.0;
        assert!(
            (zoom - wanted).abs() < 1e-6,
            "macro at frame {k}: {zoom} vs {wanted}"
        );
    }
    run_ok(&[
        "schedule",
        path_arg(&keys),
        "--quiet",
        "--lane",
        "level=loudness",
    ]);
    assert_eq!(
        schedule_csv(&keys).1[0],
        columns[7],
        "a take's lane, alone and in its session"
    );
}

#[test]
fn session_and_host_lane_mistakes_are_one_line() {
    let dir = TempDir::new().unwrap();
    let session = dir.path().join("session");
    let take = render_folder(dir.path(), "session/Drums", &[]);
    write_session_index(&session, &["Drums"]);
    let (session_arg, take_arg) = (path_arg(&session), path_arg(&take));
    let wav = dir.path().join("song.wav");
    for (args, code, wanted) in [
        (
            &["schedule", session_arg, "--lane", "k=30-120"][..],
            2,
            "name the lane it follows as LANE/SOURCE (lanes: Drums)",
        ),
        (
            &["schedule", session_arg, "--lane", "k=Keys/30-120"],
            1,
            "lists no lane \"Keys\"; its lanes: Drums",
        ),
        (
            &["schedule", session_arg, "--lane", "b=beats"],
            1,
            "no lane of the session",
        ),
        (
            &["schedule", take_arg, "--lane", "k=Drums/30-120"],
            2,
            "is no session folder",
        ),
        (
            &["schedule", take_arg, "--lane", "b=bars"],
            1,
            "has no transport.csv",
        ),
        (
            &["schedule", take_arg, "--lane", "m=macro:9"],
            2,
            "from 1 to 8",
        ),
        (
            &["schedule", take_arg, "--lane", "n=note:60-40"],
            2,
            "from low to high",
        ),
        (
            &["schedule", take_arg, "--lane", "n=note:60,gate_db=-40"],
            2,
            "measured in the spectrum only",
        ),
        (
            &["schedule", path_arg(&wav), "--lane", "b=beats"],
            2,
            "give its folder, not audio",
        ),
    ] {
        expect_failure(args, code, wanted);
    }
}
