//! Any thread: pure. Video frames on the audio timeline, in exact integer arithmetic.
//!
//! Frame `k` starts at sample `floor(k * sr / fps)`. Frame rates are rational (`24000/1001`), so
//! frame boundaries never drift, however long the audio (DESIGN.md §4, §5).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::analysis::WindowPlacement;

/// A video frame rate as an exact fraction, `num / den` frames per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FrameRate {
    pub num: u32,
    pub den: u32,
}

impl FrameRate {
    pub const FPS_24: Self = Self::new(24, 1);

    /// The rates video tools use, from 12 to 60 frames per second.
    pub const SUPPORTED: [Self; 10] = [
        Self::new(12, 1),
        Self::new(15, 1),
        Self::new(24_000, 1001),
        Self::new(24, 1),
        Self::new(25, 1),
        Self::new(30_000, 1001),
        Self::new(30, 1),
        Self::new(50, 1),
        Self::new(60_000, 1001),
        Self::new(60, 1),
    ];

    pub const fn new(num: u32, den: u32) -> Self {
        Self { num, den }
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }

    /// How many frames audio of `num_samples` samples makes: `ceil(samples * fps / sr)`, the
    /// frames that start inside the audio (the last one zero-padded).
    pub fn num_frames(self, num_samples: u64, sample_rate: u32) -> u64 {
        let numerator = u128::from(num_samples) * u128::from(self.num);
        numerator.div_ceil(u128::from(sample_rate) * u128::from(self.den)) as u64
    }

    /// Frame `k`'s start time in seconds, computed from the fraction (exact up to `f64` rounding).
    pub fn frame_time_s(self, frame_idx: i64) -> f64 {
        frame_idx as f64 * f64::from(self.den) / f64::from(self.num)
    }
}

impl fmt::Display for FrameRate {
    /// `24`, `23.976`, `29.97`: the names video tools use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.den {
            1 => write!(f, "{}", self.num),
            1001 => write!(f, "{}", (self.as_f64() * 1000.0).round() / 1000.0),
            _ => write!(f, "{}/{}", self.num, self.den),
        }
    }
}

/// A frame rate we do not support; the message lists the ones we do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported frame rate '{0}' (use 12, 15, 23.976, 24, 25, 29.97, 30, 50, 59.94 or 60)")]
pub struct FrameRateError(pub String);

impl FromStr for FrameRate {
    type Err = FrameRateError;

    /// Accepts `24`, `23.976`, `29.97`, `59.94` and fractions such as `24000/1001`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || FrameRateError(text.to_owned());
        let rate = match text.trim() {
            "23.976" | "23.98" => Self::new(24_000, 1001),
            "29.97" => Self::new(30_000, 1001),
            "59.94" => Self::new(60_000, 1001),
            other => match other.split_once('/') {
                Some((num, den)) => Self::new(
                    num.parse().map_err(|_| error())?,
                    den.parse().map_err(|_| error())?,
                ),
                None => Self::new(other.parse().map_err(|_| error())?, 1),
            },
        };
        Self::SUPPORTED
            .contains(&rate)
            .then_some(rate)
            .ok_or_else(error)
    }
}

/// The samples that feed one frame's analysis: `start..start + len` on the timeline. `start` may
/// be negative or run past the audio's end; those samples are silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleSpan {
    pub start: i64,
    pub len: usize,
}

impl SampleSpan {
    pub fn end(self) -> i64 {
        self.start + self.len as i64
    }
}

/// Maps frame indices to samples for one frame rate, sample rate and analysis window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameClock {
    rate: FrameRate,
    sample_rate: u32,
    placement: WindowPlacement,
}

impl FrameClock {
    pub fn new(rate: FrameRate, sample_rate: u32, placement: WindowPlacement) -> Self {
        Self {
            rate,
            sample_rate,
            placement,
        }
    }

    pub fn rate(&self) -> FrameRate {
        self.rate
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// `floor(numerator / (2 * num))` in samples, for a time of `numerator / (2 * fps)` seconds.
    fn half_frames_to_samples(&self, half_frames: i64) -> i64 {
        let samples =
            i128::from(half_frames) * i128::from(self.sample_rate) * i128::from(self.rate.den);
        samples.div_euclid(2 * i128::from(self.rate.num)) as i64
    }

    /// The first sample of frame `k`: `floor(k * sr / fps)`.
    pub fn frame_start(&self, frame_idx: i64) -> i64 {
        self.half_frames_to_samples(2 * frame_idx)
    }

    /// The samples that frame `k`'s analysis reads.
    pub fn window(&self, frame_idx: i64) -> SampleSpan {
        match self.placement {
            WindowPlacement::FrameStart { max_len } => {
                // The post's chunk is `int(start + sr / fps) - start` samples: `floor(sr / fps)`.
                let chunk_len = self.half_frames_to_samples(2) as usize;
                SampleSpan {
                    start: self.frame_start(frame_idx),
                    len: chunk_len.min(max_len),
                }
            }
            WindowPlacement::FrameCentre { len } => {
                let centre = self.half_frames_to_samples(2 * frame_idx + 1);
                SampleSpan {
                    start: centre - (len / 2) as i64,
                    len,
                }
            }
        }
    }

    /// The first frame that starts at or after sample `pos` (frames before 0 do not exist).
    pub fn first_frame_at_or_after(&self, pos: i64) -> i64 {
        if pos <= 0 {
            return 0;
        }
        // Smallest k with k * sr * den >= pos * num.
        let numerator = i128::from(pos) * i128::from(self.rate.num);
        let denominator = i128::from(self.sample_rate) * i128::from(self.rate.den);
        ((numerator + denominator - 1) / denominator) as i64
    }

    /// How many frames audio of `num_samples` samples makes (see [`FrameRate::num_frames`]).
    pub fn num_frames(&self, num_samples: u64) -> u64 {
        self.rate.num_frames(num_samples, self.sample_rate)
    }

    /// The longest span any frame reads, for sizing history buffers.
    pub fn max_window_len(&self) -> usize {
        match self.placement {
            WindowPlacement::FrameStart { max_len } => {
                (self.half_frames_to_samples(2) as usize).min(max_len)
            }
            WindowPlacement::FrameCentre { len } => len,
        }
    }
}

/// `HH:MM:SS:FF` for frame `k`, counting whole frames per second (non-drop-frame timecode).
pub fn timecode(frame_idx: u64, rate: FrameRate) -> String {
    let fps = u64::from(rate.num.div_ceil(rate.den));
    let (seconds, frames) = (frame_idx / fps, frame_idx % fps);
    format!(
        "{:02}:{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        frames
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(rate: FrameRate, sample_rate: u32) -> FrameClock {
        FrameClock::new(
            rate,
            sample_rate,
            WindowPlacement::FrameCentre { len: 4096 },
        )
    }

    #[test]
    fn parses_video_rates() {
        assert_eq!("23.976".parse(), Ok(FrameRate::new(24_000, 1001)));
        assert_eq!("30000/1001".parse(), Ok(FrameRate::new(30_000, 1001)));
        assert_eq!("24".parse(), Ok(FrameRate::FPS_24));
        assert!("0".parse::<FrameRate>().is_err());
        assert!("23.9".parse::<FrameRate>().is_err());
        assert!("1/0".parse::<FrameRate>().is_err());
        assert_eq!(FrameRate::new(30_000, 1001).to_string(), "29.97");
        assert_eq!(FrameRate::new(24_000, 1001).to_string(), "23.976");
    }

    /// Frame counts for 1 s, 1 min and 3 h at the rates users pick most, against the exact formula.
    #[test]
    fn frame_counts_are_exact_for_hours() {
        for (rate, sr) in [
            (FrameRate::new(24_000, 1001), 48_000u32),
            (FrameRate::new(30_000, 1001), 44_100),
            (FrameRate::FPS_24, 44_100),
            (FrameRate::new(60, 1), 48_000),
        ] {
            let clock = clock(rate, sr);
            for seconds in [1u64, 60, 3 * 3600] {
                let samples = seconds * u64::from(sr);
                let expected = (u128::from(samples) * u128::from(rate.num))
                    .div_ceil(u128::from(sr) * u128::from(rate.den));
                assert_eq!(
                    u128::from(clock.num_frames(samples)),
                    expected,
                    "{rate} {seconds} s"
                );
            }
        }
        assert_eq!(
            clock(FrameRate::new(24_000, 1001), 48_000).num_frames(3 * 3600 * 48_000),
            258_942
        );
        assert_eq!(
            clock(FrameRate::new(30_000, 1001), 48_000).num_frames(60 * 48_000),
            1799
        );
        assert_eq!(clock(FrameRate::FPS_24, 44_100).num_frames(44_100), 24);
        assert_eq!(clock(FrameRate::FPS_24, 44_100).num_frames(44_101), 25);
        assert_eq!(clock(FrameRate::FPS_24, 44_100).num_frames(0), 0);
    }

    /// After 3 hours at 29.97 fps the frame boundary is where the fraction puts it, to the sample.
    #[test]
    fn frame_starts_do_not_drift() {
        let clock = clock(FrameRate::new(30_000, 1001), 48_000);
        // 323_676 frames * 1001 / 30000 s * 48 kHz = 518_399_481.6 samples.
        assert_eq!(clock.frame_start(323_676), 518_399_481);
        assert_eq!(clock.frame_start(1), 1601);
        assert_eq!(clock.first_frame_at_or_after(1601), 1);
        assert_eq!(clock.first_frame_at_or_after(1602), 2);
        assert_eq!(clock.first_frame_at_or_after(-5), 0);
    }

    /// Consecutive frames tile the timeline: every sample belongs to exactly one frame.
    #[test]
    fn frame_starts_tile_the_timeline() {
        let clock = clock(FrameRate::new(24_000, 1001), 44_100);
        for k in 0..5000 {
            let (start, next) = (clock.frame_start(k), clock.frame_start(k + 1));
            assert!(
                next - start == 1839 || next - start == 1840,
                "frame {k}: {}",
                next - start
            );
            assert_eq!(clock.first_frame_at_or_after(start), k);
        }
    }

    #[test]
    fn windows_follow_their_placement() {
        let centred = clock(FrameRate::FPS_24, 48_000);
        assert_eq!(
            centred.window(0),
            SampleSpan {
                start: 1000 - 2048,
                len: 4096
            }
        );
        assert_eq!(
            centred.window(10),
            SampleSpan {
                start: 21_000 - 2048,
                len: 4096
            }
        );
        let seed = FrameClock::new(
            FrameRate::FPS_24,
            44_100,
            WindowPlacement::FrameStart { max_len: 4410 },
        );
        // The post: start = int(c * 1837.5), end = int(start + 1837.5).
        assert_eq!(
            seed.window(1),
            SampleSpan {
                start: 1837,
                len: 1837
            }
        );
        assert_eq!(
            seed.window(2),
            SampleSpan {
                start: 3675,
                len: 1837
            }
        );
        let truncated = FrameClock::new(
            FrameRate::FPS_24,
            44_100,
            WindowPlacement::FrameStart { max_len: 441 },
        );
        assert_eq!(truncated.window(1).len, 441);
    }

    #[test]
    fn timecode_counts_whole_frames() {
        assert_eq!(timecode(0, FrameRate::FPS_24), "00:00:00:00");
        assert_eq!(timecode(24 * 3661 + 5, FrameRate::FPS_24), "01:01:01:05");
        assert_eq!(timecode(29, FrameRate::new(30_000, 1001)), "00:00:00:29");
    }
}
