//! Audio thread: the recorder. Follows the host transport (DESIGN.md §5), cuts the mono tap into
//! frames with the same [`FrameClock`] and [`Analyzer`] as the CLI, and queues the spectra for the
//! writer thread. Allocation-free: its memory is a [`GuideKit`] (an analyzer for every preset and
//! FFT size the guide parameters offer, and the history ring) and a frame pool, both made off the
//! audio thread and held only while armed (see `lending`). A take starts with the settings of that
//! moment (analysis, floor, tilt, frame rate, and the look the writer draws), so changing them
//! never restarts the plugin.
//!
//! The tap is a history ring indexed by timeline position. A frame is analyzed as soon as the ring
//! holds its whole window; samples before the take (or segment) start, before 0, or after the take's
//! end are zeros, exactly as the CLI sees samples outside the file. So any block size gives the
//! frames one long block gives.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::analysis::{AnalysisError, AnalysisSettings, Analyzer, WindowPlacement};
use crate::clock::{FrameClock, FrameRate};
use crate::handoff::{
    FrameProducer, RecorderEvent, RecorderStatus, SpectrumInput, SpectrumKind, TakeState,
};
use crate::take::{FolderSnapshot, PositionSource, RecordedFrame, TakeSettings};

use super::capture::{Capture, HostBlock};
use super::lending::{AudioLink, Lent};
use super::preview::LivePreview;
use crate::params::{FftSizeParam, GUIDE_BINS};

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
    /// Deactivation, on the main thread: allocate a frame when the pool is empty, so the take's
    /// last frames are kept without waiting for the writer.
    Grow,
}

/// The recorder's memory for one sample rate and block size: an analyzer for every guide
/// analysis, the history ring and a window buffer. Built off the audio thread (at activation, or
/// by the writer thread when the recorder gets armed) and freed there.
pub struct GuideKit {
    sample_rate: u32,
    /// The longest block; the ring holds a window plus two blocks (a held-back one and the next).
    max_chunk: usize,
    /// One analyzer per distinct guide analysis (presets × FFT lengths), planned up front.
    analyzers: Vec<Analyzer>,
    /// Mono history; the sample at timeline position `t` lives at `t mod ring.len()`.
    ring: Vec<f32>,
    /// A frame's window, linearized for the analyzer.
    window: Vec<f32>,
    /// The Guide tab's frames outside takes, through the same analyzers.
    preview: LivePreview,
    /// Transport, macros and MIDI per frame, until the frame is emitted.
    capture: Capture,
}

impl GuideKit {
    /// Plans the analyzers and allocates the buffers (about 1.5 MB at 48 kHz). Never on the
    /// audio thread.
    pub fn new(sample_rate: u32, max_block_size: usize) -> Result<Self, AnalysisError> {
        let analyzers = plan_guide_analyzers(sample_rate)?;
        // Every frame rate's window fits in its analyzer's input (the post's chunk is at most
        // 1/12 s, its FFT 0.1 s).
        let max_window_len = analyzers
            .iter()
            .map(Analyzer::max_input_len)
            .max()
            .unwrap_or(0);
        let max_chunk = max_chunk(max_block_size);
        Ok(Self {
            sample_rate,
            max_chunk,
            analyzers,
            ring: vec![0.0; max_window_len + 2 * max_chunk],
            window: vec![0.0; max_window_len],
            preview: LivePreview::new(max_window_len, max_chunk),
            capture: Capture::new(sample_rate, max_window_len, max_chunk),
        })
    }

    /// Whether this kit serves an activation at `sample_rate` with blocks of `max_block_size`.
    pub fn fits(&self, sample_rate: u32, max_block_size: usize) -> bool {
        self.sample_rate == sample_rate && self.max_chunk == max_chunk(max_block_size)
    }
}

/// The longest block the recorder takes: the host's largest, whatever its size. The ring holds
/// two of them, as it must for any block to give the frames small blocks give (about 8 bytes per
/// sample of the largest block, as the host's own buffers).
/// Copies the samples from timeline position `start` on out of `ring` (indexed by position modulo
/// its length) into `window`; positions outside `valid` read as zeros. Allocation-free.
pub(super) fn read_ring(ring: &[f32], start: i64, valid: Range<i64>, window: &mut [f32]) {
    let ring_len = ring.len() as i64;
    for (offset, dst) in window.iter_mut().enumerate() {
        let t = start + offset as i64;
        *dst = if valid.contains(&t) {
            ring[t.rem_euclid(ring_len) as usize]
        } else {
            0.0
        };
    }
}

fn max_chunk(max_block_size: usize) -> usize {
    max_block_size.max(1)
}

/// The memory the recorder needs from the writer thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecorderNeeds {
    pub guide_kit: bool,
    pub pool: bool,
}

pub struct Recorder {
    sample_rate: u32,
    /// The analyzers and ring; `None` while disarmed or while the writer prepares them.
    kit: Option<Box<GuideKit>>,
    /// The current take's analyzer in `kit.analyzers`, and its frame clock.
    analyzer_idx: usize,
    clock: FrameClock,
    /// Timeline position just after the newest sample in the ring.
    ring_end: i64,
    /// The oldest position from which the ring is contiguous.
    ring_valid_from: i64,
    /// The longest block (see [`GuideKit`]).
    max_chunk: usize,
    /// The frame pool's audio end; `None` while disarmed or while the writer prepares it.
    producer: Option<FrameProducer>,
    /// The folder at activation, sent with every take (see `FolderSnapshot`). Held here until
    /// the engine is dropped on the main thread, so the audio thread never frees it.
    folder: Option<Arc<FolderSnapshot>>,
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
    /// A recorder for one activation. `kit` must fit (see [`GuideKit::fits`]); `producer` is a
    /// pool kept from an earlier activation. Without them, the recorder asks the writer thread
    /// when armed or when the editor is open ([`Recorder::update_memory`]).
    pub fn new(
        sample_rate: u32,
        max_block_size: usize,
        kit: Option<Box<GuideKit>>,
        producer: Option<FrameProducer>,
        status: Arc<RecorderStatus>,
        queue_mode: QueueMode,
        folder: Option<Arc<FolderSnapshot>>,
    ) -> Self {
        debug_assert!(
            kit.as_ref()
                .is_none_or(|kit| kit.fits(sample_rate, max_block_size))
        );
        // Takes count on across activations: the writer thread outlives them.
        let take_idx = status.take_idx.load(Ordering::Relaxed);
        Self {
            sample_rate,
            kit,
            analyzer_idx: 0,
            clock: FrameClock::new(
                FrameRate::FPS_24,
                sample_rate,
                WindowPlacement::FrameStart { max_len: 0 },
            ),
            ring_end: 0,
            ring_valid_from: 0,
            max_chunk: max_chunk(max_block_size),
            producer,
            folder,
            spare: None,
            pending: None,
            status,
            queue_mode,
            is_in_take: false,
            take_idx,
            segment_start: 0,
            next_frame_idx: 0,
            num_take_frames_dropped: 0,
            position_source: PositionSource::Timeline,
            held_block: None,
            was_armed: false,
        }
    }

    /// Feeds the Guide tab's preview (`plugin::preview`) one block of the mono tap: outside
    /// takes, the analysis the next take would start with (`settings`) publishes to `output`;
    /// during one, the preview only keeps its history (the recorder publishes its frames).
    /// Allocation-free; nothing without a kit.
    pub fn process_preview(
        &mut self,
        mono: &[f32],
        pos_samples: Option<i64>,
        settings: &TakeSettings,
        output: Option<&mut SpectrumInput>,
    ) {
        if !self.is_in_take && !self.select_analysis(settings) {
            return;
        }
        if let Some(kit) = self.kit.as_deref_mut() {
            let analyzer = &mut kit.analyzers[self.analyzer_idx];
            kit.preview
                .process_block(mono, pos_samples, analyzer, &self.clock, output);
        }
    }

    pub fn is_in_take(&self) -> bool {
        self.is_in_take
    }

    /// Takes the frame pool out (deactivation parks it in the plugin for the next activation).
    pub fn take_pool(&mut self) -> Option<FrameProducer> {
        self.producer.take()
    }

    /// Gets its memory (guide kit and frame pool) from the writer thread while armed, and gives
    /// it back while disarmed, so an idle recorder holds nothing. Offline (`Wait`), it waits for
    /// the writer to make them; otherwise it is wait-free and a take that starts before they
    /// arrive is not recorded (the status says "preparing"). Dropping the producer frees nothing
    /// (see [`FrameProducer`]); the kit goes back to the writer thread to be freed.
    /// `needs_kit`: armed, or the editor shows the guide preview.
    pub fn update_memory(
        &mut self,
        link: &mut AudioLink,
        is_armed: bool,
        needs_kit: bool,
        num_frames: usize,
    ) {
        if !is_armed && !self.is_in_take {
            self.producer = None;
            if !needs_kit && let Some(kit) = self.kit.take() {
                link.give_back(Lent::Guide(kit));
            }
            // Memory asked for before disarming: let it go too.
            link.discard_recorder_arrivals(needs_kit && self.kit.is_none());
        }
        if !(is_armed || needs_kit) {
            return;
        }
        loop {
            if self.kit.is_none()
                && let Some(kit) = link.receive_guide()
            {
                if kit.fits(self.sample_rate, self.max_chunk) {
                    self.kit = Some(kit);
                    // A fresh ring holds nothing of the timeline yet.
                    self.ring_valid_from = self.ring_end;
                } else {
                    // Made for an earlier activation.
                    link.give_back(Lent::Guide(kit));
                }
            }
            if is_armed && self.producer.is_none() {
                self.producer = link.receive_pool();
            }
            let needs = RecorderNeeds {
                guide_kit: self.kit.is_none(),
                pool: is_armed && self.producer.is_none(),
            };
            let has_error = self.status.has_error.load(Ordering::Acquire);
            if !(needs.guide_kit || needs.pool) || !link.is_available() || has_error {
                return;
            }
            link.request_recorder(needs, self.sample_rate, self.max_chunk, num_frames);
            if self.queue_mode != QueueMode::Wait || !is_armed {
                return;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    /// Processes one block of mono samples (already mixed with `mix_to_mono`), at most the
    /// `max_block_size` given to [`Recorder::new`].
    ///
    /// Rolling (DESIGN.md §5) is "playing OR the position advanced". A block the host calls
    /// stopped is held back: its samples go into the ring, and the next block decides. If the
    /// position continued right after it, it was part of the take (hosts that render offline with
    /// `playing = false`); if not, the take ended where it began (a host's stop block).
    /// `take_settings` snapshots the guide parameters; it is called when a take starts. `host`
    /// is what the block says besides its audio (transport, macros, MIDI), for the capture.
    pub fn process_block(
        &mut self,
        mono: &[f32],
        host: &HostBlock,
        transport: TransportInfo,
        is_armed: bool,
        mut preview: Option<&mut SpectrumInput>,
        take_settings: &impl Fn() -> TakeSettings,
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
        let has_memory = self.producer.is_some() && self.kit.is_some();
        let can_record = is_armed && !has_error && has_memory;
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
                    self.start_take(held_pos, true, take_settings());
                }
                if self.is_in_take {
                    self.emit_ready_frames(queue_mode, preview.as_deref_mut());
                }
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
            } else if is_armed && !has_memory {
                self.status.set_take_state(TakeState::Preparing);
            } else if self.status.take_state() == TakeState::Preparing {
                self.status.set_take_state(TakeState::Idle);
            }
            return;
        }
        if self.status.take_state() == TakeState::Preparing {
            self.status.set_take_state(TakeState::Idle);
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
                self.start_take(block_pos, transport.pos_samples.is_some(), take_settings());
                if !self.is_in_take {
                    return;
                }
            } else if block_pos != self.ring_end {
                // A jump or a loop: finish the frames before it, restart at the new position.
                self.flush_segment(self.ring_end, queue_mode, preview.as_deref_mut());
                self.start_segment(block_pos);
            }
            self.push_samples(block_pos, mono, host);
            self.emit_ready_frames(queue_mode, preview.as_deref_mut());
        } else {
            if self.is_in_take && (transport.pos_samples.is_none() || block_pos != self.ring_end) {
                self.end_take(self.ring_end, queue_mode, preview);
            }
            if transport.pos_samples.is_some() {
                self.push_samples(block_pos, mono, host);
                self.held_block = Some((block_pos, mono.len()));
            }
        }
    }

    /// Ends a running take (deactivation, main thread). A held-back block that continued the
    /// take counts as played: hosts that render with `playing = false` deactivate right after the
    /// last block. Never waits for the writer to write: when the pool is empty, the take's last
    /// few frames get new ones (`Grow`), and the writer finishes in the background.
    pub fn finish(&mut self) {
        self.flush_pending(QueueMode::Grow);
        if let Some((held_pos, held_len)) = self.held_block.take()
            && self.is_in_take
        {
            debug_assert_eq!(held_pos + held_len as i64, self.ring_end);
            self.emit_ready_frames(QueueMode::Grow, None);
        }
        if self.is_in_take {
            self.end_take(self.ring_end, QueueMode::Grow, None);
        }
        self.flush_pending(QueueMode::Grow);
    }

    /// Switches to the analyzer and clock `settings` ask for. Allocation-free: the analyzers are
    /// planned; floor and tilt are set in place.
    fn select_analysis(&mut self, settings: &TakeSettings) -> bool {
        let wanted = &settings.analysis;
        let Some(kit) = self.kit.as_deref_mut() else {
            return false;
        };
        let Some(idx) = kit.analyzers.iter().position(|analyzer| {
            let planned = analyzer.settings();
            planned.preset == wanted.preset
                && planned.fft_len(self.sample_rate) == wanted.fft_len(self.sample_rate)
                && planned.num_bins == wanted.num_bins
                && planned.window == wanted.window
                && planned.window_seconds == wanted.window_seconds
                && planned.min_freq_hz == wanted.min_freq_hz
                && planned.max_freq_hz == wanted.max_freq_hz
        }) else {
            return false;
        };
        let analyzer = &mut kit.analyzers[idx];
        analyzer.update_levels(wanted.floor_db, wanted.tilt_db_per_octave);
        self.analyzer_idx = idx;
        self.clock = FrameClock::new(settings.fps, self.sample_rate, analyzer.placement());
        true
    }

    fn start_take(&mut self, start_pos: i64, has_position: bool, mut settings: TakeSettings) {
        settings.folder.clone_from(&self.folder);
        if !self.select_analysis(&settings) {
            nice_plug::nice_debug_assert_failure!("guide settings without a planned analyzer");
            return;
        }
        self.take_idx += 1;
        self.is_in_take = true;
        self.num_take_frames_dropped = 0;
        self.position_source = if has_position {
            PositionSource::Timeline
        } else {
            PositionSource::SampleCount
        };
        self.send_control(RecorderEvent::TakeStart {
            take_idx: self.take_idx,
            position_source: self.position_source,
            start_pos_samples: start_pos,
            settings,
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
        // Before the event: the writer turns `Writing` into `Idle` when it has handled it.
        self.status.set_take_state(TakeState::Writing);
        self.send_control(RecorderEvent::TakeEnd {
            take_idx: self.take_idx,
            num_frames_dropped: self.num_take_frames_dropped,
            end_pos_samples: end_pos,
        });
        self.flush_pending(queue_mode);
    }

    /// Writes `samples` at timeline position `pos`, and captures what the host said meanwhile.
    fn push_samples(&mut self, pos: i64, samples: &[f32], host: &HostBlock) {
        let Some(kit) = self.kit.as_deref_mut() else {
            return;
        };
        if pos != self.ring_end {
            self.ring_valid_from = pos;
        }
        let len = kit.ring.len() as i64;
        for (offset, &x) in samples.iter().enumerate() {
            let idx = (pos + offset as i64).rem_euclid(len) as usize;
            kit.ring[idx] = x;
        }
        self.ring_end = pos + samples.len() as i64;
        kit.capture
            .process_block(pos, samples.len(), host, &self.clock);
    }

    /// Emits every frame whose window the ring now holds completely and whose samples have all
    /// passed (its capture is complete).
    fn emit_ready_frames(
        &mut self,
        queue_mode: QueueMode,
        mut preview: Option<&mut SpectrumInput>,
    ) {
        while self.clock.window(self.next_frame_idx).end() <= self.ring_end
            && self.clock.frame_start(self.next_frame_idx + 1) <= self.ring_end
        {
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
        let Some(kit) = self.kit.as_deref_mut() else {
            // Never during a take: the kit is only given back between takes.
            self.spare = Some(frame);
            return;
        };
        let span = self.clock.window(frame_idx);
        let ring_len = kit.ring.len() as i64;
        // Samples outside [first, last) are silence: before the segment, before 0, after the end,
        // or no longer (or not yet) in the ring.
        let first = self
            .segment_start
            .max(0)
            .max(self.ring_valid_from)
            .max(self.ring_end - ring_len);
        let last = silence_from.min(self.ring_end);
        let window = &mut kit.window[..span.len];
        read_ring(&kit.ring, span.start, first..last, window);
        let analyzer = &mut kit.analyzers[self.analyzer_idx];
        let num_bins = analyzer.num_bins();
        frame.frame_idx = frame_idx as u64;
        frame.num_bins = num_bins;
        analyzer.analyze(window, &mut frame.bins[..num_bins]);
        kit.capture.fill(frame_idx, &mut frame.capture);

        if let Some(preview) = preview {
            let freqs = &analyzer.bin_map().centre_freqs_hz;
            let sample_rate = self.sample_rate;
            preview.publish(|spectrum| {
                spectrum.kind = SpectrumKind::Guide;
                spectrum.preset = analyzer.settings().preset;
                spectrum.sample_rate_hz = sample_rate as f32;
                spectrum.frame_idx = frame_idx;
                spectrum.num_bins = num_bins;
                spectrum.values[..num_bins].copy_from_slice(frame.bins());
                spectrum.freqs_hz[..num_bins].copy_from_slice(freqs);
            });
        }

        let Some(producer) = self.producer.as_mut() else {
            self.spare = Some(frame);
            return;
        };
        match producer.push(RecorderEvent::Frame(frame)) {
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
    /// unless the writer is gone or failed. `Drop`: `None` when the pool is empty. `Grow`: a new
    /// frame when the pool is empty (main thread only).
    fn acquire_frame(&mut self, queue_mode: QueueMode) -> Option<RecordedFrame> {
        if let Some(frame) = self.spare.take() {
            return Some(frame);
        }
        let producer = self.producer.as_mut()?;
        loop {
            if let Some(frame) = producer.take_free_frame() {
                return Some(frame);
            }
            match queue_mode {
                QueueMode::Drop => return None,
                QueueMode::Grow => return Some(RecordedFrame::new(GUIDE_BINS)),
                QueueMode::Wait => {}
            }
            if producer.is_abandoned() || self.status.has_error.load(Ordering::Acquire) {
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

    /// Sends the waiting take event. `Drop` tries once; `Wait` and `Grow` wait for room (the
    /// queue keeps slots for take events and deactivation frames beyond the pool, so `Grow` does
    /// not wait in practice).
    fn flush_pending(&mut self, queue_mode: QueueMode) {
        let Some(producer) = self.producer.as_mut() else {
            return;
        };
        while let Some(event) = self.pending.take() {
            match producer.push(event) {
                Ok(()) => return,
                Err(event) => {
                    self.pending = Some(event);
                    if queue_mode == QueueMode::Drop || producer.is_abandoned() {
                        return;
                    }
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
        }
    }
}

/// An analyzer for each analysis the guide parameters can ask for at `sample_rate`: the `seed`
/// preset, and the `default` preset at every FFT size (`Auto` shares its length's analyzer).
/// Floor and tilt are set per take (`Analyzer::update_levels`).
fn plan_guide_analyzers(sample_rate: u32) -> Result<Vec<Analyzer>, AnalysisError> {
    let mut analyzers: Vec<Analyzer> = Vec::new();
    let base = AnalysisSettings {
        num_bins: GUIDE_BINS,
        ..AnalysisSettings::default()
    };
    let choices = FftSizeParam::ALL
        .iter()
        .map(|size| AnalysisSettings {
            fft_size: size.samples(),
            ..base.clone()
        })
        .chain([AnalysisSettings {
            num_bins: GUIDE_BINS,
            ..AnalysisSettings::seed()
        }]);
    for settings in choices {
        let is_planned = analyzers.iter().any(|a| {
            a.settings().preset == settings.preset
                && a.settings().fft_len(sample_rate) == settings.fft_len(sample_rate)
        });
        if !is_planned {
            analyzers.push(Analyzer::new(&settings, sample_rate)?);
        }
    }
    Ok(analyzers)
}
