//! Worker threads, and the calling thread as their sink: frames spread over servers.
//!
//! Each server gets `in_flight` workers, each with its own [`Backend`] connection, all pulling
//! from one shared queue, so a faster server takes more frames and no server's queue is flooded.
//! With two or more, a server always has the next frame uploaded and queued while it draws the
//! current one: the worker whose frame is done fetches it and queues its next while the server
//! draws another worker's, so the server never waits for our side between frames.
//! A frame a server fails goes back to the queue for any worker (each worker gives back the
//! frame it holds, so a server that dies gives back every frame it had); after `max_failures`
//! failures in a row a server is dropped, and the others go on. When every server is gone the run ends
//! with each one's last error. A stop request (Ctrl-C) stops the taking of frames: the frames in
//! flight finish and reach the sink, so what the sink records stays true.
//!
//! The calling thread is the only one that sees the results ([`Event`]s): it alone writes files
//! and the ledger, so nothing there needs a lock.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, unbounded};

use super::{Backend, DrawError, FrameJob};

/// How often an idle worker looks whether the run is over.
const IDLE_POLL: Duration = Duration::from_millis(20);

/// How the frames are spread.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Frames each server works on at once.
    pub in_flight: usize,
    /// Failures in a row after which a server is dropped.
    pub max_failures: u32,
    /// The pause after a server's first failure; doubled after each further one.
    pub backoff: Duration,
}

/// What the workers report to the sink.
#[derive(Debug)]
pub enum Event {
    /// A frame drawn, by `servers[server_idx]`.
    Drawn {
        job: FrameJob,
        server_idx: usize,
        png: Vec<u8>,
    },
    /// How far `servers[server_idx]` is with the frame it is drawing, 0 to 1.
    Progress { server_idx: usize, fraction: f64 },
    /// A server failed a frame; the frame went back to the queue.
    Retry { server_idx: usize, error: String },
    /// A server failed too often and takes no more frames.
    Dropped { server_idx: usize, error: String },
}

/// Why the frames were not all drawn.
#[derive(Debug, thiserror::Error)]
pub enum PoolError<E> {
    /// A request every server would refuse, or a guide that cannot be read.
    #[error("{0}")]
    Rejected(String),
    /// Every server was dropped: each one's last error.
    #[error("no server left: {}", .0.join("; "))]
    NoServerLeft(Vec<String>),
    #[error("interrupted")]
    Interrupted,
    /// The sink failed (a write into the output folder).
    #[error(transparent)]
    Sink(E),
}

/// One server's state, shared by its workers.
struct ServerState {
    failures_in_a_row: AtomicU32,
    is_dropped: AtomicBool,
    last_error: Mutex<Option<String>>,
}

/// Draws every job on `servers`. `connect(server_idx)` makes a worker's backend;
/// `read_guide` the guide frame's PNG bytes; `on_event` runs on the calling thread for each
/// result, and its error ends the run once the frames in flight are in.
pub fn draw_all<E>(
    jobs: Vec<FrameJob>,
    servers: &[String],
    settings: &PoolSettings,
    connect: &(dyn Fn(usize) -> Box<dyn Backend> + Sync),
    read_guide: &(dyn Fn(&FrameJob) -> Result<Vec<u8>, String> + Sync),
    stop: &AtomicBool,
    mut on_event: impl FnMut(Event) -> Result<(), E>,
) -> Result<(), PoolError<E>> {
    let (job_tx, job_rx) = unbounded();
    let remaining = AtomicUsize::new(jobs.len());
    for job in jobs {
        job_tx.send(job).expect("the receiver is held here");
    }
    let states: Vec<ServerState> = servers
        .iter()
        .map(|_| ServerState {
            failures_in_a_row: AtomicU32::new(0),
            is_dropped: AtomicBool::new(false),
            last_error: Mutex::new(None),
        })
        .collect();
    let abort = AtomicBool::new(false);
    let rejection = Mutex::new(None);
    let mut sink_error = None;
    std::thread::scope(|scope| {
        let (event_tx, event_rx) = unbounded();
        for (server_idx, state) in states.iter().enumerate() {
            for _ in 0..settings.in_flight {
                let (job_tx, job_rx, event_tx) = (job_tx.clone(), job_rx.clone(), event_tx.clone());
                let (remaining, abort, rejection) = (&remaining, &abort, &rejection);
                scope.spawn(move || {
                    let is_over = || {
                        stop.load(Ordering::Relaxed)
                            || abort.load(Ordering::Relaxed)
                            || state.is_dropped.load(Ordering::Relaxed)
                            || remaining.load(Ordering::Relaxed) == 0
                    };
                    let mut backend = connect(server_idx);
                    while !is_over() {
                        let job = match job_rx.recv_timeout(IDLE_POLL) {
                            Ok(job) => job,
                            Err(RecvTimeoutError::Timeout) => continue,
                            Err(RecvTimeoutError::Disconnected) => break,
                        };
                        let mut progress = |fraction| {
                            let _ = event_tx.send(Event::Progress {
                                server_idx,
                                fraction,
                            });
                        };
                        let drawn = read_guide(&job)
                            .map_err(DrawError::Rejected)
                            .and_then(|guide| backend.draw(&job, &guide, &mut progress));
                        match drawn {
                            Ok(drawn) => {
                                state.failures_in_a_row.store(0, Ordering::Relaxed);
                                remaining.fetch_sub(1, Ordering::Relaxed);
                                let event = Event::Drawn {
                                    job,
                                    server_idx,
                                    png: drawn.png,
                                };
                                if event_tx.send(event).is_err() {
                                    break;
                                }
                            }
                            Err(DrawError::Rejected(error)) => {
                                rejection
                                    .lock()
                                    .expect("no worker panics holding it")
                                    .get_or_insert(error);
                                abort.store(true, Ordering::Relaxed);
                                let _ = job_tx.send(job);
                            }
                            Err(DrawError::Server(error)) => {
                                let _ = job_tx.send(job);
                                let failures =
                                    state.failures_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
                                *state
                                    .last_error
                                    .lock()
                                    .expect("no worker panics holding it") = Some(error.clone());
                                if failures >= settings.max_failures {
                                    if !state.is_dropped.swap(true, Ordering::Relaxed) {
                                        let _ = event_tx.send(Event::Dropped { server_idx, error });
                                    }
                                    break;
                                }
                                let _ = event_tx.send(Event::Retry { server_idx, error });
                                let pause = settings.backoff * 2u32.pow(failures - 1);
                                let until = Instant::now() + pause;
                                while Instant::now() < until && !is_over() {
                                    std::thread::sleep(IDLE_POLL);
                                }
                            }
                        }
                    }
                });
            }
        }
        drop(event_tx);
        for event in event_rx {
            if sink_error.is_some() {
                continue;
            }
            if let Err(error) = on_event(event) {
                sink_error = Some(error);
                abort.store(true, Ordering::Relaxed);
            }
        }
    });
    if let Some(error) = sink_error {
        return Err(PoolError::Sink(error));
    }
    if let Some(error) = rejection.into_inner().expect("the workers have ended") {
        return Err(PoolError::Rejected(error));
    }
    if remaining.load(Ordering::Relaxed) == 0 {
        return Ok(());
    }
    if stop.load(Ordering::Relaxed) {
        return Err(PoolError::Interrupted);
    }
    Err(PoolError::NoServerLeft(
        states
            .into_iter()
            .filter_map(|state| {
                state
                    .last_error
                    .into_inner()
                    .expect("the workers have ended")
            })
            .collect(),
    ))
}
