//! Any thread: pure. Onsets: hits in a band, as one pulse on the frame that holds each hit.
//!
//! The detection function is spectral flux: each bin's rise in dB since the previous frame
//! (falls count as 0), averaged over the band's bins. A frame is an onset when its flux reaches
//! the lane's threshold, the band's level reaches its gate, and the previous onset is at least the
//! minimum gap earlier: the first frame of a rise fires, the rest of the rise is inside the gap.
//!
//! **Frame-boundary rule.** Frame k holds the samples `floor(k·sr/fps) .. floor((k+1)·sr/fps)`,
//! the exact clock of `crate::clock`. From audio, [`FrameFlux`] measures each frame on exactly
//! those samples, so a hit whose first sample lies in frame k sounds first in frame k and fires
//! there, however long the song (no drift: the boundaries are integer arithmetic), once its part
//! in frame k reaches the gate: a kick peaking at -6 dB does from its second sample at 48 kHz and
//! 24 fps, so only a hit that starts in the last sample or two of a frame fires on the next one.
//! From an output folder the flux comes from `spectrum.csv`, whose `default` windows are centred
//! on each frame and longer than it (85 ms at 48 kHz): a hit there may fire one frame early.

use std::ops::Range;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::lanes::{Band, spectral_flux};

/// Marks onsets in `flux`: 1 where a hit fires, 0 elsewhere.
pub fn detect(flux: &[f32], threshold_db: f32, gap_frames: usize) -> Vec<f32> {
    let mut last_onset: Option<usize> = None;
    flux.iter()
        .enumerate()
        .map(|(frame_idx, &rise_db)| {
            let is_clear = last_onset.is_none_or(|last| frame_idx - last >= gap_frames);
            if rise_db >= threshold_db && is_clear {
                last_onset = Some(frame_idx);
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

/// The minimum gap in whole frames: at least one, so a hit never fires twice in a frame.
pub fn gap_frames(gap_ms: f32, frame_s: f64) -> usize {
    ((f64::from(gap_ms) / 1000.0 / frame_s).ceil() as usize).max(1)
}

/// Spectral flux per band, measured on each video frame's own samples (rectangular window,
/// zero-padded FFT), so an onset lands on the frame that holds it.
pub struct FrameFlux {
    fft: Arc<dyn RealToComplex<f32>>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// This frame's and the previous frame's FFT bins in dB (floored).
    bins_db: Vec<f32>,
    previous_db: Vec<f32>,
    /// Each band's FFT bins and gate (dB).
    bands: Vec<(Range<usize>, f32)>,
    floor_db: f32,
}

impl FrameFlux {
    /// Plans an FFT that holds a frame of up to `max_frame_len` samples at `sample_rate`.
    /// Each band comes with the level its flux needs (see [`spectral_flux`]).
    pub fn new(
        sample_rate: u32,
        max_frame_len: usize,
        bands: &[(Band, f32)],
        floor_db: f32,
    ) -> Self {
        let fft_len = max_frame_len.next_power_of_two().max(2);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(fft_len);
        let bin_hz = sample_rate as f32 / fft_len as f32;
        let num_bins = fft_len / 2 + 1;
        let bands = bands
            .iter()
            .map(|&(band, gate_db)| {
                let start = ((band.lo_hz / bin_hz).ceil() as usize).min(num_bins - 1);
                let end = ((band.hi_hz / bin_hz).floor() as usize + 1).clamp(start + 1, num_bins);
                (start..end, gate_db)
            })
            .collect();
        Self {
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            bins_db: vec![floor_db; num_bins],
            previous_db: vec![floor_db; num_bins],
            fft,
            bands,
            floor_db,
        }
    }

    /// Measures one frame's samples; `flux` receives each band's flux in dB.
    pub fn push_frame(&mut self, samples: &[f32], flux: &mut [f32]) {
        debug_assert!(samples.len() <= self.input.len());
        self.input[..samples.len()].copy_from_slice(samples);
        self.input[samples.len()..].fill(0.0);
        self.fft
            .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
            .expect("buffers come from the plan itself");
        // A full-scale sine over L samples peaks at L / 2: that reads 0 dB.
        let full_scale = samples.len().max(1) as f32 / 2.0;
        std::mem::swap(&mut self.bins_db, &mut self.previous_db);
        for (db, c) in self.bins_db.iter_mut().zip(&self.spectrum) {
            *db = (20.0 * (c.norm() / full_scale).log10()).max(self.floor_db);
        }
        for (flux, (bins, gate_db)) in flux.iter_mut().zip(&self.bands) {
            let (now, before) = (&self.bins_db[bins.clone()], &self.previous_db[bins.clone()]);
            *flux = spectral_flux(now, before, *gate_db);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rise fires once; the gap holds back a second rise too soon after, not one after it.
    #[test]
    fn onsets_fire_on_rises_and_respect_the_gap() {
        let flux = [0.0, 10.0, 8.0, 0.0, 9.0, 0.0, 0.0, 7.0, 2.0];
        assert_eq!(
            detect(&flux, 6.0, 3),
            [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0]
        );
        assert_eq!(
            detect(&flux, 6.0, 4),
            [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        );
    }

    #[test]
    fn gap_is_whole_frames_and_at_least_one() {
        assert_eq!(gap_frames(100.0, 1.0 / 24.0), 3);
        assert_eq!(gap_frames(0.0, 1.0 / 24.0), 1);
    }

    /// A click in the last 8 samples (0.17 ms) of a frame fires in that frame, not the next.
    #[test]
    fn a_click_fires_in_the_frame_that_holds_it() {
        let band = Band {
            lo_hz: 30.0,
            hi_hz: 120.0,
        };
        let mut meter = FrameFlux::new(48_000, 2000, &[(band, -60.0)], -90.0);
        let mut flux = [0.0];
        let mut frame = vec![0.0; 2000];
        meter.push_frame(&frame, &mut flux);
        assert_eq!(flux, [0.0]);
        frame[1992..].fill(0.5);
        meter.push_frame(&frame, &mut flux);
        assert!(flux[0] > 20.0, "{flux:?}");
    }
}
