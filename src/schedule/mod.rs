//! Any thread: pure. Keyframe schedules from a song's spectra (DESIGN.md §12).
//!
//! ```text
//! one frame's bins (dB) ─► lanes: band level / loudness / onset flux ─► one raw value per lane
//! a lane's raw values over the song ─► shaping: normalise, gate, attack/release, curve ─► 0..1
//! 0..1 ─► a lane's or a target's range (and invert) ─► emitters: Deforum, AnimateDiff,
//!                                                      Comfyroll, Parseq, CSV
//! ```
//! [`lanes`] says what a lane follows and measures it frame by frame, [`host`] reads the lanes a
//! plugin take recorded beside its spectra (beats, MIDI, macros), [`shaping`] turns a lane's
//! levels into a 0..1 curve, [`onsets`] finds hits, [`emit`] writes each consumer's grammar and
//! [`parseq`] Parseq's frames under the names Deforum reads.
//! Reading folders and audio is the CLI's job (`cli::schedule`); everything here is data in,
//! data out.

pub mod emit;
pub mod host;
pub mod lanes;
pub mod onsets;
pub mod parseq;
pub mod shaping;

use serde::Deserialize;

use crate::analysis::{AnalysisSettings, Preset, WindowPlacement};
use crate::clock::{FrameClock, FrameRate};
use crate::export::format::folder::OutputFolder;
pub use lanes::{Lane, LaneConfig, LaneSet, LaneSource, RowMeter};
pub use shaping::{Curve, OutputRange, Shaping};

/// A lane or target that cannot be built. The messages are shown to users as they are.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    #[error("lane {spec:?}: {reason}")]
    BadLane { spec: String, reason: String },
    #[error("target {spec:?}: {reason}")]
    BadTarget { spec: String, reason: String },
    #[error("lane {0:?} is named twice")]
    DuplicateLane(String),
    #[error("target {0:?} is named twice")]
    DuplicateTarget(String),
    #[error("target {target:?} follows lane {lane:?}, which does not exist")]
    UnknownLane { target: String, lane: String },
    #[error(
        "lane {lane:?}: the band {lo_hz}-{hi_hz} Hz is outside the analysed range \
         {min_hz:.1}-{max_hz:.1} Hz"
    )]
    BandOutsideRange {
        lane: String,
        lo_hz: f32,
        hi_hz: f32,
        min_hz: f32,
        max_hz: f32,
    },
    #[error(
        "no lanes: add --lane NAME=SOURCE (one of {}), or --config FILE",
        lanes::SOURCES
    )]
    NoLanes,
    #[error("schedules {first:?} and {second:?} would both write Parseq's {key:?}: keep one")]
    SameParseqField {
        first: String,
        second: String,
        key: String,
    },
}

/// How a CSV value maps to dB, as the analysis that wrote it defines it (DESIGN.md §4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DbScale {
    /// `default`: 0..1 over `floor_db..0` dB, so `db = floor_db * (1 - value)`.
    Unit { floor_db: f32 },
    /// `seed`: the post's raw `|rfft|` of half-scaled samples over a chunk; a full-scale sine
    /// reads `full_scale`, and levels below `floor_db` read as the floor.
    Magnitude { full_scale: f32, floor_db: f32 },
}

impl DbScale {
    /// The scale of `analysis`'s values at `sample_rate` and `fps`.
    pub fn for_analysis(analysis: &AnalysisSettings, sample_rate: u32, fps: FrameRate) -> Self {
        match analysis.preset {
            Preset::Default => Self::Unit {
                floor_db: analysis.floor_db,
            },
            Preset::Seed => {
                // A sine of amplitude A over a rectangular chunk of L samples peaks at A * L / 2;
                // the post halves the samples first, so full scale reads L / 4.
                let placement = WindowPlacement::FrameStart {
                    max_len: analysis.fft_len(sample_rate),
                };
                let chunk_len = FrameClock::new(fps, sample_rate, placement).max_window_len();
                Self::Magnitude {
                    full_scale: chunk_len as f32 / 4.0,
                    floor_db: analysis.floor_db,
                }
            }
        }
    }

    /// The scale of the values in `folder`'s `spectrum.csv`.
    pub fn of_folder(folder: &OutputFolder) -> Self {
        Self::for_analysis(&folder.analysis(), folder.sample_rate(), folder.fps())
    }

    /// The level that stands for silence.
    pub fn floor_db(self) -> f32 {
        match self {
            Self::Unit { floor_db } | Self::Magnitude { floor_db, .. } => floor_db,
        }
    }

    /// A row of values in dB, into `out`, never below the floor. The scale is matched once per
    /// row, not per value: per value, the compiler evaluated `log10` for both scales, and the
    /// `default` preset's zeros took libm's slow error path (a fifth of `schedule`'s time over an
    /// hour's CSV).
    pub fn row_to_db(self, values: &[f32], out: &mut [f32]) {
        let pairs = out.iter_mut().zip(values);
        match self {
            Self::Unit { floor_db } => {
                for (db, &value) in pairs {
                    *db = floor_db * (1.0 - value.clamp(0.0, 1.0));
                }
            }
            Self::Magnitude {
                full_scale,
                floor_db,
            } => {
                for (db, &value) in pairs {
                    *db = (20.0 * (value / full_scale).log10()).max(floor_db);
                }
            }
        }
    }
}

/// A schedule for one consumer field: which lane it follows and the range it spans.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// The consumer's field, e.g. `strength_schedule`.
    pub name: String,
    pub lane: String,
    #[serde(default)]
    pub min: Option<f32>,
    #[serde(default)]
    pub max: Option<f32>,
    #[serde(default)]
    pub invert: Option<bool>,
}

/// A target with its lane resolved to an index into the lane set.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub name: String,
    pub lane_idx: usize,
    pub range: OutputRange,
}

/// Seconds per frame at `fps`: the clock of attack, release and the onsets' gap.
pub fn frame_period_s(fps: FrameRate) -> f64 {
    f64::from(fps.den) / f64::from(fps.num)
}

/// Every lane's 0..1 curve from its raw values: levels are normalised and gated (`floors_db`:
/// each lane's analysis floor), onset flux becomes pulses, host values are 0..1 already; then
/// attack/release and the curve (see [`shaping`] and [`onsets`]).
pub fn unit_curves(
    set: &LaneSet,
    raw: Vec<Vec<f32>>,
    floors_db: &[f32],
    frame_s: f64,
) -> Vec<Vec<f32>> {
    set.lanes
        .iter()
        .zip(raw)
        .zip(floors_db)
        .map(|((lane, mut values), &floor_db)| {
            match lane.source {
                LaneSource::Onsets {
                    threshold_db,
                    gap_ms,
                    ..
                } => {
                    let gap_frames = onsets::gap_frames(gap_ms, frame_s);
                    values = onsets::detect(&values, threshold_db, gap_frames);
                }
                LaneSource::Host(_) => {}
                LaneSource::Band(_) | LaneSource::Loudness => {
                    lane.shaping.normalize_levels(&mut values, floor_db);
                }
            }
            lane.shaping.smooth_and_bend(&mut values, frame_s);
            values
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analyzer;

    /// A full-scale sine on a bin's centre reads about 0 dB through either preset's values, and
    /// silence the floor.
    #[test]
    fn full_scale_sine_reads_zero_db_in_both_presets() {
        let sample_rate = 48_000;
        let fps = FrameRate::FPS_24;
        for settings in [AnalysisSettings::default(), AnalysisSettings::seed()] {
            let mut analyzer = Analyzer::new(&settings, sample_rate).unwrap();
            let freq_hz = f64::from(analyzer.bin_map().centre_freqs_hz[128]);
            let clock = FrameClock::new(fps, sample_rate, analyzer.placement());
            let samples: Vec<f32> = (0..clock.max_window_len())
                .map(|n| (2.0 * std::f64::consts::PI * freq_hz * n as f64 / 48_000.0).sin() as f32)
                .collect();
            let mut bins = vec![0.0; analyzer.num_bins()];
            analyzer.analyze(&samples, &mut bins);
            let scale = DbScale::for_analysis(&settings, sample_rate, fps);
            let mut bins_db = vec![0.0; bins.len()];
            scale.row_to_db(&bins, &mut bins_db);
            let peak_db = bins_db.iter().copied().fold(f32::MIN, f32::max);
            assert!(peak_db.abs() < 1.0, "{:?}: {peak_db} dB", settings.preset);
            let mut silence_db = [0.0];
            scale.row_to_db(&[0.0], &mut silence_db);
            assert_eq!(silence_db[0], settings.floor_db);
        }
    }
}
