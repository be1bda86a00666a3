//! Any thread: `manifest.json`, the record of what made a folder of frames (DESIGN.md §7).
//!
//! One typed [`Manifest`] is written by every writer (the CLI's renders, the plugin's takes,
//! `compose`) and read by every command. Tools downstream (a ComfyUI workflow, a Deforum schedule
//! script, Parseq) read it to learn the frame rate as an exact fraction, the frame range and the
//! bins' frequencies without guessing.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{FormatError, MAX_FRAMES, read_bounded, write_atomically};
use crate::analysis::{AnalysisSettings, MAX_BINS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use crate::clock::FrameRate;
use crate::render::{ColorType, RenderSettings};
use crate::take::PositionSource;

pub const MANIFEST_NAME: &str = "manifest.json";
/// Bumped whenever a field changes meaning or disappears; new fields do not bump it.
pub const FORMAT_VERSION: u32 = 1;
/// A manifest lists every take and warning of a folder; a few MB is thousands of takes.
const MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// The widest or tallest frame a folder may hold: a grid of lanes ([`Layout::Grid`]) is wider
/// than any one render.
const MAX_FRAME_SIDE: u32 = 1 << 14;

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub tool: Tool,
    pub source: Source,
    /// The source's audio as a path: relative to the folder when it lies inside it or beside it
    /// (`demo.wav`, `../song.flac`), else absolute, so `video` and the page find it from any
    /// working directory. Absent when there is no file (a host's bounce, a composite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<PathBuf>,
    /// How a composite's lanes make a frame (`compose`); absent for a render or a take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<Layout>,
    pub sample_rate: u32,
    pub fps: Fps,
    /// The analysis that wrote `spectrum.csv`; `None` for a composite, which has no spectrum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    /// Each bin's centre frequency, in the CSV's column order; empty for a composite.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bin_freqs_hz: Vec<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<Csv>,
    /// `None` for a CSV-only job.
    pub frames: Option<Frames>,
    pub first_frame: Option<u64>,
    pub last_frame: Option<u64>,
    /// Every frame in the folder as inclusive `[first, last]` runs, ascending, so a reader (and
    /// a resumed render) knows exactly which frames exist, gaps included.
    #[serde(default)]
    pub frame_ranges: Vec<[u64; 2]>,
    /// Distinct frames in the folder (a frame recorded twice counts once).
    pub frames_written: u64,
    /// The frames an interrupted render would have made (the file's length at the frame rate),
    /// when it knew; absent once it is complete, and for takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_expected: Option<u64>,
    /// `false` while a render is under way and after one was interrupted (`render --resume`
    /// finishes it); `true` once the job's last take ended. Absent before it existed, when only
    /// finished renders wrote a manifest.
    #[serde(default = "is_true")]
    pub complete: bool,
    #[serde(default)]
    pub frames_dropped: u64,
    #[serde(default)]
    pub takes: Vec<TakeRecord>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// A plugin's folder: what the host told about its beat grid (`transport.csv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<TransportSummary>,
}

fn is_true() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    /// This build.
    pub fn ours() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// What the audio came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    /// An audio file, its path as it was given to `render`.
    File { path: PathBuf },
    /// The CLI's built-in demo track.
    Demo,
    /// A DAW bounce or live recording through the plugin.
    Host { host: String, track: String },
    /// Lanes combined by `compose`: a plugin session's, or folders the CLI rendered.
    Composite {
        /// The session folder; `None` for folders given as lanes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<PathBuf>,
        /// The lanes used, in channel or tile order: a session's lane names, or the folders as
        /// they were given.
        lanes: Vec<String>,
    },
}

/// The frame rate as the exact fraction and as the decimal video tools print.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fps {
    pub num: u32,
    pub den: u32,
    pub value: f64,
}

impl Fps {
    pub fn of(rate: FrameRate) -> Self {
        Self {
            num: rate.num,
            den: rate.den,
            value: rate.as_f64(),
        }
    }

    pub fn rate(self) -> FrameRate {
        FrameRate::new(self.num, self.den)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    #[serde(flatten)]
    pub settings: AnalysisSettings,
    /// The FFT length actually used, in samples (`fft_size: null` means "chosen from the rate").
    pub fft_len: usize,
}

/// The layout of `spectrum.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum CsvFormat {
    /// A header `frame,time_s,<bin centre Hz>…`, then `frame,time,values…` rows.
    Full,
    /// The post's bare rows of values, for sketches written against it.
    Seed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Csv {
    pub path: String,
    pub format: CsvFormat,
}

/// The guide frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frames {
    /// ffmpeg's input pattern, relative to the folder.
    pub pattern: String,
    pub width: u32,
    pub height: u32,
    pub color: FrameColor,
    /// How they were drawn; `None` for a composite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render: Option<RenderSettings>,
}

/// A frame's pixels: 8-bit grey or 8-bit per channel RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameColor {
    Grey,
    Rgb,
}

impl From<ColorType> for FrameColor {
    fn from(color: ColorType) -> Self {
        match color {
            ColorType::Grey => Self::Grey,
            ColorType::Rgb => Self::Rgb,
        }
    }
}

/// How a composite's lanes make a frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Layout {
    /// Each channel carries one lane's grey values.
    Rgb {
        red: Option<String>,
        green: Option<String>,
        blue: Option<String>,
    },
    /// Lanes tiled row by row.
    Grid { columns: u32, rows: u32 },
}

/// One take's frame range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TakeRecord {
    pub first_frame: u64,
    pub last_frame: u64,
    pub frames: u64,
    pub frames_dropped: u64,
    pub position_source: PositionSource,
}

/// A tempo the host set from a frame on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TempoChange {
    pub frame: u64,
    pub tempo_bpm: f64,
}

/// The manifest's `transport` object: what the host told about the beat grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransportSummary {
    /// Whether the host gave a tempo for any frame.
    pub has_tempo: bool,
    /// Whether it gave a musical position (beats) for any frame.
    pub has_beats: bool,
    /// The tempo map: the first frame's tempo, then every frame where it changed.
    pub tempo_changes: Vec<TempoChange>,
    /// The first frame in which a bar starts.
    pub first_downbeat_frame: Option<u64>,
    /// Said when the host gave no beat grid: the musical columns are empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Whether a folder's `manifest.json` is ours.
#[derive(Debug)]
pub enum ManifestState {
    /// No `manifest.json`.
    Missing,
    /// A `manifest.json` of another tool, or not one at all; the reason says which.
    Foreign(FormatError),
    Ours(Box<Manifest>),
}

/// The manifest fields that must match for frames to be added to a folder: together they decide
/// every byte of a frame and of its CSV row. Named as in the file, for messages.
const SETTINGS_FIELDS: [&str; 9] = [
    "format_version",
    "tool",
    "source",
    "sample_rate",
    "fps",
    "analysis",
    "bin_freqs_hz",
    "csv",
    "frames",
];

impl Manifest {
    /// The frame rate.
    pub fn rate(&self) -> FrameRate {
        self.fps.rate()
    }

    /// Every listed frame, ascending.
    pub fn frame_indices(&self) -> impl Iterator<Item = u64> + '_ {
        self.frame_ranges
            .iter()
            .flat_map(|&[first, last]| first..=last)
    }

    /// One past the last frame: the timeline the frames cover, from frame 0.
    pub fn end_frame(&self) -> u64 {
        self.frame_ranges.last().map_or(0, |range| range[1] + 1)
    }

    /// Whether a CLI render made the folder (its frames are one job's, which may be unfinished),
    /// not a plugin's takes or a composite.
    pub fn is_render(&self) -> bool {
        matches!(self.source, Source::File { .. } | Source::Demo)
    }

    /// The first settings field in which `other` differs from this manifest, if any.
    pub fn differing_setting(&self, other: &Manifest) -> Option<&'static str> {
        let fields: [bool; 9] = [
            self.format_version == other.format_version,
            self.tool == other.tool,
            self.source == other.source,
            self.sample_rate == other.sample_rate,
            self.fps == other.fps,
            self.analysis == other.analysis,
            self.bin_freqs_hz == other.bin_freqs_hz,
            self.csv == other.csv,
            self.frames == other.frames,
        ];
        let field = SETTINGS_FIELDS
            .into_iter()
            .zip(fields)
            .find_map(|(name, is_same)| (!is_same).then_some(name))?;
        // Which part of the frames: each has its own option in the CLI.
        let frames_part = match (&self.frames, &other.frames) {
            (Some(ours), Some(theirs))
                if (ours.width, ours.height) != (theirs.width, theirs.height) =>
            {
                "frames.size"
            }
            (Some(ours), Some(theirs)) if ours.color != theirs.color => "frames.color",
            (Some(_), Some(_)) => "frames.render",
            _ => "frames",
        };
        Some(if field == "frames" {
            frames_part
        } else {
            field
        })
    }

    /// A short hash of everything that decides the spectra (source, rate, frame rate, analysis,
    /// bins, CSV layout): what a schedule made from `spectrum.csv` depends on.
    pub fn analysis_id(&self) -> String {
        let decisive = (
            &self.source,
            self.sample_rate,
            self.fps,
            &self.analysis,
            &self.bin_freqs_hz,
            &self.csv,
        );
        short_hash(&serde_json::to_vec(&decisive).expect("manifest fields serialize"))
    }

    /// A short hash of the look of the frames (size, colour, view, post chain).
    pub fn look_id(&self) -> String {
        short_hash(&serde_json::to_vec(&self.frames).expect("manifest fields serialize"))
    }

    /// This manifest listing no frames, takes or warnings (a folder cleared beside the user's
    /// files stays ours).
    pub fn emptied(&self) -> Manifest {
        Manifest {
            first_frame: None,
            last_frame: None,
            frame_ranges: Vec::new(),
            frames_written: 0,
            frames_expected: None,
            complete: true,
            frames_dropped: 0,
            takes: Vec::new(),
            warnings: Vec::new(),
            transport: None,
            ..self.clone()
        }
    }

    /// Reads `<dir>/manifest.json`: missing, not ours, or ours and checked ([`Self::check`]).
    /// A manifest of ours that says something impossible is an error.
    pub fn read(dir: &Path) -> Result<ManifestState, FormatError> {
        let path = dir.join(MANIFEST_NAME);
        let Some(bytes) = read_bounded(&path, MAX_MANIFEST_BYTES)? else {
            return Ok(ManifestState::Missing);
        };
        #[derive(Deserialize)]
        struct Probe {
            tool: Option<ToolProbe>,
        }
        #[derive(Deserialize)]
        struct ToolProbe {
            name: Option<String>,
        }
        let probe = match serde_json::from_slice::<Probe>(&bytes) {
            Ok(probe) => probe,
            Err(error) => return Ok(ManifestState::Foreign(json_error(&path, &error))),
        };
        if probe.tool.and_then(|tool| tool.name).as_deref() != Some(env!("CARGO_PKG_NAME")) {
            let reason = "not written by spectral-diffusion";
            return Ok(ManifestState::Foreign(FormatError::invalid(&path, reason)));
        }
        let mut manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|error| json_error(&path, &error))?;
        if manifest.frame_ranges.is_empty()
            && let (Some(first), Some(last)) = (manifest.first_frame, manifest.last_frame)
        {
            // Written before `frame_ranges` existed: the frames were `first..=last`.
            manifest.frame_ranges = vec![[first, last]];
        }
        manifest
            .check()
            .map_err(|reason| FormatError::invalid(&path, reason))?;
        Ok(ManifestState::Ours(Box::new(manifest)))
    }

    /// Reads `<dir>/manifest.json`, which must be ours.
    pub fn read_ours(dir: &Path) -> Result<Manifest, FormatError> {
        match Self::read(dir)? {
            ManifestState::Ours(manifest) => Ok(*manifest),
            ManifestState::Missing => Err(FormatError::invalid(
                dir,
                "has no manifest.json of spectral-diffusion: give a folder that `render` or the \
                 plugin wrote",
            )),
            ManifestState::Foreign(error) => Err(error),
        }
    }

    /// Everything a reader relies on: the numbers are rates, sizes and frames a folder can hold,
    /// so that nothing read from the file sizes an allocation past them.
    fn check(&self) -> Result<(), String> {
        let Fps { num, den, .. } = self.fps;
        if num == 0 || den == 0 || u64::from(num) > 1_000 * u64::from(den) {
            return Err(format!("fps: {num}/{den} is not a frame rate"));
        }
        if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&self.sample_rate) {
            return Err(format!(
                "sample_rate: {} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE}",
                self.sample_rate
            ));
        }
        let mut next_free = 0u64;
        for &[first, last] in &self.frame_ranges {
            if first > last || last >= MAX_FRAMES {
                return Err(format!(
                    "frame_ranges: [{first}, {last}] is no range of frames a folder holds (at \
                     most {MAX_FRAMES})"
                ));
            }
            if first < next_free {
                return Err(format!(
                    "frame_ranges: [{first}, {last}] is out of order or overlaps the one before"
                ));
            }
            next_free = last + 1;
        }
        if let Some(analysis) = &self.analysis {
            let num_bins = analysis.settings.num_bins;
            if num_bins != self.bin_freqs_hz.len() || !(1..=MAX_BINS).contains(&num_bins) {
                return Err(format!(
                    "bin_freqs_hz: {} frequencies for {num_bins} bins",
                    self.bin_freqs_hz.len()
                ));
            }
        }
        if let Some(frames) = &self.frames {
            for (name, side) in [("width", frames.width), ("height", frames.height)] {
                if !(1..=MAX_FRAME_SIDE).contains(&side) {
                    return Err(format!("frames.{name}: {side} pixels is no frame size"));
                }
            }
        }
        Ok(())
    }

    /// Writes `<dir>/manifest.json`.
    pub fn write(&self, dir: &Path) -> Result<(), FormatError> {
        write_atomically(&dir.join(MANIFEST_NAME), |file| {
            serde_json::to_writer_pretty(&mut *file, self)?;
            file.write_all(b"\n")
        })
    }
}

/// `frame_ranges` of ascending frames: runs of consecutive ones.
pub fn frame_ranges(frames: impl IntoIterator<Item = u64>) -> Vec<[u64; 2]> {
    let mut ranges: Vec<[u64; 2]> = Vec::new();
    for frame_idx in frames {
        match ranges.last_mut() {
            Some(range) if range[1] + 1 == frame_idx => range[1] = frame_idx,
            _ => ranges.push([frame_idx, frame_idx]),
        }
    }
    ranges
}

/// A JSON parse error as one line: where, and what serde_json says without its position.
fn json_error(path: &Path, error: &serde_json::Error) -> FormatError {
    let message = error.to_string();
    let what = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(what, _)| what);
    FormatError::Line {
        path: path.to_owned(),
        line: error.line(),
        reason: format!("not a manifest: {what}"),
    }
}

/// The first 16 hex digits of the SHA-256 of `bytes`.
fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
