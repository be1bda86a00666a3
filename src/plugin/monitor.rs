//! Audio thread: the live analyzer for the GUI. Runs only while the editor is open, about 60 times
//! a second (more often with high overlap), with the analyzer controls applied: FFT size, window,
//! channel mode, slope, averaging and peak hold. Publishes dB levels through the triple buffer;
//! display ranges are the editor's job. Allocation-free after [`Monitor::new`]: every FFT size and
//! window the parameters allow is planned up front (about 4 MB at 48 kHz, lent to the audio thread
//! only while the editor is open; see `session`).

use crate::analysis::{AnalysisError, AnalysisSettings, Analyzer, Preset, default_fft_size};
use crate::handoff::{SpectrumInput, SpectrumKind};

use super::params::{ChannelModeParam, FftSizeParam, WindowParam};

/// Bands of the live view.
pub const MONITOR_BINS: usize = 512;
/// The analysis floor; the editor's range sits above it.
pub const MONITOR_FLOOR_DB: f32 = -200.0;
/// Updates per second at the least.
const DISPLAY_RATE_HZ: f64 = 60.0;

/// The live view's controls for one block, read from the parameters.
#[derive(Debug, Clone, Copy)]
pub struct MonitorSettings {
    pub fft_size: FftSizeParam,
    pub hop_fraction: f64,
    pub window: WindowParam,
    pub channel_mode: ChannelModeParam,
    pub slope_db_per_octave: f32,
    pub decay_ms: f32,
    pub is_peak_hold: bool,
    pub peak_fall_db_per_s: f32,
}

pub struct Monitor {
    sample_rate: u32,
    /// `analyzers[size_idx * 3 + window_idx]`, sizes 1024..16384.
    analyzers: Vec<Analyzer>,
    /// The channel-mode mix of the newest samples (the largest FFT's worth).
    ring: Vec<f32>,
    write_idx: usize,
    window: Vec<f32>,
    bins: Vec<f32>,
    levels_db: Vec<f32>,
    peaks_db: Vec<f32>,
    samples_since_analysis: usize,
    has_levels: bool,
}

impl Monitor {
    pub fn new(sample_rate: u32) -> Result<Self, AnalysisError> {
        let mut analyzers = Vec::new();
        for size in &FftSizeParam::ALL[1..] {
            for window in WindowParam::ALL {
                let settings = AnalysisSettings {
                    preset: Preset::Default,
                    num_bins: MONITOR_BINS,
                    fft_size: size.samples(),
                    window: window.kind(),
                    floor_db: MONITOR_FLOOR_DB,
                    ..AnalysisSettings::default()
                };
                analyzers.push(Analyzer::new(&settings, sample_rate)?);
            }
        }
        let max_len = analyzers
            .iter()
            .map(Analyzer::max_input_len)
            .max()
            .unwrap_or(0);
        Ok(Self {
            sample_rate,
            analyzers,
            ring: vec![0.0; max_len],
            write_idx: 0,
            window: vec![0.0; max_len],
            bins: vec![0.0; MONITOR_BINS],
            levels_db: vec![MONITOR_FLOOR_DB; MONITOR_BINS],
            peaks_db: vec![MONITOR_FLOOR_DB; MONITOR_BINS],
            samples_since_analysis: 0,
            has_levels: false,
        })
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Forgets history (a new take of the transport, a reset).
    pub fn reset(&mut self) {
        self.ring.fill(0.0);
        self.write_idx = 0;
        self.samples_since_analysis = 0;
        self.has_levels = false;
    }

    /// Feeds one block (`channels[c][i]`) and publishes a spectrum whenever a hop has passed.
    pub fn process_block(
        &mut self,
        channels: &[&mut [f32]],
        num_samples: usize,
        settings: &MonitorSettings,
        output: &mut SpectrumInput,
    ) {
        let right = channels.len().min(2).saturating_sub(1);
        for (&l, &r) in channels[0][..num_samples]
            .iter()
            .zip(&channels[right][..num_samples])
        {
            let x = match settings.channel_mode {
                ChannelModeParam::Sum | ChannelModeParam::Mid => (l + r) * 0.5,
                ChannelModeParam::Left => l,
                ChannelModeParam::Right => r,
                ChannelModeParam::Side => (l - r) * 0.5,
            };
            self.ring[self.write_idx] = x;
            self.write_idx = (self.write_idx + 1) % self.ring.len();
        }
        self.samples_since_analysis += num_samples;

        let analyzer_idx = self.analyzer_idx(settings);
        let fft_len = self.analyzers[analyzer_idx].max_input_len();
        let hop = ((fft_len as f64 * settings.hop_fraction)
            .min(f64::from(self.sample_rate) / DISPLAY_RATE_HZ) as usize)
            .max(64);
        if self.samples_since_analysis < hop {
            return;
        }
        let elapsed_s = self.samples_since_analysis as f32 / self.sample_rate as f32;
        self.samples_since_analysis = 0;

        // The newest `fft_len` samples, oldest first.
        let ring_len = self.ring.len();
        let start = (self.write_idx + ring_len - fft_len) % ring_len;
        let (tail, head) = self.ring.split_at(start);
        let first = head.len().min(fft_len);
        self.window[..first].copy_from_slice(&head[..first]);
        self.window[first..fft_len].copy_from_slice(&tail[..fft_len - first]);

        let analyzer = &mut self.analyzers[analyzer_idx];
        analyzer.analyze(&self.window[..fft_len], &mut self.bins);
        let freqs = &analyzer.bin_map().centre_freqs_hz;

        let decay = if settings.decay_ms > 0.0 && self.has_levels {
            (-elapsed_s * 1000.0 / settings.decay_ms).exp()
        } else {
            0.0
        };
        let fall_db = settings.peak_fall_db_per_s * elapsed_s;
        for (((level, peak), &value), &freq_hz) in self
            .levels_db
            .iter_mut()
            .zip(&mut self.peaks_db)
            .zip(&self.bins)
            .zip(freqs)
        {
            let new_db = MONITOR_FLOOR_DB * (1.0 - value)
                + settings.slope_db_per_octave * (freq_hz / 1000.0).log2();
            // Attack at once, release with the averaging time.
            *level = if new_db >= *level {
                new_db
            } else {
                new_db + (*level - new_db) * decay
            };
            *peak = if settings.is_peak_hold && self.has_levels {
                (*peak - fall_db).max(*level)
            } else {
                *level
            };
        }
        self.has_levels = true;

        let sample_rate = self.sample_rate as f32;
        let (levels, peaks) = (&self.levels_db, &self.peaks_db);
        output.publish(|spectrum| {
            spectrum.kind = SpectrumKind::MonitorDb;
            spectrum.sample_rate_hz = sample_rate;
            spectrum.frame_idx = -1;
            spectrum.num_bins = MONITOR_BINS;
            spectrum.values[..MONITOR_BINS].copy_from_slice(levels);
            spectrum.peaks[..MONITOR_BINS].copy_from_slice(peaks);
            spectrum.freqs_hz[..MONITOR_BINS].copy_from_slice(freqs);
        });
    }

    fn analyzer_idx(&self, settings: &MonitorSettings) -> usize {
        let len = settings
            .fft_size
            .samples()
            .unwrap_or_else(|| default_fft_size(self.sample_rate))
            .clamp(1024, 16384);
        let size_idx = (len.ilog2() - 10) as usize;
        size_idx * WindowParam::ALL.len() + settings.window as usize
    }
}
