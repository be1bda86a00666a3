//! Any thread: an output folder read back as one project (DESIGN.md §7): what is in it, at which
//! rate, which frames, complete or not, where its audio is. Every command that reads a folder
//! (`video`, `page`, `schedule`, `compose`, `diffuse`) reads it through [`OutputFolder`].

use std::path::{Path, PathBuf};

use super::FormatError;
use super::derived::Derived;
use super::frames::frame_path;
use super::manifest::{CsvFormat, Manifest, Source};
use super::spectrum::{self, SPECTRUM_NAME};
use crate::analysis::AnalysisSettings;
use crate::clock::FrameRate;

/// Why an output folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(
        "{} holds frames but no spectrum (a composite of lanes): give a folder that `render` or \
         the plugin wrote, such as one of its lanes",
        dir.display()
    )]
    NoSpectrum { dir: PathBuf },
    #[error(
        "{} is an interrupted render ({written} of {} frames): run render --resume, or pass \
         --partial",
        dir.display(),
        expected.map_or_else(|| "its".to_owned(), |expected| expected.to_string())
    )]
    Interrupted {
        dir: PathBuf,
        written: u64,
        expected: Option<u64>,
    },
    #[error(
        "{} does not match the render in its folder ({why}): make it again with: {command}",
        path.display()
    )]
    StaleSchedule {
        path: PathBuf,
        why: String,
        command: String,
    },
}

impl FolderError {
    /// An I/O failure rather than a folder that is not what was asked for.
    pub fn is_io(&self) -> bool {
        matches!(self, Self::Format(error) if error.is_io())
    }
}

/// An output folder of ours, as its manifest describes it.
#[derive(Debug)]
pub struct OutputFolder {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl OutputFolder {
    /// Reads `dir`, a folder with a spectrum (`spectrum.csv`): a render or a plugin take.
    pub fn read(dir: &Path) -> Result<Self, FolderError> {
        let folder = Self::read_frames(dir)?;
        if folder.manifest.analysis.is_none() {
            return Err(FolderError::NoSpectrum {
                dir: dir.to_owned(),
            });
        }
        Ok(folder)
    }

    /// Reads `dir` for its frames only: also a composite of lanes (`compose`), which has no
    /// spectrum.
    pub fn read_frames(dir: &Path) -> Result<Self, FolderError> {
        Ok(Self {
            dir: dir.to_owned(),
            manifest: Manifest::read_ours(dir)?,
        })
    }

    /// Refuses a CLI render that was interrupted (`"complete": false`), unless `is_partial_ok`
    /// (`--partial`): its frames stop short of the song. A plugin folder's gaps between takes
    /// are the timeline, not an interruption.
    pub fn require_finished(&self, is_partial_ok: bool) -> Result<(), FolderError> {
        if self.manifest.complete || is_partial_ok || !self.manifest.is_render() {
            return Ok(());
        }
        Err(FolderError::Interrupted {
            dir: self.dir.clone(),
            written: self.manifest.frames_written,
            expected: self.manifest.frames_expected,
        })
    }

    /// What `derived.json` says was made from the folder's render; `None` when it lists nothing.
    pub fn derived(&self) -> Result<Option<Derived>, FolderError> {
        Ok(Derived::read(&self.dir)?)
    }

    /// Refuses the folder's schedule when `derived.json` says it was made for another render
    /// (another rate, earlier spectra, another length). A schedule it does not list is the
    /// user's, and taken as it is.
    pub fn require_current_schedule(&self) -> Result<(), FolderError> {
        let Some(schedule) = self.derived()?.and_then(|derived| derived.schedule) else {
            return Ok(());
        };
        match schedule.mismatch(&self.manifest) {
            None => Ok(()),
            Some(why) => Err(FolderError::StaleSchedule {
                path: schedule
                    .files
                    .first()
                    .map_or_else(|| self.dir.clone(), |name| self.dir.join(name)),
                command: schedule.command_for(&self.dir, self.fps()),
                why,
            }),
        }
    }

    pub fn source(&self) -> &Source {
        &self.manifest.source
    }

    pub fn sample_rate(&self) -> u32 {
        self.manifest.sample_rate
    }

    pub fn fps(&self) -> FrameRate {
        self.manifest.rate()
    }

    /// The analysis that wrote `spectrum.csv` (the default for a composite, which has none):
    /// its preset says how the values map to dB.
    pub fn analysis(&self) -> AnalysisSettings {
        self.manifest
            .analysis
            .as_ref()
            .map(|analysis| analysis.settings.clone())
            .unwrap_or_default()
    }

    /// Each bin's centre frequency, in the CSV's column order.
    pub fn bin_freqs_hz(&self) -> &[f32] {
        &self.manifest.bin_freqs_hz
    }

    /// Width and height of the guide frames; `None` for a CSV-only render.
    pub fn frame_size(&self) -> Option<(u32, u32)> {
        self.manifest
            .frames
            .as_ref()
            .map(|frames| (frames.width, frames.height))
    }

    /// Every frame in the folder as inclusive `[first, last]` runs, ascending.
    pub fn frame_ranges(&self) -> &[[u64; 2]] {
        &self.manifest.frame_ranges
    }

    /// One past the last frame: the timeline the frames cover, from frame 0.
    pub fn end_frame(&self) -> u64 {
        self.manifest.end_frame()
    }

    /// Every listed frame, ascending.
    pub fn frame_indices(&self) -> impl Iterator<Item = u64> + '_ {
        self.manifest.frame_indices()
    }

    /// `frames/%06d.png` of frame `frame_idx`.
    pub fn frame_path(&self, frame_idx: u64) -> PathBuf {
        frame_path(&self.dir, frame_idx)
    }

    /// The audio the frames were made from, if the manifest can say, resolved against the folder
    /// (it records it relative to the folder when it lies inside or beside it). A manifest from
    /// before it recorded `audio` names only the rendered file, as its path was given to
    /// `render`. A host's take names none: its audio is the user's bounce.
    pub fn source_audio(&self) -> Option<PathBuf> {
        match (&self.manifest.audio, &self.manifest.source) {
            (Some(path), _) => Some(self.dir.join(path)),
            (None, Source::File { path }) => Some(path.clone()),
            (None, _) => None,
        }
    }

    /// Calls `on_row` with each row of `spectrum.csv`: its frame and its values, one per bin,
    /// frames ascending; the rows are exactly the frames the manifest lists.
    pub fn for_each_row<E: From<FormatError>>(
        &self,
        on_row: impl FnMut(u64, &[f32]) -> Result<(), E>,
    ) -> Result<(), E> {
        let format = self
            .manifest
            .csv
            .as_ref()
            .map_or(CsvFormat::Full, |csv| csv.format);
        spectrum::for_each_row(
            &self.dir.join(SPECTRUM_NAME),
            format,
            self.bin_freqs_hz().len(),
            self.frame_indices(),
            on_row,
        )
    }
}
