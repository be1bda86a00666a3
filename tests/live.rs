//! Live: img2img of the editor's newest guide, against the in-process fake ComfyUI and A1111
//! servers of `fake_servers`. The loop is driven through its public API (`diffuse::live`), and
//! the editor's end of it (`editor::live_panel::LiveLink`) through headless repaints, as the
//! plugin's editor drives it. Each guide is a flat grey image whose level names it, so the tests
//! read back which guide a request carried with the `image` crate's decoder.

mod editor_support;
mod fake_servers;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use egui::vec2;
use nice_plug::prelude::Params;
use serde_json::{Value, json};
use spectral_diffusion::analysis::Preset;
use spectral_diffusion::diffuse::BackendKind;
use spectral_diffusion::diffuse::FrameSettings;
use spectral_diffusion::diffuse::live::{
    CONNECTION_THREAD, LIVE_THREAD, LiveConfig, LiveLoop, LiveSettings, LiveSize, LiveStatus,
};
use spectral_diffusion::editor::live_panel::LiveLink;
use spectral_diffusion::editor::{EditorState, GuideFrame, SpectraIn, Tab};
use spectral_diffusion::handoff::RecorderStatus;
use spectral_diffusion::params::PluginParams;
use spectral_diffusion::render::{ColorType, Image};

use editor_support::{Headless, direct_gui_context};
use fake_servers::{
    CHECKPOINT, Fake, HoldAt, comfy, drawn_png, start_a1111, start_a1111_failing_while,
    start_comfy, start_comfy_holding,
};

/// How long a test waits for something that should take milliseconds.
const PATIENCE: Duration = Duration::from_secs(20);

/// One test at a time: the thread count of `frames_are_sent_while_the_editor_is_open_…` sees
/// every loop in the process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Guide `level`: a 64×64 grey image, every pixel `level`.
fn guide(level: u8) -> Image {
    Image {
        width: 64,
        height: 64,
        color: ColorType::Grey,
        pixels: vec![level; 64 * 64],
    }
}

fn settings() -> FrameSettings {
    LiveSettings::default().frame_settings(&[0.0; 8])
}

fn config(backend: BackendKind, server: &Fake) -> LiveConfig {
    LiveSettings {
        backend,
        servers: server.url.clone(),
        checkpoint: CHECKPOINT.to_owned(),
        ..LiveSettings::default()
    }
    .config(64)
}

/// The level of every guide the server received, read with another decoder than ours.
fn sent_levels(server: &Fake) -> Vec<u8> {
    server
        .guides_received()
        .iter()
        .map(|png| {
            let image = image::load_from_memory(png).unwrap().into_luma8();
            assert!(image.pixels().all(|p| p.0 == image.get_pixel(0, 0).0));
            image.get_pixel(0, 0).0[0]
        })
        .collect()
}

/// Waits until `done` holds for the loop's status; panics with the status after [`PATIENCE`].
fn wait_for(live: &mut LiveLoop, what: &str, done: impl Fn(&LiveStatus) -> bool) {
    let start = Instant::now();
    while !done(live.status()) {
        assert!(
            start.elapsed() < PATIENCE,
            "waited for {what}: {:?}",
            live.status()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The fake model's picture for the default settings (seed 0, denoise 0.5), as RGB.
fn expected_picture() -> Vec<u8> {
    let png = drawn_png(0, 0.5);
    image::load_from_memory(&png)
        .unwrap()
        .into_rgb8()
        .into_raw()
}

/// ComfyUI: a guide goes up, the prompt carries the settings, the picture comes back with the
/// round trip, the server's own time (its execution timestamps) and the time it waited in the
/// server's queue (held there for 300 ms here), neither of which counts as overhead.
#[test]
fn comfyui_picture_arrives_with_the_servers_time() {
    let _serial = one_at_a_time();
    let (server, reached_rx, release_tx) = start_comfy_holding(60, HoldAt::Prompt(1));
    let mut live = LiveLoop::start(config(BackendKind::Comfyui, &server));
    live.offer(7, &guide(10), &settings(), Duration::ZERO);
    reached_rx.recv_timeout(PATIENCE).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    release_tx.send(()).unwrap();
    wait_for(&mut live, "a picture", |status| status.picture.is_some());
    let status = live.status().clone();
    let picture = status.picture.as_ref().unwrap();
    assert_eq!((picture.width, picture.height), (4, 4));
    assert_eq!(picture.rgb, expected_picture());
    assert_eq!(picture.frame_idx, 7);
    assert!(status.reports_execution);
    let execution = status.execution.expect("ComfyUI reports its time");
    let queued = status.queued.expect("the websocket says when it started");
    let round_trip = status.round_trip.unwrap();
    assert!(execution >= Duration::from_millis(50), "{execution:?}");
    assert!(queued >= Duration::from_millis(290), "{queued:?}");
    assert!(round_trip >= execution + queued, "{round_trip:?}");
    assert_eq!(status.overhead(), Some(round_trip - execution - queued));
    assert_eq!((status.num_sent, status.num_drawn), (1, 1));
    let prompt = server
        .requests()
        .into_iter()
        .find(|request| request.url == "/prompt")
        .unwrap();
    let body: Value = serde_json::from_slice(&prompt.body).unwrap();
    let sampler = &body["prompt"]["6"]["inputs"];
    assert_eq!(sampler["denoise"], json!(0.5));
    assert_eq!(sampler["seed"], json!(0));
    assert_eq!(sent_levels(&server), [10]);
    live.join();
}

/// A server that holds the first guide while twenty newer ones are offered gets only the newest
/// next: the stale ones are skipped and counted, never queued.
#[test]
fn a_slow_server_gets_only_the_newest_guide() {
    let _serial = one_at_a_time();
    let (server, reached_rx, release_tx) = start_comfy_holding(0, HoldAt::Prompt(1));
    let mut live = LiveLoop::start(config(BackendKind::Comfyui, &server));
    live.offer(0, &guide(1), &settings(), Duration::ZERO);
    reached_rx.recv_timeout(PATIENCE).unwrap();
    for level in 2..=21 {
        live.offer(u64::from(level), &guide(level), &settings(), Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
    }
    release_tx.send(()).unwrap();
    wait_for(&mut live, "two pictures", |status| status.num_drawn == 2);
    // Nothing newer was offered: nothing more goes out.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sent_levels(&server), [1, 21]);
    let status = live.status();
    assert_eq!((status.num_sent, status.num_skipped), (2, 19));
    live.join();
}

/// Stopping while ComfyUI holds the prompt: the connection stops waiting within its socket
/// timeout and takes the prompt off the server's queue, so the loop's threads end at once
/// instead of when the server finishes.
#[test]
fn stopping_abandons_a_prompt_the_server_holds() {
    let _serial = one_at_a_time();
    let (server, reached_rx, release_tx) = start_comfy_holding(0, HoldAt::Prompt(1));
    let mut live = LiveLoop::start(config(BackendKind::Comfyui, &server));
    live.offer(0, &guide(1), &settings(), Duration::ZERO);
    reached_rx.recv_timeout(PATIENCE).unwrap();
    let stopped_at = Instant::now();
    live.join();
    assert!(
        stopped_at.elapsed() < Duration::from_secs(4),
        "joined after {:?}",
        stopped_at.elapsed()
    );
    let deleted: Vec<Value> = server
        .requests()
        .iter()
        .filter(|request| request.url == "/queue")
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    // The fake names its first prompt "p1-…".
    let prompt_id = &deleted[0]["delete"][0];
    assert!(
        prompt_id.as_str().is_some_and(|id| id.starts_with("p1-")),
        "{prompt_id}"
    );
    drop(release_tx);
}

/// Against an A1111 that takes 300 ms a picture while guides change every 10 ms, the loop sends
/// about one guide per picture, each newer than the last, and ends on the newest.
#[test]
fn guides_faster_than_the_server_are_thinned_to_its_pace() {
    let _serial = one_at_a_time();
    let server = start_a1111(None, Duration::from_millis(300));
    let mut live = LiveLoop::start(config(BackendKind::A1111, &server));
    let start = Instant::now();
    let mut level = 0u8;
    while start.elapsed() < Duration::from_millis(1500) {
        level += 1;
        live.offer(u64::from(level), &guide(level), &settings(), Duration::ZERO);
        std::thread::sleep(Duration::from_millis(10));
    }
    let num_offered = level;
    wait_for(&mut live, "the last picture", |status| {
        status.num_sent > 0
            && status.num_drawn == status.num_sent
            && status.servers[0].num_in_flight == 0
    });
    std::thread::sleep(Duration::from_millis(400));
    let sent = sent_levels(&server);
    assert!(num_offered > 100, "{num_offered} guides offered");
    assert!(
        (4..=8).contains(&sent.len()),
        "{} guides sent for 1.5 s at 300 ms each: {sent:?}",
        sent.len()
    );
    assert!(sent.windows(2).all(|pair| pair[0] < pair[1]), "{sent:?}");
    assert_eq!(
        *sent.last().unwrap(),
        num_offered,
        "the newest guide goes last"
    );
    let status = live.status();
    assert_eq!(
        status.num_skipped + status.num_sent,
        u64::from(num_offered),
        "every guide is either sent or counted as skipped"
    );
    live.join();
}

/// A server that fails shows its error with a retry time; once it works again the same guide
/// is drawn (no new one was offered) and the error goes.
#[test]
fn a_failing_server_shows_its_error_then_recovers() {
    let _serial = one_at_a_time();
    let is_failing = Arc::new(AtomicBool::new(true));
    let failure = (
        500,
        json!({"error": "OutOfMemoryError", "detail": "", "body": "",
               "errors": "CUDA out of memory. Tried to allocate 2.00 GiB"}),
    );
    let server = start_a1111_failing_while(Some(failure), Duration::ZERO, Arc::clone(&is_failing));
    let mut live = LiveLoop::start(config(BackendKind::A1111, &server));
    live.offer(3, &guide(42), &settings(), Duration::ZERO);
    wait_for(&mut live, "the error", |status| {
        status
            .servers
            .first()
            .is_some_and(|server| server.error.is_some())
    });
    let status = live.status().clone();
    let error = status.servers[0].error.as_ref().unwrap();
    assert!(error.contains("CUDA out of memory"), "{error}");
    assert!(error.contains(&server.url), "{error}");
    assert!(status.servers[0].retry_at.is_some());
    assert!(status.picture.is_none());
    assert!(!status.reports_execution);
    is_failing.store(false, Ordering::SeqCst);
    wait_for(&mut live, "a picture", |status| status.picture.is_some());
    let status = live.status();
    assert_eq!(status.servers[0].error, None);
    assert_eq!(status.picture.as_ref().unwrap().rgb, expected_picture());
    assert!(
        status.execution.is_none(),
        "A1111 reports no time of its own"
    );
    let sent = sent_levels(&server);
    assert!(
        sent.len() >= 2 && sent.iter().all(|&level| level == 42),
        "{sent:?}"
    );
    live.join();
}

/// A server that is not there: "unreachable" in the panel, tried again later, never given up.
#[test]
fn an_unreachable_server_is_named_and_retried() {
    let _serial = one_at_a_time();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut live = LiveLoop::start(
        LiveSettings {
            backend: BackendKind::A1111,
            servers: url.clone(),
            ..LiveSettings::default()
        }
        .config(64),
    );
    live.offer(0, &guide(1), &settings(), Duration::ZERO);
    wait_for(&mut live, "two tries", |status| status.num_sent >= 2);
    let error = live.status().servers[0].error.clone().unwrap();
    assert!(
        error.contains("unreachable") && error.contains(&url),
        "{error}"
    );
    live.join();
}

/// The same guide with the same settings is drawn once; new settings draw it again.
#[test]
fn an_unchanged_guide_is_not_sent_again() {
    let _serial = one_at_a_time();
    let server = start_a1111(None, Duration::ZERO);
    let mut live = LiveLoop::start(config(BackendKind::A1111, &server));
    for frame_idx in 0..3 {
        live.offer(frame_idx, &guide(5), &settings(), Duration::ZERO);
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_for(&mut live, "a picture", |status| status.num_drawn == 1);
    let stronger = FrameSettings {
        denoise: 0.8,
        ..settings()
    };
    live.offer(3, &guide(5), &stronger, Duration::ZERO);
    wait_for(&mut live, "the second picture", |status| {
        status.num_drawn == 2
    });
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(sent_levels(&server), [5, 5]);
    live.join();
}

/// ComfyUI without a checkpoint or workflow: the panel says what is missing; nothing is sent.
#[test]
fn missing_checkpoint_is_a_setup_error() {
    let _serial = one_at_a_time();
    let server = start_comfy(comfy(0));
    let mut config = config(BackendKind::Comfyui, &server);
    config.checkpoint.clear();
    let mut live = LiveLoop::start(config);
    live.offer(0, &guide(1), &settings(), Duration::ZERO);
    wait_for(&mut live, "the setup error", |status| {
        status.setup_error.is_some()
    });
    assert!(
        live.status()
            .setup_error
            .as_ref()
            .unwrap()
            .contains("checkpoint")
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(server.requests().is_empty());
    live.join();
}

/// The Live settings are saved with the plugin's state and read back whole.
#[test]
fn live_settings_are_saved_with_the_plugin_state() {
    let _serial = one_at_a_time();
    let params = PluginParams::default();
    let saved = LiveSettings {
        is_on: true,
        backend: BackendKind::A1111,
        servers: "http://gpu1:7860 http://gpu2:7860".into(),
        prompt: "a lake at dawn".into(),
        negative: "blur".into(),
        denoise: 0.35,
        denoise_macro: Some(4),
        seed: 1234,
        steps: 6,
        cfg: 4.5,
        size: LiveSize::Half,
        max_fps: 2.5,
        in_flight: 2,
        ..LiveSettings::default()
    };
    *params.live.write().unwrap() = saved.clone();
    let fields = params.serialize_fields();
    let loaded = PluginParams::default();
    loaded.deserialize_fields(&fields);
    assert_eq!(*loaded.live.read().unwrap(), saved);
    // A state saved before Live existed loads with Live off.
    let mut old = fields.clone();
    old.remove("live");
    let loaded = PluginParams::default();
    loaded.deserialize_fields(&old);
    assert_eq!(*loaded.live.read().unwrap(), LiveSettings::default());
}

/// The threads of Live loops still running in this process.
fn live_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| [LIVE_THREAD, CONNECTION_THREAD].contains(&name.trim()))
        .count()
}

/// Parameters with Live on against `server`.
fn live_params(backend: BackendKind, server: &Fake) -> PluginParams {
    let params = PluginParams::default();
    *params.live.write().unwrap() = LiveSettings {
        is_on: true,
        backend,
        servers: server.url.clone(),
        checkpoint: CHECKPOINT.to_owned(),
        max_fps: 60.0,
        ..LiveSettings::default()
    };
    params
}

/// Drives the editor as the plugin does, one repaint at a time: the link's status into the UI,
/// then the link hears the guide the repaint rendered. Each repaint gets a new guide frame.
struct Editor {
    params: PluginParams,
    state: EditorState,
    link: LiveLink,
    headless: Headless,
    num_repaints: u64,
}

impl Editor {
    fn new(params: PluginParams) -> Self {
        let mut state = EditorState::default();
        state.tab = Tab::Live;
        Self {
            params,
            state,
            link: LiveLink::default(),
            headless: Headless::new(),
            num_repaints: 0,
        }
    }

    /// One repaint; returns how long it took.
    fn repaint(&mut self) -> Duration {
        let start = Instant::now();
        self.num_repaints += 1;
        let values: Vec<f32> = (0..256)
            .map(|bin| ((bin as u64 * 7 + self.num_repaints * 13) % 100) as f32 / 100.0)
            .collect();
        let input = SpectraIn {
            freqs_hz: &[],
            traces: &[],
            meters: None,
            guide: Some(GuideFrame {
                frame_idx: self.num_repaints,
                preset: Preset::Default,
                values: &values,
                is_recorded: false,
            }),
            live: self.link.status(),
        };
        let gui_context = direct_gui_context();
        let setter = gui_context.param_setter();
        let status = RecorderStatus::default();
        let (state, params) = (&mut self.state, &self.params);
        let time_s = self.num_repaints as f64 / 60.0;
        self.headless
            .run(vec2(900.0, 600.0), 1.0, None, time_s, &mut |ui| {
                state.ui(ui, params, &setter, &status, &input);
            });
        self.link
            .update(&self.params, self.state.live_guide(&self.params));
        start.elapsed()
    }
}

/// Frames go to the server while the editor is open; once it closes nothing more is sent, and
/// the loop's threads end by themselves.
#[test]
fn frames_are_sent_while_the_editor_is_open_and_none_after_it_closes() {
    let _serial = one_at_a_time();
    let server = start_comfy(comfy(20));
    let mut editor = Editor::new(live_params(BackendKind::Comfyui, &server));
    let start = Instant::now();
    while server.guides_received().len() < 3 {
        assert!(start.elapsed() < PATIENCE, "no frames sent while open");
        editor.repaint();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(live_threads() >= 2, "the loop and its connection run");
    editor.link.close();
    let num_at_close = server.guides_received().len();
    let closed_at = Instant::now();
    while live_threads() > 0 {
        assert!(
            closed_at.elapsed() < PATIENCE,
            "Live's threads outlive the editor"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    // A request already on its way when the editor closed may still land; no new one starts.
    let num_after = server.guides_received().len();
    assert!(
        num_after <= num_at_close + 1,
        "{num_at_close} → {num_after}"
    );
    drop(editor);
    assert_eq!(live_threads(), 0);
}

/// With a server that answers after 2 s, the editor keeps repainting at its pace meanwhile:
/// the network is never waited on in a repaint.
#[test]
fn the_gui_never_waits_for_a_slow_server() {
    let _serial = one_at_a_time();
    let server = start_a1111(None, Duration::from_secs(2));
    let mut editor = Editor::new(live_params(BackendKind::A1111, &server));
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut num_while_waiting = 0;
    while start.elapsed() < Duration::from_millis(2500) {
        slowest = slowest.max(editor.repaint());
        if server.guides_received().len() == 1
            && editor.link.status().is_some_and(|s| s.num_drawn == 0)
        {
            num_while_waiting += 1;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        server.guides_received().len() <= 2,
        "one guide on the server at a time"
    );
    assert!(
        slowest < Duration::from_millis(300),
        "a repaint took {slowest:?}"
    );
    assert!(
        num_while_waiting >= 20,
        "only {num_while_waiting} repaints while the server drew"
    );
}
