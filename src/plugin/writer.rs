//! Writer thread: one per plugin instance, started with it ([`WriterThread`]) and ended with it.
//! A thin loop: it makes (and frees) the memory the audio thread borrows when it asks, drains the
//! recorder's queues in order, hands each take to its [`TakeFolder`] (which writes it, and lists it
//! as a lane of its session), hands emptied frames back, and publishes progress and errors in
//! [`RecorderStatus`]. It sleeps (parked) whenever there is nothing to do: every push into a
//! queue, every request and every command unparks it.
//!
//! It never reads the plugin's parameters: a take's settings arrive with its
//! [`RecorderEvent::TakeStart`], the folder's names through [`FolderFields`].
//!
//! An error stops the recorder (the audio thread sees `has_error`) while audio keeps flowing; the
//! writer keeps emptying the queue so an offline render never waits on it forever.
//!
//! The instance's end waits for the queue at most [`SHUTDOWN_WAIT`]: a host waits on a plugin's
//! destroy only so long, and a real-time take at a large image size can leave minutes of frames
//! queued. Past it the writer stops at a frame boundary: the take being written keeps the frames
//! on disk, listed whole, and counts the rest as dropped with a warning saying why; takes queued
//! after it are not started, and the last folder says how many.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use crate::export::ExportError;
use crate::export::takes::{self, TakeFolder};
use crate::handoff::{
    FrameConsumer, FrameProducer, RecorderEvent, RecorderStatus, TakeState, WriterCommand,
    WriterControl,
};
use crate::take::{PositionSource, TakeSettings};

use super::lending::{AudioLink, WriterLinks, WriterShared, new_links};
use super::recorder::GuideKit;
use crate::params::{FolderFields, GUIDE_BINS};

/// How long the instance's end lets the writer write what is queued (see the module's notes).
/// clap-validator's fuzzer gives a chunk 60 s, destroy included, and queues hundreds of 2048 px
/// frames in it; a host closing a project waits for its plugins' destroy before it goes on.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

/// The main thread's end of the writer thread: starts it, hands out its command end, and waits for
/// it when the instance goes.
pub struct WriterThread {
    shared: Arc<WriterShared>,
    status: Arc<RecorderStatus>,
    control: WriterControl,
    writer: Option<JoinHandle<()>>,
}

impl WriterThread {
    /// Starts the writer thread. If the system refuses a thread, the instance still works: the
    /// recorder shows the error and stays off; audio passes through.
    pub fn new(status: Arc<RecorderStatus>, folder: FolderFields) -> (WriterThread, AudioLink) {
        let shared = Arc::new(WriterShared::default());
        let (mut control, commands) = WriterControl::new();
        let (links, mut link) = new_links(Arc::clone(&shared));
        let writer = Writer::new(
            Arc::clone(&shared),
            Arc::clone(&status),
            folder,
            commands,
            links,
        );
        let writer = std::thread::Builder::new()
            .name("spectral-diffusion-writer".into())
            .spawn(move || writer.run())
            .inspect_err(|error| status.set_error(format!("cannot start the writer: {error}")))
            .ok();
        let thread = writer.as_ref().map(|handle| handle.thread().clone());
        link.connect(thread.clone());
        control.set_writer(thread);
        (
            WriterThread {
                shared,
                status,
                control,
                writer,
            },
            link,
        )
    }

    pub fn status(&self) -> &Arc<RecorderStatus> {
        &self.status
    }

    /// A handle for the commands of the main thread and the GUI.
    pub fn control(&self) -> WriterControl {
        self.control.clone()
    }
}

impl Drop for WriterThread {
    /// Waits until the writer has written everything queued, or [`SHUTDOWN_WAIT`] and one more
    /// frame. The host may unload the library right after destroying the instance, so no thread
    /// of ours may outlive it.
    fn drop(&mut self) {
        self.shared.is_shutting_down.store(true, Ordering::Release);
        if let Some(writer) = self.writer.take() {
            writer.thread().unpark();
            let _ = writer.join();
        }
    }
}

/// The writer thread's state.
struct Writer {
    shared: Arc<WriterShared>,
    status: Arc<RecorderStatus>,
    folder: FolderFields,
    commands: Receiver<WriterCommand>,
    links: WriterLinks,
    /// The queues to drain, oldest first. At most one has a live producer (see
    /// [`Writer::serve_pool_request`]), so draining them in order keeps every take's events in
    /// the order the audio thread sent them.
    consumers: VecDeque<FrameConsumer>,
    /// The plugin format the host loaded (`CLAP host`, `VST3 host`), for the manifest.
    host: String,
    /// The folder being written.
    output: Option<TakeFolder>,
    position_source: PositionSource,
    is_in_take: bool,
    is_failed: bool,
    /// Set when this thread first sees the instance going: the end of the wait for the queue.
    shutdown_deadline: Option<Instant>,
    /// Frames of the current take left unwritten because the wait was over.
    num_take_frames_unwritten: u64,
    /// Takes the end of the wait left unstarted.
    num_takes_unwritten: u64,
}

impl Writer {
    fn new(
        shared: Arc<WriterShared>,
        status: Arc<RecorderStatus>,
        folder: FolderFields,
        commands: Receiver<WriterCommand>,
        links: WriterLinks,
    ) -> Self {
        Self {
            shared,
            status,
            folder,
            commands,
            links,
            consumers: VecDeque::new(),
            host: String::new(),
            output: None,
            position_source: PositionSource::Timeline,
            is_in_take: false,
            is_failed: false,
            shutdown_deadline: None,
            num_take_frames_unwritten: 0,
            num_takes_unwritten: 0,
        }
    }

    /// The thread's body: serve, drain, sleep; until the instance goes and every queue is
    /// empty.
    fn run(mut self) {
        loop {
            // Read before draining: everything queued before the shutdown gets written.
            let is_shutting_down = self.shared.is_shutting_down.load(Ordering::Acquire);
            self.serve_commands();
            self.serve_requests(is_shutting_down);
            self.drain(is_shutting_down);
            if is_shutting_down {
                self.note_unwritten_takes();
                break;
            }
            // Any push, request or command after the drain above unparks us (a wake-up that
            // came before `park` makes it return at once), so nothing waits unseen.
            std::thread::park();
        }
    }

    fn serve_commands(&mut self) {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                WriterCommand::SetHost(host) => self.host = host,
                WriterCommand::ClearFolder => self.clear_folder(),
            }
        }
    }

    /// Frees what the audio thread gave back, and makes what it asks for.
    fn serve_requests(&mut self, is_shutting_down: bool) {
        // Dropping what comes back frees it, here rather than on the audio thread.
        while self.links.returns.pop().is_ok() {}
        if is_shutting_down {
            return;
        }
        let shared = &self.shared;
        if shared.wants_guide_kit.swap(false, Ordering::Acquire) {
            let sample_rate = shared.sample_rate.load(Ordering::Relaxed);
            let max_block_size = shared.max_block_size.load(Ordering::Relaxed);
            match GuideKit::new(sample_rate, max_block_size) {
                // One kit is asked for at a time: the ring has room.
                Ok(kit) => {
                    let _ = self.links.guide_kits.push(Box::new(kit));
                }
                Err(error) => self.status.set_error(error.to_string()),
            }
        }
        // A pool only when no live one exists (its producer is with the audio thread, on its way
        // there, or parked between activations): the audio thread gets that one.
        if shared.wants_pool.swap(false, Ordering::Acquire)
            && self.consumers.iter().all(FrameConsumer::is_abandoned)
        {
            let num_frames = shared.num_queue_frames.load(Ordering::Relaxed);
            let (producer, consumer) =
                FrameProducer::new(num_frames, GUIDE_BINS, std::thread::current());
            self.consumers.push_back(consumer);
            let _ = self.links.pools.push(producer);
        }
    }

    /// Handles every queued event. Drops queues whose producer is gone once they are empty (that
    /// frees the pool); at shutdown, every queue once it is empty.
    fn drain(&mut self, is_shutting_down: bool) {
        while let Some(consumer) = self.consumers.front_mut() {
            let Some(event) = consumer.pop() else {
                if is_shutting_down || consumer.is_finished() {
                    self.consumers.pop_front();
                    continue;
                }
                break;
            };
            self.handle(event);
            // A re-armed recorder or an opened editor should not wait for a long queue.
            self.serve_requests(is_shutting_down);
        }
    }

    fn handle(&mut self, event: RecorderEvent) {
        let is_out_of_time = self.is_out_of_time();
        match event {
            RecorderEvent::TakeStart { .. } if is_out_of_time => self.num_takes_unwritten += 1,
            RecorderEvent::TakeStart {
                position_source,
                settings,
                ..
            } => self.start_take(position_source, settings),
            RecorderEvent::Frame(frame) => {
                if is_out_of_time {
                    if self.is_in_take {
                        self.num_take_frames_unwritten += 1;
                    }
                } else if !self.is_failed
                    && let Some(output) = self.output.as_mut()
                {
                    match output.write_frame(&frame) {
                        Ok(()) => {
                            self.status
                                .num_frames_written
                                .fetch_add(1, Ordering::Relaxed);
                        }
                        Err(error) => self.fail(error),
                    }
                }
                if let Some(consumer) = self.consumers.front_mut() {
                    consumer.recycle(frame);
                }
            }
            RecorderEvent::TakeEnd {
                num_frames_dropped, ..
            } => self.end_take(num_frames_dropped),
        }
    }

    /// Whether the instance is going and its wait for the queue is over (the wait starts when
    /// this thread first sees it going, at most one frame after the instance's end began).
    fn is_out_of_time(&mut self) -> bool {
        if !self.shared.is_shutting_down.load(Ordering::Acquire) {
            return false;
        }
        let deadline = *self
            .shutdown_deadline
            .get_or_insert_with(|| Instant::now() + SHUTDOWN_WAIT);
        Instant::now() >= deadline
    }

    /// At the end: says in the last folder written how many takes the end of the wait left
    /// unstarted.
    fn note_unwritten_takes(&mut self) {
        if self.num_takes_unwritten == 0 {
            return;
        }
        if let Some(output) = self.output.as_mut() {
            let _ = output.add_warning(takes::unwritten_takes_warning(
                self.num_takes_unwritten,
                SHUTDOWN_WAIT,
            ));
        }
    }

    fn start_take(&mut self, position_source: PositionSource, settings: TakeSettings) {
        self.is_failed = false;
        self.is_in_take = true;
        self.position_source = position_source;
        // The folder when the take started, unless the editor changed it since activation.
        let generation = self.folder.generation.load(Ordering::Acquire);
        let folder = match &settings.folder {
            Some(snapshot) if snapshot.generation == generation => (**snapshot).clone(),
            _ => self.folder.snapshot(),
        };
        if self
            .output
            .as_ref()
            .is_some_and(|output| output.is_for(&folder, &settings))
        {
            return;
        }
        self.output = None;
        match TakeFolder::open(&folder, &settings, &self.host) {
            Ok((output, skipped)) => {
                let dir = output.out_dir().display().to_string();
                let mut notice = match skipped {
                    Some(ExportError::SettingsDiffer { path, field }) => format!(
                        "{} holds frames made with other guide settings ({field} differs): \
                         this take goes to {dir}",
                        path.display()
                    ),
                    Some(ExportError::NotOurs { path, .. }) => format!(
                        "{} holds files but no frames of ours: this take goes to {dir}",
                        path.display()
                    ),
                    _ => String::new(),
                };
                if let Err(error) = output.register_lane(&folder.instance_name()) {
                    notice = [notice, error.to_string()].join(" ").trim().to_owned();
                }
                self.status.set_out_dir(dir, notice);
                self.output = Some(output);
            }
            Err(error) => self.fail(error),
        }
    }

    /// Empties the folder this instance writes into of our files, keeping the user's (the
    /// recorder panel's "Clear"). Never during a take: the editor offers it only between takes.
    fn clear_folder(&mut self) {
        if self.is_in_take {
            return;
        }
        let (dir, result) = match self.output.take() {
            Some(output) => {
                let (dir, result) = output.clear();
                (dir, result.map(|output| self.output = Some(output)))
            }
            None => takes::clear_unopened(&self.folder.snapshot()),
        };
        let result = result.map(|()| takes::leave_session(&dir));
        let notice = match result {
            Ok(None | Some(Ok(()))) => format!("Cleared {}: it lists no frames now", dir.display()),
            Ok(Some(Err(error))) => format!("Cleared {}, but {error}", dir.display()),
            Err(error) => format!("Not cleared: {error}"),
        };
        self.status.set_out_dir(dir.display().to_string(), notice);
    }

    fn end_take(&mut self, num_frames_dropped: u64) {
        if self.is_in_take
            && let Some(output) = self.output.as_mut()
        {
            // Even after a failed frame, save the rows written so far (atomically: the previous
            // CSV stays whole if this fails too).
            let num_unwritten = std::mem::take(&mut self.num_take_frames_unwritten);
            let dropped = takes::Dropped {
                num_real_time: num_frames_dropped,
                num_unwritten,
                wait: SHUTDOWN_WAIT,
            };
            if let Err(error) = output.finish_take(&dropped, self.position_source) {
                self.fail(error);
            }
        }
        if self.is_in_take
            && let Some(output) = &self.output
            && let Err(error) = output.register_lane(&self.folder.instance_id())
        {
            let dir = output.out_dir().display().to_string();
            self.status.set_out_dir(dir, error.to_string());
        }
        self.is_in_take = false;
        if !self.is_failed {
            let _ = self.status.take_state.compare_exchange(
                TakeState::Writing as u8,
                TakeState::Idle as u8,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    fn fail(&mut self, error: ExportError) {
        self.status.set_error(error.to_string());
        self.is_failed = true;
    }
}
