//! Writer thread / CLI: the output folder of DESIGN.md §7.
//!
//! ```text
//! <out>/frames/000000.png   one guide frame per video frame, named by timeline frame index
//! <out>/spectrum.csv        one row of bins per frame, sorted by frame
//! <out>/manifest.json       what made the frames, and how many there are
//! ```
//! Every file is written under a temporary name and renamed into place, so a crash or a full disk
//! never leaves a half-written PNG or CSV behind. A [`FrameWriter`] owns the folder; the CLI adds
//! one [`FrameEncoder`] per worker thread, so frames render in parallel with the same bytes.
//!
//! **A folder always tells the truth**: `frames/`, `spectrum.csv` and `manifest.json` list the same
//! frames whenever the writer is between frames. A writer opens a folder in one of two
//! [`OpenMode`]s: `Replace` removes an earlier render of ours (the CLI), `Continue` keeps its frames
//! and adds to them (`render --resume`, the plugin's takes). Either refuses a folder that holds
//! other files but no render of ours, unless [`ExportSettings::is_forced`].

mod capture;
mod folder;
pub mod format;
mod lock;
mod table;
pub mod takes;

use std::fs::{self};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::analysis::{AnalysisSettings, Preset, unit_values};
use crate::clock::FrameRate;
use crate::render::{RenderError, RenderSettings, Renderer};
pub use crate::take::PositionSource;
use capture::CaptureTable;
pub use folder::{StaleDerived, clear_folder, remove_stale_derived};
pub use format::frames::frame_path;
use format::frames::{FRAMES_PATTERN, encode_png};
use format::manifest::{
    Analysis, Csv, FORMAT_VERSION, Fps, FrameColor, Frames, Manifest, Tool, TransportSummary,
};
pub use format::manifest::{CsvFormat, Source, TakeRecord};
use format::spectrum::SPECTRUM_NAME;
pub use format::{FormatError, write_atomically};
pub use lock::{FolderLock, LOCK_FILE};
use table::SpectrumTable;

/// The spectrum table's scratch file while a writer is open (see [`table`]).
const SPILL_NAME: &str = ".spectrum.bins.tmp";

/// Where and what to write.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSettings {
    pub out_dir: PathBuf,
    pub csv: CsvFormat,
    /// `false` writes only the CSV and manifest (`--csv-only`).
    pub write_images: bool,
    /// Write into a folder that holds other files but no render of ours (`--force`): its files
    /// stay, though numbered PNGs in its `frames/` are taken for ours and replaced.
    pub is_forced: bool,
}

/// How [`FrameWriter::open`] treats a folder that already holds frames of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Remove them and start afresh: a new render replaces the old one (the CLI's default).
    Replace,
    /// Keep them and add to them; a frame written again replaces its old PNG and row. Fails with
    /// [`ExportError::SettingsDiffer`] when they were made with other settings. An interrupted
    /// render (`"complete": false`) continues its last take (`render --resume`); otherwise each
    /// [`FrameWriter::finish_take`] adds a take (the plugin).
    Continue,
}

/// Everything about a job that the manifest records, apart from the counts.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInfo {
    pub source: Source,
    pub sample_rate: u32,
    pub fps: FrameRate,
    pub analysis: AnalysisSettings,
    pub render: RenderSettings,
    /// Centre frequency of each bin (the CSV header).
    pub bin_freqs_hz: Vec<f32>,
    /// The source's audio as the manifest records it (see [`Manifest::audio`]).
    pub audio: Option<PathBuf>,
    /// The frames the job will make, when known (a file's length): an interrupted render's
    /// manifest says how far it got.
    pub frames_expected: Option<u64>,
}

/// How one take went, reported by whoever produced its frames.
#[derive(Debug, Clone, PartialEq)]
pub struct TakeStats {
    /// Frames the real-time recorder could not queue; zero for the CLI and offline bounces.
    pub frames_dropped: u64,
    pub position_source: PositionSource,
    /// Anything the user should know about the take, one sentence each.
    pub warnings: Vec<String>,
}

/// A failure to write the output folder. The message is one line naming the path.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot encode frame {frame_idx} as PNG: {source}")]
    Png {
        frame_idx: u64,
        source: png::EncodingError,
    },
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("{} holds files but no spectral-diffusion render{}", path.display(), because(why))]
    NotOurs {
        path: PathBuf,
        /// What is wrong with its `manifest.json`, when it has one.
        why: Option<Box<FormatError>>,
    },
    /// The folder's frames were made with other settings; they must not be mixed with new ones.
    #[error("{} holds frames made with other settings ({field} differs)", path.display())]
    SettingsDiffer { path: PathBuf, field: &'static str },
    #[error("cannot read {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error(transparent)]
    Format(#[from] FormatError),
}

/// " (because …)" after a refusal, or nothing.
fn because(why: &Option<Box<FormatError>>) -> String {
    why.as_ref()
        .map_or_else(String::new, |why| format!(" ({why})"))
}

impl ExportError {
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Renders spectra into PNG files. Holds its own renderer and buffers, so each worker has one.
pub struct FrameEncoder {
    /// How to map the analyzer's values to the renderer's 0..1.
    preset: Preset,
    renderer: Renderer,
    unit_bins: Vec<f32>,
    png_bytes: Vec<u8>,
    out_dir: PathBuf,
}

impl FrameEncoder {
    pub fn new(job: &JobInfo, out_dir: &Path) -> Result<Self, ExportError> {
        Ok(Self {
            preset: job.analysis.preset,
            renderer: Renderer::new(&job.render)?,
            unit_bins: vec![0.0; job.bin_freqs_hz.len()],
            png_bytes: Vec::new(),
            out_dir: out_dir.to_owned(),
        })
    }

    /// Renders frame `frame_idx` and returns its PNG file's bytes.
    pub fn encode(&mut self, frame_idx: u64, bins: &[f32]) -> Result<&[u8], ExportError> {
        unit_values(self.preset, bins, &mut self.unit_bins);
        let image = self.renderer.render(frame_idx, &self.unit_bins);
        encode_png(image, &mut self.png_bytes)
            .map_err(|source| ExportError::Png { frame_idx, source })?;
        Ok(&self.png_bytes)
    }

    /// Renders frame `frame_idx` into `frames/%06d.png`, replacing an earlier take's file.
    pub fn write_frame(&mut self, frame_idx: u64, bins: &[f32]) -> Result<(), ExportError> {
        let path = frame_path(&self.out_dir, frame_idx);
        let bytes = self.encode(frame_idx, bins)?;
        Ok(write_atomically(&path, |file| file.write_all(bytes))?)
    }
}

/// The output folder of one job: frames, the spectrum table and the manifest.
pub struct FrameWriter {
    settings: ExportSettings,
    job: JobInfo,
    /// `None` when writing the CSV only.
    encoder: Option<FrameEncoder>,
    table: SpectrumTable,
    /// The session tables (`transport.csv`, `midi.csv`, `macros.csv`): a plugin's folder only,
    /// from its first captured frame or its existing tables on.
    capture: Option<CaptureTable>,
    /// Their manifest summary, as last written.
    transport_summary: Option<TransportSummary>,
    /// The take being recorded: first and last frame, frames recorded; `None` between takes.
    take_range: Option<(u64, u64, u64)>,
    takes: Vec<TakeRecord>,
    warnings: Vec<String>,
}

impl FrameWriter {
    /// Opens `settings.out_dir` for `job`, creating it (and `frames/`) if needed. Fails early, before
    /// any frame, if the folder cannot be written, is not ours ([`ExportError::NotOurs`]), or, in
    /// `Continue` mode, holds frames made with other settings ([`ExportError::SettingsDiffer`]).
    /// On return the folder is ours and consistent: a `Replace` writer has already removed the
    /// old render and written an empty, incomplete manifest.
    pub fn open(
        settings: &ExportSettings,
        job: JobInfo,
        mode: OpenMode,
    ) -> Result<Self, ExportError> {
        let out_dir = &settings.out_dir;
        let kept = match folder::inspect(out_dir)? {
            folder::FolderState::Empty => None,
            folder::FolderState::Foreign(why) if !settings.is_forced => {
                return Err(ExportError::NotOurs {
                    path: out_dir.clone(),
                    why: why.map(Box::new),
                });
            }
            folder::FolderState::Foreign(_) => {
                folder::remove_our_files(out_dir)?;
                None
            }
            // A folder listing no frames holds nothing to keep apart from new settings.
            folder::FolderState::Ours(old)
                if mode == OpenMode::Continue && !old.frame_ranges.is_empty() =>
            {
                Some(old)
            }
            folder::FolderState::Ours(_) => {
                folder::remove_our_files(out_dir)?;
                None
            }
        };
        let frames_dir = out_dir.join("frames");
        let dir_to_create = if settings.write_images {
            &frames_dir
        } else {
            out_dir
        };
        fs::create_dir_all(dir_to_create)
            .map_err(|source| ExportError::io(dir_to_create, source))?;
        let encoder = settings
            .write_images
            .then(|| FrameEncoder::new(&job, out_dir))
            .transpose()?;
        let mut writer = Self {
            table: SpectrumTable::create(out_dir.join(SPILL_NAME), job.bin_freqs_hz.len())?,
            settings: settings.clone(),
            job,
            encoder,
            capture: None,
            transport_summary: None,
            take_range: None,
            takes: Vec::new(),
            warnings: Vec::new(),
        };
        match kept {
            Some(old) => writer.continue_from(&old)?,
            None => writer.write_listing(false)?,
        }
        Ok(writer)
    }

    /// Takes over the frames, takes and warnings of the folder's render `old`, after checking it
    /// was made with these settings. Leaves the folder listing exactly the frames whose PNG and row
    /// both exist; a PNG no listing names (left by a killed process) is removed.
    fn continue_from(&mut self, old: &Manifest) -> Result<(), ExportError> {
        let out_dir = &self.settings.out_dir;
        let probe = self.manifest(false);
        if let Some(field) = old.differing_setting(&probe) {
            return Err(ExportError::SettingsDiffer {
                path: out_dir.clone(),
                field,
            });
        }
        let csv_path = out_dir.join(SPECTRUM_NAME);
        if csv_path.exists() {
            let listed: Vec<u64> = old.frame_indices().collect();
            self.table.load_csv(&csv_path, self.settings.csv, &listed)?;
        }
        if CaptureTable::exists_in(out_dir) {
            let mut capture = CaptureTable::create(out_dir)?;
            capture.load_csvs(out_dir, old.frames_written)?;
            self.capture = Some(capture);
        }
        self.takes = old.takes.clone();
        self.warnings = old.warnings.clone();
        if !old.complete
            && let Some(take) = self.takes.pop()
        {
            self.take_range = Some((take.first_frame, take.last_frame, take.frames));
        }
        folder::remove_temporaries(out_dir)?;
        let mut is_changed = false;
        if self.settings.write_images {
            let on_disk = folder::numbered_frames(out_dir)?;
            let mut has_png = Vec::new();
            for &frame_idx in &on_disk {
                if self.table.is_written(frame_idx) {
                    let idx = frame_idx as usize;
                    if idx >= has_png.len() {
                        has_png.resize(idx + 1, false);
                    }
                    has_png[idx] = true;
                } else {
                    let path = frame_path(out_dir, frame_idx);
                    fs::remove_file(&path).map_err(|source| ExportError::io(&path, source))?;
                }
            }
            for [first, last] in self.table.frame_ranges() {
                for frame_idx in first..=last {
                    if !has_png.get(frame_idx as usize).is_some_and(|&has| has) {
                        self.table.forget_row(frame_idx);
                        is_changed = true;
                    }
                }
            }
        }
        is_changed |= old.frame_ranges != self.table.frame_ranges();
        if is_changed || !csv_path.exists() {
            self.write_listing(old.complete)?;
        }
        Ok(())
    }

    pub fn job(&self) -> &JobInfo {
        &self.job
    }

    pub fn settings(&self) -> &ExportSettings {
        &self.settings
    }

    /// Whether frame `frame_idx` is in the folder (a resumed render skips it).
    pub fn has_frame(&self, frame_idx: u64) -> bool {
        self.table.is_written(frame_idx)
    }

    /// Distinct frames in the folder.
    pub fn num_frames(&self) -> u64 {
        self.table.num_rows()
    }

    /// The folder's first and last frame, `None` while it holds none.
    pub fn frame_span(&self) -> Option<[u64; 2]> {
        let ranges = self.table.frame_ranges();
        Some([ranges.first()?[0], ranges.last()?[1]])
    }

    /// Writes frame `frame_idx`'s PNG, then records its bins. A frame written again replaces the
    /// old. The PNG goes first so the table never lists a frame whose PNG failed.
    pub fn write_frame(&mut self, frame_idx: u64, bins: &[f32]) -> Result<(), ExportError> {
        if let Some(encoder) = &mut self.encoder {
            encoder.write_frame(frame_idx, bins)?;
        }
        self.record_spectrum(frame_idx, bins)
    }

    /// Records frame `frame_idx`'s bins for the CSV only; the caller has written its PNG with its
    /// own [`FrameEncoder`] (the CLI's worker threads).
    pub fn record_spectrum(&mut self, frame_idx: u64, bins: &[f32]) -> Result<(), ExportError> {
        self.table.write_row(frame_idx, bins)?;
        let (first, last, count) = self.take_range.get_or_insert((frame_idx, frame_idx, 0));
        *first = (*first).min(frame_idx);
        *last = (*last).max(frame_idx);
        *count += 1;
        Ok(())
    }

    /// Records what the host said during frame `frame_idx` (a plugin take), for the session
    /// tables; call it after [`Self::write_frame`].
    pub fn record_capture(
        &mut self,
        frame_idx: u64,
        capture: &crate::take::FrameCapture,
    ) -> Result<(), ExportError> {
        let table = match &mut self.capture {
            Some(table) => table,
            None => self
                .capture
                .insert(CaptureTable::create(&self.settings.out_dir)?),
        };
        table.write_row(frame_idx, capture)
    }

    /// Ends the current take: rewrites `spectrum.csv` with every frame so far, sorted, and the
    /// manifest, marked complete. A take without frames still updates the manifest (its warnings
    /// may matter). A warning the manifest already lists is not repeated.
    pub fn finish_take(&mut self, stats: &TakeStats) -> Result<(), ExportError> {
        self.end_take(stats, true)
    }

    /// Ends an interrupted job's take like [`Self::finish_take`], but marks the manifest
    /// incomplete, so an `OpenMode::Continue` writer continues this take.
    pub fn finish_interrupted(&mut self, stats: &TakeStats) -> Result<(), ExportError> {
        self.end_take(stats, false)
    }

    /// Removes everything this job wrote (a render whose input turned out unusable); the user's
    /// files stay.
    pub fn discard(self) -> Result<(), ExportError> {
        let out_dir = self.settings.out_dir.clone();
        drop(self);
        folder::remove_our_files(&out_dir)
    }

    fn end_take(&mut self, stats: &TakeStats, is_complete: bool) -> Result<(), ExportError> {
        if let Some((first_frame, last_frame, frames)) = self.take_range.take() {
            self.takes.push(TakeRecord {
                first_frame,
                last_frame,
                frames,
                frames_dropped: stats.frames_dropped,
                position_source: stats.position_source,
            });
        }
        for warning in &stats.warnings {
            if !self.warnings.contains(warning) {
                self.warnings.push(warning.clone());
            }
        }
        self.write_listing(is_complete)
    }

    /// Writes `spectrum.csv`, the session tables and then the manifest from the tables.
    fn write_listing(&mut self, is_complete: bool) -> Result<(), ExportError> {
        let fps = self.job.fps;
        self.table.write_csv(
            &self.settings.out_dir.join(SPECTRUM_NAME),
            self.settings.csv,
            &self.job.bin_freqs_hz,
            |frame_idx| fps.frame_time_s(frame_idx as i64),
        )?;
        if let Some(capture) = &mut self.capture {
            let summary = capture.write_csvs(
                &self.settings.out_dir,
                &self.table,
                fps,
                self.job.sample_rate,
            )?;
            self.transport_summary = Some(summary);
        }
        Ok(self.manifest(is_complete).write(&self.settings.out_dir)?)
    }

    /// The manifest of the folder as it stands.
    fn manifest(&self, is_complete: bool) -> Manifest {
        let job = &self.job;
        let frame_ranges = self.table.frame_ranges();
        Manifest {
            format_version: FORMAT_VERSION,
            tool: Tool::ours(),
            source: job.source.clone(),
            audio: job.audio.clone(),
            layout: None,
            sample_rate: job.sample_rate,
            fps: Fps::of(job.fps),
            analysis: Some(Analysis {
                settings: job.analysis.clone(),
                fft_len: job.analysis.fft_len(job.sample_rate),
            }),
            bin_freqs_hz: job.bin_freqs_hz.clone(),
            csv: Some(Csv {
                path: SPECTRUM_NAME.to_owned(),
                format: self.settings.csv,
            }),
            frames: self.settings.write_images.then(|| Frames {
                pattern: FRAMES_PATTERN.to_owned(),
                width: job.render.size,
                height: job.render.size,
                color: FrameColor::from(job.render.color_type()),
                render: Some(job.render.clone()),
            }),
            first_frame: frame_ranges.first().map(|range| range[0]),
            last_frame: frame_ranges.last().map(|range| range[1]),
            frame_ranges,
            frames_written: self.table.num_rows(),
            frames_expected: job.frames_expected.filter(|_| !is_complete),
            complete: is_complete,
            frames_dropped: self.takes.iter().map(|take| take.frames_dropped).sum(),
            takes: self.takes.clone(),
            warnings: self.warnings.clone(),
            transport: self.transport_summary.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::AnalysisSettings;
    use format::capture::HostTableKind;

    const NUM_BINS: usize = 8;

    fn job(fps: FrameRate) -> JobInfo {
        JobInfo {
            source: Source::Demo,
            sample_rate: 48_000,
            fps,
            analysis: AnalysisSettings {
                num_bins: NUM_BINS,
                ..AnalysisSettings::default()
            },
            render: RenderSettings {
                size: 64,
                ..RenderSettings::default()
            },
            bin_freqs_hz: (0..NUM_BINS).map(|i| 100.0 * (i + 1) as f32).collect(),
            audio: None,
            frames_expected: None,
        }
    }

    fn settings(out_dir: &Path, csv: CsvFormat) -> ExportSettings {
        ExportSettings {
            out_dir: out_dir.to_owned(),
            csv,
            write_images: true,
            is_forced: false,
        }
    }

    /// Frame `frame_idx`'s bins in take `take_idx`: distinct per frame and per take.
    fn bins(frame_idx: u64, take_idx: u64) -> Vec<f32> {
        (0..NUM_BINS)
            .map(|i| ((frame_idx * 7 + take_idx * 3 + i as u64) % 11) as f32 / 10.0 + 1.0 / 3.0)
            .collect()
    }

    fn stats(warnings: &[&str]) -> TakeStats {
        TakeStats {
            frames_dropped: 0,
            position_source: PositionSource::Timeline,
            warnings: warnings.iter().map(|w| w.to_string()).collect(),
        }
    }

    /// Writes `frames` of take `take_idx` through a new writer and ends the take.
    fn write_take(
        settings: &ExportSettings,
        mode: OpenMode,
        frames: impl IntoIterator<Item = u64>,
        take_idx: u64,
    ) -> Result<(), ExportError> {
        let mut writer = FrameWriter::open(settings, job(FrameRate::FPS_24), mode)?;
        for frame_idx in frames {
            writer.write_frame(frame_idx, &bins(frame_idx, take_idx))?;
        }
        writer.finish_take(&stats(&[]))
    }

    /// Every file under `dir`, relative, sorted, with its bytes.
    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if path.is_dir() {
                out.extend(
                    files(&path)
                        .into_iter()
                        .map(|(f, bytes)| (format!("{name}/{f}"), bytes)),
                );
            } else {
                out.push((name, fs::read(&path).unwrap()));
            }
        }
        out.sort();
        out
    }

    /// The same file names with the same bytes (naming the first file that differs).
    fn assert_same_files(dir: &Path, expected_dir: &Path) {
        let (files, expected) = (files(dir), files(expected_dir));
        let names = |files: &[(String, Vec<u8>)]| -> Vec<String> {
            files.iter().map(|(name, _)| name.clone()).collect()
        };
        assert_eq!(names(&files), names(&expected));
        for ((name, bytes), (_, expected_bytes)) in files.iter().zip(&expected) {
            assert!(
                bytes == expected_bytes,
                "{name} differs:\n{}\nexpected:\n{}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(expected_bytes)
            );
        }
    }

    /// Every file under `dir`, relative with `/`, sorted (for `folder`'s tests too).
    pub(super) fn names(dir: &Path) -> Vec<String> {
        files(dir).into_iter().map(|(name, _)| name).collect()
    }

    fn csv_frames(dir: &Path) -> Vec<u64> {
        csv_frames_of(dir, SPECTRUM_NAME)
    }

    fn csv_frames_of(dir: &Path, name: &str) -> Vec<u64> {
        fs::read_to_string(dir.join(name))
            .unwrap()
            .lines()
            .skip(1)
            .map(|line| line.split(',').next().unwrap().parse().unwrap())
            .collect()
    }

    fn manifest_json(dir: &Path) -> serde_json::Value {
        serde_json::from_slice(&fs::read(dir.join(format::manifest::MANIFEST_NAME)).unwrap())
            .unwrap()
    }

    fn pngs(frames: impl IntoIterator<Item = u64>) -> Vec<String> {
        frames
            .into_iter()
            .map(|k| format!("frames/{k:06}.png"))
            .collect()
    }

    /// A shorter render replaces a longer one: only its frames remain, the user's files stay.
    #[test]
    fn replace_leaves_exactly_the_new_frames() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path(), CsvFormat::Full);
        write_take(&settings, OpenMode::Replace, 0..6, 0).unwrap();
        fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        write_take(&settings, OpenMode::Replace, 0..3, 1).unwrap();
        let mut expected = pngs(0..3);
        expected.extend(["manifest.json", "notes.txt", "spectrum.csv"].map(String::from));
        expected.sort();
        assert_eq!(names(dir.path()), expected);
        assert_eq!(csv_frames(dir.path()), [0, 1, 2]);
        let manifest = manifest_json(dir.path());
        assert_eq!(manifest["frames_written"], 3);
        assert_eq!(manifest["frame_ranges"], serde_json::json!([[0, 2]]));
        assert_eq!(manifest["complete"], true);
    }

    /// A CSV-only render into an earlier render's folder leaves no PNG behind.
    #[test]
    fn csv_only_replace_removes_old_frames() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = settings(dir.path(), CsvFormat::Full);
        write_take(&settings, OpenMode::Replace, 0..4, 0).unwrap();
        settings.write_images = false;
        write_take(&settings, OpenMode::Replace, 0..2, 0).unwrap();
        assert_eq!(names(dir.path()), ["manifest.json", "spectrum.csv"]);
    }

    /// A folder holding someone else's files is refused, untouched; forced, they stay.
    #[test]
    fn foreign_folder_is_refused_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        let mut settings = settings(dir.path(), CsvFormat::Full);
        for mode in [OpenMode::Replace, OpenMode::Continue] {
            let error = write_take(&settings, mode, 0..2, 0).unwrap_err();
            assert!(matches!(error, ExportError::NotOurs { .. }), "{error}");
            assert_eq!(names(dir.path()), ["notes.txt"]);
        }
        settings.is_forced = true;
        write_take(&settings, OpenMode::Replace, 0..2, 0).unwrap();
        assert_eq!(fs::read(dir.path().join("notes.txt")).unwrap(), b"mine");
        assert_eq!(csv_frames(dir.path()), [0, 1]);
        // Now it is ours: no force needed to replace it.
        settings.is_forced = false;
        write_take(&settings, OpenMode::Replace, 0..1, 0).unwrap();
        assert_eq!(csv_frames(dir.path()), [0]);
    }

    /// Takes accumulate across writers: a take replaces the frames it covers, the rest stay.
    #[test]
    fn continue_keeps_earlier_takes_and_last_write_wins() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path(), CsvFormat::Full);
        write_take(&settings, OpenMode::Continue, 0..4, 0).unwrap();
        write_take(&settings, OpenMode::Continue, 2..6, 1).unwrap();
        assert_eq!(csv_frames(dir.path()), [0, 1, 2, 3, 4, 5]);
        // The same rows as a single writer that recorded both takes.
        let single = tempfile::tempdir().unwrap();
        let single_settings = ExportSettings {
            out_dir: single.path().to_owned(),
            ..settings.clone()
        };
        let mut writer =
            FrameWriter::open(&single_settings, job(FrameRate::FPS_24), OpenMode::Replace).unwrap();
        for (frames, take_idx) in [(0..4, 0), (2..6, 1)] {
            for frame_idx in frames {
                writer
                    .write_frame(frame_idx, &bins(frame_idx, take_idx))
                    .unwrap();
            }
            writer.finish_take(&stats(&[])).unwrap();
        }
        drop(writer);
        assert_same_files(dir.path(), single.path());
        assert_eq!(
            manifest_json(dir.path())["takes"].as_array().unwrap().len(),
            2
        );
    }

    /// Frames made with other settings are never mixed in: the folder stays as it was.
    #[test]
    fn continue_refuses_other_settings() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path(), CsvFormat::Full);
        write_take(&settings, OpenMode::Continue, 0..2, 0).unwrap();
        let before = files(dir.path());
        let error = FrameWriter::open(&settings, job(FrameRate::new(30, 1)), OpenMode::Continue)
            .err()
            .unwrap();
        assert!(
            matches!(error, ExportError::SettingsDiffer { field: "fps", .. }),
            "{error}"
        );
        let mut other_look = job(FrameRate::FPS_24);
        other_look.render.post.invert = true;
        let error = FrameWriter::open(&settings, other_look, OpenMode::Continue)
            .err()
            .unwrap();
        assert!(
            matches!(
                error,
                ExportError::SettingsDiffer {
                    field: "frames.render",
                    ..
                }
            ),
            "{error}"
        );
        assert_eq!(files(dir.path()), before);
    }

    /// An interrupted job continued later ends with the bytes of an uninterrupted one, in both
    /// CSV layouts, warnings included once.
    #[test]
    fn interrupted_then_continued_equals_uninterrupted() {
        for csv in [CsvFormat::Full, CsvFormat::Seed] {
            let clean = tempfile::tempdir().unwrap();
            let clean_settings = settings(clean.path(), csv);
            let mut writer =
                FrameWriter::open(&clean_settings, job(FrameRate::FPS_24), OpenMode::Replace)
                    .unwrap();
            for frame_idx in 0..8 {
                writer.write_frame(frame_idx, &bins(frame_idx, 0)).unwrap();
            }
            writer.finish_take(&stats(&["early", "late"])).unwrap();
            drop(writer);

            let resumed = tempfile::tempdir().unwrap();
            let resumed_settings = settings(resumed.path(), csv);
            let mut writer =
                FrameWriter::open(&resumed_settings, job(FrameRate::FPS_24), OpenMode::Replace)
                    .unwrap();
            // Parallel workers finish out of order: a gap is part of the interrupted state.
            for frame_idx in [0, 1, 3] {
                writer.write_frame(frame_idx, &bins(frame_idx, 0)).unwrap();
            }
            writer.finish_interrupted(&stats(&["early"])).unwrap();
            drop(writer);
            let manifest = manifest_json(resumed.path());
            assert_eq!(manifest["complete"], false);
            assert_eq!(
                manifest["frame_ranges"],
                serde_json::json!([[0, 1], [3, 3]])
            );
            let mut writer = FrameWriter::open(
                &resumed_settings,
                job(FrameRate::FPS_24),
                OpenMode::Continue,
            )
            .unwrap();
            let missing: Vec<u64> = (0..8).filter(|&k| !writer.has_frame(k)).collect();
            assert_eq!(missing, [2, 4, 5, 6, 7]);
            for frame_idx in missing {
                writer.write_frame(frame_idx, &bins(frame_idx, 0)).unwrap();
            }
            writer.finish_take(&stats(&["early", "late"])).unwrap();
            drop(writer);
            assert_same_files(resumed.path(), clean.path());
        }
    }

    /// Continuing a folder a killed process left: a listed frame without its PNG is forgotten,
    /// an unlisted PNG and stale temporaries are removed.
    #[test]
    fn continue_repairs_a_folder_left_by_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path(), CsvFormat::Full);
        write_take(&settings, OpenMode::Replace, 0..4, 0).unwrap();
        fs::remove_file(frame_path(dir.path(), 1)).unwrap();
        fs::write(frame_path(dir.path(), 9), b"half").unwrap();
        fs::write(dir.path().join("frames/.000010.png.tmp"), b"half").unwrap();
        fs::write(dir.path().join(SPILL_NAME), b"old").unwrap();
        let writer =
            FrameWriter::open(&settings, job(FrameRate::FPS_24), OpenMode::Continue).unwrap();
        assert_eq!(writer.num_frames(), 3);
        drop(writer);
        assert_eq!(csv_frames(dir.path()), [0, 2, 3]);
        let mut expected = pngs([0, 2, 3]);
        expected.extend(["manifest.json", "spectrum.csv"].map(String::from));
        expected.sort();
        assert_eq!(names(dir.path()), expected);
    }

    /// Frame `frame_idx`'s capture in take `take_idx`: distinct per frame and per take; note
    /// 60 and CC 7 are seen in take 0, note 64 from take 1 on.
    fn capture(frame_idx: u64, take_idx: u64) -> crate::take::FrameCapture {
        let mut capture = crate::take::FrameCapture {
            transport: crate::take::FrameTransport {
                tempo_bpm: Some(120.0 - take_idx as f64),
                time_sig: Some((7, 8)),
                beat: Some(frame_idx as f64 / 12.0),
                bar: (take_idx == 0).then_some(frame_idx as i32 / 42),
                bar_beat: (take_idx == 0).then_some(0.5),
                is_playing: true,
            },
            seen_notes: 1 << 60 | u128::from(take_idx > 0) << 64,
            seen_ccs: 1 << 7,
            ..Default::default()
        };
        capture.macros[2] = frame_idx as f32 / 8.0;
        capture.note_gates[60] = take_idx as f32 / 4.0;
        capture.cc_values[7] = 1.0 / 3.0;
        capture
    }

    /// Writes take `take_idx` of `frames`, with captures, through `writer`.
    fn write_captured_take(writer: &mut FrameWriter, frames: std::ops::Range<u64>, take_idx: u64) {
        for frame_idx in frames {
            writer
                .write_frame(frame_idx, &bins(frame_idx, take_idx))
                .unwrap();
            writer
                .record_capture(frame_idx, &capture(frame_idx, take_idx))
                .unwrap();
        }
        writer.finish_take(&stats(&[])).unwrap();
    }

    /// The session tables follow `spectrum.csv` across takes and writers: a take replaces the
    /// rows it covers, a reopened folder reads its tables back to the same bytes, a frame whose
    /// PNG a crash lost leaves every table, and Clear removes them.
    #[test]
    fn session_tables_stay_in_step_with_the_spectrum() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path(), CsvFormat::Full);
        let mut writer =
            FrameWriter::open(&settings, job(FrameRate::FPS_24), OpenMode::Continue).unwrap();
        write_captured_take(&mut writer, 0..4, 0);
        drop(writer);
        let mut writer =
            FrameWriter::open(&settings, job(FrameRate::FPS_24), OpenMode::Continue).unwrap();
        write_captured_take(&mut writer, 2..6, 1);
        drop(writer);

        let single = tempfile::tempdir().unwrap();
        let single_settings = ExportSettings {
            out_dir: single.path().to_owned(),
            ..settings.clone()
        };
        let mut writer =
            FrameWriter::open(&single_settings, job(FrameRate::FPS_24), OpenMode::Replace).unwrap();
        write_captured_take(&mut writer, 0..4, 0);
        write_captured_take(&mut writer, 2..6, 1);
        drop(writer);
        assert_same_files(dir.path(), single.path());

        let transport =
            fs::read_to_string(dir.path().join(HostTableKind::Transport.file_name())).unwrap();
        let lines: Vec<&str> = transport.lines().collect();
        assert_eq!(lines.len(), 7);
        assert_eq!(lines[1], "0,0.0,120.0,7,8,0.0,0,0.5,1");
        assert_eq!(
            lines[3],
            "2,0.08333333333333333,119.0,7,8,0.16666666666666666,,,1"
        );
        let midi = fs::read_to_string(dir.path().join(HostTableKind::Midi.file_name())).unwrap();
        assert_eq!(
            midi.lines().next(),
            Some("frame,time_s,note_60,note_64,cc_7")
        );
        assert_eq!(midi.lines().nth(1), Some("0,0.0,0.0,0.0,0.33333334"));
        let macros =
            fs::read_to_string(dir.path().join(HostTableKind::Macros.file_name())).unwrap();
        assert_eq!(
            macros.lines().nth(6),
            Some("5,0.20833333333333334,0.0,0.0,0.625,0.0,0.0,0.0,0.0,0.0")
        );
        let manifest = manifest_json(dir.path());
        assert_eq!(
            manifest["transport"]["tempo_changes"],
            serde_json::json!([{"frame": 0, "tempo_bpm": 120.0}, {"frame": 2, "tempo_bpm": 119.0}])
        );

        fs::remove_file(frame_path(dir.path(), 1)).unwrap();
        drop(FrameWriter::open(&settings, job(FrameRate::FPS_24), OpenMode::Continue).unwrap());
        let tables = HostTableKind::ALL.map(HostTableKind::file_name);
        for name in [SPECTRUM_NAME].into_iter().chain(tables) {
            assert_eq!(csv_frames_of(dir.path(), name), [0, 2, 3, 4, 5], "{name}");
        }

        clear_folder(dir.path()).unwrap();
        assert!(names(dir.path()).is_empty());
    }

    /// `clear_folder` leaves the user's files of a folder we wrote into (with a manifest listing
    /// nothing), and nothing of a folder holding only ours.
    #[test]
    fn clear_removes_only_our_files() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path(), CsvFormat::Full);
        write_take(&settings, OpenMode::Replace, 0..3, 0).unwrap();
        clear_folder(dir.path()).unwrap();
        assert!(names(dir.path()).is_empty());

        write_take(&settings, OpenMode::Replace, 0..3, 0).unwrap();
        fs::write(dir.path().join("frames/cover.jpg"), b"mine").unwrap();
        clear_folder(dir.path()).unwrap();
        assert_eq!(names(dir.path()), ["frames/cover.jpg", "manifest.json"]);
    }

    /// Cleared beside the user's files, the folder stays ours, listing nothing, and the next take
    /// may use other settings there: there is nothing left to keep apart from them.
    #[test]
    fn cleared_folder_with_user_files_takes_new_settings() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path(), CsvFormat::Full);
        write_take(&settings, OpenMode::Continue, 0..3, 0).unwrap();
        fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        clear_folder(dir.path()).unwrap();
        assert_eq!(names(dir.path()), ["manifest.json", "notes.txt"]);
        let manifest = manifest_json(dir.path());
        assert_eq!(manifest["frame_ranges"], serde_json::json!([]));
        assert_eq!(manifest["takes"], serde_json::json!([]));

        let mut writer =
            FrameWriter::open(&settings, job(FrameRate::new(30, 1)), OpenMode::Continue).unwrap();
        writer.write_frame(5, &bins(5, 1)).unwrap();
        writer.finish_take(&stats(&[])).unwrap();
        assert_eq!(csv_frames(dir.path()), [5]);
        assert_eq!(manifest_json(dir.path())["fps"]["num"], 30);
        assert!(dir.path().join("notes.txt").exists());
    }
}
