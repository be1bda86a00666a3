//! Live threads: img2img of the editor's newest guide frame, again and again, while the editor is
//! open and Live is on (DESIGN.md §14). A coordinator thread takes the newest guide the GUI
//! offered, encodes it with the writer's own PNG encoder and hands it to an idle connection; each
//! connection (`in_flight` per server) runs on a worker thread of its own, through the same
//! [`Plan`] and [`Backend`]s as `diffuse`.
//!
//! GUI → coordinator: [`LiveLoop::offer`] overwrites a single-slot triple buffer, so only the
//! newest guide is ever sent: a guide superseded before a connection was free is skipped (and
//! counted), never queued. Coordinator → GUI: a triple buffer of [`LiveStatus`], published when
//! something changed. Neither side waits for the other, and the GUI never touches the network.
//! A failing server is retried with backoff, its error shown; a guide that has not changed since
//! the last one sent is not sent again.
//!
//! [`LiveLoop::stop`] sends nothing more from that moment. A ComfyUI connection stops waiting
//! for its prompt within [`comfyui`](super::comfyui)'s socket timeout (2 s) and takes it off the
//! server's queue if it has not started; an A1111 request in flight is waited for (within the
//! timeout). [`LiveLoop::join`] or dropping the loop waits for the threads to end.

use std::collections::VecDeque;
use std::io::Cursor;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded, unbounded};
use serde::{Deserialize, Serialize};
use triple_buffer::{Input, Output, triple_buffer};

use super::a1111::A1111Job;
use super::comfyui::{ComfyUiJob, UploadNames};
use super::workflow::Workflow;
use super::{
    Backend, BackendKind, DrawError, Drawn, FrameJob, FrameSettings, Plan, server_url, sha256_hex,
};
use crate::export::format::frames::encode_png;
use crate::render::{ColorType, Image};
use crate::take::NUM_MACROS;

/// How often the coordinator looks for a new guide while no answer comes.
const POLL: Duration = Duration::from_millis(4);
/// The pause after a server's first failure, doubled after each further one up to
/// [`MAX_BACKOFF`]. A live loop never gives a server up: it may come back.
const BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// The pictures per second are counted over this many pictures, and fall to 0 after this long
/// without one (or twice their interval, if longer).
const RATE_PICTURES: usize = 8;
const RATE_WINDOW: Duration = Duration::from_secs(3);
/// The longest one picture may take. A CPU-only server needs tens of seconds at 512 px.
pub const TIMEOUT: Duration = Duration::from_secs(300);
/// The subfolder of ComfyUI's `input/` the live guides go to.
const COMFYUI_SUBFOLDER: &str = "spectral-diffusion-live";
/// The largest picture accepted from a server, in pixels a side.
const MAX_PICTURE_SIDE: u32 = 4096;
/// The most connections per server.
pub const MAX_IN_FLIGHT: usize = 4;
/// The threads' names (at most 15 bytes, as Linux keeps them).
pub const LIVE_THREAD: &str = "sd-live";
pub const CONNECTION_THREAD: &str = "sd-live-conn";

/// How big the pictures are drawn, relative to the guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LiveSize {
    /// The guide's own size: the request carries the preview's exact PNG.
    #[default]
    Guide,
    Half,
    Quarter,
}

impl LiveSize {
    pub const ALL: [Self; 3] = [Self::Guide, Self::Half, Self::Quarter];

    pub fn name(self) -> &'static str {
        match self {
            Self::Guide => "Guide's size",
            Self::Half => "Half",
            Self::Quarter => "Quarter",
        }
    }

    /// The side in pixels for a guide of `guide_px`: a smaller size is a multiple of 8 (Stable
    /// Diffusion's latent step), and never below the renderer's 64.
    pub fn side_px(self, guide_px: u32) -> u32 {
        let divisor = match self {
            Self::Guide => return guide_px,
            Self::Half => 2,
            Self::Quarter => 4,
        };
        (guide_px / divisor / 8 * 8).max(64).min(guide_px)
    }
}

/// The Live panel's settings, saved with the plugin's state. Written by the GUI only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveSettings {
    /// Draw while the editor is open.
    pub is_on: bool,
    pub backend: BackendKind,
    /// The servers' URLs, separated by spaces, commas or lines; empty: the backend's default
    /// port on this machine.
    pub servers: String,
    /// ComfyUI: the checkpoint of the built-in img2img workflow (a file in models/checkpoints).
    pub checkpoint: String,
    /// ComfyUI: an API-format workflow file with `diffuse`'s placeholders; empty: the built-in.
    pub workflow: String,
    pub prompt: String,
    pub negative: String,
    /// img2img strength, 0 (keep the guide) to 1 (ignore it), unless `denoise_macro` is set.
    pub denoise: f64,
    /// The macro (1 to 8) whose value is the denoise, as the host automates it.
    pub denoise_macro: Option<u8>,
    /// Fixed, so that an unchanged guide gives an unchanged picture (temporal coherence).
    pub seed: u64,
    pub steps: u32,
    pub cfg: f64,
    pub size: LiveSize,
    /// The most frames sent per second, over all servers.
    pub max_fps: f32,
    /// Frames each server holds at once (1 to [`MAX_IN_FLIGHT`]): 1 shows the freshest
    /// pictures, 2 keeps a server busy while a picture travels back.
    pub in_flight: usize,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            is_on: false,
            backend: BackendKind::Comfyui,
            servers: String::new(),
            checkpoint: String::new(),
            workflow: String::new(),
            prompt: String::new(),
            negative: String::new(),
            denoise: 0.5,
            denoise_macro: None,
            seed: 0,
            steps: 12,
            cfg: 7.0,
            size: LiveSize::Guide,
            max_fps: 8.0,
            in_flight: 1,
        }
    }
}

impl LiveSettings {
    /// What a loop for these settings connects to, for a guide of `guide_px` a side.
    pub fn config(&self, guide_px: u32) -> LiveConfig {
        let servers: Vec<String> = self
            .servers
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|url| !url.is_empty())
            .map(str::to_owned)
            .collect();
        LiveConfig {
            backend: self.backend,
            servers: if servers.is_empty() {
                vec![self.backend.default_server().to_owned()]
            } else {
                servers
            },
            checkpoint: self.checkpoint.trim().to_owned(),
            workflow: Some(self.workflow.trim())
                .filter(|path| !path.is_empty())
                .map(PathBuf::from),
            side_px: self.size.side_px(guide_px),
            in_flight: self.in_flight.clamp(1, MAX_IN_FLIGHT),
            timeout: TIMEOUT,
        }
    }

    /// One frame's settings, with the macros' current values.
    pub fn frame_settings(&self, macros: &[f32; NUM_MACROS]) -> FrameSettings {
        let denoise = self
            .denoise_macro
            .and_then(|number| macros.get(usize::from(number).checked_sub(1)?))
            .map_or(self.denoise, |&value| f64::from(value));
        FrameSettings {
            prompt: self.prompt.clone(),
            negative: self.negative.clone(),
            steps: self.steps.max(1),
            cfg: self.cfg,
            denoise: denoise.clamp(0.0, 1.0),
            seed: self.seed,
        }
    }

    /// The least time between two frames sent (a cap that is not a number counts as the
    /// default's).
    pub fn min_interval(&self) -> Duration {
        let max_fps = if self.max_fps.is_nan() {
            Self::default().max_fps
        } else {
            self.max_fps.clamp(0.1, 60.0)
        };
        Duration::from_secs_f32(1.0 / max_fps)
    }
}

/// What a running loop is connected to: a change restarts the loop. (Per-frame settings travel
/// with each guide instead.)
#[derive(Debug, Clone, PartialEq)]
pub struct LiveConfig {
    pub backend: BackendKind,
    pub servers: Vec<String>,
    pub checkpoint: String,
    pub workflow: Option<PathBuf>,
    /// The guides' side in pixels (A1111 is told the size to draw at).
    pub side_px: u32,
    pub in_flight: usize,
    /// The longest one picture may take.
    pub timeout: Duration,
}

impl LiveConfig {
    /// The request maker and the servers' URLs, or why there can be none. Reads the workflow
    /// file, so it runs on the coordinator thread. ComfyUI connections stop waiting for their
    /// prompts once `should_stop` is set.
    fn plan(&self, should_stop: &Arc<AtomicBool>) -> Result<(Plan, Vec<String>), String> {
        let servers = self
            .servers
            .iter()
            .map(|url| server_url(url).map_err(|error| error.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let plan = match self.backend {
            BackendKind::Comfyui => {
                let workflow = match &self.workflow {
                    Some(path) => Workflow::read(path).map_err(|error| error.to_string())?,
                    None if self.checkpoint.is_empty() => {
                        return Err("ComfyUI needs a checkpoint (a file in its \
                                    models/checkpoints) or a workflow file"
                            .to_owned());
                    }
                    None => Workflow::img2img(&self.checkpoint),
                };
                Plan::ComfyUi(Arc::new(ComfyUiJob {
                    workflow,
                    subfolder: COMFYUI_SUBFOLDER.to_owned(),
                    upload_names: UploadNames::Connection,
                    timeout: self.timeout,
                    stop: Some(Arc::clone(should_stop)),
                }))
            }
            BackendKind::A1111 => Plan::A1111(Arc::new(A1111Job {
                width: self.side_px,
                height: self.side_px,
                timeout: self.timeout,
            })),
        };
        Ok((plan, servers))
    }
}

/// A picture a server drew, as RGB pixels for the GUI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// Counts the loop's pictures from 1: the GUI uploads a texture when it changes.
    pub index: u64,
    /// The timeline frame of the guide it was drawn from.
    pub frame_idx: u64,
    pub width: u32,
    pub height: u32,
    /// Row-major, 3 bytes a pixel.
    pub rgb: Vec<u8>,
}

/// One server as the Live panel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    pub url: String,
    /// Frames on the server now.
    pub num_in_flight: usize,
    /// Its last failure, until it draws again.
    pub error: Option<String>,
    /// When it is tried again after a failure.
    pub retry_at: Option<Instant>,
}

/// What the loop tells the GUI. Written by the coordinator only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveStatus {
    /// The newest picture, `None` until one arrives.
    pub picture: Option<Arc<Picture>>,
    /// The newest picture's round trip: from taking its guide (before encoding it) to having its
    /// pixels (after decoding them).
    pub round_trip: Option<Duration>,
    /// The server's own time on the newest picture, where it reports one.
    pub execution: Option<Duration>,
    /// How long the newest picture's guide waited in the server's queue behind other clients'
    /// work, where the server says (ComfyUI).
    pub queued: Option<Duration>,
    /// Whether the backend reports its own time at all (ComfyUI does; A1111 does not).
    pub reports_execution: bool,
    /// Pictures per second over the last [`RATE_PICTURES`].
    pub pictures_per_s: f32,
    pub num_sent: u64,
    pub num_drawn: u64,
    /// Guides superseded by a newer one before a connection was free: never sent.
    pub num_skipped: u64,
    /// Why nothing can be sent at all (no checkpoint, a bad workflow or URL), until it is fixed.
    pub setup_error: Option<String>,
    pub servers: Vec<ServerStatus>,
}

impl LiveStatus {
    /// The round trip minus the server's own time (and the wait behind other clients' work in
    /// its queue, where known): what this client and the network add.
    pub fn overhead(&self) -> Option<Duration> {
        let server = self.execution? + self.queued.unwrap_or_default();
        Some(self.round_trip?.saturating_sub(server))
    }
}

/// The newest guide the GUI offered. Written by the GUI only.
#[derive(Debug, Clone)]
struct GuideOffer {
    /// Counts offers from 1; 0: nothing offered yet.
    generation: u64,
    frame_idx: u64,
    /// The preview's pixels, exactly as the renderer drew them.
    image: Image,
    settings: FrameSettings,
    /// The least time between two frames sent (the frame-rate cap).
    min_interval: Duration,
}

/// The GUI's end of a running loop: offer guides, read the status, stop.
pub struct LiveLoop {
    config: LiveConfig,
    guides: Input<GuideOffer>,
    /// Guides offered so far: the next offer's generation is one more.
    num_offered: u64,
    status: Output<LiveStatus>,
    should_stop: Arc<AtomicBool>,
    /// `None` when the thread could not be started; `unstarted` then says why.
    thread: Option<JoinHandle<()>>,
    unstarted: LiveStatus,
}

impl LiveLoop {
    /// Starts the coordinator thread for `config`; it connects and waits for guides.
    pub fn start(config: LiveConfig) -> Self {
        let (guides, guides_out) = triple_buffer(&GuideOffer {
            generation: 0,
            frame_idx: 0,
            image: Image {
                width: 0,
                height: 0,
                color: ColorType::Grey,
                pixels: Vec::new(),
            },
            settings: LiveSettings::default().frame_settings(&[0.0; NUM_MACROS]),
            min_interval: Duration::ZERO,
        });
        let (status_in, status) = triple_buffer(&LiveStatus::default());
        let should_stop = Arc::new(AtomicBool::new(false));
        let mut unstarted = LiveStatus::default();
        let thread = {
            let (config, should_stop) = (config.clone(), Arc::clone(&should_stop));
            std::thread::Builder::new()
                .name(LIVE_THREAD.into())
                .spawn(move || Coordinator::run(&config, guides_out, status_in, &should_stop))
                .inspect_err(|error| {
                    unstarted.setup_error = Some(format!("cannot start Live: {error}"));
                })
                .ok()
        };
        Self {
            config,
            guides,
            num_offered: 0,
            status,
            should_stop,
            thread,
            unstarted,
        }
    }

    pub fn config(&self) -> &LiveConfig {
        &self.config
    }

    /// Offers frame `frame_idx`'s guide, replacing any not taken yet. Copies the pixels into the
    /// slot's buffer (no allocation once it is large enough); never waits.
    pub fn offer(
        &mut self,
        frame_idx: u64,
        image: &Image,
        settings: &FrameSettings,
        min_interval: Duration,
    ) {
        self.num_offered += 1;
        // The buffer written is two publications old: every field is overwritten.
        let offer = self.guides.input_buffer_mut();
        offer.generation = self.num_offered;
        offer.frame_idx = frame_idx;
        offer.image.width = image.width;
        offer.image.height = image.height;
        offer.image.color = image.color;
        offer.image.pixels.clear();
        offer.image.pixels.extend_from_slice(&image.pixels);
        offer.settings.clone_from(settings);
        offer.min_interval = min_interval;
        self.guides.publish();
    }

    /// The newest status (its picture, numbers and errors).
    pub fn status(&mut self) -> &LiveStatus {
        if self.thread.is_none() {
            return &self.unstarted;
        }
        self.status.read()
    }

    /// Sends nothing more; the threads end once their requests in flight are answered.
    pub fn stop(&self) {
        self.should_stop.store(true, Ordering::Relaxed);
    }

    /// Whether the threads have ended (after [`Self::stop`]).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the loop and waits for its threads to end.
    pub fn join(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop();
        if let Some(thread) = self.thread.take() {
            // A panic on the live thread already printed itself; the editor carries on.
            let _ = thread.join();
        }
    }
}

impl Drop for LiveLoop {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// A guide handed to a connection.
struct Request {
    /// The offer's generation, so that an older guide's picture never replaces a newer one's.
    generation: u64,
    job: FrameJob,
    png: Vec<u8>,
}

/// A connection's answer to its request.
struct Answer {
    connection_idx: usize,
    generation: u64,
    frame_idx: u64,
    result: Result<Drawn, DrawError>,
}

/// One connection as the coordinator sees it.
struct Connection {
    server_idx: usize,
    /// `None` once the loop stops: the worker ends after its request.
    requests: Option<Sender<Request>>,
    /// When its request's guide was taken; `None` while idle.
    busy_since: Option<Instant>,
    thread: Option<JoinHandle<()>>,
}

/// A server's failures, for backoff.
struct ServerHealth {
    failures_in_a_row: u32,
}

struct Coordinator {
    plan: Plan,
    connections: Vec<Connection>,
    health: Vec<ServerHealth>,
    answers: Receiver<Answer>,
    status: LiveStatus,
    /// Whether `status` changed since it was last published.
    is_dirty: bool,
    /// The newest guide generation taken from the slot.
    taken_generation: u64,
    /// The generation of the picture shown.
    shown_generation: u64,
    /// What was last sent, so an unchanged guide is not sent again.
    last_png: Vec<u8>,
    last_settings: Option<FrameSettings>,
    next_send_at: Instant,
    /// When the last [`RATE_PICTURES`] pictures arrived.
    drawn_at: VecDeque<Instant>,
    /// The encoder's buffer, reused.
    png: Vec<u8>,
}

impl Coordinator {
    /// The coordinator thread: connects (retrying while the settings cannot be used), then sends
    /// guides and hears answers until stopped; then waits for its connections to end.
    fn run(
        config: &LiveConfig,
        guides: Output<GuideOffer>,
        mut status: Input<LiveStatus>,
        should_stop: &Arc<AtomicBool>,
    ) {
        let (plan, servers) = loop {
            match config.plan(should_stop) {
                Ok(planned) => break planned,
                Err(error) => {
                    status.write(LiveStatus {
                        setup_error: Some(error),
                        ..LiveStatus::default()
                    });
                    // The workflow file may be fixed: read it again now and then.
                    let until = Instant::now() + Duration::from_secs(1);
                    while Instant::now() < until {
                        if should_stop.load(Ordering::Relaxed) {
                            return;
                        }
                        std::thread::sleep(POLL);
                    }
                }
            }
        };
        let mut coordinator = Self::connect(plan, &servers, config.in_flight);
        coordinator.serve(guides, &mut status, should_stop);
        coordinator.disconnect();
    }

    fn connect(plan: Plan, servers: &[String], in_flight: usize) -> Self {
        let (answer_tx, answers) = unbounded();
        let mut connections = Vec::new();
        for (server_idx, url) in servers.iter().enumerate() {
            for _ in 0..in_flight {
                let connection_idx = connections.len();
                let (request_tx, request_rx) = bounded(1);
                let backend = plan.connect(url);
                let answer_tx = answer_tx.clone();
                let thread = std::thread::Builder::new()
                    .name(CONNECTION_THREAD.into())
                    .spawn(move || {
                        serve_connection(backend, &request_rx, &answer_tx, connection_idx)
                    })
                    .ok();
                connections.push(Connection {
                    server_idx,
                    // A connection without a thread is never idle.
                    requests: thread.is_some().then_some(request_tx),
                    busy_since: None,
                    thread,
                });
            }
        }
        let status = LiveStatus {
            reports_execution: plan.reports_execution(),
            servers: servers
                .iter()
                .map(|url| ServerStatus {
                    url: url.clone(),
                    num_in_flight: 0,
                    error: None,
                    retry_at: None,
                })
                .collect(),
            ..LiveStatus::default()
        };
        Self {
            plan,
            connections,
            health: servers
                .iter()
                .map(|_| ServerHealth {
                    failures_in_a_row: 0,
                })
                .collect(),
            answers,
            status,
            is_dirty: true,
            taken_generation: 0,
            shown_generation: 0,
            last_png: Vec::new(),
            last_settings: None,
            next_send_at: Instant::now(),
            drawn_at: VecDeque::new(),
            png: Vec::new(),
        }
    }

    fn serve(
        &mut self,
        mut guides: Output<GuideOffer>,
        status: &mut Input<LiveStatus>,
        should_stop: &AtomicBool,
    ) {
        while !should_stop.load(Ordering::Relaxed) {
            match self.answers.recv_timeout(POLL) {
                Ok(answer) => self.hear(answer),
                Err(RecvTimeoutError::Timeout) => {}
                // Every connection failed to start: nothing can be drawn.
                Err(RecvTimeoutError::Disconnected) => {
                    if self.status.setup_error.is_none() {
                        self.status.setup_error = Some("cannot start Live's connections".into());
                        self.is_dirty = true;
                    }
                    std::thread::sleep(POLL);
                }
            }
            while let Ok(answer) = self.answers.try_recv() {
                self.hear(answer);
            }
            guides.update();
            self.send_newest(guides.output_buffer());
            self.update_rate();
            if self.is_dirty {
                status.write(self.status.clone());
                self.is_dirty = false;
            }
        }
    }

    /// Sends `offer` to an idle connection, unless it was taken already, the frame-rate cap
    /// says wait, no connection is free, or it is what was last sent.
    fn send_newest(&mut self, offer: &GuideOffer) {
        let now = Instant::now();
        if offer.generation <= self.taken_generation || now < self.next_send_at {
            return;
        }
        let Some(connection_idx) = self.idle_connection(now) else {
            return;
        };
        let num_superseded = offer.generation - self.taken_generation - 1;
        self.taken_generation = offer.generation;
        if encode_png(&offer.image, &mut self.png).is_err() {
            return;
        }
        if self.png == self.last_png && self.last_settings.as_ref() == Some(&offer.settings) {
            return;
        }
        self.last_png.clone_from(&self.png);
        self.last_settings = Some(offer.settings.clone());
        let job = FrameJob {
            frame_idx: offer.frame_idx,
            settings_hash: self.plan.settings_hash(&offer.settings),
            settings: offer.settings.clone(),
            input_hash: sha256_hex(&self.png),
        };
        let connection = &mut self.connections[connection_idx];
        let request = Request {
            generation: offer.generation,
            job,
            png: self.png.clone(),
        };
        let Some(requests) = &connection.requests else {
            return;
        };
        if requests.try_send(request).is_err() {
            return;
        }
        connection.busy_since = Some(now);
        self.status.servers[connection.server_idx].num_in_flight += 1;
        self.status.num_sent += 1;
        self.status.num_skipped += num_superseded;
        self.next_send_at = now + offer.min_interval;
        self.is_dirty = true;
    }

    /// An idle connection of a server that is not backing off, on the least busy such server.
    fn idle_connection(&self, now: Instant) -> Option<usize> {
        self.connections
            .iter()
            .enumerate()
            .filter(|(_, connection)| {
                connection.requests.is_some() && connection.busy_since.is_none()
            })
            .filter(|(_, connection)| {
                self.status.servers[connection.server_idx]
                    .retry_at
                    .is_none_or(|at| at <= now)
            })
            .min_by_key(|(_, connection)| self.status.servers[connection.server_idx].num_in_flight)
            .map(|(connection_idx, _)| connection_idx)
    }

    fn hear(&mut self, answer: Answer) {
        let connection = &mut self.connections[answer.connection_idx];
        let taken_at = connection.busy_since.take();
        let server_idx = connection.server_idx;
        self.status.servers[server_idx].num_in_flight -= 1;
        self.is_dirty = true;
        let picture = answer
            .result
            .map_err(|error| error.to_string())
            .and_then(|drawn| {
                let (width, height, rgb) = decode_rgb(&drawn.png).map_err(|error| {
                    format!(
                        "{}: the picture is not a PNG we can show: {error}",
                        self.status.servers[server_idx].url
                    )
                })?;
                Ok((drawn.execution, drawn.queued, width, height, rgb))
            });
        match picture {
            Ok((execution, queued, width, height, rgb)) => {
                self.health[server_idx].failures_in_a_row = 0;
                let server = &mut self.status.servers[server_idx];
                server.error = None;
                server.retry_at = None;
                self.status.num_drawn += 1;
                let now = Instant::now();
                if self.drawn_at.len() == RATE_PICTURES {
                    self.drawn_at.pop_front();
                }
                self.drawn_at.push_back(now);
                // With several frames in flight, an older guide's picture may come last.
                if answer.generation > self.shown_generation {
                    self.shown_generation = answer.generation;
                    self.status.picture = Some(Arc::new(Picture {
                        index: self.status.num_drawn,
                        frame_idx: answer.frame_idx,
                        width,
                        height,
                        rgb,
                    }));
                    self.status.round_trip = taken_at.map(|at| now - at);
                    self.status.execution = execution;
                    self.status.queued = queued;
                }
            }
            Err(error) => {
                // The newest guide taken was not drawn: it goes again, changed or not, once
                // the backoff allows (unless a newer one comes first).
                if answer.generation == self.taken_generation {
                    self.taken_generation -= 1;
                    self.last_settings = None;
                }
                let health = &mut self.health[server_idx];
                health.failures_in_a_row += 1;
                let pause = BACKOFF
                    .saturating_mul(1 << (health.failures_in_a_row - 1).min(16))
                    .min(MAX_BACKOFF);
                let server = &mut self.status.servers[server_idx];
                server.error = Some(error);
                server.retry_at = Some(Instant::now() + pause);
            }
        }
    }

    /// Pictures per second over the last [`RATE_PICTURES`]; 0 once they stop coming (none for
    /// [`RATE_WINDOW`] or twice their interval, whichever is longer).
    fn update_rate(&mut self) {
        let now = Instant::now();
        let rate = match (self.drawn_at.front(), self.drawn_at.back()) {
            (Some(&first), Some(&last)) if last > first => {
                let interval = (last - first) / (self.drawn_at.len() - 1) as u32;
                if now - last > RATE_WINDOW.max(interval * 2) {
                    0.0
                } else {
                    1.0 / interval.as_secs_f32()
                }
            }
            _ => 0.0,
        };
        if rate != self.status.pictures_per_s {
            self.status.pictures_per_s = rate;
            self.is_dirty = true;
        }
    }

    /// Lets every connection finish its request, then waits for its thread.
    fn disconnect(mut self) {
        for connection in &mut self.connections {
            connection.requests = None;
        }
        for connection in &mut self.connections {
            if let Some(thread) = connection.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// A connection's worker thread: draws each request, answers, until the loop stops.
fn serve_connection(
    mut backend: Box<dyn Backend>,
    requests: &Receiver<Request>,
    answers: &Sender<Answer>,
    connection_idx: usize,
) {
    for request in requests {
        let result = backend.draw(&request.job, &request.png, &mut |_| {});
        let answer = Answer {
            connection_idx,
            generation: request.generation,
            frame_idx: request.job.frame_idx,
            result,
        };
        if answers.send(answer).is_err() {
            break;
        }
    }
}

/// A server's PNG as 8-bit RGB: width, height, pixels. Grey is spread to three channels, alpha
/// dropped; a picture over [`MAX_PICTURE_SIDE`] is refused before its pixels are allocated.
fn decode_rgb(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), String> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|error| error.to_string())?;
    let (width, height) = (reader.info().width, reader.info().height);
    if width > MAX_PICTURE_SIDE || height > MAX_PICTURE_SIDE {
        return Err(format!(
            "{width}×{height} pixels, more than {MAX_PICTURE_SIDE} a side"
        ));
    }
    let mut pixels = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader
        .next_frame(&mut pixels)
        .map_err(|error| error.to_string())?;
    pixels.truncate(info.buffer_size());
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err("an indexed PNG that was not expanded".into()),
    };
    let rgb = match channels {
        3 => pixels,
        _ => pixels
            .chunks_exact(channels)
            .flat_map(|pixel| match channels {
                1 | 2 => [pixel[0]; 3],
                _ => [pixel[0], pixel[1], pixel[2]],
            })
            .collect(),
    };
    Ok((width, height, rgb))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Smaller sizes are multiples of 8 and never under 64; the guide's size is kept as it is.
    #[test]
    fn live_sizes_are_latent_multiples() {
        assert_eq!(LiveSize::Guide.side_px(500), 500);
        assert_eq!(LiveSize::Half.side_px(512), 256);
        assert_eq!(LiveSize::Half.side_px(500), 248);
        assert_eq!(LiveSize::Quarter.side_px(200), 64);
        assert_eq!(LiveSize::Quarter.side_px(64), 64);
    }

    /// The denoise follows the chosen macro, else the fixed value; it stays within 0..1.
    #[test]
    fn denoise_follows_the_macro() {
        let mut settings = LiveSettings {
            denoise: 0.3,
            ..LiveSettings::default()
        };
        let mut macros = [0.0; NUM_MACROS];
        macros[2] = 0.8;
        assert_eq!(settings.frame_settings(&macros).denoise, 0.3);
        settings.denoise_macro = Some(3);
        assert!((settings.frame_settings(&macros).denoise - 0.8).abs() < 1e-6);
        settings.denoise_macro = Some(9);
        assert_eq!(settings.frame_settings(&macros).denoise, 0.3);
    }

    /// Servers split on spaces, commas and lines; none means the backend's default.
    #[test]
    fn server_list_is_split_and_defaulted() {
        let settings = LiveSettings {
            servers: "http://a:1, http://b:2\nhttp://c:3 ".into(),
            ..LiveSettings::default()
        };
        assert_eq!(
            settings.config(512).servers,
            ["http://a:1", "http://b:2", "http://c:3"]
        );
        let settings = LiveSettings {
            backend: BackendKind::A1111,
            ..LiveSettings::default()
        };
        assert_eq!(settings.config(512).servers, ["http://127.0.0.1:7860"]);
    }

    /// A grey PNG decodes to RGB with each grey level in all three channels.
    #[test]
    fn grey_pictures_decode_to_rgb() {
        let image = Image {
            width: 2,
            height: 1,
            color: ColorType::Grey,
            pixels: vec![10, 200],
        };
        let mut png = Vec::new();
        encode_png(&image, &mut png).unwrap();
        assert_eq!(
            decode_rgb(&png).unwrap(),
            (2, 1, vec![10, 10, 10, 200, 200, 200])
        );
    }
}
