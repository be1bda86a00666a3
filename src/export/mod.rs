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

mod lock;
mod manifest;
mod table;

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::analysis::{AnalysisSettings, Preset, unit_values};
use crate::clock::FrameRate;
use crate::render::{ColorType, Image, RenderError, RenderSettings, Renderer};
pub use lock::{FolderLock, LOCK_FILE};
pub use manifest::Manifest;
use table::SpectrumTable;

/// The layout of `spectrum.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum CsvFormat {
    /// A header `frame,time_s,<bin centre Hz>…`, then `frame,time,values…` rows.
    Full,
    /// The post's bare rows of values, for sketches written against it.
    Seed,
}

/// Where and what to write.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSettings {
    pub out_dir: PathBuf,
    pub csv: CsvFormat,
    /// `false` writes only the CSV and manifest (`--csv-only`).
    pub write_images: bool,
}

/// What the audio came from, as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    File {
        path: PathBuf,
    },
    /// The CLI's built-in demo track.
    Demo,
    /// A DAW bounce or live recording through the plugin.
    Host {
        host: String,
        track: String,
    },
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
}

/// Where a take's frame positions came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PositionSource {
    /// The host's transport position (or the file's sample positions, for the CLI).
    Timeline,
    /// The host reported no position: samples counted from the take's start.
    SampleCount,
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
}

impl ExportError {
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// `<out>/frames/000042.png`: zero-padded to six digits for ffmpeg's `%06d.png`.
pub fn frame_path(out_dir: &Path, frame_idx: u64) -> PathBuf {
    out_dir.join("frames").join(format!("{frame_idx:06}.png"))
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
        write_atomically(&path, |file| file.write_all(bytes))
    }
}

/// PNG with the `png` crate's `Fast` deflate (fdeflate) and the Paeth filter on every row.
/// Encoding is the costliest step after the blur: `Fast` is several times quicker than zlib's
/// default level (`cargo bench --bench engine`), and on guide frames Paeth alone compresses as
/// well as trying all five filters per row (6 721 508 vs 6 721 417 bytes for 96 frames) at 8 %
/// fewer instructions per frame (callgrind); `Up` saves 4 % more but grows files by 7 %.
fn encode_png(image: &Image, out: &mut Vec<u8>) -> Result<(), png::EncodingError> {
    out.clear();
    let mut encoder = png::Encoder::new(&mut *out, image.width, image.height);
    encoder.set_color(match image.color {
        ColorType::Grey => png::ColorType::Grayscale,
        ColorType::Rgb => png::ColorType::Rgb,
    });
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::Filter::Paeth);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&image.pixels)?;
    writer.finish()
}

/// Writes `path` by writing a hidden temporary file beside it and renaming it into place, so the
/// final name only ever holds a complete file. (No fsync: this guards against crashes of the
/// process, which is what DAWs do, not power loss; an fsync per frame would cost milliseconds.)
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), ExportError> {
    let file_name = path
        .file_name()
        .expect("output paths name a file")
        .to_string_lossy();
    let temp_path = path.with_file_name(format!(".{file_name}.tmp"));
    let result = File::create(&temp_path)
        .and_then(|mut file| write(&mut file))
        .and_then(|()| fs::rename(&temp_path, path));
    result.map_err(|source| {
        let _ = fs::remove_file(&temp_path);
        ExportError::io(path, source)
    })
}

/// One take's frame range, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TakeRecord {
    pub first_frame: u64,
    pub last_frame: u64,
    pub frames: u64,
    pub frames_dropped: u64,
    pub position_source: PositionSource,
}

/// The output folder of one job: frames, the spectrum table and the manifest.
pub struct FrameWriter {
    settings: ExportSettings,
    job: JobInfo,
    /// `None` when writing the CSV only.
    encoder: Option<FrameEncoder>,
    table: SpectrumTable,
    /// The frame range of the take being recorded; `None` between takes.
    take_range: Option<(u64, u64, u64)>,
    takes: Vec<TakeRecord>,
    warnings: Vec<String>,
}

impl FrameWriter {
    /// Creates the output folder (and `frames/`), failing early if it cannot be written.
    pub fn create(settings: &ExportSettings, job: JobInfo) -> Result<Self, ExportError> {
        let frames_dir = settings.out_dir.join("frames");
        let dir_to_create = if settings.write_images {
            &frames_dir
        } else {
            &settings.out_dir
        };
        fs::create_dir_all(dir_to_create)
            .map_err(|source| ExportError::io(dir_to_create, source))?;
        let table = SpectrumTable::create(
            settings.out_dir.join(".spectrum.bins.tmp"),
            job.bin_freqs_hz.len(),
        )?;
        let encoder = settings
            .write_images
            .then(|| FrameEncoder::new(&job, &settings.out_dir))
            .transpose()?;
        Ok(Self {
            settings: settings.clone(),
            job,
            encoder,
            table,
            take_range: None,
            takes: Vec::new(),
            warnings: Vec::new(),
        })
    }

    pub fn job(&self) -> &JobInfo {
        &self.job
    }

    pub fn settings(&self) -> &ExportSettings {
        &self.settings
    }

    /// Records frame `frame_idx`'s bins and writes its PNG. A frame written again replaces the old.
    pub fn write_frame(&mut self, frame_idx: u64, bins: &[f32]) -> Result<(), ExportError> {
        if let Some(encoder) = &mut self.encoder {
            encoder.write_frame(frame_idx, bins)?;
        }
        self.record_spectrum(frame_idx, bins)
    }

    /// Records frame `frame_idx`'s bins for the CSV only; the caller writes the PNG with its own
    /// [`FrameEncoder`] (the CLI's worker threads).
    pub fn record_spectrum(&mut self, frame_idx: u64, bins: &[f32]) -> Result<(), ExportError> {
        self.table.write_row(frame_idx, bins)?;
        let (first, last, count) = self.take_range.get_or_insert((frame_idx, frame_idx, 0));
        *first = (*first).min(frame_idx);
        *last = (*last).max(frame_idx);
        *count += 1;
        Ok(())
    }

    /// Ends the current take: rewrites `spectrum.csv` with every frame so far, sorted, and the
    /// manifest. A take without frames still updates the manifest (its warnings may matter).
    pub fn finish_take(&mut self, stats: &TakeStats) -> Result<(), ExportError> {
        if let Some((first_frame, last_frame, frames)) = self.take_range.take() {
            self.takes.push(TakeRecord {
                first_frame,
                last_frame,
                frames,
                frames_dropped: stats.frames_dropped,
                position_source: stats.position_source,
            });
        }
        self.warnings.extend(stats.warnings.iter().cloned());
        let fps = self.job.fps;
        self.table.write_csv(
            &self.settings.out_dir.join("spectrum.csv"),
            self.settings.csv,
            &self.job.bin_freqs_hz,
            |frame_idx| fps.frame_time_s(frame_idx as i64),
        )?;
        let manifest = Manifest::new(
            &self.settings,
            &self.job,
            self.table.frame_range(),
            self.table.num_rows(),
            &self.takes,
            &self.warnings,
        );
        let path = self.settings.out_dir.join("manifest.json");
        write_atomically(&path, |file| {
            serde_json::to_writer_pretty(&mut *file, &manifest)?;
            file.write_all(b"\n")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write that fails halfway leaves neither the target nor the temporary file behind.
    #[test]
    fn failed_atomic_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spectrum.csv");
        let result = write_atomically(&path, |file| {
            file.write_all(b"half a row")?;
            Err(io::Error::other("disk full"))
        });
        assert!(matches!(result, Err(ExportError::Io { .. })));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// A successful write replaces the old file whole.
    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        fs::write(&path, b"old").unwrap();
        write_atomically(&path, |file| file.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn frame_paths_are_six_digit_numbered() {
        assert_eq!(
            frame_path(Path::new("out"), 42),
            Path::new("out/frames/000042.png")
        );
        assert_eq!(
            frame_path(Path::new("out"), 1_234_567),
            Path::new("out/frames/1234567.png")
        );
    }
}
