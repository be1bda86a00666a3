//! Writer thread: one per plugin instance, started with its [`Session`](super::session::Session)
//! and ended with it. Makes (and frees) the memory the audio thread borrows when it asks, drains
//! the recorder's queues in order, writes each frame, hands emptied frames back, and publishes
//! progress and errors in [`RecorderStatus`]. It sleeps (parked) whenever there is nothing to do:
//! every push into a queue, every request and every command unparks it.
//!
//! At each take's start and end it lists its folder as a lane of the session (the folder above
//! it) in `session.json`, and a Clear takes it out (see [`export::session`]).
//!
//! It never reads the plugin's parameters: a take's settings arrive with its
//! [`RecorderEvent::TakeStart`], the folder's names through [`FolderFields`].
//!
//! An error stops the recorder (the audio thread sees `has_error`) while audio keeps flowing; the
//! writer keeps emptying the queue so an offline render never waits on it forever.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crossbeam_channel::Receiver;

use crate::analysis::BinMap;
use crate::export::session::{self, SessionError};
use crate::export::{
    self, CsvFormat, ExportError, ExportSettings, FolderLock, FrameWriter, JobInfo, OpenMode,
    Source, TakeStats,
};
use crate::handoff::{
    FrameConsumer, FrameProducer, PositionSource, RecorderEvent, RecorderStatus, TakeSettings,
    TakeState,
};

use super::recorder::GuideKit;
use super::session::{Command, SessionShared, WriterLinks};
use crate::params::{FolderFields, GUIDE_BINS};

/// The writer thread's state.
pub(super) struct Writer {
    shared: Arc<SessionShared>,
    status: Arc<RecorderStatus>,
    folder: FolderFields,
    commands: Receiver<Command>,
    links: WriterLinks,
    /// The queues to drain, oldest first. At most one has a live producer (see
    /// [`Writer::serve_pool_request`]), so draining them in order keeps every take's events in
    /// the order the audio thread sent them.
    consumers: VecDeque<FrameConsumer>,
    /// The plugin format the host loaded (`CLAP host`, `VST3 host`), for the manifest.
    host: String,
    /// The folder being written.
    output: Option<Output>,
    position_source: PositionSource,
    is_in_take: bool,
    is_failed: bool,
}

/// The most numbered folders tried beside `<track>` before giving up.
const MAX_FOLDER_NUMBER: usize = 999;

/// The folder being written: what it was opened for, its lock and its writer.
struct Output {
    key: OutputKey,
    writer: FrameWriter,
    /// Held while this instance writes here; declared after `writer`, so it is released last.
    _lock: FolderLock,
}

/// What an [`Output`] was opened for; a take with another key gets another folder.
#[derive(PartialEq)]
struct OutputKey {
    /// `<folder>/<track name or instance id>`, before any number.
    base_dir: PathBuf,
    track: String,
    settings: TakeSettings,
}

impl Writer {
    pub(super) fn new(
        shared: Arc<SessionShared>,
        status: Arc<RecorderStatus>,
        folder: FolderFields,
        commands: Receiver<Command>,
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
            position_source: PositionSource::HostTransport,
            is_in_take: false,
            is_failed: false,
        }
    }

    /// The thread's body: serve, drain, sleep; until the session shuts down and every queue is
    /// empty.
    pub(super) fn run(mut self) {
        loop {
            // Read before draining: everything queued before the shutdown gets written.
            let is_shutting_down = self.shared.is_shutting_down.load(Ordering::Acquire);
            self.serve_commands();
            self.serve_requests(is_shutting_down);
            self.drain(is_shutting_down);
            if is_shutting_down {
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
                Command::SetHost(host) => self.host = host,
                Command::ClearFolder => self.clear_folder(),
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
        match event {
            RecorderEvent::TakeStart {
                position_source,
                settings,
                ..
            } => self.start_take(position_source, settings),
            RecorderEvent::Frame(frame) => {
                if !self.is_failed
                    && let Some(Output { writer: output, .. }) = self.output.as_mut()
                {
                    let result = output
                        .write_frame(frame.frame_idx, frame.bins())
                        .and_then(|()| output.record_capture(frame.frame_idx, &frame.capture));
                    match result {
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
        let key = OutputKey {
            base_dir: folder.out_dir,
            track: folder.track,
            settings,
        };
        if self.output.as_ref().is_some_and(|output| output.key == key) {
            return;
        }
        self.output = None;
        match self.open_output(key) {
            Ok((output, skipped)) => {
                let dir = output.writer.settings().out_dir.display().to_string();
                let mut notice = match skipped {
                    Some(ExportError::SettingsDiffer { path, field }) => format!(
                        "{} holds frames made with other guide settings ({field} differs): \
                         this take goes to {dir}",
                        path.display()
                    ),
                    Some(ExportError::NotOurs { path }) => format!(
                        "{} holds files but no frames of ours: this take goes to {dir}",
                        path.display()
                    ),
                    _ => String::new(),
                };
                if let Err(error) = self.register_lane(&output) {
                    notice = [notice, error.to_string()].join(" ").trim().to_owned();
                }
                self.status.set_out_dir(dir, notice);
                self.output = Some(output);
            }
            Err(error) => self.fail(error),
        }
    }

    /// Opens the first of `<base>`, `<base>-2`, `<base>-3`… that no other instance holds and
    /// that is empty or holds frames made with the take's settings, continuing them. Also returns
    /// why the last folder passed over (other settings, or files not ours) was, if any.
    fn open_output(&self, key: OutputKey) -> Result<(Output, Option<ExportError>), ExportError> {
        let instance_id = self.folder.instance_id();
        let mut skipped = None;
        for number in 1..=MAX_FOLDER_NUMBER {
            let dir = numbered_dir(&key.base_dir, number);
            let Some(lock) = FolderLock::try_acquire(&dir, &instance_id)? else {
                continue;
            };
            let writer = match self.open_writer(&key, &dir) {
                Ok(writer) => writer,
                Err(error @ (ExportError::SettingsDiffer { .. } | ExportError::NotOurs { .. })) => {
                    skipped = Some(error);
                    continue;
                }
                Err(error) => return Err(error),
            };
            let output = Output {
                key,
                writer,
                _lock: lock,
            };
            return Ok((output, skipped));
        }
        Err(ExportError::io(
            &key.base_dir,
            std::io::Error::other("every numbered folder beside it is in use"),
        ))
    }

    /// Empties the folder this instance writes into of our files, keeping the user's (the
    /// recorder panel's "Clear"). Never during a take: the editor offers it only between takes.
    fn clear_folder(&mut self) {
        if self.is_in_take {
            return;
        }
        let (dir, result) = match self.output.take() {
            // Reopened in Replace mode: our files go, and an empty listing keeps the folder ours
            // (the user's files alone would make it look foreign to the next take).
            // The old writer goes first: its spill file has the new one's name.
            Some(Output { key, writer, _lock }) => {
                let settings = writer.settings().clone();
                let job = writer.job().clone();
                drop(writer);
                let result = FrameWriter::open(&settings, job, OpenMode::Replace).map(|writer| {
                    self.output = Some(Output { key, writer, _lock });
                });
                (settings.out_dir, result)
            }
            None => {
                let dir = self.folder.snapshot().out_dir;
                let result = match FolderLock::try_acquire(&dir, &self.folder.instance_id()) {
                    Ok(Some(_lock)) => export::clear_folder(&dir),
                    Ok(None) => Err(ExportError::io(
                        &dir,
                        std::io::Error::other("another instance writes there"),
                    )),
                    Err(error) => Err(error),
                };
                (dir, result)
            }
        };
        // A lane without frames leaves the session; its next take lists it again.
        let result = result.map(|()| {
            session::session_of(&dir).map(|(root, name)| session::remove_lane(root, &name))
        });
        let notice = match result {
            Ok(None | Some(Ok(()))) => format!("Cleared {}: it lists no frames now", dir.display()),
            Ok(Some(Err(error))) => format!("Cleared {}, but {error}", dir.display()),
            Err(error) => format!("Not cleared: {error}"),
        };
        self.status.set_out_dir(dir.display().to_string(), notice);
    }

    fn end_take(&mut self, num_frames_dropped: u64) {
        if self.is_in_take
            && let Some(Output { writer: output, .. }) = self.output.as_mut()
        {
            let stats = take_stats(num_frames_dropped, self.position_source);
            // Even after a failed frame, save the rows written so far (atomically: the previous
            // CSV stays whole if this fails too).
            if let Err(error) = output.finish_take(&stats) {
                self.fail(error);
            }
        }
        if self.is_in_take
            && let Some(output) = &self.output
            && let Err(error) = self.register_lane(output)
        {
            let dir = output.writer.settings().out_dir.display().to_string();
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

    /// Lists `output`'s folder in its session's `session.json`, with the frames it holds now
    /// (DESIGN.md §13). A failure leaves the take recording: the lane's folder is whole, only
    /// the session does not list it; the recorder panel says why.
    fn register_lane(&self, output: &Output) -> Result<(), SessionError> {
        session::register_lane(
            &output.writer,
            &output.key.track,
            &self.folder.instance_id(),
        )
    }

    fn fail(&mut self, error: ExportError) {
        self.status.set_error(error.to_string());
        self.is_failed = true;
    }

    /// Opens `dir` in `Continue` mode: the take adds to the frames already there.
    fn open_writer(&self, key: &OutputKey, dir: &Path) -> Result<FrameWriter, ExportError> {
        let settings = ExportSettings {
            out_dir: dir.to_owned(),
            csv: CsvFormat::Full,
            write_images: key.settings.write_images,
            is_forced: false,
        };
        let take = &key.settings;
        let job = JobInfo {
            source: Source::Host {
                host: self.host.clone(),
                track: key.track.clone(),
            },
            sample_rate: take.sample_rate,
            fps: take.fps,
            analysis: take.analysis.clone(),
            render: take.render.clone(),
            bin_freqs_hz: BinMap::for_settings(&take.analysis, take.sample_rate).centre_freqs_hz,
        };
        FrameWriter::open(&settings, job, OpenMode::Continue)
    }
}

/// `<base>` for 1, `<base>-<n>` beside it for n > 1.
fn numbered_dir(base: &Path, number: usize) -> PathBuf {
    if number == 1 {
        return base.to_owned();
    }
    let mut name = base.file_name().unwrap_or_default().to_os_string();
    name.push(format!("-{number}"));
    base.with_file_name(name)
}

fn take_stats(num_frames_dropped: u64, position_source: PositionSource) -> TakeStats {
    let mut warnings = Vec::new();
    if num_frames_dropped > 0 {
        warnings.push(format!(
            "{num_frames_dropped} frames dropped: the host ran in real-time mode faster than the \
             writer could write; bounce offline to keep every frame"
        ));
    }
    if position_source == PositionSource::SampleCount {
        warnings.push(
            "the host reported no transport position: frames counted from the take's start".into(),
        );
    }
    TakeStats {
        frames_dropped: num_frames_dropped,
        position_source: match position_source {
            PositionSource::HostTransport => export::PositionSource::Timeline,
            PositionSource::SampleCount => export::PositionSource::SampleCount,
        },
        warnings,
    }
}
