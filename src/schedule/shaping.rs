//! Any thread: pure. A lane's raw levels over the song become a 0..1 curve, then a range.
//!
//! In order, per lane:
//! 1. **Normalise**: `(level - lo) / (hi - lo)` clamped to 0..1, where `hi` is the song's loudest
//!    level and `lo` its quietest (or, without normalisation, `lo` = the analysis floor and `hi` =
//!    0 dB). With a gate, `lo` is the gate.
//! 2. **Gate**: a frame below `gate_db` reads 0.
//! 3. **Attack/release**: a one-pole follower on the frame clock; a rising value moves by
//!    `1 - exp(-frame / attack)` of the way per frame, a falling one by `1 - exp(-frame /
//!    release)`; 0 ms follows at once.
//! 4. **Curve**: `linear` (u), `exp` ((10^u - 1) / 9, favours peaks), `log` (log10(1 + 9u),
//!    favours quiet parts; the inverse of `exp`).
//! 5. **Range**: `min + (max - min) * u`, or `max - (max - min) * u` inverted.
//!
//! Onset and host lanes (beats, MIDI, macros) skip 1 and 2: their values are 0..1 already.

use serde::Deserialize;

/// How a 0..1 value is bent before it is mapped to a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Curve {
    Linear,
    Exp,
    Log,
}

impl Curve {
    pub fn apply(self, unit: f32) -> f32 {
        match self {
            Self::Linear => unit,
            Self::Exp => (10f32.powf(unit) - 1.0) / 9.0,
            Self::Log => (1.0 + 9.0 * unit).log10(),
        }
    }
}

/// Where a 0..1 value lands in a consumer's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutputRange {
    pub min: f32,
    pub max: f32,
    /// 0 maps to `max` and 1 to `min` (e.g. a strength that drops on every kick).
    pub is_inverted: bool,
}

impl OutputRange {
    /// A range from optional keys: 0..1, not inverted, unless told; `min` must be below `max`.
    pub fn new(min: Option<f32>, max: Option<f32>, invert: Option<bool>) -> Result<Self, String> {
        let (min, max) = (min.unwrap_or(0.0), max.unwrap_or(1.0));
        if !(min.is_finite() && max.is_finite() && min < max) {
            return Err(format!("min {min} must be below max {max}"));
        }
        Ok(Self {
            min,
            max,
            is_inverted: invert.unwrap_or(false),
        })
    }

    pub fn map(self, unit: f32) -> f32 {
        let unit = if self.is_inverted { 1.0 - unit } else { unit };
        self.min + (self.max - self.min) * unit
    }
}

/// How one lane's levels are shaped (see the module doc for the order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shaping {
    pub attack_ms: f32,
    pub release_ms: f32,
    /// Frames below this level read 0.
    pub gate_db: Option<f32>,
    pub curve: Curve,
    /// Stretch the song's own quietest..loudest to 0..1 (else floor..0 dB).
    pub should_normalize: bool,
    /// The lane's own range, used when it is written as a schedule of its own.
    pub range: OutputRange,
}

impl Shaping {
    /// Steps 1–2: levels in dB to 0..1, in place. `floor_db` is the analysis floor.
    pub fn normalize_levels(&self, levels_db: &mut [f32], floor_db: f32) {
        let (mut lo, hi) = if self.should_normalize {
            let (lo, hi) = levels_db
                .iter()
                .fold((f32::MAX, f32::MIN), |(lo, hi), &db| {
                    (lo.min(db), hi.max(db))
                });
            (lo, hi)
        } else {
            (floor_db, 0.0)
        };
        let gate_db = self.gate_db.unwrap_or(f32::MIN);
        lo = lo.max(gate_db);
        let span = hi - lo;
        for level in levels_db {
            *level = if *level < gate_db || span <= 0.0 {
                0.0
            } else {
                ((*level - lo) / span).clamp(0.0, 1.0)
            };
        }
    }

    /// Steps 3–4 on 0..1 values, in place, at `frame_s` seconds per frame.
    pub fn smooth_and_bend(&self, units: &mut [f32], frame_s: f64) {
        let coefficient = |time_ms: f32| {
            if time_ms <= 0.0 {
                1.0
            } else {
                (1.0 - (-frame_s * 1000.0 / f64::from(time_ms)).exp()) as f32
            }
        };
        let (attack, release) = (coefficient(self.attack_ms), coefficient(self.release_ms));
        let mut state = units.first().copied().unwrap_or_default();
        for unit in units.iter_mut() {
            let rate = if *unit > state { attack } else { release };
            state += (*unit - state) * rate;
            *unit = self.curve.apply(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME_S: f64 = 1.0 / 24.0;

    fn shaping() -> Shaping {
        Shaping {
            attack_ms: 0.0,
            release_ms: 0.0,
            gate_db: None,
            curve: Curve::Linear,
            should_normalize: true,
            range: OutputRange::new(None, None, None).unwrap(),
        }
    }

    fn step(num_frames: usize, at: usize) -> Vec<f32> {
        (0..num_frames)
            .map(|idx| if idx >= at { 1.0 } else { 0.0 })
            .collect()
    }

    /// With an attack of three frames, a step reaches 1 - 1/e three frames after it rose, and
    /// the frame before the step stays at 0.
    #[test]
    fn attack_reaches_one_minus_one_over_e_after_its_time() {
        let shaping = Shaping {
            attack_ms: 3000.0 * FRAME_S as f32,
            ..shaping()
        };
        let mut values = step(20, 5);
        shaping.smooth_and_bend(&mut values, FRAME_S);
        assert_eq!(values[4], 0.0);
        let wanted = 1.0 - (-1.0f32).exp();
        // Frame 5 takes the first step, so three frames of attack end at frame 7.
        assert!((values[7] - wanted).abs() < 1e-5, "{}", values[7]);
        assert!(values.windows(2).all(|pair| pair[1] >= pair[0]));
        assert!(values[19] > 0.99);
    }

    /// An impulse with no attack jumps to 1 at once, then releases to 1/e after the release time.
    #[test]
    fn impulse_rises_at_once_and_releases_exponentially() {
        let shaping = Shaping {
            release_ms: 2000.0 * FRAME_S as f32,
            ..shaping()
        };
        let mut values = vec![0.0; 10];
        values[3] = 1.0;
        shaping.smooth_and_bend(&mut values, FRAME_S);
        assert_eq!(&values[..4], &[0.0, 0.0, 0.0, 1.0]);
        assert!((values[5] - (-1.0f32).exp()).abs() < 1e-5, "{}", values[5]);
    }

    /// Without attack and release the output is the input.
    #[test]
    fn zero_times_pass_values_through() {
        let mut values = vec![0.0, 1.0, 0.25, 0.0, 0.75];
        shaping().smooth_and_bend(&mut values, FRAME_S);
        assert_eq!(values, [0.0, 1.0, 0.25, 0.0, 0.75]);
    }

    /// Normalisation spans the song's quietest to loudest; a gate silences what is below it and
    /// becomes the new bottom.
    #[test]
    fn gate_silences_and_normalisation_spans_the_song() {
        let mut levels = vec![-80.0, -40.0, -20.0, -60.0];
        shaping().normalize_levels(&mut levels, -90.0);
        assert_eq!(levels, [0.0, 2.0 / 3.0, 1.0, 1.0 / 3.0]);
        let gated = Shaping {
            gate_db: Some(-50.0),
            ..shaping()
        };
        let mut levels = vec![-80.0, -40.0, -20.0, -60.0, -50.0];
        gated.normalize_levels(&mut levels, -90.0);
        assert_eq!(levels, [0.0, 1.0 / 3.0, 1.0, 0.0, 0.0]);
        let absolute = Shaping {
            should_normalize: false,
            ..shaping()
        };
        let mut levels = vec![-90.0, -45.0, 0.0];
        absolute.normalize_levels(&mut levels, -90.0);
        assert_eq!(levels, [0.0, 0.5, 1.0]);
    }

    /// A flat song is 0 throughout, not NaN.
    #[test]
    fn flat_levels_read_zero() {
        let mut levels = vec![-30.0; 4];
        shaping().normalize_levels(&mut levels, -90.0);
        assert_eq!(levels, [0.0; 4]);
    }

    /// Range and invert map the ends exactly; curves keep 0 and 1 and bend the middle.
    #[test]
    fn range_invert_and_curves_map_the_ends() {
        let range = OutputRange::new(Some(0.45), Some(0.75), Some(true)).unwrap();
        assert_eq!(range.map(0.0), 0.75);
        assert_eq!(range.map(1.0), 0.45);
        let plain = OutputRange::new(Some(-2.0), Some(2.0), None).unwrap();
        assert_eq!(plain.map(0.5), 0.0);
        assert!(OutputRange::new(Some(1.0), Some(0.5), None).is_err());
        for curve in [Curve::Linear, Curve::Exp, Curve::Log] {
            assert!(curve.apply(0.0).abs() < 1e-6);
            assert!((curve.apply(1.0) - 1.0).abs() < 1e-6);
        }
        assert!(Curve::Exp.apply(0.5) < 0.5 && Curve::Log.apply(0.5) > 0.5);
        assert!((Curve::Log.apply(Curve::Exp.apply(0.3)) - 0.3).abs() < 1e-6);
    }
}
