//! Audio thread: the guide preview outside takes. While the editor is open and no take rolls, the
//! recorder's own analyzer and frame clock run over the mono tap, and each frame is published as
//! soon as its window is complete: with the transport rolling, exactly the values the recorder
//! would queue for that frame; with it stopped, the same analysis of the newest input, on a
//! timeline that runs on. Allocation-free after [`LivePreview::new`].

use crate::analysis::Analyzer;
use crate::clock::FrameClock;
use crate::handoff::{SpectrumInput, SpectrumKind};

use super::recorder::read_ring;

pub struct LivePreview {
    /// Mono history; the sample at timeline position `t` lives at `t mod ring.len()`.
    ring: Vec<f32>,
    /// Timeline position just after the newest sample in `ring`.
    ring_end: i64,
    /// Samples before this position are silence: the position after a jump, as the recorder
    /// treats a take's start.
    valid_from: i64,
    /// The next frame whose window is not complete yet.
    next_frame_idx: i64,
    /// A frame's window, linearized for the analyzer.
    window: Vec<f32>,
}

impl LivePreview {
    /// Allocates the history for windows of up to `max_window_len` samples and blocks of up to
    /// `max_block_size` samples.
    pub fn new(max_window_len: usize, max_block_size: usize) -> Self {
        Self {
            ring: vec![0.0; max_window_len + max_block_size.max(1)],
            ring_end: 0,
            valid_from: 0,
            next_frame_idx: 0,
            window: vec![0.0; max_window_len],
        }
    }

    /// Feeds one block of the mono tap (at most `max_block_size` samples). `pos_samples` is the
    /// block's timeline position while the transport rolls, `None` while it is stopped or the host
    /// gives none (the timeline then runs on from the last block). Publishes the newest frame whose
    /// window this block completes, if any, to `output` (as [`SpectrumKind::GuidePreview`]).
    /// Without `output` (during a take, when the recorder publishes) it only keeps the history.
    pub fn process_block(
        &mut self,
        mono: &[f32],
        pos_samples: Option<i64>,
        analyzer: &mut Analyzer,
        clock: &FrameClock,
        output: Option<&mut SpectrumInput>,
    ) {
        debug_assert!(mono.len() + self.window.len() <= self.ring.len());
        let pos = pos_samples.unwrap_or(self.ring_end);
        if pos != self.ring_end {
            self.valid_from = pos;
            self.next_frame_idx = clock.first_frame_at_or_after(pos);
        }
        let ring_len = self.ring.len() as i64;
        for (offset, &x) in mono.iter().enumerate() {
            self.ring[(pos + offset as i64).rem_euclid(ring_len) as usize] = x;
        }
        self.ring_end = pos + mono.len() as i64;

        let mut newest = None;
        while clock.window(self.next_frame_idx).end() <= self.ring_end {
            newest = Some(self.next_frame_idx);
            self.next_frame_idx += 1;
        }
        let (Some(frame_idx), Some(output)) = (newest, output) else {
            return;
        };
        let span = clock.window(frame_idx);
        let first = self.valid_from.max(0).max(self.ring_end - ring_len);
        let window = &mut self.window[..span.len];
        read_ring(&self.ring, span.start, first..i64::MAX, window);
        let num_bins = analyzer.num_bins();
        output.publish(|spectrum| {
            spectrum.kind = SpectrumKind::GuidePreview;
            spectrum.preset = analyzer.settings().preset;
            spectrum.sample_rate_hz = analyzer.sample_rate() as f32;
            spectrum.frame_idx = frame_idx;
            spectrum.num_bins = num_bins;
            analyzer.analyze(window, &mut spectrum.values[..num_bins]);
            spectrum.freqs_hz[..num_bins].copy_from_slice(&analyzer.bin_map().centre_freqs_hz);
        });
    }
}
