//! Audio thread: the recorder. Follows the host transport (DESIGN.md §5), cuts the mono tap into
//! frames with the same [`FrameClock`] and [`Analyzer`] as the CLI, and queues the spectra for the
//! writer thread. Allocation-free after [`Recorder::new`].
//!
//! The tap is a history ring indexed by timeline position. A frame is analyzed as soon as the ring
//! holds its whole window; samples before the take (or segment) start, before 0, or after the take's
//! end are zeros, exactly as the CLI sees samples outside the file. So any block size gives the
//! frames one long block gives.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::analysis::Analyzer;
use crate::clock::FrameClock;
use crate::handoff::{
    FrameProducer, PositionSource, RecordedFrame, RecorderEvent, RecorderStatus, SpectrumInput,
    SpectrumKind, TakeState,
};

/// A host position within this many samples of where we expect it is read as "no jump": hosts
/// that derive samples from beats round differently from block to block.
const POSITION_JITTER_SAMPLES: i64 = 2;

/// One block's view of the host transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportInfo {
    pub is_playing: bool,
    /// The block's first sample on the timeline, if the host says.
    pub pos_samples: Option<i64>,
}

/// How the recorder deals with a full queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueMode {
    /// Offline rendering: wait for the writer to make room.
    Wait,
    /// Real time: never wait; count the drop.
    Drop,
}

pub struct Recorder {
    clock: FrameClock,
    analyzer: Analyzer,
    /// Mono history; the sample at timeline position `t` lives at `t mod ring.len()`.
    ring: Vec<f32>,
    /// Timeline position just after the newest sample in `ring`.
    ring_end: i64,
    /// The oldest position from which `ring` is contiguous.
    ring_valid_from: i64,
    /// The longest block; the ring holds a window plus two blocks (a held-back one and the next).
    max_chunk: usize,
    /// A frame's window, linearized for the analyzer.
    window: Vec<f32>,
    producer: FrameProducer,
    /// A frame taken from the pool that could not be queued (events ring full); used first next time.
    spare: Option<RecordedFrame>,
    /// A take start/end event waiting for room in the queue.
    pending: Option<RecorderEvent>,
    status: Arc<RecorderStatus>,
    queue_mode: QueueMode,

    is_in_take: bool,
    take_idx: u32,
    /// Samples before this timeline position are zeros for the current segment (take start, or
    /// the position after a jump).
    segment_start: i64,
    next_frame_idx: i64,
    num_take_frames_dropped: u64,
    position_source: PositionSource,
    /// A block the host called stopped, already in the ring: position and length. The next
    /// block tells whether it rolled.
    held_block: Option<(i64, usize)>,
    was_armed: bool,
}

impl Recorder {
    /// Allocates the ring and window buffers. `max_block_size` is the host's largest block,
    /// whatever its size: the ring holds two of them, as it must for any block to give the frames
    /// small blocks give (about 8 bytes per sample of the largest block, as the host's own buffers).
    pub fn new(
        clock: FrameClock,
        analyzer: Analyzer,
        producer: FrameProducer,
        status: Arc<RecorderStatus>,
        queue_mode: QueueMode,
        max_block_size: usize,
    ) -> Self {
        let max_window_len = clock.max_window_len();
        debug_assert!(max_window_len <= analyzer.max_input_len());
        let max_chunk = max_block_size.max(1);
        Self {
            clock,
            analyzer,
            ring: vec![0.0; max_window_len + 2 * max_chunk],
            ring_end: 0,
            ring_valid_from: 0,
            max_chunk,
            window: vec![0.0; max_window_len],
            producer,
            spare: None,
            pending: None,
            status,
            queue_mode,
            is_in_take: false,
            take_idx: 0,
            segment_start: 0,
            next_frame_idx: 0,
            num_take_frames_dropped: 0,
            position_source: PositionSource::HostTransport,
            held_block: None,
            was_armed: false,
        }
    }

    pub fn clock(&self) -> &FrameClock {
        &self.clock
    }

    /// The take's analyzer and clock, for the guide preview outside takes (`plugin::preview`).
    pub fn analysis_mut(&mut self) -> (&mut Analyzer, &FrameClock) {
        (&mut self.analyzer, &self.clock)
    }

    pub fn is_in_take(&self) -> bool {
        self.is_in_take
    }

    /// Processes one block of mono samples (already mixed with `mix_to_mono`), at most the
    /// `max_block_size` given to [`Recorder::new`].
    ///
    /// Rolling (DESIGN.md §5) is "playing OR the position advanced". A block the host calls
    /// stopped is held back: its samples go into the ring, and the next block decides. If the
    /// position continued right after it, it was part of the take (hosts that render offline with
    /// `playing = false`); if not, the take ended where it began (a host's stop block).
    pub fn process_block(
        &mut self,
        mono: &[f32],
        transport: TransportInfo,
        is_armed: bool,
        mut preview: Option<&mut SpectrumInput>,
    ) {
        debug_assert!(mono.len() <= self.max_chunk);
        let queue_mode = self.queue_mode;
        self.flush_pending(queue_mode);
        if is_armed && !self.was_armed {
            // Re-arming acknowledges the last error: the writer retries at the next take.
            self.status.has_error.store(false, Ordering::Release);
            if self.status.take_state() == TakeState::Error {
                self.status.set_take_state(TakeState::Idle);
            }
        }
        self.was_armed = is_armed;
        let has_error = self.status.has_error.load(Ordering::Acquire);
        let can_record = is_armed && !has_error;
        let is_continuous =
            |pos: i64, expected: i64| (pos - expected).abs() <= POSITION_JITTER_SAMPLES;

        // The block held back last time rolled if the position went on from its end.
        if let Some((held_pos, held_len)) = self.held_block.take() {
            let held_end = held_pos + held_len as i64;
            let has_advanced = can_record
                && transport
                    .pos_samples
                    .is_some_and(|pos| is_continuous(pos, held_end));
            if has_advanced {
                if !self.is_in_take {
                    self.start_take(held_pos, true);
                }
                self.emit_ready_frames(queue_mode, preview.as_deref_mut());
            } else if self.is_in_take {
                self.end_take(held_pos, queue_mode, preview.as_deref_mut());
            }
        }

        if !can_record {
            if self.is_in_take {
                self.end_take(self.ring_end, queue_mode, preview);
            }
            if has_error {
                self.status.set_take_state(TakeState::Error);
            }
            return;
        }

        let mut block_pos = match transport.pos_samples {
            Some(pos) => pos,
            None if self.is_in_take => self.ring_end,
            None => 0,
        };
        if self.is_in_take && is_continuous(block_pos, self.ring_end) {
            block_pos = self.ring_end;
        }

        if transport.is_playing {
            if !self.is_in_take {
                self.start_take(block_pos, transport.pos_samples.is_some());
            } else if block_pos != self.ring_end {
                // A jump or a loop: finish the frames before it, restart at the new position.
                self.flush_segment(self.ring_end, queue_mode, preview.as_deref_mut());
                self.start_segment(block_pos);
            }
            self.push_samples(block_pos, mono);
            self.emit_ready_frames(queue_mode, preview.as_deref_mut());
        } else {
            if self.is_in_take && (transport.pos_samples.is_none() || block_pos != self.ring_end) {
                self.end_take(self.ring_end, queue_mode, preview);
            }
            if transport.pos_samples.is_some() {
                self.push_samples(block_pos, mono);
                self.held_block = Some((block_pos, mono.len()));
            }
        }
    }

    /// Ends a running take (deactivation). A held-back block that continued the take counts as
    /// played: hosts that render with `playing = false` deactivate right after the last block.
    /// May wait for the writer.
    pub fn finish(&mut self) {
        self.flush_pending(QueueMode::Wait);
        if let Some((held_pos, held_len)) = self.held_block.take()
            && self.is_in_take
        {
            debug_assert_eq!(held_pos + held_len as i64, self.ring_end);
            self.emit_ready_frames(QueueMode::Wait, None);
        }
        if self.is_in_take {
            self.end_take(self.ring_end, QueueMode::Wait, None);
        }
        self.flush_pending(QueueMode::Wait);
    }

    fn start_take(&mut self, start_pos: i64, has_position: bool) {
        self.take_idx += 1;
        self.is_in_take = true;
        self.num_take_frames_dropped = 0;
        self.position_source = if has_position {
            PositionSource::HostTransport
        } else {
            PositionSource::SampleCount
        };
        self.send_control(RecorderEvent::TakeStart {
            take_idx: self.take_idx,
            position_source: self.position_source,
            start_pos_samples: start_pos,
        });
        self.status.take_idx.store(self.take_idx, Ordering::Relaxed);
        self.status.set_take_state(TakeState::Rolling);
        self.start_segment(start_pos);
    }

    fn start_segment(&mut self, start_pos: i64) {
        self.segment_start = start_pos;
        self.next_frame_idx = self.clock.first_frame_at_or_after(start_pos);
    }

    fn end_take(
        &mut self,
        end_pos: i64,
        queue_mode: QueueMode,
        guide_preview: Option<&mut SpectrumInput>,
    ) {
        self.flush_segment(end_pos, queue_mode, guide_preview);
        self.is_in_take = false;
        self.send_control(RecorderEvent::TakeEnd {
            take_idx: self.take_idx,
            num_frames_dropped: self.num_take_frames_dropped,
            end_pos_samples: end_pos,
        });
        self.flush_pending(queue_mode);
        self.status.set_take_state(TakeState::Writing);
    }

    /// Writes `samples` at timeline position `pos`.
    fn push_samples(&mut self, pos: i64, samples: &[f32]) {
        if pos != self.ring_end {
            self.ring_valid_from = pos;
        }
        let len = self.ring.len() as i64;
        for (offset, &x) in samples.iter().enumerate() {
            let idx = (pos + offset as i64).rem_euclid(len) as usize;
            self.ring[idx] = x;
        }
        self.ring_end = pos + samples.len() as i64;
    }

    /// Emits every frame whose window the ring now holds completely.
    fn emit_ready_frames(
        &mut self,
        queue_mode: QueueMode,
        mut preview: Option<&mut SpectrumInput>,
    ) {
        while self.clock.window(self.next_frame_idx).end() <= self.ring_end {
            self.emit_frame(
                self.next_frame_idx,
                i64::MAX,
                queue_mode,
                preview.as_deref_mut(),
            );
            self.next_frame_idx += 1;
        }
    }

    /// Emits the frames that start before `end_pos`, with silence from `end_pos` on.
    fn flush_segment(
        &mut self,
        end_pos: i64,
        queue_mode: QueueMode,
        mut preview: Option<&mut SpectrumInput>,
    ) {
        while self.clock.frame_start(self.next_frame_idx) < end_pos {
            self.emit_frame(
                self.next_frame_idx,
                end_pos,
                queue_mode,
                preview.as_deref_mut(),
            );
            self.next_frame_idx += 1;
        }
    }

    fn emit_frame(
        &mut self,
        frame_idx: i64,
        silence_from: i64,
        queue_mode: QueueMode,
        preview: Option<&mut SpectrumInput>,
    ) {
        let Some(mut frame) = self.acquire_frame(queue_mode) else {
            self.num_take_frames_dropped += 1;
            self.status
                .num_frames_dropped
                .fetch_add(1, Ordering::Relaxed);
            return;
        };
        let span = self.clock.window(frame_idx);
        let ring_len = self.ring.len() as i64;
        // Samples outside [first, last) are silence: before the segment, before 0, after the end,
        // or no longer (or not yet) in the ring.
        let first = self
            .segment_start
            .max(0)
            .max(self.ring_valid_from)
            .max(self.ring_end - ring_len);
        let last = silence_from.min(self.ring_end);
        let window = &mut self.window[..span.len];
        for (offset, dst) in window.iter_mut().enumerate() {
            let t = span.start + offset as i64;
            *dst = if t >= first && t < last {
                self.ring[t.rem_euclid(ring_len) as usize]
            } else {
                0.0
            };
        }
        let num_bins = self.analyzer.num_bins();
        frame.frame_idx = frame_idx as u64;
        frame.num_bins = num_bins;
        self.analyzer.analyze(window, &mut frame.bins[..num_bins]);

        if let Some(preview) = preview {
            let freqs = &self.analyzer.bin_map().centre_freqs_hz;
            let sample_rate = self.analyzer.sample_rate();
            preview.publish(|spectrum| {
                spectrum.kind = SpectrumKind::Guide;
                spectrum.preset = self.analyzer.settings().preset;
                spectrum.sample_rate_hz = sample_rate as f32;
                spectrum.frame_idx = frame_idx;
                spectrum.num_bins = num_bins;
                spectrum.values[..num_bins].copy_from_slice(frame.bins());
                spectrum.peaks[..num_bins].copy_from_slice(frame.bins());
                spectrum.freqs_hz[..num_bins].copy_from_slice(freqs);
            });
        }

        match self.producer.push(RecorderEvent::Frame(frame)) {
            Ok(()) => {
                self.status.frame_idx.store(frame_idx, Ordering::Relaxed);
                self.status
                    .num_frames_queued
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(RecorderEvent::Frame(frame)) => {
                self.spare = Some(frame);
                self.num_take_frames_dropped += 1;
                self.status
                    .num_frames_dropped
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => unreachable!("push gives back what it was given"),
        }
    }

    /// An empty frame from the pool. `Wait`: sleeps until the writer hands one back (offline only),
    /// unless the writer is gone or failed. `Drop`: `None` when the pool is empty.
    fn acquire_frame(&mut self, queue_mode: QueueMode) -> Option<RecordedFrame> {
        if let Some(frame) = self.spare.take() {
            return Some(frame);
        }
        loop {
            if let Some(frame) = self.producer.take_free_frame() {
                return Some(frame);
            }
            if queue_mode == QueueMode::Drop
                || self.producer.is_abandoned()
                || self.status.has_error.load(Ordering::Acquire)
            {
                return None;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    fn send_control(&mut self, event: RecorderEvent) {
        if self.pending.is_some() {
            // A full queue of take events means the writer is stuck; keep the newest.
            nice_plug::nice_debug_assert_failure!("recorder control event lost");
        }
        self.pending = Some(event);
        self.flush_pending(QueueMode::Drop);
    }

    fn flush_pending(&mut self, queue_mode: QueueMode) {
        while let Some(event) = self.pending.take() {
            match self.producer.push(event) {
                Ok(()) => return,
                Err(event) => {
                    self.pending = Some(event);
                    if queue_mode == QueueMode::Drop || self.producer.is_abandoned() {
                        return;
                    }
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
        }
    }
}
