//! Refactor safety: what a fixed corpus of commands writes, byte for byte, against the SHA-256
//! list in `tests/fixtures/golden.txt`, recorded from an earlier build. A restructuring must
//! leave every line as it is; a change that means to alter an output updates its lines in the
//! same commit and says why (`SPECTRAL_DIFFUSION_BLESS=1 cargo test --test golden` rewrites the
//! list).

// Each test crate uses its own part of the shared helpers.
#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

const GOLDEN: &str = "tests/fixtures/golden.txt";

/// The corpus: every command that writes into a folder, run from one working directory with
/// relative paths (so the manifests' paths do not depend on where the test runs).
const CORPUS: &[&[&str]] = &[
    &["render", "--demo", "--out", "demo", "--size", "128"],
    &[
        "render", "--demo", "--out", "seed", "--preset", "seed", "--csv", "seed", "--view",
        "polar", "--size", "96",
    ],
    &[
        "render",
        "--demo",
        "--out",
        "csv",
        "--csv-only",
        "--fps",
        "23.976",
    ],
    &[
        "render", "song.wav", "--out", "song", "--view", "bars", "--color", "--size", "64",
    ],
    &[
        "schedule",
        "demo",
        "--lane",
        "kick=30-120,release_ms=150",
        "--lane",
        "level=loudness",
        "--target",
        "strength_schedule=kick,min=0.45,max=0.75,invert",
    ],
    &[
        "schedule",
        "--demo",
        "--fps",
        "29.97",
        "--lane",
        "hits=onsets:30-120",
        "--out",
        "audio-schedule",
    ],
    &["page", "song"],
];

/// Commands whose standard output is the result.
const PRINTING: &[(&str, &[&str])] = &[("info.txt", &["info", "song.wav"])];

/// Every file under `dir` by relative path, except the numbered frames of a folder, which count
/// as one entry per `frames/` folder (their names and bytes in order).
fn digests(dir: &Path, rel: &str, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    if rel.ends_with("frames") {
        let mut hasher = Sha256::new();
        for path in &entries {
            hasher.update(path.file_name().unwrap().as_encoded_bytes());
            hasher.update(fs::read(path).unwrap());
        }
        let key = format!("{rel}/ ({} files)", entries.len());
        out.insert(key, hex(&hasher.finalize()));
        return;
    }
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let rel = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if path.is_dir() {
            digests(&path, &rel, out);
        } else {
            out.insert(rel, hex(&Sha256::digest(fs::read(&path).unwrap())));
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn run(dir: &Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new(env!("CARGO_BIN_EXE_spectral-diffusion"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The corpus writes exactly the bytes the golden list records.
#[test]
fn corpus_outputs_match_the_golden_list() {
    let dir = tempfile::tempdir().unwrap();
    let song = common::to_i16(&common::song(44_100, 6.0));
    common::write_wav_i16(&dir.path().join("song.wav"), &song, 44_100);
    for args in CORPUS {
        run(dir.path(), args);
    }
    let printed = dir.path().join("printed");
    fs::create_dir(&printed).unwrap();
    for (name, args) in PRINTING {
        fs::write(printed.join(name), run(dir.path(), args)).unwrap();
    }
    let mut found = BTreeMap::new();
    digests(dir.path(), "", &mut found);
    let listing: String = found
        .iter()
        .map(|(path, digest)| format!("{digest}  {path}\n"))
        .collect();
    if std::env::var_os("SPECTRAL_DIFFUSION_BLESS").is_some() {
        fs::write(GOLDEN, &listing).unwrap();
        return;
    }
    let golden = fs::read_to_string(GOLDEN).unwrap();
    let differing: Vec<String> = golden
        .lines()
        .zip(listing.lines())
        .filter(|(want, got)| want != got)
        .map(|(want, got)| format!("want {want}\n got {got}"))
        .collect();
    assert!(
        differing.is_empty() && golden.lines().count() == listing.lines().count(),
        "outputs differ from {GOLDEN}:\n{}\n(all now:\n{listing})",
        differing.join("\n")
    );
}
