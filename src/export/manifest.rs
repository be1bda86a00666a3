//! Writer thread / CLI: `manifest.json`, the record of what made a folder of frames.
//!
//! Tools downstream (a ComfyUI workflow, a Deforum schedule script, Parseq) read it to learn the
//! frame rate as an exact fraction, the frame range and the bins' frequencies without guessing.

use serde::Serialize;

use super::{ExportSettings, JobInfo, Source, TakeRecord};
use crate::analysis::AnalysisSettings;
use crate::render::{ColorType, RenderSettings};

/// Bumped whenever a field changes meaning or disappears; new fields do not bump it.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Manifest<'a> {
    pub format_version: u32,
    pub tool: Tool,
    pub source: &'a Source,
    pub sample_rate: u32,
    pub fps: Fps,
    pub analysis: Analysis<'a>,
    pub bin_freqs_hz: &'a [f32],
    pub csv: Csv,
    /// `None` for a CSV-only job.
    pub frames: Option<Frames<'a>>,
    pub first_frame: Option<u64>,
    pub last_frame: Option<u64>,
    /// Distinct frames in the folder (a frame recorded twice counts once).
    pub frames_written: u64,
    pub frames_dropped: u64,
    pub takes: &'a [TakeRecord],
    pub warnings: &'a [String],
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

impl<'a> Manifest<'a> {
    pub fn new(
        settings: &ExportSettings,
        job: &'a JobInfo,
        frame_range: Option<(u64, u64)>,
        frames_written: u64,
        takes: &'a [TakeRecord],
        warnings: &'a [String],
    ) -> Self {
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
            first_frame: frame_range.map(|(first, _)| first),
            last_frame: frame_range.map(|(_, last)| last),
            frames_written,
            frames_dropped: takes.iter().map(|take| take.frames_dropped).sum(),
            takes,
            warnings,
        }
    }
}
