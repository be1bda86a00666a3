//! Audio and writer threads → GUI thread: the recorder's take state and counters, as atomics the
//! GUI reads whenever it repaints.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU32, AtomicU64, Ordering};

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
