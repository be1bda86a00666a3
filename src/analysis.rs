//! Any thread: pure. Turns one frame's samples into N spectrum bins.
//!
//! An [`Analyzer`] owns its FFT plan, window and scratch, all made in [`Analyzer::new`]; after that
//! [`Analyzer::analyze`] never allocates, so the plugin's audio thread and the CLI run the very same
//! code. Two presets (DESIGN.md §4):
//! - [`Preset::Seed`] is the blog post's formula, bit for bit where floating point allows.
//! - [`Preset::Default`] is a windowed, level-calibrated log-frequency analyzer.

use std::f64::consts::PI;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use serde::{Deserialize, Serialize};

/// The smallest and largest FFT the analyzer accepts, in samples.
pub const MIN_FFT_SIZE: usize = 64;
pub const MAX_FFT_SIZE: usize = 1 << 16;
/// The most output bins a frame may have.
pub const MAX_BINS: usize = 4096;
/// Sample rates we accept, in Hz. Anything outside is a broken file or host, not music.
pub const MIN_SAMPLE_RATE: u32 = 8_000;
pub const MAX_SAMPLE_RATE: u32 = 768_000;

/// Which analysis recipe to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The post's recipe: rectangular window over one frame's chunk, `|rfft|` at `logspace` indices.
    Seed,
    /// Hann-windowed FFT centred on the frame, log-spaced bands in dB mapped to 0..1.
    Default,
}

/// The analysis window of the [`Preset::Default`] recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum WindowKind {
    Hann,
    BlackmanHarris,
    FlatTop,
}

/// Every knob of the analysis. Serialized verbatim into `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSettings {
    pub preset: Preset,
    /// Output bins per frame (the post uses 256).
    pub num_bins: usize,
    /// `Default`: FFT length in samples; `None` picks 4096 at 44.1/48 kHz, scaled with the rate.
    pub fft_size: Option<usize>,
    /// `Default`: the analysis window.
    pub window: WindowKind,
    /// `Seed`: FFT length in seconds (the post's `window_size`, 0.1 s).
    pub window_seconds: f64,
    /// `Default`: the level that maps to 0.0; 0 dBFS maps to 1.0.
    pub floor_db: f32,
    /// `Default`: spectral slope added around 1 kHz, in dB per octave (3 makes pink noise flat).
    pub tilt_db_per_octave: f32,
    /// `Default`: the band range, clipped to Nyquist.
    pub min_freq_hz: f32,
    pub max_freq_hz: f32,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        Self {
            preset: Preset::Default,
            num_bins: 256,
            fft_size: None,
            window: WindowKind::Hann,
            window_seconds: 0.1,
            floor_db: -90.0,
            tilt_db_per_octave: 0.0,
            min_freq_hz: 20.0,
            max_freq_hz: 20_000.0,
        }
    }
}

impl AnalysisSettings {
    /// The post's settings: 256 bins, 0.1 s window.
    pub fn seed() -> Self {
        Self {
            preset: Preset::Seed,
            ..Self::default()
        }
    }

    /// The FFT length these settings use at `sample_rate`.
    pub fn fft_len(&self, sample_rate: u32) -> usize {
        match self.preset {
            Preset::Seed => (self.window_seconds * f64::from(sample_rate)).floor() as usize,
            Preset::Default => self
                .fft_size
                .unwrap_or_else(|| default_fft_size(sample_rate)),
        }
    }

    /// Checks every setting against `sample_rate`, so that [`Analyzer::new`] cannot fail later.
    pub fn validate(&self, sample_rate: u32) -> Result<(), AnalysisError> {
        if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
            return Err(AnalysisError::SampleRate(sample_rate));
        }
        if !(1..=MAX_BINS).contains(&self.num_bins) {
            return Err(AnalysisError::NumBins(self.num_bins));
        }
        if !self.window_seconds.is_finite() || self.window_seconds <= 0.0 {
            return Err(AnalysisError::WindowSeconds(self.window_seconds));
        }
        let fft_len = self.fft_len(sample_rate);
        if !(MIN_FFT_SIZE..=MAX_FFT_SIZE).contains(&fft_len) {
            return Err(AnalysisError::FftSize(fft_len));
        }
        if !(self.floor_db.is_finite() && self.floor_db < 0.0) {
            return Err(AnalysisError::FloorDb(self.floor_db));
        }
        if !self.tilt_db_per_octave.is_finite() {
            return Err(AnalysisError::Tilt(self.tilt_db_per_octave));
        }
        let nyquist = sample_rate as f32 / 2.0;
        if !(self.min_freq_hz > 0.0 && self.min_freq_hz < self.max_freq_hz.min(nyquist)) {
            return Err(AnalysisError::FreqRange(self.min_freq_hz, self.max_freq_hz));
        }
        Ok(())
    }
}

/// 4096 samples at 44.1 and 48 kHz, doubled or halved with the rate so the resolution in Hz stays.
pub fn default_fft_size(sample_rate: u32) -> usize {
    let octaves = (f64::from(sample_rate) / 48_000.0).log2().round() as i32;
    (4096.0 * 2f64.powi(octaves)).clamp(MIN_FFT_SIZE as f64, MAX_FFT_SIZE as f64) as usize
}

/// A setting the analyzer cannot work with. The messages are shown to users as they are.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    #[error("sample rate {0} Hz is outside {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE} Hz")]
    SampleRate(u32),
    #[error("bin count {0} is outside 1..={MAX_BINS}")]
    NumBins(usize),
    #[error("FFT size {0} is outside {MIN_FFT_SIZE}..={MAX_FFT_SIZE} samples")]
    FftSize(usize),
    #[error("window length {0} s must be a positive number of seconds")]
    WindowSeconds(f64),
    #[error("floor {0} dB must be below 0 dB")]
    FloorDb(f32),
    #[error("tilt {0} dB/octave must be a finite number")]
    Tilt(f32),
    #[error("frequency range {0}..{1} Hz is empty below Nyquist")]
    FreqRange(f32, f32),
}

/// Where a frame's analysis window sits on the timeline, relative to the frame (see `clock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowPlacement {
    /// The post's chunk: starts at the frame's first sample, `len` long at most (shorter when the
    /// frame is shorter; the FFT zero-pads).
    FrameStart { max_len: usize },
    /// `len` samples centred on the frame's centre time.
    FrameCentre { len: usize },
}

/// Which FFT bins feed which output bin, and each output bin's centre frequency.
#[derive(Debug, Clone, PartialEq)]
pub struct BinMap {
    /// Centre frequency of each output bin, in Hz (written in the CSV header and manifest).
    pub centre_freqs_hz: Vec<f32>,
    sources: Vec<BinSource>,
    /// `Default`: the `num_bins + 1` band edges in FFT-bin units, ascending, for placing peaks
    /// found between bins with a binary search instead of a logarithm per peak.
    edge_bins: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BinSource {
    /// Exactly one FFT bin (the post's `np.take(amps, indices)`).
    Index(usize),
    /// The loudest FFT bin in `start..end`.
    Max { start: usize, end: usize },
    /// A band narrower than one FFT bin: linear interpolation at this fractional bin position.
    Interpolate(f64),
}

impl BinMap {
    /// The bins `settings` ask for at `sample_rate` (settings already validated).
    pub fn for_settings(settings: &AnalysisSettings, sample_rate: u32) -> Self {
        let fft_len = settings.fft_len(sample_rate);
        match settings.preset {
            Preset::Seed => Self::seed(fft_len, settings.num_bins, sample_rate),
            Preset::Default => Self::log_bands(
                fft_len,
                settings.num_bins,
                sample_rate,
                f64::from(settings.min_freq_hz),
                f64::from(settings.max_freq_hz),
            ),
        }
    }

    /// The post's bins: `np.logspace(1, math.log(n / 2, 10), num).astype(int)`, replicated
    /// operation for operation (Python's two-argument `log` is `ln(x) / ln(base)`; numpy's
    /// `linspace` multiplies `arange` by the step, adds the start and pins the last value).
    pub fn seed(fft_len: usize, num_bins: usize, sample_rate: u32) -> Self {
        let stop = (fft_len as f64 / 2.0).ln() / 10f64.ln();
        let start = 1.0;
        let step = (stop - start) / (num_bins.max(2) - 1) as f64;
        let bin_hz = f64::from(sample_rate) / fft_len as f64;
        let max_idx = fft_len / 2;
        let sources: Vec<BinSource> = (0..num_bins)
            .map(|i| {
                let exponent = if i + 1 == num_bins && num_bins > 1 {
                    stop
                } else {
                    i as f64 * step + start
                };
                BinSource::Index((10f64.powf(exponent) as usize).min(max_idx))
            })
            .collect();
        let centre_freqs_hz = sources
            .iter()
            .map(|source| match source {
                BinSource::Index(idx) => (*idx as f64 * bin_hz) as f32,
                _ => unreachable!("seed bins are single indices"),
            })
            .collect();
        Self {
            centre_freqs_hz,
            sources,
            edge_bins: Vec::new(),
        }
    }

    /// `num_bins` log-spaced bands from `min_hz` to `max_hz` over an FFT of `fft_len` samples.
    pub fn log_bands(
        fft_len: usize,
        num_bins: usize,
        sample_rate: u32,
        min_hz: f64,
        max_hz: f64,
    ) -> Self {
        let bin_hz = f64::from(sample_rate) / fft_len as f64;
        let max_hz = max_hz.min(f64::from(sample_rate) / 2.0);
        let log_min_hz = min_hz.ln();
        let log_span = max_hz.ln() - log_min_hz;
        let edge_hz = |i: usize| (log_min_hz + log_span * i as f64 / num_bins as f64).exp();
        let mut centre_freqs_hz = Vec::with_capacity(num_bins);
        let mut sources = Vec::with_capacity(num_bins);
        for i in 0..num_bins {
            let (lo_hz, hi_hz) = (edge_hz(i), edge_hz(i + 1));
            let centre_hz = (lo_hz * hi_hz).sqrt();
            centre_freqs_hz.push(centre_hz as f32);
            let start = (lo_hz / bin_hz).ceil() as usize;
            let end = ((hi_hz / bin_hz).ceil() as usize).min(fft_len / 2 + 1);
            sources.push(if start < end {
                BinSource::Max { start, end }
            } else {
                BinSource::Interpolate(centre_hz / bin_hz)
            });
        }
        Self {
            centre_freqs_hz,
            sources,
            edge_bins: (0..=num_bins).map(|i| edge_hz(i) / bin_hz).collect(),
        }
    }

    pub fn num_bins(&self) -> usize {
        self.sources.len()
    }

    /// The band whose range holds the fractional FFT bin `position` (log bands only).
    fn band_at(&self, position: f64) -> Option<usize> {
        let (first, last) = (*self.edge_bins.first()?, *self.edge_bins.last()?);
        (first..last)
            .contains(&position)
            .then(|| self.edge_bins.partition_point(|&edge| edge <= position) - 1)
    }
}

/// One analysis recipe, planned for one sample rate, ready to run allocation-free.
pub struct Analyzer {
    settings: AnalysisSettings,
    sample_rate: u32,
    bin_map: BinMap,
    placement: WindowPlacement,
    fft: Arc<dyn RealToComplex<f64>>,
    /// Window coefficients (`Default` only), pre-multiplied so a full-scale sine reads 1.0.
    window: Vec<f64>,
    fft_input: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    /// `Default`: linear magnitude of each FFT bin (narrow bands interpolate these).
    magnitudes: Vec<f64>,
    /// `Default`: each FFT bin's level in dB, then each band's: one logarithm per bin serves the
    /// band maxima and the peak parabolas alike.
    bin_levels_db: Vec<f64>,
    band_db: Vec<f64>,
    /// `Default`: the last frame's band levels in dB, tilt included (what the GUI's analyzer draws).
    band_levels_db: Vec<f32>,
    /// `Default`: each band's tilt in dB, `tilt * log2(centre / 1 kHz)`, computed once.
    band_tilts_db: Vec<f64>,
}

impl Analyzer {
    /// Plans the FFT and allocates every buffer `analyze` needs.
    pub fn new(settings: &AnalysisSettings, sample_rate: u32) -> Result<Self, AnalysisError> {
        settings.validate(sample_rate)?;
        let fft_len = settings.fft_len(sample_rate);
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(fft_len);
        let bin_map = BinMap::for_settings(settings, sample_rate);
        let (placement, window) = match settings.preset {
            Preset::Seed => (WindowPlacement::FrameStart { max_len: fft_len }, Vec::new()),
            Preset::Default => (
                WindowPlacement::FrameCentre { len: fft_len },
                calibrated_window(settings.window, fft_len),
            ),
        };
        Ok(Self {
            settings: settings.clone(),
            sample_rate,
            placement,
            fft_input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            magnitudes: vec![0.0; fft_len / 2 + 1],
            bin_levels_db: vec![0.0; fft_len / 2 + 1],
            band_db: vec![0.0; bin_map.num_bins()],
            band_levels_db: vec![0.0; bin_map.num_bins()],
            band_tilts_db: bin_map
                .centre_freqs_hz
                .iter()
                .map(|&centre_hz| band_tilt_db(settings.tilt_db_per_octave, centre_hz))
                .collect(),
            bin_map,
            window,
            fft,
        })
    }

    pub fn settings(&self) -> &AnalysisSettings {
        &self.settings
    }

    /// Changes the `Default` preset's floor and tilt in place, as [`Analyzer::new`] would have set
    /// them: the plugin switches them at a take's start without planning again. Allocation-free.
    pub fn update_levels(&mut self, floor_db: f32, tilt_db_per_octave: f32) {
        debug_assert!(floor_db.is_finite() && floor_db < 0.0 && tilt_db_per_octave.is_finite());
        self.settings.floor_db = floor_db;
        if self.settings.tilt_db_per_octave == tilt_db_per_octave {
            return;
        }
        self.settings.tilt_db_per_octave = tilt_db_per_octave;
        for (tilt_db, &centre_hz) in self
            .band_tilts_db
            .iter_mut()
            .zip(&self.bin_map.centre_freqs_hz)
        {
            *tilt_db = band_tilt_db(tilt_db_per_octave, centre_hz);
        }
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    pub fn bin_map(&self) -> &BinMap {
        &self.bin_map
    }

    pub fn num_bins(&self) -> usize {
        self.bin_map.num_bins()
    }

    /// `Default`: the last analyzed frame's band levels in dB (0 dB = full-scale sine), tilt
    /// included and not clamped to the floor. All zeros for `Seed`.
    pub fn band_levels_db(&self) -> &[f32] {
        &self.band_levels_db
    }

    /// Where on the timeline the samples for a frame come from.
    pub fn placement(&self) -> WindowPlacement {
        self.placement
    }

    /// The most samples one call to [`Analyzer::analyze`] reads.
    pub fn max_input_len(&self) -> usize {
        self.fft_input.len()
    }

    /// Analyzes one frame's mono samples into `bins` (length [`Analyzer::num_bins`]).
    ///
    /// `samples` holds the frame's window as [`Analyzer::placement`] describes it (at most
    /// [`Analyzer::max_input_len`] samples; shorter input is zero-padded). Non-finite samples count
    /// as silence, so every output value is finite. `Seed` writes the post's raw `|rfft|` values;
    /// `Default` writes levels mapped from `floor_db..0 dB` to `0..1`.
    pub fn analyze(&mut self, samples: &[f32], bins: &mut [f32]) {
        debug_assert!(samples.len() <= self.fft_input.len());
        debug_assert_eq!(bins.len(), self.num_bins());
        match self.settings.preset {
            Preset::Seed => self.analyze_seed(samples, bins),
            Preset::Default => self.analyze_default(samples, bins),
        }
    }

    fn analyze_seed(&mut self, samples: &[f32], bins: &mut [f32]) {
        // The post reads 16-bit integers and divides by 2**16: a float sample x becomes x / 2.
        for (dst, &x) in self.fft_input.iter_mut().zip(samples) {
            *dst = f64::from(finite_or_zero(x)) / 2.0;
        }
        self.fft_input[samples.len()..].fill(0.0);
        self.run_fft();
        for (bin, source) in bins.iter_mut().zip(&self.bin_map.sources) {
            let BinSource::Index(idx) = *source else {
                unreachable!("seed bins are single indices")
            };
            *bin = magnitude(self.spectrum[idx]) as f32;
        }
    }

    fn analyze_default(&mut self, samples: &[f32], bins: &mut [f32]) {
        for ((dst, &x), w) in self.fft_input.iter_mut().zip(samples).zip(&self.window) {
            *dst = f64::from(finite_or_zero(x)) * w;
        }
        self.fft_input[samples.len()..].fill(0.0);
        self.run_fft();
        let bins_db = self.magnitudes.iter_mut().zip(&mut self.bin_levels_db);
        for ((mag, level_db), &c) in bins_db.zip(&self.spectrum) {
            *mag = magnitude(c);
            *level_db = fast_gain_to_db(*mag);
        }
        for (level_db, source) in self.band_db.iter_mut().zip(&self.bin_map.sources) {
            *level_db = match *source {
                BinSource::Max { start, end } => self.bin_levels_db[start..end]
                    .iter()
                    .copied()
                    .fold(f64::MIN, f64::max),
                BinSource::Interpolate(position) => {
                    gain_to_db(interpolate(&self.magnitudes, position))
                }
                BinSource::Index(idx) => self.bin_levels_db[idx],
            };
        }
        self.add_interpolated_peaks();
        let floor_db = f64::from(self.settings.floor_db);
        let levels = self.band_db.iter().zip(&self.band_tilts_db);
        for ((bin, level_db), (&band_db, &tilt_db)) in
            bins.iter_mut().zip(&mut self.band_levels_db).zip(levels)
        {
            let tilted_db = band_db + tilt_db;
            *level_db = tilted_db as f32;
            *bin = ((tilted_db - floor_db) / -floor_db).clamp(0.0, 1.0) as f32;
        }
    }

    /// A sine between two FFT bins reads low (up to 1.4 dB with Hann) and may fall into the band
    /// next to its own. A parabola through each local maximum's log magnitudes recovers the true
    /// frequency and level, which then count for the band that holds that frequency.
    fn add_interpolated_peaks(&mut self) {
        let levels_db = &self.bin_levels_db;
        for idx in 1..levels_db.len() - 1 {
            let (a, b, c) = (levels_db[idx - 1], levels_db[idx], levels_db[idx + 1]);
            if !(b > a && b >= c && self.magnitudes[idx] > f64::MIN_POSITIVE) {
                continue;
            }
            let curvature = a - 2.0 * b + c;
            let offset = if curvature < 0.0 {
                (0.5 * (a - c) / curvature).clamp(-0.5, 0.5)
            } else {
                0.0
            };
            let peak_db = b - 0.25 * (a - c) * offset;
            if let Some(band) = self.bin_map.band_at(idx as f64 + offset) {
                self.band_db[band] = self.band_db[band].max(peak_db);
            }
        }
    }

    fn run_fft(&mut self) {
        self.fft
            .process_with_scratch(&mut self.fft_input, &mut self.spectrum, &mut self.scratch)
            .expect("buffers come from the plan itself");
    }
}

/// A band's tilt in dB: `tilt` dB per octave away from 1 kHz.
fn band_tilt_db(tilt_db_per_octave: f32, centre_hz: f32) -> f64 {
    f64::from(tilt_db_per_octave) * (f64::from(centre_hz) / 1000.0).log2()
}

/// Window coefficients scaled so that a full-scale sine's peak bin reads 1.0 (0 dB):
/// a sine of amplitude A reaches `A * sum(w) / 2`.
fn calibrated_window(kind: WindowKind, len: usize) -> Vec<f64> {
    let coefficients: &[f64] = match kind {
        WindowKind::Hann => &[0.5, 0.5],
        WindowKind::BlackmanHarris => &[0.35875, 0.48829, 0.14128, 0.01168],
        WindowKind::FlatTop => &[
            0.21557895,
            0.41663158,
            0.277263158,
            0.083578947,
            0.006947368,
        ],
    };
    // Periodic windows (denominator `len`): the form spectral analyzers use.
    let mut window: Vec<f64> = (0..len)
        .map(|n| {
            let phase = 2.0 * PI * n as f64 / len as f64;
            coefficients
                .iter()
                .enumerate()
                .map(|(k, &a)| if k % 2 == 0 { a } else { -a } * (k as f64 * phase).cos())
                .sum()
        })
        .collect();
    let gain = 2.0 / window.iter().sum::<f64>();
    window.iter_mut().for_each(|w| *w *= gain);
    window
}

/// `|c|` without `hypot`'s overflow guard, which costs more than the FFT's butterflies here and
/// guards against magnitudes near 1e154 that audio never reaches.
#[inline]
fn magnitude(c: Complex<f64>) -> f64 {
    c.norm_sqr().sqrt()
}

fn interpolate(values: &[f64], position: f64) -> f64 {
    let idx = (position.floor() as usize).min(values.len() - 1);
    let next = (idx + 1).min(values.len() - 1);
    let frac = position - idx as f64;
    values[idx] * (1.0 - frac) + values[next] * frac
}

/// One sample frame mixed to mono: the channels summed in order, divided by the channel count
/// ((L+R)/2 for stereo, as the post does). The CLI and the plugin both call this, so a bounce and a
/// render of the same audio feed the analyzer bit-identical samples.
#[inline]
pub fn mix_to_mono(channel_samples: impl IntoIterator<Item = f32>) -> f32 {
    let (sum, num_channels) = channel_samples
        .into_iter()
        .fold((0.0f32, 0u32), |(sum, n), x| (sum + x, n + 1));
    if num_channels == 0 {
        0.0
    } else {
        sum / num_channels as f32
    }
}

/// NaN, infinities and denormals become silence before they reach the FFT.
#[inline]
pub fn finite_or_zero(x: f32) -> f32 {
    if x.is_normal() { x } else { 0.0 }
}

/// Linear gain to dB; silence becomes a very low but finite level.
#[inline]
pub fn gain_to_db(gain: f64) -> f64 {
    20.0 * gain.max(1e-12).log10()
}

/// [`gain_to_db`] through a single-precision logarithm: cheaper, and its error (about
/// 1e-5 dB) is far below anything a display or a guide frame can show.
#[inline]
fn fast_gain_to_db(gain: f64) -> f64 {
    const DB_PER_NEPER: f64 = 20.0 / std::f64::consts::LN_10;
    DB_PER_NEPER * f64::from((gain.max(1e-12) as f32).ln())
}

/// Maps one frame's values to 0..1 for drawing: `Default` values already are; the post's raw
/// `Seed` amplitudes are divided by the frame's loudest bin, as its renderer does.
pub fn unit_values(preset: Preset, values: &[f32], out: &mut [f32]) {
    match preset {
        Preset::Default => out.copy_from_slice(values),
        Preset::Seed => {
            let peak = values.iter().copied().fold(0.0f32, f32::max);
            let scale = if peak > 0.0 { 1.0 / peak } else { 0.0 };
            for (dst, &v) in out.iter_mut().zip(values) {
                *dst = v * scale;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The post's indices for its 0.1 s window at 44.1 kHz, as numpy computes them: 10 up to
    /// 2204, not 2205, because `10 ** log10(2205)` rounds to 2204.9999999999977.
    #[test]
    fn seed_indices_match_numpy_logspace() {
        let map = BinMap::seed(4410, 256, 44_100);
        assert_eq!(map.sources[0], BinSource::Index(10));
        assert_eq!(map.sources[253], BinSource::Index(2113));
        assert_eq!(map.sources[255], BinSource::Index(2204));
        // Duplicates at the low end are kept, as in numpy.
        assert_eq!(map.sources[1], BinSource::Index(10));
    }

    /// A calibrated window reads a full-scale sine on a bin centre as exactly 0 dB.
    #[test]
    fn windows_are_calibrated_to_full_scale() {
        for kind in [
            WindowKind::Hann,
            WindowKind::BlackmanHarris,
            WindowKind::FlatTop,
        ] {
            let window = calibrated_window(kind, 1024);
            let bin = 64.0;
            let re: f64 = window
                .iter()
                .enumerate()
                .map(|(n, w)| {
                    w * (2.0 * PI * bin * n as f64 / 1024.0).sin()
                        * (2.0 * PI * bin * n as f64 / 1024.0).sin()
                })
                .sum();
            assert!((re - 1.0).abs() < 1e-9, "{kind:?}: {re}");
        }
    }

    /// Switching floor and tilt in place gives the bytes of an analyzer planned with them.
    #[test]
    fn updated_levels_equal_a_fresh_plan() {
        let samples: Vec<f32> = (0..4096)
            .map(|n| (n as f32 * 0.07).sin() * 0.3 + (n as f32 * 0.9).sin() * 0.01)
            .collect();
        let mut updated = Analyzer::new(&AnalysisSettings::default(), 48_000).unwrap();
        updated.update_levels(-60.0, 4.5);
        let settings = AnalysisSettings {
            floor_db: -60.0,
            tilt_db_per_octave: 4.5,
            ..AnalysisSettings::default()
        };
        let mut fresh = Analyzer::new(&settings, 48_000).unwrap();
        let (mut a, mut b) = (vec![0.0; 256], vec![0.0; 256]);
        updated.analyze(&samples, &mut a);
        fresh.analyze(&samples, &mut b);
        assert_eq!(a, b);
        assert_eq!(updated.settings(), &settings);
    }

    #[test]
    fn default_fft_size_scales_with_rate() {
        assert_eq!(default_fft_size(44_100), 4096);
        assert_eq!(default_fft_size(48_000), 4096);
        assert_eq!(default_fft_size(96_000), 8192);
        assert_eq!(default_fft_size(22_050), 2048);
    }

    /// A band narrower than one FFT bin still gets a value, and bands cover 20 Hz..20 kHz.
    #[test]
    fn log_bands_cover_the_range() {
        let map = BinMap::log_bands(4096, 256, 48_000, 20.0, 20_000.0);
        assert!(matches!(map.sources[0], BinSource::Interpolate(_)));
        assert!(matches!(map.sources[255], BinSource::Max { .. }));
        assert!((map.centre_freqs_hz[0] - 20.27).abs() < 0.1);
        let bin_hz = 48_000.0 / 4096.0;
        assert_eq!(
            map.band_at(1000.0 / bin_hz),
            Some((256.0 * (50f64).ln() / 1000f64.ln()) as usize)
        );
        assert_eq!(map.band_at(25_000.0 / bin_hz), None);
        assert_eq!(map.band_at(0.0), None);
    }

    #[test]
    fn unit_values_scale_seed_by_frame_peak() {
        let mut out = [0.0; 3];
        unit_values(Preset::Seed, &[1.0, 4.0, 2.0], &mut out);
        assert_eq!(out, [0.25, 1.0, 0.5]);
        unit_values(Preset::Seed, &[0.0; 3], &mut out);
        assert_eq!(out, [0.0; 3]);
    }
}
