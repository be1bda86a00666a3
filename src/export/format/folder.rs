//! CLI thread: an output folder read back for `video`, `page` and `schedule`: the manifest's exact
//! frame rate, analysis and bins, the frames it lists, where the audio it was made from is, and
//! `spectrum.csv` streamed row by row (an hour's table is 200 MB of text).

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::analysis::AnalysisSettings;
use crate::clock::FrameRate;
use crate::export::{CSV_NAME, CsvFormat, MANIFEST_NAME, Source, frame_path};
use crate::schedule::DbScale;

/// Why an output folder cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum RenderedError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{} has no manifest.json of spectral-diffusion: give a folder that `render` or the plugin wrote", dir.display())]
    NotOurs { dir: PathBuf },
    #[error("{}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "{} holds frames but no spectrum (a composite of lanes): give a folder that `render` or \
         the plugin wrote, such as one of its lanes",
        dir.display()
    )]
    NoSpectrum { dir: PathBuf },
    #[error("{}: line {line}: {reason}", path.display())]
    Table {
        path: PathBuf,
        line: usize,
        reason: String,
    },
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
    sample_rate: u32,
    fps: FrameRate,
    /// A composite of lanes (`compose`) has no spectrum, so no analysis, bins or CSV (see
    /// [`RenderedFolder::read_frames`]).
    #[serde(default)]
    analysis: AnalysisSettings,
    #[serde(default)]
    bin_freqs_hz: Vec<f32>,
    #[serde(default)]
    csv: Option<CsvFields>,
    frames: Option<FramesFields>,
    /// Absent before `frame_ranges` existed: then the frames were `first_frame..=last_frame`.
    frame_ranges: Option<Vec<[u64; 2]>>,
    first_frame: Option<u64>,
    last_frame: Option<u64>,
    /// Absent before `complete` existed, when only finished renders wrote a manifest.
    #[serde(default = "is_true")]
    complete: bool,
}

fn is_true() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct ToolFields {
    name: String,
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
    pub sample_rate: u32,
    pub fps: FrameRate,
    /// The analysis that wrote `spectrum.csv`: its preset says how the values map to dB.
    pub analysis: AnalysisSettings,
    /// Each bin's centre frequency, in the CSV's column order.
    pub bin_freqs_hz: Vec<f32>,
    pub csv_format: CsvFormat,
    /// Width and height of the guide frames; `None` for a CSV-only render.
    pub frame_size: Option<(u32, u32)>,
    /// Every frame in the folder as inclusive `[first, last]` runs, ascending.
    pub frame_ranges: Vec<[u64; 2]>,
    /// `false` while a render is under way and after one was interrupted (its manifest's
    /// `complete`); a plugin's folder is complete between takes.
    pub is_complete: bool,
}

impl RenderedFolder {
    /// Reads `dir/manifest.json` of a folder with a spectrum (`spectrum.csv`).
    pub fn read(dir: &Path) -> Result<Self, RenderedError> {
        let folder = Self::read_frames(dir)?;
        // Every analysis has at least one bin.
        if folder.bin_freqs_hz.is_empty() {
            return Err(RenderedError::NoSpectrum {
                dir: dir.to_owned(),
            });
        }
        Ok(folder)
    }

    /// Reads `dir/manifest.json` for its frames only: also a composite of lanes (`compose`),
    /// which has no spectrum; its analysis is then the default and its bins are empty.
    pub fn read_frames(dir: &Path) -> Result<Self, RenderedError> {
        let path = dir.join(MANIFEST_NAME);
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
            sample_rate: fields.sample_rate,
            fps: fields.fps,
            analysis: fields.analysis,
            bin_freqs_hz: fields.bin_freqs_hz,
            csv_format: fields.csv.map_or(CsvFormat::Full, |csv| csv.format),
            frame_size: fields.frames.map(|frames| (frames.width, frames.height)),
            frame_ranges: match (fields.frame_ranges, fields.first_frame, fields.last_frame) {
                (Some(ranges), _, _) => ranges,
                (None, Some(first), Some(last)) => vec![[first, last]],
                _ => Vec::new(),
            },
            is_complete: fields.complete,
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

    /// How the CSV's values map to dB.
    pub fn db_scale(&self) -> DbScale {
        DbScale::for_analysis(&self.analysis, self.sample_rate, self.fps)
    }

    /// Calls `on_row` with each row of `spectrum.csv`: its frame and its values, one per bin,
    /// frames ascending. A seed table's bare rows are the frames the manifest lists, in order.
    pub fn for_each_row(&self, mut on_row: impl FnMut(u64, &[f32])) -> Result<(), RenderedError> {
        let path = self.dir.join(CSV_NAME);
        let io_error = |source| RenderedError::Io {
            path: path.clone(),
            source,
        };
        let table_error = |line_idx: usize, reason: String| RenderedError::Table {
            path: path.clone(),
            line: line_idx + 1,
            reason,
        };
        let file = File::open(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => RenderedError::Unreadable {
                path: path.clone(),
                reason: "no such file".to_owned(),
            },
            _ => io_error(source),
        })?;
        let num_bins = self.bin_freqs_hz.len();
        let mut listed = self.frame_indices();
        let mut values = vec![0.0f32; num_bins];
        let mut next_frame = 0u64;
        let mut reader = BufReader::new(file);
        let mut line: Vec<u8> = Vec::new();
        for line_idx in 0.. {
            line.clear();
            if reader.read_until(b'\n', &mut line).map_err(io_error)? == 0 {
                break;
            }
            let mut fields = line.trim_ascii_end().split(|&byte| byte == b',');
            let frame_idx = match self.csv_format {
                CsvFormat::Full if line_idx == 0 => {
                    if fields.count() != 2 + num_bins {
                        let reason = format!("the header has not the manifest's {num_bins} bins");
                        return Err(table_error(line_idx, reason));
                    }
                    continue;
                }
                CsvFormat::Full => {
                    let frame_idx = fields
                        .next()
                        .and_then(|field| std::str::from_utf8(field).ok()?.parse::<u64>().ok());
                    // The time column.
                    fields.next();
                    frame_idx
                }
                CsvFormat::Seed => listed.next(),
            }
            .ok_or_else(|| table_error(line_idx, "names no frame the manifest lists".into()))?;
            if frame_idx < next_frame {
                let reason = "frames are not in ascending order".to_owned();
                return Err(table_error(line_idx, reason));
            }
            let mut num_values = 0;
            for (value, field) in values.iter_mut().zip(&mut fields) {
                *value = parse_f32(field).ok_or_else(|| {
                    let field = String::from_utf8_lossy(field);
                    table_error(line_idx, format!("{field:?} is not a number"))
                })?;
                num_values += 1;
            }
            if num_values != num_bins || fields.next().is_some() {
                let reason = format!("a row needs the manifest's {num_bins} values");
                return Err(table_error(line_idx, reason));
            }
            on_row(frame_idx, &values);
            next_frame = frame_idx + 1;
        }
        Ok(())
    }
}

/// One CSV value. The table's values are ryu's shortest text of an `f32`, nearly always a plain
/// decimal of at most nine digits: that is parsed here (a correctly rounded `f64` division,
/// several times faster than `str::parse`, which is most of the time of a long song); anything
/// else goes to `str::parse`.
fn parse_f32(field: &[u8]) -> Option<f32> {
    /// Powers of ten that `f64` holds exactly.
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (is_negative, digits) = match field.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, field),
    };
    let mut mantissa = 0u64;
    let mut num_digits = 0usize;
    let mut num_fraction_digits = None;
    for &byte in digits {
        match byte {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                num_digits += 1;
                if let Some(count) = &mut num_fraction_digits {
                    *count += 1;
                }
            }
            b'.' if num_fraction_digits.is_none() => num_fraction_digits = Some(0),
            _ => return std::str::from_utf8(field).ok()?.parse().ok(),
        }
    }
    let num_fraction_digits = num_fraction_digits.unwrap_or(0);
    if num_digits == 0 || num_digits > 15 || num_fraction_digits >= POW10.len() {
        return std::str::from_utf8(field).ok()?.parse().ok();
    }
    let value = (mantissa as f64 / POW10[num_fraction_digits]) as f32;
    Some(if is_negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::parse_f32;

    /// The fast path reads ryu's text of an f32 back as that very f32, as `str::parse` does.
    #[test]
    fn csv_values_parse_exactly() {
        let mut text = ryu::Buffer::new();
        let mut seed = 0x9E37_79B9u32;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            // Magnitudes from 1e-6 to 1e4, as the default (0..1) and seed presets write them.
            let value = f32::from_bits(seed % 0x4700_0000 + 0x3500_0000);
            let field = text.format_finite(value);
            assert_eq!(parse_f32(field.as_bytes()), Some(value), "{field}");
        }
        for (field, wanted) in [("0", Some(0.0)), ("-2.5", Some(-2.5)), ("1e-7", Some(1e-7))] {
            assert_eq!(parse_f32(field.as_bytes()), wanted);
        }
        for field in ["", "-", ".", "1.2.3", "abc", "1,0"] {
            assert_eq!(parse_f32(field.as_bytes()), None, "{field:?}");
        }
    }
}
