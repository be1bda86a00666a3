//! GUI thread: the meter strip's measurements, from the raw samples the tap carries (see
//! `handoff::TapOutput`): sample peak, true peak, RMS, loudness (momentary, short-term,
//! integrated) and stereo correlation.
//!
//! Loudness and true peak come from the `ebur128` crate (ITU-R BS.1770-4 / EBU R128: K-weighting,
//! 400 ms / 3 s windows, gating; true peak by 4× polyphase oversampling below 96 kHz, 2× below
//! 192 kHz, none above, as BS.1770-4 Annex 2 allows). Channel weighting: a stereo track is two
//! channels, left and right, each weighted 1.0 (so the same signal on both reads 3 dB louder than
//! on one); a mono track is one channel weighted 1.0, so a −20 dBFS sine reads −23 LUFS.
//! Only what the editor saw is measured: while it is closed nothing runs.

use ebur128::{EbuR128, Mode};

/// The integration time of the RMS and correlation readings.
pub const AVERAGING_S: f64 = 0.3;
/// How fast the live peak bar falls, dB per second.
const PEAK_FALL_DB_PER_S: f32 = 20.0;
/// Mean-square energy below which a channel counts as silent (−120 dBFS).
const SILENCE: f64 = 1e-12;

/// What the strip shows, for one repaint. Levels in dB(FS), `-inf` for silence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeterReadings {
    /// 1 (mono track) or 2.
    pub num_channels: usize,
    /// The highest sample since the last reset, per channel, in dBFS.
    pub sample_peak_db: [f32; 2],
    /// The highest true (inter-sample) peak since the last reset, per channel, in dBTP.
    pub true_peak_db: [f32; 2],
    /// The live peak with a 20 dB/s fall, per channel, in dBFS (the bars).
    pub live_peak_db: [f32; 2],
    /// RMS over the last ~300 ms (exponential), per channel, in dBFS: a full-scale sine reads
    /// −3.01 dB.
    pub rms_db: [f32; 2],
    /// Loudness over the last 400 ms, in LUFS (`None` until 400 ms have passed).
    pub momentary_lufs: Option<f32>,
    /// Loudness over the last 3 s, in LUFS (`None` until 3 s have passed).
    pub short_term_lufs: Option<f32>,
    /// Gated loudness since the last reset, in LUFS (`None` while everything is below the gate).
    pub integrated_lufs: Option<f32>,
    /// Pearson correlation of left and right over the last ~300 ms, −1..+1; `None` for a mono
    /// track or silence.
    pub correlation: Option<f32>,
}

/// The meters of one stream; made by the editor when the tap's stream changes.
pub struct Meters {
    /// Loudness (M, S, I), sample peak and true peak since the last reset.
    loudness: EbuR128,
    /// 1 (mono track: only `left` is measured) or 2.
    num_channels: usize,
    /// For the live peak's fall per sample.
    sample_rate_hz: u32,
    /// Per-sample factor of the exponential averages.
    keep: f64,
    /// Averaged left², right² and left·right (RMS and correlation).
    mean_ll: f64,
    mean_rr: f64,
    mean_lr: f64,
    /// The bars' peak per channel, falling at 20 dB/s, in dBFS.
    live_peak_db: [f32; 2],
    /// Interleaved samples for `ebur128`, reused.
    scratch: Vec<f32>,
}

impl Meters {
    /// Meters for a stream of `num_channels` (1 or 2) at `sample_rate_hz`.
    pub fn new(sample_rate_hz: u32, num_channels: usize) -> Result<Self, ebur128::Error> {
        let num_channels = num_channels.clamp(1, 2);
        let loudness = EbuR128::new(
            num_channels as u32,
            sample_rate_hz,
            Mode::M | Mode::S | Mode::I | Mode::SAMPLE_PEAK | Mode::TRUE_PEAK,
        )?;
        Ok(Self {
            loudness,
            num_channels,
            sample_rate_hz,
            keep: (-1.0 / (AVERAGING_S * f64::from(sample_rate_hz))).exp(),
            mean_ll: 0.0,
            mean_rr: 0.0,
            mean_lr: 0.0,
            live_peak_db: [f32::NEG_INFINITY; 2],
            scratch: Vec::new(),
        })
    }

    /// Starts every reading afresh (the strip's Reset).
    pub fn reset(&mut self) {
        self.loudness.reset();
        self.mean_ll = 0.0;
        self.mean_rr = 0.0;
        self.mean_lr = 0.0;
        self.live_peak_db = [f32::NEG_INFINITY; 2];
    }

    /// Feeds the samples drained from the tap. A mono track's samples arrive as identical pairs:
    /// only `left` is measured.
    pub fn process(&mut self, left: &[f32], right: &[f32]) {
        let len = left.len().min(right.len());
        if len == 0 {
            return;
        }
        let (left, right) = (&left[..len], &right[..len]);
        self.scratch.clear();
        if self.num_channels == 1 {
            self.scratch.extend_from_slice(left);
        } else {
            self.scratch
                .extend(left.iter().zip(right).flat_map(|(&l, &r)| [l, r]));
        }
        // Only fails for a wrong channel count, which `new` rules out.
        let _ = self.loudness.add_frames_f32(&self.scratch);

        let keep = self.keep;
        let (mut ll, mut rr, mut lr) = (self.mean_ll, self.mean_rr, self.mean_lr);
        for (&l, &r) in left.iter().zip(right) {
            let (l, r) = (f64::from(l), f64::from(r));
            ll = keep * ll + (1.0 - keep) * l * l;
            rr = keep * rr + (1.0 - keep) * r * r;
            lr = keep * lr + (1.0 - keep) * l * r;
        }
        // A NaN or infinity in the input would stick in the averages forever.
        let finite = |x: f64| if x.is_finite() { x } else { 0.0 };
        (self.mean_ll, self.mean_rr, self.mean_lr) = (finite(ll), finite(rr), finite(lr));

        let fall_db = PEAK_FALL_DB_PER_S * len as f32 / self.sample_rate_hz as f32;
        for (channel, live) in self.live_peak_db.iter_mut().enumerate() {
            let samples = if channel == 0 || self.num_channels == 1 {
                left
            } else {
                right
            };
            let block_peak = samples.iter().fold(0.0f32, |peak, x| peak.max(x.abs()));
            *live = (*live - fall_db).max(amplitude_db(f64::from(block_peak)));
        }
    }

    pub fn readings(&self) -> MeterReadings {
        let channel = |ch: usize| (ch.min(self.num_channels - 1)) as u32;
        let peak = |read: fn(&EbuR128, u32) -> Result<f64, ebur128::Error>| {
            [0, 1].map(|ch| amplitude_db(read(&self.loudness, channel(ch)).unwrap_or(0.0)))
        };
        let lufs = |value: Result<f64, ebur128::Error>| {
            value
                .ok()
                .filter(|lufs| lufs.is_finite())
                .map(|lufs| lufs as f32)
        };
        let mean_rr = if self.num_channels == 1 {
            self.mean_ll
        } else {
            self.mean_rr
        };
        let energy = self.mean_ll * self.mean_rr;
        MeterReadings {
            num_channels: self.num_channels,
            sample_peak_db: peak(EbuR128::sample_peak),
            true_peak_db: peak(EbuR128::true_peak),
            live_peak_db: self.live_peak_db,
            rms_db: [self.mean_ll, mean_rr].map(power_db),
            momentary_lufs: lufs(self.loudness.loudness_momentary()),
            short_term_lufs: lufs(self.loudness.loudness_shortterm()),
            integrated_lufs: lufs(self.loudness.loudness_global()),
            correlation: (self.num_channels == 2 && energy > SILENCE * SILENCE)
                .then(|| (self.mean_lr / energy.sqrt()).clamp(-1.0, 1.0) as f32),
        }
    }
}

/// A linear amplitude in dB, `-inf` for 0.
fn amplitude_db(amplitude: f64) -> f32 {
    (20.0 * amplitude.log10()) as f32
}

/// A mean square in dB, `-inf` below the silence threshold.
fn power_db(mean_square: f64) -> f32 {
    if mean_square < SILENCE {
        f32::NEG_INFINITY
    } else {
        (10.0 * mean_square.log10()) as f32
    }
}
