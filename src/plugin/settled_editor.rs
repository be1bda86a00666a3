//! Main thread: the editor as the plugin hands it to nice-plug, made to wait, before a host opens
//! it, until nice-plug's worker thread has run every task queued so far.
//!
//! Why: a nice-plug 0.4.2 defect (Linux, VST3). nice-plug runs the GUI notifications posted from
//! other threads than the main one on one worker thread (`bg-worker`): above all a
//! `ParameterValueChanged` for every parameter the host automates in `process()`. The worker
//! reads the editor's window through an `AtomicRefCell` that `IPlugView::attached` holds mutably
//! while it creates the editor. A worker still working off a backlog of automation notifications
//! when the host opens the editor panics ("already mutably borrowed"), and the dead worker makes
//! the instance's release panic inside `FUnknown::release` ("Failed while sending worker thread
//! shutdown request"), which cannot unwind: the host aborts. pluginval does exactly this, opening
//! the editor right after its automation test.
//!
//! Hosts ask the view for its size before they attach it, so [`Editor::size`] is the plugin's
//! last call before `attached`. While the editor is closed, [`SettledEditor::size`] posts a
//! [`WorkerMark`] through the background queue, which the same worker runs in order, and waits
//! until the mark ran (at most [`MAX_WAIT`]). Not covered: notifications that keep arriving
//! while the host opens or closes the editor (a DAW playing automation at that moment); that
//! needs nice-plug fixed.

use std::error::Error;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::NativeSize;
use nice_plug::editor::{Editor, HostMethods, ParentWindowHandle, ResizeHint, SpawnedEditor};
use nice_plug::prelude::{AsyncExecutor, Plugin, TrackInfo};
use nice_plug_egui::EguiEditorState;

/// The longest the main thread waits for the worker: a backlog of nice-plug's full queue (4096
/// notifications) runs in milliseconds; a worker that never answers (dead, or another plugin's
/// long task on it) costs the host's GUI thread this much per size request while closed.
pub const MAX_WAIT: Duration = Duration::from_millis(500);

/// How long to wait before posting a mark again that a full queue refused.
const RETRY_INTERVAL: Duration = Duration::from_millis(1);

/// The plugin's background task: a marker that tells its waiter the worker got to it.
#[derive(Debug)]
pub struct WorkerMark(Sender<()>);

impl WorkerMark {
    /// Runs on the worker: everything queued before this mark has run.
    pub fn reached(self) {
        // The waiter may have given up (`MAX_WAIT`); then nobody needs to know.
        let _ = self.0.send(());
    }
}

/// `E`, whose size requests first let nice-plug's worker catch up (see the module docs).
pub struct SettledEditor<E, P: Plugin<BackgroundTask = WorkerMark>> {
    editor: E,
    executor: AsyncExecutor<P>,
    /// Open while the editor's window exists; only a closed editor waits.
    state: Arc<EguiEditorState>,
}

impl<E: Editor, P: Plugin<BackgroundTask = WorkerMark>> SettledEditor<E, P> {
    pub fn new(editor: E, executor: AsyncExecutor<P>, state: Arc<EguiEditorState>) -> Self {
        Self {
            editor,
            executor,
            state,
        }
    }

    /// Waits until the worker ran every task queued before this call, or [`MAX_WAIT`] passed.
    /// Returns whether the worker got there.
    pub fn settle(&self) -> bool {
        let deadline = Instant::now() + MAX_WAIT;
        loop {
            let (sender, reached) = mpsc::channel();
            self.executor.execute_background(WorkerMark(sender));
            match reached.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(()) => return true,
                Err(RecvTimeoutError::Timeout) => return false,
                // The queue was full and dropped the mark (or the worker is gone): post it again
                // once there may be room.
                Err(RecvTimeoutError::Disconnected) => {
                    if Instant::now() + RETRY_INTERVAL >= deadline {
                        return false;
                    }
                    std::thread::sleep(RETRY_INTERVAL);
                }
            }
        }
    }
}

impl<E: Editor, P: Plugin<BackgroundTask = WorkerMark>> Editor for SettledEditor<E, P> {
    type Handle = E::Handle;

    fn spawn(
        &self,
        parent: Option<ParentWindowHandle>,
        wait_for_parent: bool,
        fallback_scale_factor: Option<f64>,
        gui_context: GuiContext,
        host: Option<HostMethods>,
    ) -> Result<SpawnedEditor<Self::Handle>, Box<dyn Error>> {
        self.editor.spawn(
            parent,
            wait_for_parent,
            fallback_scale_factor,
            gui_context,
            host,
        )
    }

    fn size(&self) -> NativeSize<u32> {
        if !self.state.is_open() {
            self.settle();
        }
        self.editor.size()
    }

    fn resize_hint(&self) -> ResizeHint {
        self.editor.resize_hint()
    }

    fn track_info_updated(&self, info: TrackInfo) {
        self.editor.track_info_updated(info);
    }

    unsafe fn assume_standalone_in_process(&self) {
        // SAFETY: the caller upholds the same contract for the wrapped editor.
        unsafe { self.editor.assume_standalone_in_process() }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc::SyncSender;

    use nice_plug::editor::dpi::LogicalSize;

    use super::*;
    use crate::plugin::SpectralDiffusion;

    /// What nice-plug's worker runs, in order: its own notifications and the plugin's tasks.
    enum Job {
        Notification,
        Mark(WorkerMark),
    }

    fn closed_state() -> Arc<EguiEditorState> {
        EguiEditorState::from_size(LogicalSize::new(900.0, 600.0), 1.0)
    }

    /// The `AsyncExecutor` nice-plug would hand over, posting the plugin's tasks with `post`.
    fn executor(
        post: impl Fn(WorkerMark) + Send + Sync + 'static,
    ) -> AsyncExecutor<SpectralDiffusion> {
        let post = Arc::new(post);
        AsyncExecutor::new(post.clone(), post)
    }

    #[test]
    fn a_closed_editor_asks_for_its_size_only_after_the_backlog_ran() {
        const BACKLOG: usize = 10_000;
        let (queue, jobs) = mpsc::sync_channel::<Job>(BACKLOG + 1);
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..BACKLOG {
            queue.send(Job::Notification).unwrap();
        }
        let worker_done = Arc::clone(&done);
        let worker = std::thread::spawn(move || {
            for job in jobs {
                match job {
                    Job::Notification => {
                        worker_done.fetch_add(1, Ordering::SeqCst);
                    }
                    Job::Mark(mark) => mark.reached(),
                }
            }
        });
        let post_queue: SyncSender<Job> = queue.clone();
        let editor = SettledEditor::new(
            (),
            executor(move |mark| {
                let _ = post_queue.try_send(Job::Mark(mark));
            }),
            closed_state(),
        );
        editor.size();
        assert_eq!(done.load(Ordering::SeqCst), BACKLOG);
        drop(editor);
        drop(queue);
        worker.join().unwrap();
    }

    #[test]
    fn a_mark_the_full_queue_dropped_is_posted_again() {
        let posts = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&posts);
        let editor = SettledEditor::new(
            (),
            executor(move |mark| {
                // The first three find nice-plug's queue full and are dropped unrun.
                if counted.fetch_add(1, Ordering::SeqCst) >= 3 {
                    mark.reached();
                }
            }),
            closed_state(),
        );
        assert!(editor.settle());
        assert_eq!(posts.load(Ordering::SeqCst), 4);
    }
}
