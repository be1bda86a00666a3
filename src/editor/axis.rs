//! Any thread: pure. The analyzer's axes: log frequency ↔ x, dB ↔ y, grid ticks and labels, and
//! the hover readout's note names.

/// A logarithmic frequency axis from `min_hz` to `max_hz`, mapped onto `0..1` of the plot width.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FreqAxis {
    /// The frequency at the left edge, in Hz (> 0).
    pub min_hz: f32,
    /// The frequency at the right edge, in Hz (> `min_hz`).
    pub max_hz: f32,
}

impl FreqAxis {
    /// Where `freq_hz` sits across the axis: 0 at `min_hz`, 1 at `max_hz`, outside for others.
    pub fn fraction_of(&self, freq_hz: f32) -> f32 {
        (freq_hz / self.min_hz).ln() / (self.max_hz / self.min_hz).ln()
    }

    /// The frequency at `fraction` across the axis; the inverse of [`Self::fraction_of`].
    pub fn freq_at(&self, fraction: f32) -> f32 {
        self.min_hz * (self.max_hz / self.min_hz).powf(fraction)
    }

    /// Grid lines in the 1-2-5 pattern per decade, labelled, then the unlabelled 3, 4, 6, 7, 8, 9.
    pub fn ticks(&self) -> impl Iterator<Item = Tick> + '_ {
        let first_decade = self.min_hz.log10().floor() as i32;
        let last_decade = self.max_hz.log10().ceil() as i32;
        (first_decade..=last_decade)
            .flat_map(|decade| {
                (1..=9).map(move |mantissa| {
                    let freq_hz = mantissa as f32 * 10f32.powi(decade);
                    Tick {
                        value: freq_hz,
                        label: matches!(mantissa, 1 | 2 | 5).then(|| format_freq_short(freq_hz)),
                    }
                })
            })
            .filter(|tick| {
                // A relative tolerance, so 20 kHz computed as 2 * 10^4 still counts as in range.
                tick.value >= self.min_hz * 0.999 && tick.value <= self.max_hz * 1.001
            })
    }
}

/// A linear dB axis: `max_db` at the top (fraction 0), `min_db` at the bottom (fraction 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbAxis {
    /// The level at the bottom edge.
    pub min_db: f32,
    /// The level at the top edge (> `min_db`).
    pub max_db: f32,
}

impl DbAxis {
    /// Where `level_db` sits down the axis: 0 at the top, 1 at the bottom (screen y grows down).
    pub fn fraction_of(&self, level_db: f32) -> f32 {
        (self.max_db - level_db) / (self.max_db - self.min_db)
    }

    /// The level at `fraction` down the axis; the inverse of [`Self::fraction_of`].
    pub fn level_at(&self, fraction: f32) -> f32 {
        self.max_db - fraction * (self.max_db - self.min_db)
    }

    /// Labelled grid lines at the finest "nice" step that gives at most `max_num_lines` lines.
    pub fn ticks(&self, max_num_lines: usize) -> impl Iterator<Item = Tick> + use<> {
        const STEPS_DB: [f32; 9] = [1.0, 2.0, 3.0, 6.0, 10.0, 12.0, 20.0, 30.0, 60.0];
        let span_db = self.max_db - self.min_db;
        let step_db = STEPS_DB
            .into_iter()
            .find(|step| span_db / step <= max_num_lines.max(1) as f32)
            .unwrap_or(span_db);
        let first = (self.min_db / step_db).ceil() as i32;
        let last = (self.max_db / step_db).floor() as i32;
        (first..=last).map(move |k| {
            let level_db = k as f32 * step_db;
            Tick {
                value: level_db,
                label: Some(format!("{level_db:.0}")),
            }
        })
    }
}

/// One grid line: its value in axis units and, for the major lines, its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub value: f32,
    pub label: Option<String>,
}

/// `20`, `500`, `1k`, `20k`: the compact labels of the frequency grid.
pub fn format_freq_short(freq_hz: f32) -> String {
    if freq_hz >= 1000.0 {
        format!("{}k", freq_hz / 1000.0)
    } else {
        format!("{freq_hz:.0}")
    }
}

/// `43.1 Hz`, `1.00 kHz`, `12.6 kHz`: three significant digits for the hover readout.
pub fn format_freq(freq_hz: f32) -> String {
    if freq_hz >= 1000.0 {
        let khz = freq_hz / 1000.0;
        if khz >= 10.0 {
            format!("{khz:.1} kHz")
        } else {
            format!("{khz:.2} kHz")
        }
    } else if freq_hz >= 100.0 {
        format!("{freq_hz:.0} Hz")
    } else {
        format!("{freq_hz:.1} Hz")
    }
}

/// The nearest equal-tempered note (A4 = 440 Hz) and how far off it a frequency is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    /// MIDI note number: 69 is A4, 60 is C4 (middle C).
    pub midi: i32,
    /// Deviation from that note, in -50..=50 cents.
    pub cents: f32,
}

impl Note {
    /// The note nearest to `freq_hz`, or `None` for frequencies that are not positive and finite.
    pub fn nearest(freq_hz: f32) -> Option<Self> {
        if !(freq_hz.is_finite() && freq_hz > 0.0) {
            return None;
        }
        let semitones = 69.0 + 12.0 * (f64::from(freq_hz) / 440.0).log2();
        let midi = semitones.round();
        Some(Self {
            midi: midi as i32,
            cents: ((semitones - midi) * 100.0) as f32,
        })
    }

    /// `C4`, `F#2`, `A-1`: sharps only, scientific pitch notation (C4 = MIDI 60).
    pub fn name(&self) -> String {
        const NAMES: [&str; 12] = [
            "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
        ];
        let octave = self.midi.div_euclid(12) - 1;
        format!("{}{octave}", NAMES[self.midi.rem_euclid(12) as usize])
    }
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:+.0} ct", self.name(), self.cents)
    }
}

/// The display slope added at `freq_hz`: `db_per_octave` per octave above 1 kHz, 0 dB at 1 kHz.
/// With 3 dB/octave pink noise reads flat; 4.5 dB/octave matches typical mixes (SPAN's default).
pub fn slope_db(freq_hz: f32, db_per_octave: f32) -> f32 {
    db_per_octave * (freq_hz / 1000.0).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUDIO: FreqAxis = FreqAxis {
        min_hz: 20.0,
        max_hz: 20_000.0,
    };

    /// Each decade takes a third of a 20 Hz–20 kHz axis, and x → Hz inverts Hz → x.
    #[test]
    fn freq_axis_is_logarithmic_and_invertible() {
        assert!((AUDIO.fraction_of(20.0)).abs() < 1e-6);
        assert!((AUDIO.fraction_of(200.0) - 1.0 / 3.0).abs() < 1e-6);
        assert!((AUDIO.fraction_of(2000.0) - 2.0 / 3.0).abs() < 1e-6);
        assert!((AUDIO.fraction_of(20_000.0) - 1.0).abs() < 1e-6);
        for freq_hz in [20.0, 31.5, 440.0, 1000.0, 12_345.0, 20_000.0] {
            let back = AUDIO.freq_at(AUDIO.fraction_of(freq_hz));
            assert!(
                (back - freq_hz).abs() / freq_hz < 1e-5,
                "{freq_hz} -> {back}"
            );
        }
        assert!((AUDIO.freq_at(0.5) - 632.455_5).abs() < 0.01);
    }

    /// The labelled frequency lines are 20, 50, 100, …, 10k, 20k, and the minor ones are unlabelled.
    #[test]
    fn freq_grid_labels_follow_1_2_5() {
        let labels: Vec<String> = AUDIO.ticks().filter_map(|t| t.label).collect();
        assert_eq!(
            labels,
            [
                "20", "50", "100", "200", "500", "1k", "2k", "5k", "10k", "20k"
            ]
        );
        let num_lines = AUDIO.ticks().count();
        // 20..90 (8) + 100..900 (9) + 1k..9k (9) + 10k, 20k (2).
        assert_eq!(num_lines, 28);
    }

    /// dB ↔ y inverts, and the grid picks the finest nice step that fits.
    #[test]
    fn db_axis_maps_and_ticks() {
        let axis = DbAxis {
            min_db: -90.0,
            max_db: 0.0,
        };
        assert_eq!(axis.fraction_of(0.0), 0.0);
        assert_eq!(axis.fraction_of(-90.0), 1.0);
        assert!((axis.level_at(axis.fraction_of(-37.5)) + 37.5).abs() < 1e-5);
        let values: Vec<f32> = axis.ticks(10).map(|t| t.value).collect();
        assert_eq!(
            values,
            [
                -90.0, -80.0, -70.0, -60.0, -50.0, -40.0, -30.0, -20.0, -10.0, 0.0
            ]
        );
        let coarse: Vec<f32> = axis.ticks(4).map(|t| t.value).collect();
        assert_eq!(coarse, [-90.0, -60.0, -30.0, 0.0]);
        let ragged = DbAxis {
            min_db: -50.0,
            max_db: 6.0,
        };
        let values: Vec<f32> = ragged.ticks(6).map(|t| t.value).collect();
        assert_eq!(values, [-50.0, -40.0, -30.0, -20.0, -10.0, 0.0]);
    }

    /// A4 is 440 Hz, middle C is C4, and a quarter tone reads ±50 cents.
    #[test]
    fn note_names_and_cents() {
        let a4 = Note::nearest(440.0).unwrap();
        assert_eq!((a4.midi, a4.name()), (69, "A4".to_owned()));
        assert!(a4.cents.abs() < 1e-3);
        let c4 = Note::nearest(261.625_58).unwrap();
        assert_eq!(c4.name(), "C4");
        assert!(c4.cents.abs() < 0.01);
        let sharp = Note::nearest(440.0 * 2f32.powf(0.2 / 12.0)).unwrap();
        assert_eq!(sharp.name(), "A4");
        assert!((sharp.cents - 20.0).abs() < 0.01);
        let flat = Note::nearest(440.0 * 2f32.powf(-0.3 / 12.0)).unwrap();
        assert!((flat.cents + 30.0).abs() < 0.01);
        assert_eq!(Note::nearest(1000.0).unwrap().to_string(), "B5 +21 ct");
        assert_eq!(Note::nearest(20.0).unwrap().name(), "D#0");
        assert_eq!(Note::nearest(16.351_6).unwrap().name(), "C0");
        assert_eq!(Note::nearest(8.18).unwrap().name(), "C-1");
        assert_eq!(Note::nearest(0.0), None);
        assert_eq!(Note::nearest(f32::NAN), None);
    }

    /// Slope is 0 dB at the 1 kHz pivot and ±n dB one octave either side.
    #[test]
    fn slope_pivots_at_1k() {
        assert_eq!(slope_db(1000.0, 4.5), 0.0);
        assert!((slope_db(2000.0, 3.0) - 3.0).abs() < 1e-6);
        assert!((slope_db(500.0, 3.0) + 3.0).abs() < 1e-6);
        assert!((slope_db(16_000.0, 4.5) - 18.0).abs() < 1e-4);
        assert_eq!(slope_db(125.0, 0.0), 0.0);
    }

    #[test]
    fn frequency_labels() {
        assert_eq!(format_freq(43.07), "43.1 Hz");
        assert_eq!(format_freq(440.0), "440 Hz");
        assert_eq!(format_freq(1000.0), "1.00 kHz");
        assert_eq!(format_freq(12_600.0), "12.6 kHz");
        assert_eq!(format_freq_short(2000.0), "2k");
    }
}
