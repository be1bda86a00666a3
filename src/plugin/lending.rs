//! Audio thread ⇄ writer thread: the memory the writer thread lends the audio thread, and the
//! requests for it. One instance's writer lives as long as the instance, across activations
//! (see [`super::writer::WriterThread`]).
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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::thread::Thread;

use super::recorder::{GuideKit, RecorderNeeds};
use crate::handoff::FrameProducer;

/// Room for what the audio thread gives back: at most one kit is lent at a time; a few more
/// cover kits made for an activation that has ended.
const NUM_RETURN_SLOTS: usize = 8;

/// Shared by the audio, main and writer threads. The audio thread writes a request's values,
/// then sets its flag with `Release`; the writer swaps the flag with `Acquire` and reads them.
#[derive(Default)]
pub(super) struct WriterShared {
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

/// The audio thread's ends of the hand-offs. Lives in the plugin, across activations. Every
/// method is wait-free: atomics, ring pops and pushes, and an unpark.
pub struct AudioLink {
    shared: Arc<WriterShared>,
    guide_kits: rtrb::Consumer<Box<GuideKit>>,
    pools: rtrb::Consumer<FrameProducer>,
    returns: rtrb::Producer<Lent>,
    /// `None` when the writer thread could not be started.
    writer: Option<Thread>,
    /// What was asked for and has not arrived yet (asked once, not every block).
    has_requested: RecorderNeeds,
}

/// Makes the rings between the two threads: the writer's ends, and the audio thread's, which
/// wake nobody until [`AudioLink::connect`] names the writer thread.
pub(super) fn new_links(shared: Arc<WriterShared>) -> (WriterLinks, AudioLink) {
    let (guide_kits_tx, guide_kits) = rtrb::RingBuffer::new(1);
    let (pools_tx, pools) = rtrb::RingBuffer::new(1);
    let (returns, returns_rx) = rtrb::RingBuffer::new(NUM_RETURN_SLOTS);
    (
        WriterLinks {
            guide_kits: guide_kits_tx,
            pools: pools_tx,
            returns: returns_rx,
        },
        AudioLink {
            shared,
            guide_kits,
            pools,
            returns,
            writer: None,
            has_requested: RecorderNeeds {
                guide_kit: false,
                pool: false,
            },
        },
    )
}

impl AudioLink {
    /// Main thread: the writer thread that serves this link; `None` when it could not start.
    pub(super) fn connect(&mut self, writer: Option<Thread>) {
        self.writer = writer;
    }

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
