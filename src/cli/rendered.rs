//! CLI thread: an output folder read back for `video` and `page`: the manifest's exact frame
//! rate, the frames it lists, and where the audio it was made from is.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::analysis::Preset;
use crate::clock::FrameRate;
use crate::export::{CsvFormat, Source, frame_path};

/// Why an output folder cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum RenderedError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{} has no manifest.json of spectral-diffusion: give a folder that `render` or the plugin wrote", dir.display())]
    NotOurs { dir: PathBuf },
    #[error("{}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
}

impl RenderedError {
    /// An I/O failure rather than a wrong folder.
    pub fn is_io(&self) -> bool {
        matches!(self, Self::Io { .. })
    }
}

/// The manifest fields `video` and `page` need (DESIGN.md §7); the rest is ignored.
#[derive(Debug, Deserialize)]
struct ManifestFields {
    tool: ToolFields,
    source: Source,
    #[serde(default)]
    audio: Option<String>,
    fps: FrameRate,
    analysis: AnalysisFields,
    csv: CsvFields,
    frames: Option<FramesFields>,
    frame_ranges: Vec<[u64; 2]>,
}

#[derive(Debug, Deserialize)]
struct ToolFields {
    name: String,
}

#[derive(Debug, Deserialize)]
struct AnalysisFields {
    preset: Preset,
    floor_db: f32,
}

#[derive(Debug, Deserialize)]
struct CsvFields {
    format: CsvFormat,
}

#[derive(Debug, Deserialize)]
struct FramesFields {
    width: u32,
    height: u32,
}

/// An output folder of ours, as its manifest describes it.
#[derive(Debug)]
pub struct RenderedFolder {
    pub dir: PathBuf,
    /// What the audio came from.
    pub source: Source,
    /// The audio file in the folder the manifest names (the demo's `demo.wav`), as a path.
    audio_in_folder: Option<PathBuf>,
    pub fps: FrameRate,
    /// How `spectrum.csv` holds its values: 0..1 over `floor_db..0` dB, or raw amplitudes.
    pub preset: Preset,
    pub floor_db: f32,
    pub csv_format: CsvFormat,
    /// Width and height of the guide frames; `None` for a CSV-only render.
    pub frame_size: Option<(u32, u32)>,
    /// Every frame in the folder as inclusive `[first, last]` runs, ascending.
    pub frame_ranges: Vec<[u64; 2]>,
}

impl RenderedFolder {
    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self, RenderedError> {
        let path = dir.join("manifest.json");
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(RenderedError::NotOurs {
                    dir: dir.to_owned(),
                });
            }
            Err(source) => return Err(RenderedError::Io { path, source }),
        };
        let fields: ManifestFields =
            serde_json::from_slice(&text).map_err(|error| RenderedError::Unreadable {
                path: path.clone(),
                reason: error.to_string(),
            })?;
        if fields.tool.name != env!("CARGO_PKG_NAME") {
            return Err(RenderedError::NotOurs {
                dir: dir.to_owned(),
            });
        }
        if fields.fps.num == 0 || fields.fps.den == 0 {
            return Err(RenderedError::Unreadable {
                path,
                reason: format!(
                    "frame rate {}/{} is not a rate",
                    fields.fps.num, fields.fps.den
                ),
            });
        }
        Ok(Self {
            dir: dir.to_owned(),
            source: fields.source,
            audio_in_folder: fields.audio.map(|name| dir.join(name)),
            fps: fields.fps,
            preset: fields.analysis.preset,
            floor_db: fields.analysis.floor_db,
            csv_format: fields.csv.format,
            frame_size: fields.frames.map(|frames| (frames.width, frames.height)),
            frame_ranges: fields.frame_ranges,
        })
    }

    /// The audio the frames were made from, if the manifest can say: the file saved in the folder
    /// (the demo's `demo.wav`), else the rendered file's path as it was given to `render`. A host's
    /// take names none: its audio is the user's bounce.
    pub fn source_audio(&self) -> Option<PathBuf> {
        match (&self.audio_in_folder, &self.source) {
            (Some(path), _) => Some(path.clone()),
            (None, Source::File { path }) => Some(path.clone()),
            (None, _) => None,
        }
    }

    /// One past the last frame: the timeline the frames cover, from frame 0.
    pub fn end_frame(&self) -> u64 {
        self.frame_ranges.last().map_or(0, |range| range[1] + 1)
    }

    /// Every listed frame, ascending.
    pub fn frame_indices(&self) -> impl Iterator<Item = u64> + '_ {
        self.frame_ranges
            .iter()
            .flat_map(|&[first, last]| first..=last)
    }

    /// `frames/%06d.png` of frame `frame_idx`.
    pub fn frame_path(&self, frame_idx: u64) -> PathBuf {
        frame_path(&self.dir, frame_idx)
    }
}
