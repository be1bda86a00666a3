//! Any thread: the lock-free paths out of the audio thread (DESIGN.md §2), one module per thing
//! carried, and the GUI's commands to the writer thread.
//!
//! - [`spectrum`]: the latest spectrum for the GUI ([`SpectrumInput`] / [`SpectrumOutput`]).
//! - [`tap`]: the raw stereo samples for the GUI's live analyzer and meters ([`TapInput`] /
//!   [`TapOutput`]).
//! - [`frames`]: every recorded frame for the writer thread ([`FrameProducer`] /
//!   [`FrameConsumer`]).
//! - [`status`]: the recorder's state, which the audio and writer threads update and the GUI
//!   reads ([`RecorderStatus`]).
//! - [`commands`]: what the GUI and the main thread ask of the writer thread ([`WriterControl`]).
//!
//! It imports only the plain data of [`crate::take`] (and the pure floors), so the plugin, the
//! editor and the writer all depend on it and not on each other.

pub mod commands;
pub mod frames;
pub mod spectrum;
pub mod status;
pub mod tap;

use std::sync::Arc;

pub use commands::{WriterCommand, WriterControl};
pub use frames::{FrameConsumer, FrameProducer, RecorderEvent};
pub use spectrum::{MAX_SPECTRUM_BINS, Spectrum, SpectrumInput, SpectrumKind, SpectrumOutput};
pub use status::{RecorderStatus, TakeState};
pub use tap::{TAP_CAPACITY_FRAMES, TapInput, TapOutput, TapStream};

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
    pub status: Arc<RecorderStatus>,
    /// The recorder panel's commands to the writer thread ("Clear").
    pub writer: WriterControl,
}
