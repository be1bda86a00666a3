//! GUI thread: the live analyzer. Fed the raw samples the tap carries out of the audio thread
//! (see `handoff::TapOutput`) while the editor is open, it analyzes with the analyzer controls
//! applied: FFT size, window, channel mode (one trace, or two for L + R and M + S), slope and
//! averaging. Levels are dB; display ranges are the view's job. Every FFT size and window the
//! parameters allow is planned when it is made, so a change of setting never stalls a repaint.

use crate::analysis::{AnalysisError, AnalysisSettings, Analyzer, Preset, default_fft_size};
use crate::params::{ChannelModeParam, FftSizeParam, Trace, WindowParam};

/// Bands of the live view.
pub const MONITOR_BINS: usize = 512;
/// The analysis floor; the editor's range sits above it.
pub const MONITOR_FLOOR_DB: f32 = -200.0;
/// The most traces drawn at once (L + R, M + S).
pub const MAX_TRACES: usize = 2;
/// Updates per second at the least.
const DISPLAY_RATE_HZ: f64 = 60.0;

/// The live view's controls, read from the parameters.
#[derive(Debug, Clone, Copy)]
pub struct MonitorSettings {
    pub fft_size: FftSizeParam,
    pub hop_fraction: f64,
    pub window: WindowParam,
    pub channel_mode: ChannelModeParam,
    pub slope_db_per_octave: f32,
    pub decay_ms: f32,
}

pub struct Monitor {
    sample_rate: u32,
    /// `analyzers[size_idx * 3 + window_idx]`, sizes 1024..16384.
    analyzers: Vec<Analyzer>,
    /// The traces' channel mode, to restart the history and the averaging when it changes.
    channel_mode: ChannelModeParam,
    /// Each trace's mix of the newest samples (the largest FFT's worth).
    rings: [Vec<f32>; MAX_TRACES],
    write_idx: usize,
    window: Vec<f32>,
    bins: Vec<f32>,
    /// Each trace's averaged level per band, in dB.
    levels_db: [Vec<f32>; MAX_TRACES],
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
            channel_mode: ChannelModeParam::Sum,
            rings: [vec![0.0; max_len], vec![0.0; max_len]],
            write_idx: 0,
            window: vec![0.0; max_len],
            bins: vec![0.0; MONITOR_BINS],
            levels_db: [
                vec![MONITOR_FLOOR_DB; MONITOR_BINS],
                vec![MONITOR_FLOOR_DB; MONITOR_BINS],
            ],
            samples_since_analysis: 0,
            has_levels: false,
        })
    }

    /// Forgets history and levels.
    pub fn reset(&mut self) {
        for ring in &mut self.rings {
            ring.fill(0.0);
        }
        self.write_idx = 0;
        self.samples_since_analysis = 0;
        self.has_levels = false;
    }

    /// Feeds the samples drained from the tap (`left[i]`, `right[i]`; equal lengths) and
    /// analyzes once if a hop has passed. Returns whether the levels changed.
    pub fn process(&mut self, left: &[f32], right: &[f32], settings: &MonitorSettings) -> bool {
        if settings.channel_mode != self.channel_mode {
            self.channel_mode = settings.channel_mode;
            self.reset();
        }
        let traces = settings.channel_mode.traces();
        let ring_len = self.rings[0].len();
        for (&l, &r) in left.iter().zip(right) {
            for (ring, trace) in self.rings.iter_mut().zip(traces) {
                ring[self.write_idx] = trace.mix(l, r);
            }
            self.write_idx = (self.write_idx + 1) % ring_len;
        }
        self.samples_since_analysis += left.len().min(right.len());

        let analyzer_idx = self.analyzer_idx(settings);
        let fft_len = self.analyzers[analyzer_idx].max_input_len();
        let hop = ((fft_len as f64 * settings.hop_fraction)
            .min(f64::from(self.sample_rate) / DISPLAY_RATE_HZ) as usize)
            .max(64);
        if self.samples_since_analysis < hop {
            return false;
        }
        let elapsed_s = self.samples_since_analysis as f32 / self.sample_rate as f32;
        self.samples_since_analysis = 0;
        let decay = if settings.decay_ms > 0.0 && self.has_levels {
            (-elapsed_s * 1000.0 / settings.decay_ms).exp()
        } else {
            0.0
        };

        let start = (self.write_idx + ring_len - fft_len) % ring_len;
        let analyzer = &mut self.analyzers[analyzer_idx];
        for (ring, levels_db) in self
            .rings
            .iter()
            .zip(&mut self.levels_db)
            .take(traces.len())
        {
            // The newest `fft_len` samples, oldest first.
            let (tail, head) = ring.split_at(start);
            let first = head.len().min(fft_len);
            self.window[..first].copy_from_slice(&head[..first]);
            self.window[first..fft_len].copy_from_slice(&tail[..fft_len - first]);
            analyzer.analyze(&self.window[..fft_len], &mut self.bins);
            let freqs = &analyzer.bin_map().centre_freqs_hz;
            for ((level, &value), &freq_hz) in levels_db.iter_mut().zip(&self.bins).zip(freqs) {
                let new_db = MONITOR_FLOOR_DB * (1.0 - value)
                    + settings.slope_db_per_octave * (freq_hz / 1000.0).log2();
                // Attack at once, release with the averaging time.
                *level = if new_db >= *level {
                    new_db
                } else {
                    new_db + (*level - new_db) * decay
                };
            }
        }
        self.has_levels = true;
        true
    }

    /// Whether any levels were computed since the last reset.
    pub fn has_levels(&self) -> bool {
        self.has_levels
    }

    /// Each band's centre frequency in Hz (log-spaced; the same for every FFT size).
    pub fn freqs_hz(&self) -> &[f32] {
        &self.analyzers[0].bin_map().centre_freqs_hz
    }

    /// The traces of the current channel mode with their levels per band, in dB.
    pub fn traces(&self) -> impl Iterator<Item = (Trace, &[f32])> {
        self.channel_mode
            .traces()
            .iter()
            .zip(&self.levels_db)
            .map(|(&trace, levels)| (trace, &levels[..]))
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
