//! Audio thread → GUI thread: the raw stereo samples for the GUI's live analyzer and meters, over
//! a preallocated wait-free SPSC ring (`rtrb`). The audio thread only copies samples in; the GUI
//! thread does every analysis when it drains the ring.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Stereo frames the tap holds: about 1.4 s at 48 kHz, 0.34 s at 192 kHz, while the GUI drains it
/// every repaint (~16 ms). `rtrb` reserves the ring without writing it, so an instance whose editor
/// never opens keeps these 512 KiB as untouched (not resident) memory.
pub const TAP_CAPACITY_FRAMES: usize = 1 << 16;

/// What both ends of the tap share.
#[derive(Debug, Default)]
struct TapShared {
    /// The stream's sample rate in Hz; written at activation (main thread).
    sample_rate_hz: AtomicU32,
    /// 1 for a mono track (whose samples arrive as identical pairs), 2 for stereo; written at
    /// activation.
    num_channels: AtomicU32,
    /// Counts activations, so the GUI restarts its analysis on a new stream; `Release` after the
    /// two fields above, which the GUI reads after an `Acquire` load.
    stream_idx: AtomicU32,
    /// Frames that did not fit because the GUI had not drained the ring; audio thread.
    num_dropped_frames: AtomicU64,
}

/// Audio thread end of the tap.
pub struct TapInput {
    samples: rtrb::Producer<f32>,
    shared: Arc<TapShared>,
}

/// GUI thread end of the tap.
pub struct TapOutput {
    samples: rtrb::Consumer<f32>,
    shared: Arc<TapShared>,
}

/// The stream a tap carries, as the GUI reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapStream {
    /// Which activation: a change means a new stream.
    pub stream_idx: u32,
    pub sample_rate_hz: u32,
    pub num_channels: u32,
}

impl TapInput {
    /// Makes both ends, with room for [`TAP_CAPACITY_FRAMES`] interleaved stereo frames.
    /// Allocates: call it where the plugin is made.
    pub fn new() -> (TapInput, TapOutput) {
        let (samples, output) = rtrb::RingBuffer::new(TAP_CAPACITY_FRAMES * 2);
        let shared = Arc::new(TapShared::default());
        (
            TapInput {
                samples,
                shared: Arc::clone(&shared),
            },
            TapOutput {
                samples: output,
                shared,
            },
        )
    }

    /// Main thread, at activation: the stream that follows.
    pub fn start_stream(&self, sample_rate_hz: u32, num_channels: u32) {
        let shared = &self.shared;
        shared
            .sample_rate_hz
            .store(sample_rate_hz, Ordering::Relaxed);
        shared
            .num_channels
            .store(num_channels.clamp(1, 2), Ordering::Relaxed);
        shared.stream_idx.fetch_add(1, Ordering::Release);
    }

    /// Audio thread: copies one block (`channels[c][i]`, the first two channels; a single channel
    /// goes in as identical pairs). What does not fit is counted, never waited for. Wait-free
    /// and allocation-free.
    pub fn push(&mut self, channels: &[&mut [f32]], num_samples: usize) {
        let Some(left) = channels.first() else {
            return;
        };
        let right = channels.get(1).unwrap_or(left);
        let num_frames = num_samples.min(self.samples.slots() / 2);
        if let Ok(chunk) = self.samples.write_chunk_uninit(num_frames * 2) {
            let frames = left[..num_frames].iter().zip(&right[..num_frames]);
            chunk.fill_from_iter(frames.flat_map(|(&l, &r)| [l, r]));
        }
        if num_frames < num_samples {
            self.shared
                .num_dropped_frames
                .fetch_add((num_samples - num_frames) as u64, Ordering::Relaxed);
        }
    }
}

impl TapOutput {
    /// The stream the samples come from.
    pub fn stream(&self) -> TapStream {
        let shared = &self.shared;
        let stream_idx = shared.stream_idx.load(Ordering::Acquire);
        TapStream {
            stream_idx,
            sample_rate_hz: shared.sample_rate_hz.load(Ordering::Relaxed),
            num_channels: shared.num_channels.load(Ordering::Relaxed),
        }
    }

    /// Frames lost because the GUI drained too late (a stalled window), since the plugin was made.
    pub fn num_dropped_frames(&self) -> u64 {
        self.shared.num_dropped_frames.load(Ordering::Relaxed)
    }

    /// GUI thread: moves every waiting frame out, appending them to `left` and `right`.
    pub fn drain_into(&mut self, left: &mut Vec<f32>, right: &mut Vec<f32>) {
        let Ok(chunk) = self.samples.read_chunk(self.samples.slots() & !1) else {
            return;
        };
        let (first, second) = chunk.as_slices();
        for pair in first.chunks_exact(2).chain(second.chunks_exact(2)) {
            left.push(pair[0]);
            right.push(pair[1]);
        }
        chunk.commit_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tap carries frames in order; a ring the GUI has not drained drops the rest of a block
    /// and counts it; one channel arrives as identical pairs.
    #[test]
    fn tap_keeps_order_and_counts_drops() {
        let (mut input, mut output) = TapInput::new();
        input.start_stream(48_000, 2);
        assert_eq!(
            output.stream(),
            TapStream {
                stream_idx: 1,
                sample_rate_hz: 48_000,
                num_channels: 2
            }
        );
        let mut left: Vec<f32> = (0..TAP_CAPACITY_FRAMES + 10).map(|i| i as f32).collect();
        let mut right: Vec<f32> = left.iter().map(|x| -x).collect();
        input.push(&[&mut left[..], &mut right[..]], TAP_CAPACITY_FRAMES + 10);
        assert_eq!(output.num_dropped_frames(), 10);
        let (mut l, mut r) = (Vec::new(), Vec::new());
        output.drain_into(&mut l, &mut r);
        assert_eq!(l, left[..TAP_CAPACITY_FRAMES]);
        assert_eq!(r, right[..TAP_CAPACITY_FRAMES]);
        let mut mono = [1.0f32, 2.0];
        input.push(&[&mut mono[..]], 2);
        let (mut l, mut r) = (Vec::new(), Vec::new());
        output.drain_into(&mut l, &mut r);
        assert_eq!((l, r), (vec![1.0, 2.0], vec![1.0, 2.0]));
    }
}
