//! Any thread: pure. Lanes: what a schedule follows, and its raw value for each frame.
//!
//! A lane is named and follows one source:
//! - a band `LO-HI` (Hz): the mean of the band's bins in dB;
//! - `loudness`: the power mean of every bin, in dB (dominated by the loudest bins, as the ear is);
//! - `onsets:LO-HI`: hits in the band, found from its spectral flux (see [`super::onsets`]); its
//!   `gate_db` (default -60 dB) is the band level a hit must reach;
//! - from a plugin take's own tables (see [`super::host`]): `beats`, `beats:N`, `bars`, `bars:N`
//!   (a pulse on the frame that holds the beat), `note:N` / `note:LO-HI` (velocity while held),
//!   `cc:N` and `macro:N` (their value).
//!
//! In a session folder, a source names the session lane (a track's folder) it is measured in:
//! `Drums/onsets:30-120`, `Keys/note:48-72`. The host's beat grid is the same in every lane, so
//! beat and bar lanes may leave it out.
//!
//! On the command line a lane is `NAME=SOURCE[,key=value…]`; in a config file, a `[[lane]]`
//! table with `name`, `source` and the same keys. Both go through [`LaneConfig`], so the keys and
//! their checks are written once.

use std::collections::HashSet;
use std::ops::Range;

use serde::Deserialize;

use super::host::{BeatUnit, HostSource};
use super::shaping::{Curve, OutputRange, Shaping};
use super::{ScheduleError, Target, TargetConfig};

/// Onset defaults: a rise of 6 dB per bin, at most one hit per 100 ms.
const DEFAULT_THRESHOLD_DB: f32 = 6.0;
const DEFAULT_GAP_MS: f32 = 100.0;
/// An onset pulse falls back over 150 ms unless told otherwise, so a hit is visible for a few frames.
const DEFAULT_ONSET_RELEASE_MS: f32 = 150.0;
/// Onsets fire only where the band is louder than this, so the flicker of near-silent bins (a
/// decayed tail, leakage, dither) is no hit.
const DEFAULT_ONSET_GATE_DB: f32 = -60.0;

/// Every kind of lane source, as a lane error lists them.
pub const SOURCES: &str = "LO-HI (a band in Hz, e.g. 30-120), loudness, onsets:LO-HI, beats[:N], \
                           bars[:N], note:N[-M], cc:N, macro:N";

/// One lane as written by the user, before checking. Every key but `name` and `source` is optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaneConfig {
    pub name: String,
    /// `[STEM/]SOURCE`: `LO-HI` (Hz), `loudness`, `onsets:LO-HI`, `beats[:N]`, `bars[:N]`,
    /// `note:N[-M]`, `cc:N` or `macro:N`.
    pub source: String,
    pub attack_ms: Option<f32>,
    pub release_ms: Option<f32>,
    pub gate_db: Option<f32>,
    pub curve: Option<Curve>,
    pub normalize: Option<bool>,
    pub min: Option<f32>,
    pub max: Option<f32>,
    pub invert: Option<bool>,
    pub threshold_db: Option<f32>,
    pub gap_ms: Option<f32>,
}

/// A frequency band, `lo_hz..=hi_hz`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub lo_hz: f32,
    pub hi_hz: f32,
}

/// What a lane follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LaneSource {
    Band(Band),
    Loudness,
    /// Hits in the band: a rise of at least `threshold_db` (mean over the band's bins), at most
    /// one per `gap_ms`.
    Onsets {
        band: Band,
        threshold_db: f32,
        gap_ms: f32,
    },
    /// Values the plugin recorded beside the spectrum: the host's beat grid, MIDI, macros.
    Host(HostSource),
}

impl LaneSource {
    /// Measured in a folder's spectrum (as opposed to its host tables).
    pub fn is_spectral(self) -> bool {
        !matches!(self, Self::Host(_))
    }

    /// 0-or-1 pulses, which skip normalisation and gating and fall back over a release.
    fn is_pulse(self) -> bool {
        matches!(
            self,
            Self::Onsets { .. } | Self::Host(HostSource::Beats { .. })
        )
    }
}

/// A checked lane.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub name: String,
    /// The session lane (a track's folder under the session) it is measured in; `None` for the
    /// folder or audio given.
    pub stem: Option<String>,
    pub source: LaneSource,
    pub shaping: Shaping,
}

/// `key=value` items parsed for [`LaneConfig`] / [`TargetConfig`]: a bare key is `true`, a number
/// is a number, anything else a string. serde then checks names and types once for both forms.
fn spec_table(name_key: (&str, &str), items: &[&str], spec: &str) -> Result<toml::Table, String> {
    let mut table = toml::Table::new();
    table.insert(name_key.0.to_owned(), name_key.1.into());
    for item in items {
        let (key, value) = match item.split_once('=') {
            Some((key, value)) => (key.trim(), value_of(value.trim())),
            None => (item.trim(), toml::Value::Boolean(true)),
        };
        if table.insert(key.to_owned(), value).is_some() {
            return Err(format!("{key} is given twice in {spec:?}"));
        }
    }
    Ok(table)
}

fn value_of(text: &str) -> toml::Value {
    match text {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => text
            .parse::<f64>()
            .map_or_else(|_| text.into(), toml::Value::Float),
    }
}

/// serde's message for a bad key, e.g. "unknown field `atack_ms`, expected one of …", on one line.
fn serde_reason(error: toml::de::Error) -> String {
    error
        .message()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl LaneConfig {
    /// Parses `NAME=SOURCE[,key=value…]`, e.g. `kick=30-120,release_ms=200,invert`.
    pub fn parse(spec: &str) -> Result<Self, ScheduleError> {
        let bad = |reason: String| ScheduleError::BadLane {
            spec: spec.to_owned(),
            reason,
        };
        let mut items = spec.split(',');
        let head = items.next().unwrap_or_default();
        let (name, source) = head
            .split_once('=')
            .ok_or_else(|| bad(format!("expected NAME=SOURCE, the source one of {SOURCES}")))?;
        let mut table = spec_table(("source", source.trim()), &items.collect::<Vec<_>>(), spec)
            .map_err(&bad)?;
        table.insert("name".to_owned(), name.trim().into());
        toml::Value::Table(table)
            .try_into()
            .map_err(|error| bad(serde_reason(error)))
    }

    /// Checks every key and resolves the source.
    pub fn check(&self) -> Result<Lane, ScheduleError> {
        let bad = |reason: String| ScheduleError::BadLane {
            spec: self.name.clone(),
            reason,
        };
        check_name(&self.name).map_err(&bad)?;
        let (stem, source) = match self.source.trim().split_once('/') {
            Some((stem, source)) if !stem.trim().is_empty() => {
                (Some(stem.trim().to_owned()), source.trim())
            }
            Some(_) => return Err(bad("the session lane before / is empty".into())),
            None => (None, self.source.trim()),
        };
        let source = match source {
            "loudness" => LaneSource::Loudness,
            text => match text.split_once(':').unwrap_or((text, "")) {
                ("onsets", band) => LaneSource::Onsets {
                    band: parse_band(band).map_err(&bad)?,
                    threshold_db: self.threshold_db.unwrap_or(DEFAULT_THRESHOLD_DB),
                    gap_ms: self.gap_ms.unwrap_or(DEFAULT_GAP_MS),
                },
                (kind @ ("beats" | "bars" | "note" | "cc" | "macro"), arg) => {
                    LaneSource::Host(parse_host_source(kind, arg).map_err(&bad)?)
                }
                _ if !text.contains('-') => {
                    return Err(bad(format!(
                        "{text:?} is no lane source: expected one of {SOURCES}"
                    )));
                }
                _ => LaneSource::Band(parse_band(text).map_err(&bad)?),
            },
        };
        let is_onsets = matches!(source, LaneSource::Onsets { .. });
        if !is_onsets && (self.threshold_db.is_some() || self.gap_ms.is_some()) {
            return Err(bad(
                "threshold_db and gap_ms apply to onsets lanes only".into()
            ));
        }
        if !source.is_spectral() && (self.gate_db.is_some() || self.normalize.is_some()) {
            return Err(bad(
                "gate_db and normalize apply to lanes measured in the spectrum only".into(),
            ));
        }
        if let LaneSource::Onsets {
            threshold_db,
            gap_ms,
            ..
        } = source
        {
            check_non_negative("threshold_db", threshold_db).map_err(&bad)?;
            check_non_negative("gap_ms", gap_ms).map_err(&bad)?;
        }
        let default_release = if source.is_pulse() {
            DEFAULT_ONSET_RELEASE_MS
        } else {
            0.0
        };
        let default_gate = is_onsets.then_some(DEFAULT_ONSET_GATE_DB);
        let shaping = Shaping {
            attack_ms: self.attack_ms.unwrap_or(0.0),
            release_ms: self.release_ms.unwrap_or(default_release),
            gate_db: self.gate_db.or(default_gate),
            curve: self.curve.unwrap_or(Curve::Linear),
            should_normalize: self.normalize.unwrap_or(source.is_spectral()),
            range: OutputRange::new(self.min, self.max, self.invert).map_err(&bad)?,
        };
        check_non_negative("attack_ms", shaping.attack_ms).map_err(&bad)?;
        check_non_negative("release_ms", shaping.release_ms).map_err(&bad)?;
        if let Some(gate_db) = shaping.gate_db.filter(|gate| !gate.is_finite()) {
            return Err(bad(format!("gate_db {gate_db} is not a number")));
        }
        Ok(Lane {
            name: self.name.clone(),
            stem,
            source,
            shaping,
        })
    }
}

impl TargetConfig {
    /// Parses `NAME=LANE[,min=…,max=…,invert]`, e.g. `strength_schedule=kick,min=0.45,max=0.75`.
    pub fn parse(spec: &str) -> Result<Self, ScheduleError> {
        let bad = |reason: String| ScheduleError::BadTarget {
            spec: spec.to_owned(),
            reason,
        };
        let mut items = spec.split(',');
        let head = items.next().unwrap_or_default();
        let (name, lane) = head
            .split_once('=')
            .ok_or_else(|| bad("expected NAME=LANE, e.g. strength_schedule=kick".into()))?;
        let mut table =
            spec_table(("lane", lane.trim()), &items.collect::<Vec<_>>(), spec).map_err(&bad)?;
        table.insert("name".to_owned(), name.trim().into());
        toml::Value::Table(table)
            .try_into()
            .map_err(|error| bad(serde_reason(error)))
    }
}

/// Names become CSV columns, JSON keys and file comments: letters, digits, `_` and `-` only.
fn check_name(name: &str) -> Result<(), String> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    match name {
        "" => Err("the name is empty".into()),
        "frame" => Err("\"frame\" is the CSV's first column; choose another name".into()),
        _ if name.chars().all(is_word) => Ok(()),
        _ => Err(format!(
            "name {name:?} may hold only letters, digits, _ and -"
        )),
    }
}

fn check_non_negative(key: &str, value: f32) -> Result<(), String> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(format!("{key} {value} must be a number of 0 or more"))
    }
}

/// `30-120` → 30..=120 Hz.
fn parse_band(text: &str) -> Result<Band, String> {
    let bad = || format!("{text:?} is not a band: expected LO-HI in Hz, e.g. 30-120");
    let (lo, hi) = text.split_once('-').ok_or_else(bad)?;
    let (lo_hz, hi_hz): (f32, f32) = (
        lo.trim().parse().map_err(|_| bad())?,
        hi.trim().parse().map_err(|_| bad())?,
    );
    if !(lo_hz.is_finite() && hi_hz.is_finite() && lo_hz >= 0.0 && lo_hz < hi_hz) {
        return Err(format!(
            "band {text:?} must go from a lower to a higher frequency"
        ));
    }
    Ok(Band { lo_hz, hi_hz })
}

/// `beats`, `beats:4`, `bars:2`, `note:36`, `note:36-48`, `cc:1`, `macro:3`.
fn parse_host_source(kind: &str, arg: &str) -> Result<HostSource, String> {
    let number = |text: &str, range: std::ops::RangeInclusive<u32>, what: &str| {
        text.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                format!(
                    "{kind}:{arg}: {what} must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                )
            })
    };
    let every = |unit| -> Result<HostSource, String> {
        let every = if arg.is_empty() {
            1
        } else {
            number(arg, 1..=1024, "N")?
        };
        Ok(HostSource::Beats { unit, every })
    };
    let midi = |text: &str| number(text, 0..=127, "a MIDI number").map(|n| n as u8);
    match kind {
        "beats" => every(BeatUnit::Beat),
        "bars" => every(BeatUnit::Bar),
        "note" => {
            let (lo, hi) = match arg.split_once('-') {
                Some((lo, hi)) => (midi(lo)?, midi(hi)?),
                None => (midi(arg)?, midi(arg)?),
            };
            if lo > hi {
                return Err(format!("note:{arg}: the range must go from low to high"));
            }
            Ok(HostSource::Notes { lo, hi })
        }
        "cc" => Ok(HostSource::Cc(midi(arg)?)),
        _ => Ok(HostSource::Macro(number(arg, 1..=8, "the macro")? as u8)),
    }
}

/// Checked lanes and targets.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneSet {
    pub lanes: Vec<Lane>,
    /// The targets asked for: each a schedule, and a column of `schedule.csv` beside the lanes.
    pub targets: Vec<Target>,
}

impl LaneSet {
    /// Checks `lanes` and `targets`.
    pub fn new(lanes: &[LaneConfig], targets: &[TargetConfig]) -> Result<Self, ScheduleError> {
        if lanes.is_empty() {
            return Err(ScheduleError::NoLanes);
        }
        let lanes = lanes
            .iter()
            .map(LaneConfig::check)
            .collect::<Result<Vec<_>, _>>()?;
        let mut names = HashSet::new();
        if let Some(lane) = lanes.iter().find(|lane| !names.insert(lane.name.as_str())) {
            return Err(ScheduleError::DuplicateLane(lane.name.clone()));
        }
        let targets = check_targets(targets, &lanes)?;
        Ok(Self { lanes, targets })
    }

    /// The schedules to write: the targets, then every lane that no target follows, under its
    /// own name and in its own range; with `is_targets_only`, the targets alone.
    pub fn schedules(&self, is_targets_only: bool) -> Vec<Target> {
        let is_followed = |lane_idx: usize| self.targets.iter().any(|t| t.lane_idx == lane_idx);
        let own_schedules = self
            .lanes
            .iter()
            .enumerate()
            .filter(|&(lane_idx, _)| !is_targets_only && !is_followed(lane_idx))
            .map(|(lane_idx, lane)| Target {
                name: lane.name.clone(),
                lane_idx,
                range: lane.shaping.range,
            });
        self.targets.iter().cloned().chain(own_schedules).collect()
    }
}

fn check_targets(targets: &[TargetConfig], lanes: &[Lane]) -> Result<Vec<Target>, ScheduleError> {
    let mut names = HashSet::new();
    targets
        .iter()
        .map(|target| {
            let bad = |reason: String| ScheduleError::BadTarget {
                spec: target.name.clone(),
                reason,
            };
            check_name(&target.name).map_err(&bad)?;
            if !names.insert(target.name.as_str()) {
                return Err(ScheduleError::DuplicateTarget(target.name.clone()));
            }
            if lanes.iter().any(|lane| lane.name == target.name) {
                return Err(bad(
                    "a lane has that name, and schedule.csv holds both as columns: name the \
                     target after its consumer's field"
                        .into(),
                ));
            }
            let lane_idx = lanes
                .iter()
                .position(|lane| lane.name == target.lane)
                .ok_or_else(|| ScheduleError::UnknownLane {
                    target: target.name.clone(),
                    lane: target.lane.clone(),
                })?;
            Ok(Target {
                name: target.name.clone(),
                lane_idx,
                range: OutputRange::new(target.min, target.max, target.invert).map_err(&bad)?,
            })
        })
        .collect()
}

/// The bins whose centres lie in `band`; when the band falls between two centres, the one nearest
/// its middle. `None` when the band lies wholly outside the bins.
fn band_bins(band: Band, bin_freqs_hz: &[f32]) -> Option<Range<usize>> {
    let (&first, &last) = (bin_freqs_hz.first()?, bin_freqs_hz.last()?);
    if band.hi_hz < first || band.lo_hz > last {
        return None;
    }
    let start = bin_freqs_hz.partition_point(|&freq| freq < band.lo_hz);
    let end = bin_freqs_hz.partition_point(|&freq| freq <= band.hi_hz);
    if start < end {
        return Some(start..end);
    }
    let middle_hz = (band.lo_hz.max(1.0) * band.hi_hz).sqrt();
    let nearest = (0..bin_freqs_hz.len())
        .min_by(|&a, &b| {
            let distance = |idx: usize| (bin_freqs_hz[idx] / middle_hz).ln().abs();
            distance(a).total_cmp(&distance(b))
        })
        .expect("bins are not empty");
    Some(nearest..nearest + 1)
}

/// What a spectral lane takes of its bins.
#[derive(Debug, Clone, Copy)]
enum Measure {
    /// Band: the mean level in dB.
    Mean,
    /// Loudness: the dB of the mean power.
    PowerMean,
    /// Onsets: the spectral flux, 0 below the gate.
    Flux { gate_db: f32 },
}

/// Measures spectral lanes on one frame's bins at a time, appending one raw value per lane: dB
/// for band and loudness lanes, spectral flux (mean dB rise per bin) for onsets lanes.
pub struct RowMeter {
    /// What each lane measures, over which bins (all bins for loudness).
    lanes: Vec<(Measure, Range<usize>)>,
    /// The previous frame's bins in dB; the floor before the first frame.
    previous_db: Vec<f32>,
    /// Each lane's raw values, one per frame pushed.
    pub raw: Vec<Vec<f32>>,
}

impl RowMeter {
    /// A meter of `lanes` over an analysis whose bin centres are `bin_freqs_hz` (ascending);
    /// fails when a band lies outside them. Host lanes are no business of a meter: the caller
    /// reads them from the take's tables.
    pub fn new<'a>(
        lanes: impl IntoIterator<Item = &'a Lane>,
        bin_freqs_hz: &[f32],
        floor_db: f32,
    ) -> Result<Self, ScheduleError> {
        let lanes = lanes
            .into_iter()
            .map(|lane| {
                let (measure, band) = match lane.source {
                    LaneSource::Loudness => return Ok((Measure::PowerMean, 0..bin_freqs_hz.len())),
                    LaneSource::Band(band) => (Measure::Mean, band),
                    LaneSource::Onsets { band, .. } => {
                        let gate_db = lane.shaping.gate_db.unwrap_or(f32::MIN);
                        (Measure::Flux { gate_db }, band)
                    }
                    LaneSource::Host(_) => unreachable!("host lanes are not measured in spectra"),
                };
                let bins = band_bins(band, bin_freqs_hz).ok_or_else(|| {
                    ScheduleError::BandOutsideRange {
                        lane: lane.name.clone(),
                        lo_hz: band.lo_hz,
                        hi_hz: band.hi_hz,
                        min_hz: bin_freqs_hz.first().copied().unwrap_or_default(),
                        max_hz: bin_freqs_hz.last().copied().unwrap_or_default(),
                    }
                })?;
                Ok((measure, bins))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            raw: vec![Vec::new(); lanes.len()],
            lanes,
            previous_db: vec![floor_db; bin_freqs_hz.len()],
        })
    }

    /// Adds one frame's bins, already in dB.
    pub fn push_row(&mut self, row_db: &[f32]) {
        for ((measure, bins), raw) in self.lanes.iter().zip(&mut self.raw) {
            let band = &row_db[bins.clone()];
            raw.push(match *measure {
                Measure::Mean => mean(band.iter().copied()),
                Measure::PowerMean => power_mean_db(band),
                Measure::Flux { gate_db } => {
                    spectral_flux(band, &self.previous_db[bins.clone()], gate_db)
                }
            });
        }
        self.previous_db.copy_from_slice(row_db);
    }
}

/// The mean rise of `current_db` over `previous_db`, counting only bins that rose; 0 where the
/// band's mean level is below `gate_db`.
pub fn spectral_flux(current_db: &[f32], previous_db: &[f32], gate_db: f32) -> f32 {
    if mean(current_db.iter().copied()) < gate_db {
        return 0.0;
    }
    mean(
        current_db
            .iter()
            .zip(previous_db)
            .map(|(&now, &before)| (now - before).max(0.0)),
    )
}

/// The loudness of levels in dB: the dB of their mean power.
pub fn power_mean_db(levels_db: &[f32]) -> f32 {
    // 10^(dB/10) as exp(dB·ln10/10): `exp` is cheaper than `powf`.
    const NEPERS_PER_DB: f32 = std::f32::consts::LN_10 / 10.0;
    10.0 * mean(levels_db.iter().map(|&db| (db * NEPERS_PER_DB).exp())).log10()
}

fn mean(values: impl ExactSizeIterator<Item = f32>) -> f32 {
    let len = values.len().max(1);
    values.sum::<f32>() / len as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(spec: &str) -> Result<Lane, ScheduleError> {
        LaneConfig::parse(spec)?.check()
    }

    #[test]
    fn lane_specs_parse_with_their_keys() {
        let kick = lane("kick=30-120,release_ms=200,gate_db=-60,curve=exp,min=0.2,max=0.8,invert")
            .unwrap();
        assert_eq!(
            kick.source,
            LaneSource::Band(Band {
                lo_hz: 30.0,
                hi_hz: 120.0
            })
        );
        assert_eq!(kick.shaping.release_ms, 200.0);
        assert_eq!(kick.shaping.gate_db, Some(-60.0));
        assert_eq!(kick.shaping.curve, Curve::Exp);
        assert!(kick.shaping.range.is_inverted);
        assert_eq!(lane("level=loudness").unwrap().source, LaneSource::Loudness);
        assert!(matches!(
            lane("hits=onsets:30-120,threshold_db=3").unwrap().source,
            LaneSource::Onsets {
                threshold_db: 3.0,
                gap_ms: 100.0,
                ..
            }
        ));
    }

    #[test]
    fn bad_lane_specs_say_what_is_wrong() {
        for (spec, wanted) in [
            ("kick", "expected NAME=SOURCE, the source one of LO-HI"),
            ("kick=120-30", "lower to a higher"),
            ("kick=bass", "macro:N"),
            ("kick=30-120,atack_ms=5", "unknown field"),
            ("kick=30-120,attack_ms=-5", "0 or more"),
            ("kick=30-120,threshold_db=3", "onsets lanes only"),
            ("kick=30-120,min=1,max=1", "min"),
            ("k k=30-120", "letters, digits"),
            ("kick=30-120,curve=cubic", "unknown variant"),
        ] {
            let message = lane(spec).unwrap_err().to_string();
            assert!(message.contains(wanted), "{spec}: {message}");
            assert!(!message.contains('\n'), "{spec}: {message}");
        }
    }

    /// A band takes the bins whose centres it holds, or the nearest one when it holds none.
    #[test]
    fn bands_resolve_to_their_bins() {
        let freqs = [25.0, 50.0, 100.0, 200.0, 400.0];
        let resolve = |lo_hz, hi_hz| band_bins(Band { lo_hz, hi_hz }, &freqs);
        assert_eq!(resolve(40.0, 120.0), Some(1..3));
        assert_eq!(resolve(110.0, 130.0), Some(2..3));
        assert_eq!(resolve(500.0, 900.0), None);
        assert_eq!(resolve(1.0, 20.0), None);
    }
}
