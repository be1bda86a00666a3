//! Main thread: the recording session of one plugin instance. It lives as long as the instance,
//! across activations: it owns the writer thread (see `writer`), the hand-offs that lend the
//! audio thread its memory, and the status the GUI reads.
//!
//! Who owns what:
//! - The audio thread holds memory only while it needs it: the recorder's [`GuideKit`] and frame
//!   pool while armed or while the editor shows the guide preview. An idle instance holds
//!   neither, and its writer thread sleeps. (The live analyzer runs on the GUI thread.)
//! - The writer thread makes them when the audio thread asks (an atomic request and an unpark)
//!   and sends them over one-slot rings ([`AudioLink`]); the audio thread sends kits back over
//!   another ring when it is done, and the writer frees them. A frame pool is never
//!   sent back: the audio thread drops its producer end, which frees nothing, and the writer frees
//!   the pool once its queue is empty.
//! - An activation builds what an armed recorder and an open editor need on the main thread, so
//!   a bounce right after it records from its first block; `deactivate` ends the take and parks
//!   the frame pool in the plugin until the next activation, which carries on with it while the
//!   writer drains the queue in the background.
//! - Dropping the session (the instance) waits for the writer to write everything queued.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::thread::{JoinHandle, Thread};

use crossbeam_channel::Sender;

use crate::handoff::{FrameProducer, RecorderStatus};

use super::recorder::{GuideKit, RecorderNeeds};
use super::writer::Writer;
use crate::params::FolderFields;

/// Room for what the audio thread gives back: at most one kit is lent at a time; a few more
/// cover kits made for an activation that has ended.
const NUM_RETURN_SLOTS: usize = 8;

/// What the main thread tells the writer thread.
pub(super) enum Command {
    /// The plugin format the host loaded, for the manifest.
    SetHost(String),
    /// Empty the instance's folder of our files (the recorder panel's "Clear").
    ClearFolder,
}

/// Shared by the audio, main and writer threads. The audio thread writes a request's values,
/// then sets its flag with `Release`; the writer swaps the flag with `Acquire` and reads them.
#[derive(Default)]
pub(super) struct SessionShared {
    /// The recorder asks for a guide kit (for `sample_rate` and `max_block_size`).
    pub(super) wants_guide_kit: AtomicBool,
    /// The recorder asks for a frame pool of `num_queue_frames`.
    pub(super) wants_pool: AtomicBool,
    pub(super) sample_rate: AtomicU32,
    pub(super) max_block_size: AtomicUsize,
    pub(super) num_queue_frames: AtomicUsize,
    /// Set by the main thread when the instance goes away; `Release` after the last push, so
    /// the writer (`Acquire`) drains everything queued before it and ends.
    pub(super) is_shutting_down: AtomicBool,
}

/// Memory the writer thread lends the audio thread.
pub enum Lent {
    Guide(Box<GuideKit>),
}

/// The writer thread's ends of the hand-offs to the audio thread.
pub(super) struct WriterLinks {
    pub(super) guide_kits: rtrb::Producer<Box<GuideKit>>,
    pub(super) pools: rtrb::Producer<FrameProducer>,
    pub(super) returns: rtrb::Consumer<Lent>,
}

/// The main thread's end of the session.
pub struct Session {
    shared: Arc<SessionShared>,
    status: Arc<RecorderStatus>,
    control: SessionControl,
    writer: Option<JoinHandle<()>>,
}

/// Commands to the writer thread, from the main thread or the GUI. Cheap to clone.
#[derive(Clone)]
pub struct SessionControl {
    commands: Sender<Command>,
    /// `None` when the writer thread could not be started.
    writer: Option<Thread>,
}

/// The audio thread's ends of the hand-offs. Lives in the plugin, across activations. Every
/// method is wait-free: atomics, ring pops and pushes, and an unpark.
pub struct AudioLink {
    shared: Arc<SessionShared>,
    guide_kits: rtrb::Consumer<Box<GuideKit>>,
    pools: rtrb::Consumer<FrameProducer>,
    returns: rtrb::Producer<Lent>,
    /// `None` when the writer thread could not be started.
    writer: Option<Thread>,
    /// What was asked for and has not arrived yet (asked once, not every block).
    has_requested: RecorderNeeds,
}

impl Session {
    /// Starts the writer thread. If the system refuses a thread, the session still exists: the
    /// recorder shows the error and stays off; audio passes through.
    pub fn new(status: Arc<RecorderStatus>, folder: FolderFields) -> (Session, AudioLink) {
        let shared = Arc::new(SessionShared::default());
        let (commands, command_rx) = crossbeam_channel::unbounded();
        let (guide_kits_tx, guide_kits) = rtrb::RingBuffer::new(1);
        let (pools_tx, pools) = rtrb::RingBuffer::new(1);
        let (returns, returns_rx) = rtrb::RingBuffer::new(NUM_RETURN_SLOTS);
        let writer = Writer::new(
            Arc::clone(&shared),
            Arc::clone(&status),
            folder,
            command_rx,
            WriterLinks {
                guide_kits: guide_kits_tx,
                pools: pools_tx,
                returns: returns_rx,
            },
        );
        let writer = std::thread::Builder::new()
            .name("spectral-diffusion-writer".into())
            .spawn(move || writer.run())
            .inspect_err(|error| status.set_error(format!("cannot start the writer: {error}")))
            .ok();
        let link = AudioLink {
            shared: Arc::clone(&shared),
            guide_kits,
            pools,
            returns,
            writer: writer.as_ref().map(|handle| handle.thread().clone()),
            has_requested: RecorderNeeds {
                guide_kit: false,
                pool: false,
            },
        };
        (
            Session {
                shared,
                status,
                control: SessionControl {
                    commands,
                    writer: writer.as_ref().map(|handle| handle.thread().clone()),
                },
                writer,
            },
            link,
        )
    }

    pub fn status(&self) -> &Arc<RecorderStatus> {
        &self.status
    }

    /// A handle for the GUI's commands.
    pub fn control(&self) -> SessionControl {
        self.control.clone()
    }

    /// Records the host's plugin format for the manifests of later takes.
    pub fn set_host(&self, host: &str) {
        self.control.send(Command::SetHost(host.to_owned()));
    }
}

impl SessionControl {
    /// Empties the instance's folder of our frames, CSV and manifest, keeping every other file.
    /// Ignored during a take; the result shows as the recorder's folder notice.
    pub fn clear_folder(&self) {
        self.send(Command::ClearFolder);
    }

    fn send(&self, command: Command) {
        if let Some(writer) = &self.writer {
            // A session that has gone takes its writer with it: then nothing is listening.
            let _ = self.commands.send(command);
            writer.unpark();
        }
    }
}

impl Drop for Session {
    /// Waits until the writer has written everything queued. The host may unload the library
    /// right after destroying the instance, so no thread of ours may outlive it.
    fn drop(&mut self) {
        self.shared.is_shutting_down.store(true, Ordering::Release);
        if let Some(writer) = self.writer.take() {
            writer.thread().unpark();
            let _ = writer.join();
        }
    }
}

impl AudioLink {
    /// Audio thread: asks the writer for what the recorder `needs`, once until it arrives.
    pub fn request_recorder(
        &mut self,
        needs: RecorderNeeds,
        sample_rate: u32,
        max_block_size: usize,
        num_queue_frames: usize,
    ) {
        let Some(writer) = &self.writer else {
            return;
        };
        let shared = &self.shared;
        let ask_kit = needs.guide_kit && !self.has_requested.guide_kit;
        let ask_pool = needs.pool && !self.has_requested.pool;
        if !(ask_kit || ask_pool) {
            return;
        }
        shared.sample_rate.store(sample_rate, Ordering::Relaxed);
        shared
            .max_block_size
            .store(max_block_size, Ordering::Relaxed);
        shared
            .num_queue_frames
            .store(num_queue_frames.max(1), Ordering::Relaxed);
        if ask_kit {
            shared.wants_guide_kit.store(true, Ordering::Release);
            self.has_requested.guide_kit = true;
        }
        if ask_pool {
            shared.wants_pool.store(true, Ordering::Release);
            self.has_requested.pool = true;
        }
        writer.unpark();
    }

    pub fn receive_guide(&mut self) -> Option<Box<GuideKit>> {
        let kit = self.guide_kits.pop().ok()?;
        self.has_requested.guide_kit = false;
        Some(kit)
    }

    pub fn receive_pool(&mut self) -> Option<FrameProducer> {
        let pool = self.pools.pop().ok()?;
        self.has_requested.pool = false;
        Some(pool)
    }

    /// Audio thread: sends lent memory back to the writer thread, which frees it.
    pub fn give_back(&mut self, lent: Lent) {
        if let Err(rtrb::PushError::Full(lent)) = self.returns.push(lent) {
            // Cannot happen (see `NUM_RETURN_SLOTS`); leaking beats freeing on the audio thread.
            nice_plug::nice_debug_assert_failure!("no room to give memory back");
            std::mem::forget(lent);
        }
        if let Some(writer) = &self.writer {
            writer.unpark();
        }
    }

    /// Audio thread: lets go of a pool that arrived after the recorder was disarmed, and of a kit
    /// unless `keep_kit` (the caller picks it up).
    pub fn discard_recorder_arrivals(&mut self, keep_kit: bool) {
        if !keep_kit && let Some(kit) = self.receive_guide() {
            self.give_back(Lent::Guide(kit));
        }
        // Dropping a producer frees nothing (see `FrameProducer`).
        drop(self.receive_pool());
    }

    /// Whether anything can ever arrive (the writer thread runs).
    pub fn is_available(&self) -> bool {
        self.writer.is_some()
    }
}
