//! GUI thread: the analyzer's peak hold, run once per repaint on the latest spectrum. (Averaging
//! runs in the plugin's monitor, at the analysis rate.)
//!
//! It keeps one value per bin and follows the bin count of its input, so a change of band count
//! restarts it instead of mixing bins of two layouts.

/// Peak hold per bin: a new maximum is held for `hold_s`, then falls at `fall_db_per_s` until the
/// signal reaches it again.
#[derive(Debug, Default, Clone)]
pub struct PeakHold {
    /// The held peak per bin, in dB.
    peaks_db: Vec<f32>,
    /// How long each bin's peak has been held, in seconds.
    held_s: Vec<f32>,
}

impl PeakHold {
    /// Advances by `dt_s` seconds with the new spectrum `levels_db`. An infinite `hold_s` never
    /// lets a peak fall.
    pub fn update(
        &mut self,
        levels_db: &[f32],
        dt_s: f32,
        hold_s: f32,
        fall_db_per_s: f32,
    ) -> &[f32] {
        if self.peaks_db.len() != levels_db.len() {
            self.peaks_db.clear();
            self.peaks_db.extend_from_slice(levels_db);
            self.held_s.clear();
            self.held_s.resize(levels_db.len(), 0.0);
            return &self.peaks_db;
        }
        let dt_s = dt_s.max(0.0);
        for ((peak, held), &level) in self
            .peaks_db
            .iter_mut()
            .zip(&mut self.held_s)
            .zip(levels_db)
        {
            let prev_held = *held;
            *held += dt_s;
            // Only the part of this step that lies beyond the hold time makes the peak fall.
            let falling_s = (*held - hold_s.max(prev_held)).max(0.0);
            let fallen = *peak - fall_db_per_s * falling_s;
            if level >= fallen {
                *peak = level;
                *held = 0.0;
            } else {
                *peak = fallen;
            }
        }
        &self.peaks_db
    }

    /// Forgets all peaks; the next update starts from its spectrum.
    pub fn reset(&mut self) {
        self.peaks_db.clear();
        self.held_s.clear();
    }

    pub fn peaks_db(&self) -> &[f32] {
        &self.peaks_db
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peak stays put for the hold time, then falls at the fall rate, independent of the step.
    #[test]
    fn peak_holds_then_falls_at_rate() {
        for dt_s in [1.0f32 / 60.0, 0.05, 0.25] {
            let mut hold = PeakHold::default();
            hold.update(&[-10.0], 0.0, 0.5, 20.0);
            let num_steps = (2.0 / dt_s).round() as usize;
            let mut trace = Vec::new();
            for step in 1..=num_steps {
                let peak_db = hold.update(&[-80.0], dt_s, 0.5, 20.0)[0];
                trace.push((step as f32 * dt_s, peak_db));
            }
            for (t_s, peak_db) in trace {
                let expected_db = -10.0 - 20.0 * (t_s - 0.5).max(0.0);
                assert!(
                    (peak_db - expected_db).abs() < 1e-3,
                    "dt {dt_s}: at {t_s} s peak {peak_db}, expected {expected_db}"
                );
            }
        }
    }

    /// A falling peak never goes below the live level, and a louder level restarts the hold.
    #[test]
    fn peak_tracks_signal_floor_and_restarts() {
        let mut hold = PeakHold::default();
        hold.update(&[-10.0, -50.0], 0.0, 0.0, 100.0);
        let peaks = hold.update(&[-30.0, -20.0], 1.0, 0.0, 100.0).to_vec();
        assert_eq!(peaks, [-30.0, -20.0]);
        let peaks = hold.update(&[-40.0, -25.0], 0.01, 0.0, 100.0).to_vec();
        assert!((peaks[0] + 31.0).abs() < 1e-4 && (peaks[1] + 21.0).abs() < 1e-4);
        let mut infinite = PeakHold::default();
        infinite.update(&[0.0], 0.0, f32::INFINITY, 100.0);
        assert_eq!(
            infinite.update(&[-90.0], 100.0, f32::INFINITY, 100.0),
            [0.0]
        );
    }

    /// A new bin count restarts the hold, rather than pairing bins of different layouts.
    #[test]
    fn bin_count_change_restarts() {
        let mut hold = PeakHold::default();
        hold.update(&[0.0; 4], 0.0, 1.0, 10.0);
        assert_eq!(hold.update(&[-5.0; 2], 0.1, 1.0, 10.0), [-5.0, -5.0]);
    }
}
