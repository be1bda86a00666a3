//! Any thread: the lock-free paths out of the audio thread (DESIGN.md §2).
//!
//! - [`SpectrumInput`] / [`SpectrumOutput`]: the latest spectrum for the GUI, over a triple buffer.
//!   The audio thread overwrites every field of its buffer, then publishes; the GUI reads the newest
//!   one whenever it repaints. A generation counter says "new or not" without comparing bins.
//! - [`FrameProducer`] / [`FrameConsumer`]: every recorded frame for the writer thread, over a
//!   wait-free SPSC ring (`rtrb`) of preallocated frames. The writer hands emptied frames back
//!   through a second ring, so the audio thread never allocates or frees. Each push unparks the
//!   writer thread, which sleeps (parked, no wake-ups) while there is nothing to write.
//! - [`RecorderStatus`]: atomics the audio and writer threads update and the GUI reads.
//! - [`TapInput`] / [`TapOutput`]: the raw stereo samples for the GUI's live analyzer and meters,
//!   over a preallocated wait-free SPSC ring (`rtrb`). The audio thread only copies samples in;
//!   the GUI thread does every analysis when it drains the ring.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::thread::Thread;

use serde::{Deserialize, Serialize};

use crate::analysis::{AnalysisSettings, Preset};
use crate::clock::FrameRate;
use crate::render::RenderSettings;

/// The most bins a published spectrum carries; the buffers are this long from the start, so
/// publishing never allocates.
pub const MAX_SPECTRUM_BINS: usize = crate::analysis::MAX_BINS;

/// What a published spectrum's `values` mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpectrumKind {
    /// Nothing published yet.
    #[default]
    Empty,
    /// The recorder's last frame, exactly the values the writer receives for `frame_idx`
    /// (`Default` preset: 0..1; `Seed` preset: the post's raw `|rfft|` amplitudes; `preset` says
    /// which, and so how the writer maps them to 0..1).
    Guide,
    /// Outside takes: the recorder's analysis of the live input, the values it would queue for
    /// `frame_idx` (as `Guide`), see `plugin::preview`.
    GuidePreview,
}

/// One published spectrum. Only the first `num_bins` entries of each vector are valid; the vectors
/// keep their [`MAX_SPECTRUM_BINS`] length so that publishing never reallocates.
#[derive(Debug, Clone)]
pub struct Spectrum {
    /// Counts publications, starting at 1; written by the audio thread. The GUI compares it with
    /// the last one it drew.
    pub generation: u64,
    /// What `values` holds; written by the audio thread.
    pub kind: SpectrumKind,
    /// `Guide` and `GuidePreview`: the analysis preset the values come from; written by the audio
    /// thread, read by the editor to map them to 0..1 as the writer does.
    pub preset: Preset,
    /// The sample rate the analysis ran at, in Hz.
    pub sample_rate_hz: f32,
    /// The timeline frame index these values belong to.
    pub frame_idx: i64,
    /// How many entries of `values`, `peaks` and `freqs_hz` are valid.
    pub num_bins: usize,
    /// One value per bin (see [`SpectrumKind`]).
    pub values: Vec<f32>,
    /// A copy of `values`.
    pub peaks: Vec<f32>,
    /// Each bin's centre frequency in Hz (log-spaced).
    pub freqs_hz: Vec<f32>,
}

impl Default for Spectrum {
    fn default() -> Self {
        Self {
            generation: 0,
            kind: SpectrumKind::Empty,
            preset: Preset::Default,
            sample_rate_hz: 0.0,
            frame_idx: -1,
            num_bins: 0,
            values: vec![0.0; MAX_SPECTRUM_BINS],
            peaks: vec![0.0; MAX_SPECTRUM_BINS],
            freqs_hz: vec![0.0; MAX_SPECTRUM_BINS],
        }
    }
}

impl Spectrum {
    pub fn values(&self) -> &[f32] {
        &self.values[..self.num_bins]
    }

    pub fn peaks(&self) -> &[f32] {
        &self.peaks[..self.num_bins]
    }

    pub fn freqs_hz(&self) -> &[f32] {
        &self.freqs_hz[..self.num_bins]
    }
}

/// Audio thread end of the latest-spectrum hand-off.
pub struct SpectrumInput {
    input: triple_buffer::Input<Spectrum>,
    generation: u64,
}

/// GUI thread end of the latest-spectrum hand-off.
pub struct SpectrumOutput {
    output: triple_buffer::Output<Spectrum>,
}

impl SpectrumInput {
    /// Makes both ends. Allocates three spectra of [`MAX_SPECTRUM_BINS`] bins.
    pub fn new() -> (SpectrumInput, SpectrumOutput) {
        let (input, output) = triple_buffer::TripleBuffer::new(&Spectrum::default()).split();
        (
            SpectrumInput {
                input,
                generation: 0,
            },
            SpectrumOutput { output },
        )
    }

    /// Fills the back buffer with `fill` (which must overwrite every valid field) and publishes it.
    /// Never allocates as long as `fill` keeps `num_bins <= MAX_SPECTRUM_BINS`.
    pub fn publish(&mut self, fill: impl FnOnce(&mut Spectrum)) {
        self.generation += 1;
        let buffer = self.input.input_buffer_mut();
        fill(buffer);
        debug_assert!(buffer.num_bins <= MAX_SPECTRUM_BINS);
        buffer.generation = self.generation;
        self.input.publish();
    }
}

impl SpectrumOutput {
    /// The newest published spectrum (`generation == 0` until the first publication).
    pub fn read(&mut self) -> &Spectrum {
        self.output.read()
    }

    /// Whether something was published since the last [`SpectrumOutput::read`].
    pub fn has_new(&self) -> bool {
        self.output.updated()
    }
}

/// The GUI's ends of the audio thread's hand-offs, made with the plugin and moved into the editor
/// once. Lives here, beside the hand-offs it bundles, so the editor and the plugin both depend on
/// `handoff` and not on each other.
pub struct EditorData {
    /// The raw input samples for the live analyzer and the meters (see [`TapOutput`]).
    pub tap: TapOutput,
    /// The guide's latest frame: the recorder's during a take ([`SpectrumKind::Guide`], exactly
    /// as queued for the writer), the live preview's otherwise ([`SpectrumKind::GuidePreview`]).
    pub guide: SpectrumOutput,
    /// Take state, frame index, frames written / queued / dropped, last error.
    pub status: std::sync::Arc<RecorderStatus>,
    /// The recorder panel's commands to the writer thread ("Clear").
    pub session: crate::plugin::session::SessionControl,
}

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
    shared: std::sync::Arc<TapShared>,
}

/// GUI thread end of the tap.
pub struct TapOutput {
    samples: rtrb::Consumer<f32>,
    shared: std::sync::Arc<TapShared>,
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
        let shared = std::sync::Arc::new(TapShared::default());
        (
            TapInput {
                samples,
                shared: std::sync::Arc::clone(&shared),
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

/// Where a take's timeline positions came from (written in the manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PositionSource {
    /// The host's transport position.
    HostTransport,
    /// The host reported no position: samples counted from the take's start.
    SampleCount,
}

/// The automatable macro parameters ("Macro 1" to "Macro 8").
pub const NUM_MACROS: usize = 8;
/// MIDI note numbers and controller numbers each run 0..128.
pub const NUM_MIDI_KEYS: usize = 128;

/// The host's transport at a frame's first sample (DESIGN.md §13, `transport.csv`). `None`: the
/// host did not say.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FrameTransport {
    pub tempo_bpm: Option<f64>,
    /// Time signature: numerator, denominator.
    pub time_sig: Option<(i32, i32)>,
    /// Musical position in quarter notes (the host's, extrapolated inside the block by the tempo).
    pub beat: Option<f64>,
    /// The bar number, 0-based (the host's).
    pub bar: Option<i32>,
    /// The position inside the bar in the time signature's beats (eighths in 7/8).
    pub bar_beat: Option<f64>,
    pub is_playing: bool,
}

/// What the host said during one frame besides its audio, captured on the audio thread as the
/// frame's samples pass (`plugin::capture`) and written by the writer beside `spectrum.csv`.
/// Fixed size, so recycling a frame never allocates.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameCapture {
    pub transport: FrameTransport,
    /// Each macro's value (0..1) at the frame's first sample.
    pub macros: [f32; NUM_MACROS],
    /// Per MIDI note: the highest velocity (0..1) with which it sounds at any sample of the frame,
    /// 0 if silent.
    pub note_gates: [f32; NUM_MIDI_KEYS],
    /// Per MIDI CC: its value (0..1) at the frame's last sample, 0 before its first event.
    pub cc_values: [f32; NUM_MIDI_KEYS],
    /// Bit `n`: note `n` had an event since capture began (decides `midi.csv`'s columns).
    pub seen_notes: u128,
    /// Bit `n`: CC `n` had an event since capture began.
    pub seen_ccs: u128,
}

impl Default for FrameCapture {
    fn default() -> Self {
        Self {
            transport: FrameTransport::default(),
            macros: [0.0; NUM_MACROS],
            note_gates: [0.0; NUM_MIDI_KEYS],
            cc_values: [0.0; NUM_MIDI_KEYS],
            seen_notes: 0,
            seen_ccs: 0,
        }
    }
}

/// One recorded frame: a timeline frame index, its analyzed bins and what the host said during
/// it. Preallocated and recycled.
#[derive(Debug)]
pub struct RecordedFrame {
    /// The timeline frame index `k` (DESIGN.md §5).
    pub frame_idx: u64,
    /// The analyzer's output; only the first `num_bins` entries are valid.
    pub bins: Box<[f32]>,
    pub num_bins: usize,
    /// Transport, macros and MIDI during the frame; boxed so the queue's slots stay small.
    pub capture: Box<FrameCapture>,
}

impl RecordedFrame {
    /// An empty frame of `num_bins` bins. Allocates: never on the audio thread.
    pub fn new(num_bins: usize) -> Self {
        Self {
            frame_idx: 0,
            bins: vec![0.0; num_bins].into_boxed_slice(),
            num_bins,
            capture: Box::default(),
        }
    }

    pub fn bins(&self) -> &[f32] {
        &self.bins[..self.num_bins]
    }
}

/// What a take records with: snapshotted from the parameters by the audio thread when the take
/// starts (reading atomics only) and sent to the writer in [`RecorderEvent::TakeStart`]. Plain
/// data, so the writer never reads the plugin's parameters, and a setting changed during a take
/// applies from the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct TakeSettings {
    pub sample_rate: u32,
    pub fps: FrameRate,
    pub analysis: AnalysisSettings,
    /// How the writer draws the frames.
    pub render: RenderSettings,
    /// `false` writes only `spectrum.csv` and `manifest.json`.
    pub write_images: bool,
    /// Where the take goes (set by the recorder from its activation's snapshot; cloning the
    /// `Arc` on the audio thread only counts a reference).
    pub folder: Option<std::sync::Arc<crate::params::FolderSnapshot>>,
}

/// What the audio thread tells the writer thread, in order.
#[derive(Debug)]
pub enum RecorderEvent {
    /// The transport started rolling with the recorder armed.
    TakeStart {
        take_idx: u32,
        position_source: PositionSource,
        /// Where the take started on the timeline, in samples (negative during pre-roll).
        start_pos_samples: i64,
        settings: TakeSettings,
    },
    Frame(RecordedFrame),
    /// The take ended (transport stopped, recorder disarmed, or plugin deactivated).
    TakeEnd {
        take_idx: u32,
        /// Frames of this take that did not fit into the queue (real-time mode only).
        num_frames_dropped: u64,
        end_pos_samples: i64,
    },
}

/// Audio thread end of the recorder queue. Dropping it never frees the pool: the writer's end
/// outlives it (the writer drops its end only once this one is gone and the queue is empty), so
/// the audio thread may drop it when the recorder is disarmed.
pub struct FrameProducer {
    events: rtrb::Producer<RecorderEvent>,
    free: rtrb::Consumer<RecordedFrame>,
    num_bins: usize,
    /// Declared last: fields drop in order, so the writer is woken after the rings above have let
    /// go, and sees this end gone.
    writer: WriterWake,
}

/// Unparks the writer thread; on drop too.
struct WriterWake(Thread);

impl Drop for WriterWake {
    fn drop(&mut self) {
        self.0.unpark();
    }
}

/// Writer thread end of the recorder queue.
pub struct FrameConsumer {
    events: rtrb::Consumer<RecorderEvent>,
    free: rtrb::Producer<RecordedFrame>,
}

/// Queue slots reserved for take start/end events, and for the few frames a deactivation
/// allocates when the pool is exhausted, on top of the frame pool.
const NUM_CONTROL_SLOTS: usize = 1024;

impl FrameProducer {
    /// Makes both ends with `num_frames` preallocated frames of `num_bins` bins; every push wakes
    /// `writer`, the thread that owns the consumer. Allocates (about `num_frames * num_bins * 4`
    /// bytes): never call it on the audio thread.
    pub fn new(
        num_frames: usize,
        num_bins: usize,
        writer: Thread,
    ) -> (FrameProducer, FrameConsumer) {
        let (events_tx, events_rx) = rtrb::RingBuffer::new(num_frames + NUM_CONTROL_SLOTS);
        let (mut free_tx, free_rx) = rtrb::RingBuffer::new(num_frames);
        for _ in 0..num_frames {
            free_tx
                .push(RecordedFrame::new(num_bins))
                .expect("the free ring holds exactly the pool");
        }
        (
            FrameProducer {
                events: events_tx,
                free: free_rx,
                num_bins,
                writer: WriterWake(writer),
            },
            FrameConsumer {
                events: events_rx,
                free: free_tx,
            },
        )
    }

    /// Bins per frame of this pool.
    pub fn num_bins(&self) -> usize {
        self.num_bins
    }

    /// Takes an empty frame from the pool, if the writer has handed one back. Wait-free.
    pub fn take_free_frame(&mut self) -> Option<RecordedFrame> {
        self.free.pop().ok()
    }

    /// Sends an event and wakes the writer; gives the event back when the queue is full.
    /// Wait-free (the wake is an atomic swap, plus a futex wake when the writer sleeps).
    #[expect(
        clippy::result_large_err,
        reason = "the event comes back by value: boxing it would allocate on the audio thread"
    )]
    pub fn push(&mut self, event: RecorderEvent) -> Result<(), RecorderEvent> {
        let result = self
            .events
            .push(event)
            .map_err(|rtrb::PushError::Full(e)| e);
        self.writer.0.unpark();
        result
    }

    /// Frames currently waiting for the writer or being written (pool size minus free frames).
    pub fn num_free_frames(&self) -> usize {
        self.free.slots()
    }

    /// Whether the writer thread has gone away (its end dropped).
    pub fn is_abandoned(&self) -> bool {
        self.events.is_abandoned()
    }
}

impl FrameConsumer {
    /// The next event, if any. Wait-free.
    pub fn pop(&mut self) -> Option<RecorderEvent> {
        self.events.pop().ok()
    }

    /// Hands an emptied frame back to the audio thread's pool.
    pub fn recycle(&mut self, frame: RecordedFrame) {
        // The free ring holds the whole pool, so there is always room for a frame that came out.
        let _ = self.free.push(frame);
    }

    /// Whether the audio side dropped its end (recorder disarmed) and nothing is left to read.
    pub fn is_finished(&self) -> bool {
        self.events.is_abandoned() && self.events.is_empty()
    }

    /// Whether the audio side dropped its end.
    pub fn is_abandoned(&self) -> bool {
        self.events.is_abandoned()
    }
}

/// The recorder's take state, as the GUI shows it.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeState {
    /// Not recording (disarmed, or armed and waiting for the transport).
    Idle = 0,
    /// A take is running: frames are being analyzed and queued.
    Rolling = 1,
    /// The take ended; the writer is still emptying the queue.
    Writing = 2,
    /// The recorder stopped on an error (see [`RecorderStatus::last_error`]).
    Error = 3,
    /// Armed, and the frame queue is still being prepared (off the audio thread): a transport
    /// that rolls now is not recorded until it is ready.
    Preparing = 4,
}

/// The recorder's state, shared by the audio thread (take state, frame index, queued, dropped),
/// the writer thread (written, errors) and the GUI (reads everything). All counters are `Relaxed`:
/// each is a display value on its own. `has_error` is `Release`/`Acquire` because it guards the
/// text in `last_error`.
#[derive(Debug, Default)]
pub struct RecorderStatus {
    /// [`TakeState`] as `u8`; written by the audio thread (and the writer, for `Writing` → `Idle`).
    pub take_state: AtomicU8,
    /// The current take's number, counting from 1 per instance; audio thread.
    pub take_idx: AtomicU32,
    /// The last frame index queued (the "current frame"), -1 before the first; audio thread.
    pub frame_idx: AtomicI64,
    /// Frames queued for the writer by this instance; audio thread.
    pub num_frames_queued: AtomicU64,
    /// Frames that did not fit into the queue in real-time mode; audio thread.
    pub num_frames_dropped: AtomicU64,
    /// Frames written to disk by this instance; writer thread.
    pub num_frames_written: AtomicU64,
    /// Set by the writer thread when writing failed and the recorder stopped; cleared by the audio
    /// thread when the user disarms. `Release` after `last_error` is written.
    pub has_error: AtomicBool,
    /// The last error, one line for the user. Written by the writer thread, read by the GUI;
    /// never touched by the audio thread.
    pub last_error: Mutex<String>,
    /// Where the writer writes, for the GUI (set by the writer thread when it opens a folder).
    pub out_dir: Mutex<String>,
    /// Something about the folder the user should know (a new numbered folder because the guide
    /// settings changed), empty if nothing; set with `out_dir`.
    pub folder_notice: Mutex<String>,
}

impl RecorderStatus {
    pub fn take_state(&self) -> TakeState {
        match self.take_state.load(Ordering::Relaxed) {
            1 => TakeState::Rolling,
            2 => TakeState::Writing,
            3 => TakeState::Error,
            4 => TakeState::Preparing,
            _ => TakeState::Idle,
        }
    }

    pub fn set_take_state(&self, state: TakeState) {
        self.take_state.store(state as u8, Ordering::Relaxed);
    }

    /// The error text if the recorder stopped on an error. GUI thread.
    pub fn error(&self) -> Option<String> {
        self.has_error.load(Ordering::Acquire).then(|| {
            self.last_error
                .lock()
                .map(|s| s.clone())
                .unwrap_or_default()
        })
    }

    /// Writer thread: records `message` and stops the recorder.
    pub fn set_error(&self, message: String) {
        if let Ok(mut text) = self.last_error.lock() {
            *text = message;
        }
        self.has_error.store(true, Ordering::Release);
        self.set_take_state(TakeState::Error);
    }

    /// Writer thread: the folder now written, and why it changed (empty: no notice).
    pub fn set_out_dir(&self, dir: String, notice: String) {
        if let Ok(mut text) = self.out_dir.lock() {
            *text = dir;
        }
        if let Ok(mut text) = self.folder_notice.lock() {
            *text = notice;
        }
    }

    /// Clears every counter for a new instance.
    pub fn reset(&self) {
        self.set_take_state(TakeState::Idle);
        self.take_idx.store(0, Ordering::Relaxed);
        self.frame_idx.store(-1, Ordering::Relaxed);
        self.num_frames_queued.store(0, Ordering::Relaxed);
        self.num_frames_dropped.store(0, Ordering::Relaxed);
        self.num_frames_written.store(0, Ordering::Relaxed);
        self.has_error.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames go out and come back: the pool never grows or shrinks.
    #[test]
    fn frames_are_recycled() {
        let (mut producer, mut consumer) = FrameProducer::new(4, 8, std::thread::current());
        let mut frames: Vec<_> = (0..4)
            .map(|_| producer.take_free_frame().unwrap())
            .collect();
        assert!(producer.take_free_frame().is_none());
        let frame = frames.pop().unwrap();
        producer.push(RecorderEvent::Frame(frame)).unwrap();
        let Some(RecorderEvent::Frame(frame)) = consumer.pop() else {
            panic!("expected a frame")
        };
        consumer.recycle(frame);
        assert_eq!(producer.num_free_frames(), 1);
        assert!(producer.take_free_frame().is_some());
    }

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

    /// The generation counts publications so the GUI sees "new or not".
    #[test]
    fn spectrum_generation_counts_publications() {
        let (mut input, mut output) = SpectrumInput::new();
        assert_eq!(output.read().generation, 0);
        input.publish(|s| {
            s.num_bins = 2;
            s.values[..2].copy_from_slice(&[1.0, 2.0]);
        });
        assert!(output.has_new());
        let spectrum = output.read();
        assert_eq!(spectrum.generation, 1);
        assert_eq!(spectrum.values(), &[1.0, 2.0]);
    }
}
