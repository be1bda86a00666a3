//! CLI thread: the preview page, `index.html` in an output folder: the frames played in sync with
//! the audio, every lane plotted over time with a playhead, and the post's polar sketch drawn live
//! from `spectrum.csv`.
//!
//! The page is one self-contained file that works from `file://` (browsers refuse to fetch local
//! files from a local page, so the data is inlined as JSON): the spectra quantized to one byte per
//! bin (a 1-hour song at 24 fps and 256 bins is 22 MB, 29 MB as base64), lanes to 16 bits. Lanes
//! are the columns of `schedule.csv` when the folder has one, else a loudness lane from the
//! spectra. The HTML, CSS and script are the template `page.html`.

use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::analysis::unit_values;
use crate::export::Source;
use crate::export::format::FormatError;
use crate::export::format::folder::{FolderError, OutputFolder};
use crate::export::format::page::{self, is_our_page, page_path};
use crate::export::format::schedule;
use crate::schedule::DbScale;
use crate::schedule::lanes::power_mean_db;

/// The page template; `{{TITLE}}` and `{{DATA}}` are filled in. Its generator line is
/// `format::page::PAGE_MARK`, by which a page is known as ours.
const TEMPLATE: &str = include_str!("page.html");
/// A lane value the page reads as "no value at this frame".
const NO_VALUE: u16 = u16::MAX;

/// Why the page was not written.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Folder(#[from] FolderError),
    #[error(transparent)]
    Write(#[from] FormatError),
    /// `schedule.csv` cannot be read, or was made for another render.
    #[error(transparent)]
    Schedule(FormatError),
    #[error("{} is not a preview page of ours; move it away to write one", path.display())]
    NotOurs { path: PathBuf },
    #[error("the audio {} is not there", path.display())]
    MissingAudio { path: PathBuf },
}

impl PageError {
    pub fn is_io(&self) -> bool {
        match self {
            Self::Folder(error) => error.is_io(),
            Self::Write(_) => true,
            Self::Schedule(error) => error.is_io(),
            Self::NotOurs { .. } | Self::MissingAudio { .. } => false,
        }
    }
}

/// What a page does with a `schedule.csv` it cannot plot (unreadable, or made for another
/// render).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokenSchedule {
    /// Fail with the schedule's error: the page was asked for (`page`, `schedule`).
    Refuse,
    /// Plot the loudness instead and say why in [`PageSummary::warning`]: the page comes with
    /// a render, which a bad schedule must not stop.
    PlotLoudness,
}

/// What went into a page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageSummary {
    pub path: PathBuf,
    /// Lane names, in plot order.
    pub lanes: Vec<String>,
    /// The audio the page plays, as the page refers to it (relative to the folder).
    pub audio: Option<String>,
    /// Bytes of the page.
    pub num_bytes: usize,
    /// Why `schedule.csv` was not plotted, with [`BrokenSchedule::PlotLoudness`].
    pub warning: Option<String>,
}

/// The data the page's script reads.
#[derive(Debug, Serialize)]
struct PageData {
    /// Frame rate as `[num, den]`.
    fps: [u32; 2],
    /// The timeline from frame 0 the page plays.
    num_frames: u64,
    /// The frames with a spectrum (and a PNG), as inclusive runs; `spectra` holds their rows.
    frame_ranges: Vec<[u64; 2]>,
    num_bins: usize,
    /// base64 of one byte per bin per listed frame, the values as drawn (0..1) times 255.
    spectra: String,
    has_images: bool,
    lanes: Vec<LaneData>,
    /// The audio's URL relative to the page.
    audio: Option<String>,
}

#[derive(Debug, Serialize)]
struct LaneData {
    name: String,
    min: f64,
    max: f64,
    /// base64 of little-endian u16 per timeline frame: 0..=65534 over min..max, 65535 none.
    values: String,
}

/// A lane as read: its value at each timeline frame that has one.
struct Lane {
    name: String,
    values: Vec<Option<f64>>,
}

/// Writes `dir/index.html`. `audio` overrides the audio the manifest names. A missing audio file
/// named by the manifest leaves the page silent (it plays on a timer); a missing `audio` given
/// here is an error. `broken` says what a `schedule.csv` that cannot be plotted does.
pub fn write_page(
    dir: &Path,
    audio: Option<&Path>,
    broken: BrokenSchedule,
) -> Result<PageSummary, PageError> {
    let folder = OutputFolder::read(dir)?;
    folder.require_current_schedule()?;
    let page_path = page_path(dir);
    if page_path.exists() && !is_our_page(dir) {
        return Err(PageError::NotOurs { path: page_path });
    }
    let audio = match audio {
        Some(path) if !path.is_file() => {
            return Err(PageError::MissingAudio {
                path: path.to_owned(),
            });
        }
        Some(path) => Some(path.to_owned()),
        None => folder.source_audio().filter(|path| path.is_file()),
    };
    let audio_url = audio.as_deref().and_then(|path| relative_url(dir, path));

    let (schedule_lanes, warning) = match schedule_lanes(&folder) {
        Ok(lanes) => (lanes, None),
        Err(error) if broken == BrokenSchedule::PlotLoudness => (
            None,
            Some(format!("{error}; the page plots the loudness instead")),
        ),
        Err(error) => return Err(PageError::Schedule(error)),
    };
    let spectra = read_spectra(&folder)?;
    let lanes = schedule_lanes.unwrap_or_else(|| vec![spectra.loudness_lane()]);
    let num_frames = lanes
        .iter()
        .map(|lane| lane.values.len() as u64)
        .chain(std::iter::once(folder.end_frame()))
        .max()
        .unwrap_or(0);
    let lane_names = lanes.iter().map(|lane| lane.name.clone()).collect();
    let data = PageData {
        fps: [folder.fps().num, folder.fps().den],
        num_frames,
        spectra: base64(&spectra.bytes),
        frame_ranges: spectra.frame_ranges,
        num_bins: spectra.num_bins,
        has_images: folder.frame_size().is_some(),
        lanes: lanes
            .iter()
            .map(|lane| lane_data(lane, num_frames))
            .collect(),
        audio: audio_url.clone(),
    };
    let json = serde_json::to_string(&data).expect("page data always serializes");
    // Inside <script>, "</" could end the element early; JSON may spell "<" as \u003c.
    let json = json.replace('<', "\\u003c");
    // Named after the source, not the folder, so the same render gives the same bytes anywhere.
    let title = match folder.source() {
        Source::File { path } => path.file_name().map_or_else(
            || path.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        ),
        Source::Demo => "demo".to_owned(),
        Source::Host { track, .. } => track.clone(),
        Source::Composite { lanes, .. } => lanes.join(" + "),
    };
    let html = TEMPLATE
        .replace("{{TITLE}}", &escape_html(&title))
        .replace("{{DATA}}", &json);
    page::write_page(dir, &html)?;
    Ok(PageSummary {
        path: page_path,
        lanes: lane_names,
        audio: audio_url,
        num_bytes: html.len(),
        warning,
    })
}

/// `spectrum.csv` as the page holds it.
struct Spectra {
    /// The frames in the table, as inclusive runs, ascending.
    frame_ranges: Vec<[u64; 2]>,
    num_bins: usize,
    /// One byte per bin per frame: the values as drawn (0..1) times 255.
    bytes: Vec<u8>,
    /// Each frame's loudness in dB, from the exact values.
    loudness_db: Vec<f64>,
}

impl Spectra {
    /// The loudness as a lane over the timeline from frame 0.
    fn loudness_lane(&self) -> Lane {
        let num_frames = self.frame_ranges.last().map_or(0, |range| range[1] + 1);
        let mut values = vec![None; num_frames as usize];
        let frames = self
            .frame_ranges
            .iter()
            .flat_map(|&[first, last]| first..=last);
        for (frame_idx, &level_db) in frames.zip(&self.loudness_db) {
            values[frame_idx as usize] = Some(level_db);
        }
        Lane {
            name: "loudness dB".to_owned(),
            values,
        }
    }
}

/// Reads the folder's `spectrum.csv`.
fn read_spectra(folder: &OutputFolder) -> Result<Spectra, FolderError> {
    let scale = DbScale::of_folder(folder);
    let num_bins = folder.bin_freqs_hz().len();
    let preset = folder.analysis().preset;
    let mut spectra = Spectra {
        frame_ranges: Vec::new(),
        num_bins,
        bytes: Vec::new(),
        loudness_db: Vec::new(),
    };
    let mut unit = vec![0.0; num_bins];
    let mut levels_db = vec![0.0; num_bins];
    folder.for_each_row(|frame_idx, values| -> Result<(), FolderError> {
        match spectra.frame_ranges.last_mut() {
            Some(range) if range[1] + 1 == frame_idx => range[1] = frame_idx,
            _ => spectra.frame_ranges.push([frame_idx, frame_idx]),
        }
        unit_values(preset, values, &mut unit);
        spectra.bytes.extend(
            unit.iter()
                .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8),
        );
        // The loudness lane: the power mean of the bins on the manifest's dB scale.
        scale.row_to_db(values, &mut levels_db);
        spectra
            .loudness_db
            .push(f64::from(power_mean_db(&levels_db)));
        Ok(())
    })?;
    Ok(spectra)
}

/// The columns of the folder's `schedule.csv` as lanes over the timeline; `None` when there is
/// none.
fn schedule_lanes(folder: &OutputFolder) -> Result<Option<Vec<Lane>>, FormatError> {
    let Some(table) = schedule::read_for_render(&folder.dir, &folder.manifest)? else {
        return Ok(None);
    };
    let lanes = table
        .names
        .iter()
        .enumerate()
        .map(|(column, name)| {
            let mut values = Vec::new();
            for (frame_idx, value) in table.rows(column) {
                // Frames lie within the render's timeline: the reader refuses any beyond it.
                values.resize(frame_idx as usize, None);
                values.push(Some(value));
            }
            Lane {
                name: name.clone(),
                values,
            }
        })
        .collect();
    Ok(Some(lanes))
}

/// A lane quantized to 16 bits over its own range.
fn lane_data(lane: &Lane, num_frames: u64) -> LaneData {
    let (min, max) = lane
        .values
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(min, max), &v| {
            (min.min(v), max.max(v))
        });
    let (min, max) = if min.is_finite() {
        (min, max)
    } else {
        (0.0, 0.0)
    };
    let span = max - min;
    let mut bytes = Vec::with_capacity(num_frames as usize * 2);
    for frame_idx in 0..num_frames as usize {
        let code = match lane.values.get(frame_idx).copied().flatten() {
            Some(v) if span > 0.0 => ((v - min) / span * f64::from(NO_VALUE - 1)).round() as u16,
            Some(_) => 0,
            None => NO_VALUE,
        };
        bytes.extend_from_slice(&code.to_le_bytes());
    }
    LaneData {
        name: lane.name.clone(),
        min,
        max,
        values: base64(&bytes),
    }
}

/// `audio`'s path from `dir`, as a URL path (`../song.flac`, `demo.wav`), or `None` when one
/// cannot be made (another drive).
fn relative_url(dir: &Path, audio: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let audio = audio.canonicalize().ok()?;
    let dir_parts: Vec<Component> = dir.components().collect();
    let audio_parts: Vec<Component> = audio.components().collect();
    let common = dir_parts
        .iter()
        .zip(&audio_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return None;
    }
    let mut parts: Vec<String> = vec!["..".to_owned(); dir_parts.len() - common];
    parts.extend(
        audio_parts[common..]
            .iter()
            .map(|part| percent_encode(&part.as_os_str().to_string_lossy())),
    );
    Some(parts.join("/"))
}

/// A path segment with everything but unreserved characters percent-encoded.
fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Standard base64 with padding (what the page's `atob` reads).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// A page written from the template is recognised as ours, so it can be rewritten.
    #[test]
    fn template_carries_the_mark() {
        assert!(TEMPLATE.contains(page::PAGE_MARK));
    }

    /// The RFC 4648 test vectors.
    #[test]
    fn base64_matches_rfc_4648() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (text, encoded) in cases {
            assert_eq!(base64(text.as_bytes()), encoded);
        }
    }

    /// A song beside the output folder is reached from the page as `../song.flac`, spaces encoded.
    #[test]
    fn relative_url_climbs_to_the_audio() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out").join("my song");
        fs::create_dir_all(&out).unwrap();
        let audio = dir.path().join("my song.flac");
        fs::write(&audio, b"").unwrap();
        assert_eq!(
            relative_url(&out, &audio).as_deref(),
            Some("../../my%20song.flac")
        );
        let inside = out.join("demo.wav");
        fs::write(&inside, b"").unwrap();
        assert_eq!(relative_url(&out, &inside).as_deref(), Some("demo.wav"));
    }
}
