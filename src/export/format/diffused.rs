//! CLI thread: `diffused/`, the img2img results of `diffuse` (DESIGN.md §14): `%06d.png`,
//! numbered like the guides, and `ledger.jsonl`, what every run drew, so the next one redoes
//! nothing that still stands.
//!
//! One JSON line per frame drawn: `{"frame", "input", "settings", "server", "status"}`, the input
//! and settings as hex SHA-256 (DESIGN.md §14). A line is appended with one `write` after the
//! frame's PNG is in place (renamed), so the ledger never claims a frame the folder lacks; a
//! line cut off by a crash is ignored, and that frame is drawn again. On open the ledger is
//! rewritten atomically with one line per frame, the latest, so it does not grow with reruns.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::frames::frame_file_name;
use super::{MAX_FRAMES, rename_over};

/// The results' folder inside an output folder.
pub const DIFFUSED_DIR: &str = "diffused";
/// The ledger's file name inside `diffused/`.
pub const LEDGER_NAME: &str = "ledger.jsonl";
/// The longest ledger line of ours: three hashes, a server URL and a little JSON.
const MAX_LINE_BYTES: u64 = 4096;

/// `<out>/diffused/000042.png`: the result for guide frame `frame_idx`.
pub fn output_path(diffused_dir: &Path, frame_idx: u64) -> PathBuf {
    diffused_dir.join(frame_file_name(frame_idx))
}
/// The status of a frame whose PNG is in the folder.
const DONE: &str = "done";

/// One frame drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub frame: u64,
    /// Hex SHA-256 of the guide frame's PNG bytes.
    pub input: String,
    /// Hex SHA-256 of everything the server was sent besides the image.
    pub settings: String,
    /// The server that drew it (for the record: the result does not depend on it).
    pub server: String,
    pub status: String,
}

impl Entry {
    pub fn done(frame: u64, input: &str, settings: &str, server: &str) -> Self {
        Self {
            frame,
            input: input.to_owned(),
            settings: settings.to_owned(),
            server: server.to_owned(),
            status: DONE.to_owned(),
        }
    }
}

/// The ledger of one `diffused/` folder, open for appending.
pub struct Ledger {
    path: PathBuf,
    file: File,
    /// The latest entry of each frame.
    entries: BTreeMap<u64, Entry>,
}

impl Ledger {
    /// Reads `dir/ledger.jsonl` (if any), compacts it, and opens it for appending.
    pub fn open(dir: &Path) -> io::Result<Self> {
        let path = dir.join(LEDGER_NAME);
        let mut entries = BTreeMap::new();
        match File::open(&path) {
            // Anything that is not a line of ours (torn by a crash, edited, another frame than a
            // folder holds) is skipped: its frame is drawn again.
            Ok(file) => {
                let mut reader = BufReader::new(file);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    let len =
                        io::Read::take(&mut reader, MAX_LINE_BYTES).read_until(b'\n', &mut line)?;
                    if len == 0 {
                        break;
                    }
                    if let Ok(entry) = serde_json::from_slice::<Entry>(&line)
                        && entry.frame < MAX_FRAMES
                    {
                        entries.insert(entry.frame, entry);
                    }
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        let temp_path = dir.join(format!(".{LEDGER_NAME}.tmp"));
        let mut text = Vec::new();
        for entry in entries.values() {
            serde_json::to_writer(&mut text, entry)?;
            text.push(b'\n');
        }
        fs::write(&temp_path, &text)?;
        rename_over(&temp_path, &path)?;
        let file = OpenOptions::new().append(true).open(&path)?;
        Ok(Self {
            path,
            file,
            entries,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `frame` was drawn from this input with these settings.
    pub fn is_done(&self, frame: u64, input: &str, settings: &str) -> bool {
        self.entries.get(&frame).is_some_and(|entry| {
            entry.status == DONE && entry.input == input && entry.settings == settings
        })
    }

    /// Appends `entry` as one line, in one write, synced.
    pub fn record(&mut self, entry: Entry) -> io::Result<()> {
        let mut line = serde_json::to_vec(&entry)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()?;
        self.entries.insert(entry.frame, entry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rerun reads what the last one recorded; a torn last line is ignored; the file is
    /// compacted to one line per frame.
    #[test]
    fn entries_survive_reopen_and_torn_lines_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut ledger = Ledger::open(dir.path()).unwrap();
            ledger.record(Entry::done(0, "a", "s", "x")).unwrap();
            ledger.record(Entry::done(1, "b", "s", "x")).unwrap();
            ledger.record(Entry::done(1, "b", "t", "y")).unwrap();
        }
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.path().join(LEDGER_NAME))
            .unwrap();
        file.write_all(br#"{"frame":2,"input":"c","sett"#).unwrap();
        drop(file);
        let ledger = Ledger::open(dir.path()).unwrap();
        assert!(ledger.is_done(0, "a", "s"));
        assert!(!ledger.is_done(1, "b", "s"));
        assert!(ledger.is_done(1, "b", "t"));
        assert!(!ledger.is_done(2, "c", "s"));
        let text = fs::read_to_string(dir.path().join(LEDGER_NAME)).unwrap();
        assert_eq!(text.lines().count(), 2);
    }
}
