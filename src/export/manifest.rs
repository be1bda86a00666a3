//! Writer thread / CLI: `manifest.json`, the record of what made a folder of frames.
//!
//! Tools downstream (a ComfyUI workflow, a Deforum schedule script, Parseq) read it to learn the
//! frame rate as an exact fraction, the frame range and the bins' frequencies without guessing.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    DEMO_AUDIO_NAME, ExportError, ExportSettings, JobInfo, Source, TakeRecord, TransportSummary,
};
use crate::analysis::AnalysisSettings;
use crate::render::{ColorType, RenderSettings};

/// Bumped whenever a field changes meaning or disappears; new fields do not bump it.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Manifest<'a> {
    pub format_version: u32,
    pub tool: Tool,
    pub source: &'a Source,
    /// The source's audio as a file in this folder, named relative to it: `demo.wav` for the
    /// demo, which the CLI saves beside its frames for `video` and the preview page. Absent when
    /// the audio is elsewhere (a file's `source.path`, a host's bounce).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<&'static str>,
    pub sample_rate: u32,
    pub fps: Fps,
    pub analysis: Analysis<'a>,
    pub bin_freqs_hz: &'a [f32],
    pub csv: Csv,
    /// `None` for a CSV-only job.
    pub frames: Option<Frames<'a>>,
    pub first_frame: Option<u64>,
    pub last_frame: Option<u64>,
    /// Every frame in the folder as inclusive `[first, last]` runs, so a reader (and a resumed
    /// render) knows exactly which frames exist, gaps included.
    pub frame_ranges: Vec<[u64; 2]>,
    /// Distinct frames in the folder (a frame recorded twice counts once).
    pub frames_written: u64,
    /// `false` while a render is under way and after one was interrupted (`render --resume`
    /// finishes it); `true` once the job's last take ended.
    pub complete: bool,
    pub frames_dropped: u64,
    pub takes: &'a [TakeRecord],
    pub warnings: &'a [String],
    /// A plugin's folder: what the host told about its beat grid (`transport.csv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<&'a TransportSummary>,
}

#[derive(Debug, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

/// The frame rate as the exact fraction and as the decimal video tools print.
#[derive(Debug, Serialize)]
pub struct Fps {
    pub num: u32,
    pub den: u32,
    pub value: f64,
}

#[derive(Debug, Serialize)]
pub struct Analysis<'a> {
    #[serde(flatten)]
    pub settings: &'a AnalysisSettings,
    /// The FFT length actually used, in samples (`fft_size: null` means "chosen from the rate").
    pub fft_len: usize,
}

#[derive(Debug, Serialize)]
pub struct Csv {
    pub path: &'static str,
    pub format: super::CsvFormat,
}

#[derive(Debug, Serialize)]
pub struct Frames<'a> {
    /// ffmpeg's input pattern, relative to the folder.
    pub pattern: &'static str,
    pub width: u32,
    pub height: u32,
    /// `grey` (8-bit) or `rgb` (8-bit per channel).
    pub color: &'static str,
    pub render: &'a RenderSettings,
}

/// The counts and lists of a folder, besides the job that made it.
pub struct FolderContents<'a> {
    pub frame_ranges: Vec<[u64; 2]>,
    pub frames_written: u64,
    pub is_complete: bool,
    pub takes: &'a [TakeRecord],
    pub warnings: &'a [String],
    pub transport: Option<&'a TransportSummary>,
}

impl<'a> Manifest<'a> {
    pub fn new(settings: &ExportSettings, job: &'a JobInfo, contents: FolderContents<'a>) -> Self {
        let color = match job.render.color_type() {
            ColorType::Grey => "grey",
            ColorType::Rgb => "rgb",
        };
        Self {
            format_version: FORMAT_VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            source: &job.source,
            audio: matches!(job.source, Source::Demo).then_some(DEMO_AUDIO_NAME),
            sample_rate: job.sample_rate,
            fps: Fps {
                num: job.fps.num,
                den: job.fps.den,
                value: job.fps.as_f64(),
            },
            analysis: Analysis {
                settings: &job.analysis,
                fft_len: job.analysis.fft_len(job.sample_rate),
            },
            bin_freqs_hz: &job.bin_freqs_hz,
            csv: Csv {
                path: "spectrum.csv",
                format: settings.csv,
            },
            frames: settings.write_images.then_some(Frames {
                pattern: "frames/%06d.png",
                width: job.render.size,
                height: job.render.size,
                color,
                render: &job.render,
            }),
            first_frame: contents.frame_ranges.first().map(|range| range[0]),
            last_frame: contents.frame_ranges.last().map(|range| range[1]),
            frame_ranges: contents.frame_ranges,
            frames_written: contents.frames_written,
            complete: contents.is_complete,
            frames_dropped: contents.takes.iter().map(|take| take.frames_dropped).sum(),
            takes: contents.takes,
            warnings: contents.warnings,
            transport: contents.transport,
        }
    }

    /// The fields that decide a frame's bytes, as they read back from the file (floats go through
    /// text, so compare text with text).
    fn settings_value(&self) -> Value {
        let text = serde_json::to_string(self).expect("a manifest always serializes");
        serde_json::from_str(&text).expect("serde_json reads what it wrote")
    }
}

/// The manifest fields that must match for frames to be added to a folder: together they decide
/// every byte of a frame and of its CSV row.
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

/// A `manifest.json` of ours, read back from a folder.
#[derive(Debug)]
pub struct ManifestOnDisk {
    /// The whole file, for comparing settings.
    value: Value,
    pub contents: ContentsOnDisk,
}

/// What a manifest says the folder holds.
#[derive(Debug, Deserialize)]
pub struct ContentsOnDisk {
    /// Absent before `frame_ranges` existed: then the frames were `first_frame..=last_frame`.
    #[serde(default)]
    pub frame_ranges: Option<Vec<[u64; 2]>>,
    pub first_frame: Option<u64>,
    pub last_frame: Option<u64>,
    /// Absent before `complete` existed, when only finished renders wrote a manifest.
    #[serde(default = "is_true")]
    pub complete: bool,
    pub takes: Vec<TakeRecord>,
    pub warnings: Vec<String>,
}

fn is_true() -> bool {
    true
}

impl ManifestOnDisk {
    /// Reads `path`; `Ok(None)` when it is missing or is not a manifest of ours (another tool's
    /// `manifest.json`, or not JSON at all).
    pub fn read(path: &Path) -> Result<Option<Self>, ExportError> {
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ExportError::io(path, source)),
        };
        let Ok(value) = serde_json::from_slice::<Value>(&text) else {
            return Ok(None);
        };
        if value["tool"]["name"] != env!("CARGO_PKG_NAME") {
            return Ok(None);
        }
        let contents =
            ContentsOnDisk::deserialize(&value).map_err(|error| ExportError::Unreadable {
                path: path.to_owned(),
                reason: error.to_string(),
            })?;
        Ok(Some(Self { value, contents }))
    }

    /// This manifest listing no frames, takes or warnings, as JSON.
    pub fn emptied(&self) -> Vec<u8> {
        let mut value = self.value.clone();
        for (field, empty) in [
            ("frame_ranges", Value::Array(Vec::new())),
            ("first_frame", Value::Null),
            ("last_frame", Value::Null),
            ("frames_written", Value::from(0)),
            ("frames_dropped", Value::from(0)),
            ("complete", Value::Bool(true)),
            ("takes", Value::Array(Vec::new())),
            ("warnings", Value::Array(Vec::new())),
        ] {
            value[field] = empty;
        }
        if let Some(fields) = value.as_object_mut() {
            fields.remove("transport");
        }
        let mut json = serde_json::to_vec_pretty(&value).expect("a JSON value serializes");
        json.push(b'\n');
        json
    }

    /// The first settings field in which `manifest` differs from this one, if any.
    pub fn differing_field(&self, manifest: &Manifest) -> Option<&'static str> {
        let new = manifest.settings_value();
        SETTINGS_FIELDS
            .into_iter()
            .find(|&field| self.value[field] != new[field])
    }
}

impl ContentsOnDisk {
    /// Every frame the manifest lists, ascending.
    pub fn frame_indices(&self) -> Vec<u64> {
        match (&self.frame_ranges, self.first_frame, self.last_frame) {
            (Some(ranges), _, _) => ranges
                .iter()
                .flat_map(|&[first, last]| first..=last)
                .collect(),
            (None, Some(first), Some(last)) => (first..=last).collect(),
            _ => Vec::new(),
        }
    }
}
