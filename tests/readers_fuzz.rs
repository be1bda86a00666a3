//! Every reader of the output folder (issue 17 §4, DESIGN.md §7) against arbitrary bytes and
//! against valid files with one field or line damaged: never a panic, never an allocation that
//! the capped address space refuses (an abort), and an error is one line naming its file. A reader that accepts a damaged
//! file hands it on: the preview page, the command that reads most of a folder, is drawn from it.
//!
//! A short run in `cargo test`; `bench/fuzz-readers.sh` runs each reader for longer
//! (`PROPTEST_CASES`), and proptest keeps every failure it finds in
//! `tests/readers_fuzz.proptest-regressions`, replayed first on every run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::Value;
use spectral_diffusion::export::format::capture::{HostTable, HostTableKind};
use spectral_diffusion::export::format::derived::Derived;
use spectral_diffusion::export::format::diffused::Ledger;
use spectral_diffusion::export::format::folder::OutputFolder;
use spectral_diffusion::export::format::frames::read_grey;
use spectral_diffusion::export::format::manifest::Manifest;
use spectral_diffusion::export::format::page::is_our_page;
use spectral_diffusion::export::format::session::read_session;
use spectral_diffusion::page::{BrokenSchedule, write_page};

// Each test crate uses its own part of the shared helpers.
#[allow(dead_code)]
mod common;

/// The address space the test process may use: a reader that sizes an allocation from a number
/// in a file (16 TB for a frame of 999999999999) aborts the test instead of being served by
/// overcommit.
#[cfg(unix)]
const MAX_ADDRESS_SPACE: u64 = 4 << 30;

/// Caps this process's address space (once; every test calls it).
fn cap_memory() {
    #[cfg(unix)]
    {
        static CAP: OnceLock<()> = OnceLock::new();
        CAP.get_or_init(|| {
            let limit = libc::rlimit {
                rlim_cur: MAX_ADDRESS_SPACE,
                rlim_max: libc::RLIM_INFINITY,
            };
            // SAFETY: setrlimit reads a valid rlimit; lowering the soft limit is always allowed.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }, 0);
        });
    }
}

/// Runs `read` and checks what every reader promises: it returns, and an error is one line
/// naming `file`.
fn check_reader<T, E: std::fmt::Display>(file: &str, read: impl FnOnce() -> Result<T, E>) {
    cap_memory();
    if let Err(error) = read() {
        let message = error.to_string();
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains(file), "{file} not named in: {message}");
    }
}

/// The short run's cases per reader, unless `PROPTEST_CASES` asks for more.
fn config() -> ProptestConfig {
    let cases = match std::env::var_os("PROPTEST_CASES") {
        Some(_) => ProptestConfig::default().cases,
        None => 48,
    };
    ProptestConfig {
        cases,
        // Beside this file: `tests/readers_fuzz.proptest-regressions`.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    }
}

/// A render of one second at 64 px, with a schedule: every file of a CLI folder, valid. Made
/// once by the binary.
fn valid_folder() -> &'static Path {
    static FOLDER: OnceLock<tempfile::TempDir> = OnceLock::new();
    FOLDER
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let song = common::to_i16(&common::song(44_100, 1.0));
            common::write_wav_i16(&dir.path().join("song.wav"), &song, 44_100);
            let out = dir.path().join("out");
            for args in [
                &[
                    "render", "song.wav", "--out", "out", "--size", "64", "--quiet",
                ][..],
                &["schedule", "out", "--lane", "level=loudness", "--quiet"],
            ] {
                let output = Command::new(env!("CARGO_BIN_EXE_spectral-diffusion"))
                    .args(args)
                    .current_dir(dir.path())
                    .output()
                    .unwrap();
                assert!(output.status.success(), "{output:?}");
            }
            assert!(out.join("spectrum.csv").is_file());
            dir
        })
        .path()
}

/// A fresh copy of the valid folder's listing files (not its frames), with `name` replaced by
/// `bytes`.
fn folder_with(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = valid_folder().join("out");
    for entry in fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    fs::write(dir.path().join(name), bytes).unwrap();
    let path = dir.path().to_owned();
    (dir, path)
}

fn valid_text(name: &str) -> String {
    fs::read_to_string(valid_folder().join("out").join(name)).unwrap()
}

/// Numbers a hand or a broken tool may leave in a field.
fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::from(u64::MAX)),
        Just(Value::from(999_999_999_999u64)),
        Just(Value::from(20_000_000u64)),
        Just(Value::from(-1)),
        Just(Value::from(0)),
        Just(Value::from(1e300)),
        Just(Value::from("NaN")),
        Just(Value::Null),
        Just(Value::from(9_999_999u64)),
        Just(serde_json::json!([[0, 999_999_999_999u64]])),
        Just(serde_json::json!([[0, 9_999_998u64]])),
        Just(serde_json::json!([[5, 2], [0, 3]])),
        Just(serde_json::json!([])),
        any::<i64>().prop_map(Value::from),
    ]
}

/// `value` with the field at `pointer` set to `new` (the field is created if missing).
fn with_field(mut value: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    if let Some(Value::Object(object)) = value.pointer_mut(parent) {
        object.insert(key.to_owned(), new);
    } else if let Some(Value::Array(array)) = value.pointer_mut(parent)
        && let Ok(idx) = key.parse::<usize>()
        && idx < array.len()
    {
        array[idx] = new;
    }
    value
}

/// The manifest's fields that size or place what readers read.
const MANIFEST_FIELDS: [&str; 12] = [
    "/fps/num",
    "/fps/den",
    "/sample_rate",
    "/frame_ranges",
    "/frames_written",
    "/frames_expected",
    "/first_frame",
    "/last_frame",
    "/bin_freqs_hz",
    "/bin_freqs_hz/3",
    "/frames/width",
    "/analysis/settings/num_bins",
];

/// A text with one of its lines damaged: dropped, doubled, or cut, or a cell replaced.
fn damaged_lines(text: String) -> impl Strategy<Value = String> {
    let num_lines = text.lines().count().max(1);
    let cells = prop_oneof![
        Just("NaN"),
        Just("inf"),
        Just("-1"),
        Just("999999999999"),
        Just(""),
        Just("1e400"),
        Just("x"),
    ];
    (0..num_lines, 0..4usize, 0..64usize, cells).prop_map(move |(at, how, cell_idx, cell)| {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        match how {
            0 => {
                lines.remove(at);
            }
            1 => lines.insert(at, lines[at].clone()),
            2 => {
                let half = lines[at].len() / 2;
                lines[at].truncate(half);
            }
            _ => {
                let mut line_cells: Vec<&str> = lines[at].split(',').collect();
                let idx = cell_idx % line_cells.len();
                line_cells[idx] = cell;
                lines[at] = line_cells.join(",");
            }
        }
        lines.join("\n") + "\n"
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn manifest_from_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (_dir, folder) = folder_with("manifest.json", &bytes);
        check_reader("manifest.json", || Manifest::read(&folder));
    }

    #[test]
    fn manifest_with_a_hostile_field(
        field in proptest::sample::select(&MANIFEST_FIELDS[..]),
        value in hostile_value(),
    ) {
        let valid: Value = serde_json::from_str(&valid_text("manifest.json")).unwrap();
        let damaged = with_field(valid, field, value);
        let (_dir, folder) = folder_with("manifest.json", damaged.to_string().as_bytes());
        check_reader("manifest.json", || OutputFolder::read(&folder));
        // Whatever the reader accepts, the page is drawn from it or refused in one line.
        if OutputFolder::read(&folder).is_ok()
            && let Err(error) = write_page(&folder, None, BrokenSchedule::Refuse)
        {
            prop_assert_eq!(error.to_string().lines().count(), 1, "{}", error);
        }
    }

    #[test]
    fn schedule_from_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (_dir, folder) = folder_with("schedule.csv", &bytes);
        check_reader("schedule.csv", || write_page(&folder, None, BrokenSchedule::Refuse));
    }

    #[test]
    fn schedule_with_a_damaged_line(text in damaged_lines(valid_text("schedule.csv"))) {
        let (_dir, folder) = folder_with("schedule.csv", text.as_bytes());
        check_reader("schedule.csv", || write_page(&folder, None, BrokenSchedule::Refuse));
    }

    #[test]
    fn spectrum_with_a_damaged_line(text in damaged_lines(valid_text("spectrum.csv"))) {
        let (_dir, folder) = folder_with("spectrum.csv", text.as_bytes());
        let folder = OutputFolder::read(&folder).unwrap();
        check_reader("spectrum.csv", || {
            folder.for_each_row(|_, values| {
                assert!(values.iter().all(|value| value.is_finite()), "{values:?}");
                Ok::<(), spectral_diffusion::export::format::FormatError>(())
            })
        });
    }

    #[test]
    fn spectrum_from_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let (_dir, folder) = folder_with("spectrum.csv", &bytes);
        let folder = OutputFolder::read(&folder).unwrap();
        check_reader("spectrum.csv", || {
            folder.for_each_row(|_, _| {
                Ok::<(), spectral_diffusion::export::format::FormatError>(())
            })
        });
    }

    #[test]
    fn host_tables_from_any_text(
        kind in proptest::sample::select(&HostTableKind::ALL[..]),
        text in "(frame,time_s(,[a-z_0-9]{1,12}){0,4}\n)?([0-9eE.+-]{0,12}(,[0-9eE.naif+-]{0,8}){0,5}\n){0,20}",
    ) {
        check_reader(kind.file_name(), || HostTable::parse(kind, &text, 24));
    }

    #[test]
    fn session_index_from_any_json(value in hostile_value(), field in "(format|fps|lanes)") {
        let valid = serde_json::json!({
            "format": 1, "fps": {"num": 24, "den": 1},
            "lanes": [{"name": "Drums", "track": "Drums", "instance_id": "a", "settings": {},
                       "first_frame": 0, "last_frame": 9, "frames_written": 10}]
        });
        let damaged = with_field(valid, &format!("/{field}"), value);
        let (_dir, folder) = folder_with("session.json", damaged.to_string().as_bytes());
        check_reader("session.json", || read_session(&folder));
    }

    #[test]
    fn derived_record_with_a_hostile_field(
        field in "(format|schedule/fps|schedule/num_frames|schedule/files|schedule/from)",
        value in hostile_value(),
    ) {
        // What a schedule from the song's audio at the render's rate leaves.
        let valid = serde_json::json!({
            "format": 1, "tool": "spectral-diffusion",
            "schedule": {
                "from": "audio", "fps": [24, 1], "num_frames": 24, "files": ["schedule.csv"],
                "input": "song.wav", "lanes": ["level=loudness"], "targets": []
            }
        });
        let damaged = with_field(valid, &format!("/{field}"), value);
        let (_dir, folder) = folder_with("derived.json", damaged.to_string().as_bytes());
        check_reader("derived.json", || Derived::read(&folder));
        let output = OutputFolder::read(&folder).unwrap();
        check_reader("derived.json", || output.require_current_schedule().or_else(|error| {
            // A schedule refused as stale names schedule.csv and the record that said so.
            match error.to_string().contains("schedule.csv") {
                true => Ok(()),
                false => Err(error),
            }
        }));
    }

    #[test]
    fn ledger_from_any_lines(
        lines in proptest::collection::vec("(\\{\"frame\":[0-9]{1,20},[ -~]{0,40}\\}|[ -~]{0,60})", 0..20),
    ) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("ledger.jsonl"), lines.join("\n")).unwrap();
        check_reader("ledger.jsonl", || Ledger::open(dir.path()).map(|_| ()));
    }

    #[test]
    fn page_marker_and_frames_from_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("index.html"), &bytes).unwrap();
        prop_assert!(!is_our_page(dir.path()) || String::from_utf8_lossy(&bytes).contains("generator"));
        let frame = dir.path().join("000000.png");
        let mut png = fs::read(valid_folder().join("out/frames/000000.png")).unwrap();
        let at = bytes.first().map_or(0, |&at| at as usize % png.len());
        png.splice(at..(at + bytes.len() / 8).min(png.len()), bytes.iter().copied());
        fs::write(&frame, &png).unwrap();
        check_reader("000000.png", || read_grey(&frame, (64, 64)));
    }
}
