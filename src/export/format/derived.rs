//! CLI thread: `derived.json`, what was made from a folder's render and from which render
//! (DESIGN.md §7): the schedule files `schedule` wrote and the videos `video` made. A derived
//! file that no longer matches its render is stale: its readers refuse it, and a new render
//! removes it. A file of those names that `derived.json` does not list is the user's and is
//! never overwritten.
//!
//! ```json
//! { "format": 1, "tool": "spectral-diffusion",
//!   "schedule": { "from": { "render": { "fps": [24, 1], "frame_ranges": [[0, 4307]],
//!                                      "analysis": "…", "look": "…" } },
//!                 "fps": [24, 1], "num_frames": 4308, "files": ["schedule.csv", …],
//!                 "input": "out/song", "lanes": ["hits=onsets:30-120"], "targets": [] },
//!   "videos": [ { "file": "video.mp4", "from": { "fps": [24, 1], … } } ] }
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::manifest::Manifest;
use super::{FormatError, read_bounded, write_atomically};
use crate::clock::FrameRate;

pub const DERIVED_NAME: &str = "derived.json";
/// Bumped when a field changes meaning or disappears; new fields do not bump it.
const DERIVED_FORMAT: u32 = 1;
/// A few records and their frame ranges.
const MAX_DERIVED_BYTES: u64 = 16 << 20;

/// `derived.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Derived {
    pub format: u32,
    pub tool: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub videos: Vec<VideoRecord>,
}

/// Which render a derived file was made from: its frame rate, its frames, and short hashes of
/// its analysis (what decides the spectra) and of its look (what decides the pictures).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderId {
    pub fps: [u32; 2],
    pub frame_ranges: Vec<[u64; 2]>,
    pub analysis: String,
    pub look: String,
}

impl RenderId {
    pub fn of(manifest: &Manifest) -> Self {
        Self {
            fps: [manifest.fps.num, manifest.fps.den],
            frame_ranges: manifest.frame_ranges.clone(),
            analysis: manifest.analysis_id(),
            look: manifest.look_id(),
        }
    }

    /// Whether what was measured from `self`'s spectra still holds for `now`: the same rate,
    /// frames and analysis (the look does not matter to a schedule).
    pub fn has_same_spectra(&self, now: &RenderId) -> bool {
        self.fps == now.fps
            && self.frame_ranges == now.frame_ranges
            && self.analysis == now.analysis
    }
}

/// What a schedule was measured from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The folder's render (its `spectrum.csv`, and its host tables).
    Render(RenderId),
    /// An audio file (or the demo), analysed at the schedule's rate.
    Audio,
}

/// The schedule files `schedule` wrote, and how to make them again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRecord {
    pub from: Origin,
    /// The schedule's own frame rate.
    pub fps: [u32; 2],
    pub num_frames: u64,
    /// The files written, in the folder.
    pub files: Vec<String>,
    /// The command's input as it was given: the folder, or the audio.
    pub input: String,
    pub lanes: Vec<String>,
    pub targets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// The command's other options that shape the files (`--epsilon 0.01`, `--targets-only`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

impl ScheduleRecord {
    pub fn rate(&self) -> FrameRate {
        FrameRate::new(self.fps[0], self.fps[1].max(1))
    }

    /// Why the schedule does not fit the folder's render `manifest`, if it does not.
    pub fn mismatch(&self, manifest: &Manifest) -> Option<String> {
        let render_rate = manifest.rate();
        if self.rate() != render_rate {
            return Some(format!(
                "it is at {} fps and the render at {render_rate} fps",
                self.rate()
            ));
        }
        match &self.from {
            Origin::Render(id) if !id.has_same_spectra(&RenderId::of(manifest)) => {
                Some("it was made from an earlier render of the folder".to_owned())
            }
            Origin::Audio
                if self.num_frames != manifest.frames_expected.unwrap_or(manifest.end_frame()) =>
            {
                Some(format!(
                    "it has {} frames and the render {}",
                    self.num_frames,
                    manifest.end_frame()
                ))
            }
            _ => None,
        }
    }

    /// The command that makes the schedule again for `folder`: from the folder's render, or
    /// from the same audio at the render's rate.
    pub fn command_for(&self, folder: &Path, render_rate: FrameRate) -> String {
        let mut words = vec!["spectral-diffusion".to_owned(), "schedule".to_owned()];
        match self.from {
            Origin::Render(_) => words.push(quoted(&folder.display().to_string())),
            Origin::Audio => {
                words.push(quoted(&self.input));
                words.extend(["--fps".to_owned(), render_rate.to_string()]);
                words.extend(["--out".to_owned(), quoted(&folder.display().to_string())]);
            }
        }
        for (flag, specs) in [("--lane", &self.lanes), ("--target", &self.targets)] {
            for spec in specs {
                words.extend([flag.to_owned(), quoted(spec)]);
            }
        }
        if let Some(config) = &self.config {
            words.extend(["--config".to_owned(), quoted(config)]);
        }
        words.extend(self.options.iter().map(|option| quoted(option)));
        words.join(" ")
    }
}

/// A video `video` made of the folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoRecord {
    /// The mp4, relative to the folder when inside it, else as written.
    pub file: PathBuf,
    pub from: RenderId,
}

impl Derived {
    /// Reads `<dir>/derived.json`; `Ok(None)` when there is none. A `derived.json` that is not
    /// ours is an error: its files cannot be told from the user's.
    pub fn read(dir: &Path) -> Result<Option<Self>, FormatError> {
        let path = dir.join(DERIVED_NAME);
        let Some(bytes) = read_bounded(&path, MAX_DERIVED_BYTES)? else {
            return Ok(None);
        };
        let derived: Self = serde_json::from_slice(&bytes).map_err(|error| FormatError::Line {
            path: path.clone(),
            line: error.line(),
            reason: format!("not a record of derived files: {error}"),
        })?;
        if derived.tool != env!("CARGO_PKG_NAME") || derived.format > DERIVED_FORMAT {
            return Err(FormatError::invalid(
                &path,
                "not a record of this spectral-diffusion; move it away",
            ));
        }
        Ok(Some(derived))
    }

    /// Whether `file` (a name in the folder, or a path) is one we derived and may replace.
    pub fn is_ours(&self, file: &Path) -> bool {
        let in_schedule = self
            .schedule
            .as_ref()
            .is_some_and(|schedule| schedule.files.iter().any(|name| Path::new(name) == file));
        in_schedule || self.videos.iter().any(|video| video.file == file)
    }

    /// Changes `<dir>/derived.json` with `change` (an empty record when there is none), and
    /// writes it, or removes it when nothing is left to record.
    pub fn update(dir: &Path, change: impl FnOnce(&mut Derived)) -> Result<(), FormatError> {
        let mut derived = Self::read(dir)?.unwrap_or_else(|| Self {
            format: DERIVED_FORMAT,
            tool: env!("CARGO_PKG_NAME").to_owned(),
            ..Self::default()
        });
        change(&mut derived);
        let path = dir.join(DERIVED_NAME);
        if derived.schedule.is_none() && derived.videos.is_empty() {
            return match std::fs::remove_file(&path) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    Err(FormatError::write(&path, error))
                }
                _ => Ok(()),
            };
        }
        write_atomically(&path, |file| {
            serde_json::to_writer_pretty(&mut *file, &derived)?;
            file.write_all(b"\n")
        })
    }
}

/// `text` as a shell word: bare when it is plain, else in single quotes.
fn quoted(text: &str) -> String {
    let is_plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./,=:+@%".contains(c));
    if is_plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}
