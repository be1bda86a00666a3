//! In-process fake ComfyUI and AUTOMATIC1111 servers, written from their documented APIs
//! (DESIGN.md §14), shared by `diffuse`'s tests and the Live loop's: ComfyUI's `/upload/image`
//! (multipart), `/prompt` (with its 400 `node_errors` for a checkpoint it does not have),
//! `/ws?clientId=` (`execution_start`/`executing`/`progress`/`execution_success` with their
//! timestamps, history stored after `execution_success` as the real server does),
//! `/history/{id}` and `/view`; A1111's `/sdapi/v1/img2img` and `/sdapi/v1/progress`. Each fake
//! records every request, so the tests check what the client sent, and draws a frame as a
//! function of the seed and denoise it was sent only, so any server's result is the expected one.

#![allow(dead_code)] // Each test binary and the benchmark use a different part of it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use tiny_http::{Header, Request, Response, Server};
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

/// The fake model: a 4×4 PNG whose pixels spell the seed and denoise it was asked for.
pub fn drawn_png(seed: u64, denoise: f64) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 4, 4);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    let pixel = [
        (seed % 251) as u8,
        (denoise * 200.0).round() as u8,
        (seed / 251) as u8,
    ];
    writer.write_image_data(&pixel.repeat(16)).unwrap();
    writer.finish().unwrap();
    bytes
}

/// One request as a fake server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub url: String,
    pub body: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Recorded>>>;

/// How a fake ComfyUI behaves.
#[derive(Clone, Default)]
pub struct Comfy {
    /// How long each prompt takes to "sample".
    pub delay: Duration,
    /// Serves no websocket (the client must poll `/history`).
    pub no_websocket: bool,
    /// After this many prompts the server is gone: every request gets a 502 (its proxy's answer)
    /// and its websockets close.
    pub dies_after: Option<usize>,
    /// The server accepts prompts but samples none (a hung GPU); once it holds this many, it is
    /// gone as with `dies_after` (and passes `meet`, if given).
    pub dies_holding: Option<usize>,
    /// The checkpoints installed (the built-in workflow's `ckpt_name` must be one).
    pub checkpoints: Vec<String>,
    /// A frame whose prompt waits for the test's word.
    pub hold: Option<Hold>,
    /// Every prompt fails in KSampler with CUDA's out-of-memory error.
    pub out_of_memory: bool,
    /// The first prompt waits here until every server sharing it has one: so each draws some.
    /// (With `dies_holding`, the server's death meets here instead.)
    pub meet: Option<Arc<Barrier>>,
}

/// Which prompt a [`Hold`] stops.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum HoldAt {
    /// The prompt that loads the guide of this frame (uploaded as `%06d.png`).
    Frame(u64),
    /// The server's n-th prompt, from 1.
    Prompt(usize),
}

/// The prompt `at` tells `reached` when it is there, then waits until `release` says go.
#[derive(Clone)]
pub struct Hold {
    pub at: HoldAt,
    pub reached: mpsc::Sender<()>,
    pub release: Arc<Mutex<mpsc::Receiver<()>>>,
}

pub struct Fake {
    pub url: String,
    pub log: Log,
    /// ComfyUI: each time the server finished sampling a frame and found no other queued, the
    /// number of frames it had finished: the moments its GPU would have waited for us.
    pub idle_after: Arc<Mutex<Vec<usize>>>,
}

impl Fake {
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    /// The PNG bytes of every guide uploaded (ComfyUI) or sent (A1111), in order.
    pub fn guides_received(&self) -> Vec<Vec<u8>> {
        self.requests()
            .iter()
            .filter_map(|request| match request.url.as_str() {
                "/upload/image" => Some(multipart_fields(&request.body).2),
                "/sdapi/v1/img2img" => {
                    let body: Value = serde_json::from_slice(&request.body).unwrap();
                    let image = body["init_images"][0].as_str().unwrap();
                    Some(BASE64.decode(image).unwrap())
                }
                _ => None,
            })
            .collect()
    }

    /// The frames whose guides were uploaded (ComfyUI) or sent (A1111), in order.
    pub fn frames_sent(&self) -> Vec<u64> {
        self.requests()
            .iter()
            .filter_map(|request| match request.url.as_str() {
                "/upload/image" => {
                    let (name, _, _) = multipart_fields(&request.body);
                    Some(name[..6].parse().unwrap())
                }
                "/sdapi/v1/img2img" => {
                    let body: Value = serde_json::from_slice(&request.body).unwrap();
                    Some(body["seed"].as_u64().unwrap())
                }
                _ => None,
            })
            .collect()
    }
}

/// The file name, subfolder and file bytes of an upload's multipart body.
pub fn multipart_fields(body: &[u8]) -> (String, String, Vec<u8>) {
    let find = |haystack: &[u8], needle: &[u8]| {
        haystack
            .windows(needle.len())
            .position(|window| window == needle)
    };
    let line_end = find(body, b"\r\n").unwrap();
    let delimiter = [b"\r\n", &body[..line_end]].concat();
    let mut name = String::new();
    let mut subfolder = String::new();
    let mut file = Vec::new();
    let mut rest = &body[line_end + 2..];
    while let Some(head_end) = find(rest, b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let value_and_more = &rest[head_end + 4..];
        let value_end = find(value_and_more, &delimiter).unwrap();
        let value = &value_and_more[..value_end];
        if let Some(after) = head.split("filename=\"").nth(1) {
            name = after.split('"').next().unwrap().to_owned();
            file = value.to_vec();
        } else if head.contains("name=\"subfolder\"") {
            subfolder = String::from_utf8_lossy(value).into_owned();
        }
        // Past the delimiter and its line end ("--" after the last one).
        rest = &value_and_more[value_end + delimiter.len() + 2..];
    }
    (name, subfolder, file)
}

pub fn json_response(status: u16, value: &Value) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_data(value.to_string().into_bytes())
        .with_status_code(status)
        .with_header(Header::from_bytes("Content-Type", "application/json").unwrap())
}

type Socket = Arc<Mutex<WebSocket<Box<dyn tiny_http::ReadWrite + Send>>>>;

struct ComfyState {
    uploads: HashMap<String, Vec<u8>>,
    outputs: HashMap<String, Vec<u8>>,
    history: HashMap<String, Value>,
    sockets: HashMap<String, Socket>,
    num_prompts: usize,
}

fn send(sockets: &HashMap<String, Socket>, client_id: &str, message: Value) {
    if let Some(socket) = sockets.get(client_id) {
        let _ = socket
            .lock()
            .unwrap()
            .send(Message::text(message.to_string()));
    }
}

pub fn start_comfy(behaviour: Comfy) -> Fake {
    let server = Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let log: Log = Arc::default();
    let state = Arc::new(Mutex::new(ComfyState {
        uploads: HashMap::new(),
        outputs: HashMap::new(),
        history: HashMap::new(),
        sockets: HashMap::new(),
        num_prompts: 0,
    }));
    let is_dead = Arc::new(AtomicBool::new(false));
    let idle_after = Arc::default();
    let (queue_tx, queue_rx) = mpsc::channel();
    {
        let (behaviour, state, is_dead, idle_after) = (
            behaviour.clone(),
            Arc::clone(&state),
            Arc::clone(&is_dead),
            Arc::clone(&idle_after),
        );
        std::thread::spawn(move || {
            sample_queue(&queue_rx, &behaviour, &state, &is_dead, &idle_after)
        });
    }
    let thread_log = Arc::clone(&log);
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            // An upgrade's "body" is the whole connection: only other requests are read.
            let mut body = Vec::new();
            if !request.url().starts_with("/ws") {
                request.as_reader().read_to_end(&mut body).unwrap();
            }
            thread_log.lock().unwrap().push(Recorded {
                method: request.method().to_string(),
                url: request.url().to_owned(),
                body: body.clone(),
            });
            if is_dead.load(Ordering::SeqCst) {
                let _ = request.respond(Response::from_string("Bad Gateway").with_status_code(502));
                continue;
            }
            handle_comfy(request, &body, &behaviour, &state, &is_dead, &queue_tx);
        }
    });
    Fake {
        url,
        log,
        idle_after,
    }
}

/// A prompt in the fake ComfyUI's queue.
struct Queued {
    prompt_id: String,
    client_id: String,
    frame_idx: u64,
    seed: u64,
    denoise: f64,
    num_prompts: usize,
}

fn handle_comfy(
    request: Request,
    body: &[u8],
    behaviour: &Comfy,
    state: &Arc<Mutex<ComfyState>>,
    is_dead: &Arc<AtomicBool>,
    queue: &mpsc::Sender<Queued>,
) {
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let params: HashMap<String, String> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_owned(), percent_decode(value)))
        .collect();
    match path {
        "/ws" if !behaviour.no_websocket => {
            let key = request
                .headers()
                .iter()
                .find(|header| header.field.equiv("Sec-WebSocket-Key"))
                .unwrap()
                .value
                .to_string();
            let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
            let stream = request.upgrade(
                "websocket",
                Response::empty(101)
                    .with_header(Header::from_bytes("Sec-WebSocket-Accept", accept).unwrap()),
            );
            let socket = WebSocket::from_raw_socket(stream, Role::Server, None);
            let client_id = params["clientId"].clone();
            let socket = Arc::new(Mutex::new(socket));
            let mut state = state.lock().unwrap();
            state.sockets.insert(client_id.clone(), socket);
            let status = json!({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": client_id}});
            send(&state.sockets, &client_id, status);
        }
        "/upload/image" => {
            let (name, subfolder, file) = multipart_fields(body);
            state
                .lock()
                .unwrap()
                .uploads
                .insert(format!("{subfolder}/{name}"), file);
            let _ = request.respond(json_response(
                200,
                &json!({"name": name, "subfolder": subfolder, "type": "input"}),
            ));
        }
        "/prompt" => {
            let prompt: Value = serde_json::from_slice(body).unwrap();
            let workflow = &prompt["prompt"];
            let client_id = prompt["client_id"].as_str().unwrap().to_owned();
            let checkpoint = workflow["1"]["inputs"]["ckpt_name"].as_str().unwrap_or("");
            if workflow["1"]["class_type"] == "CheckpointLoaderSimple"
                && !behaviour.checkpoints.iter().any(|name| name == checkpoint)
            {
                let _ = request.respond(json_response(400, &json!({
                    "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}},
                    "node_errors": {"1": {"errors": [{"type": "value_not_in_list", "message": "Value not in list",
                        "details": format!("ckpt_name: '{checkpoint}' not in {:?}", behaviour.checkpoints), "extra_info": {}}],
                        "dependent_outputs": ["8"], "class_type": "CheckpointLoaderSimple"}}
                })));
                return;
            }
            let image = workflow["4"]["inputs"]["image"]
                .as_str()
                .unwrap()
                .to_owned();
            let sampler = &workflow["6"]["inputs"];
            let (seed, denoise) = (
                sampler["seed"].as_u64().unwrap(),
                sampler["denoise"].as_f64().unwrap(),
            );
            let frame_idx: u64 = image.rsplit('/').next().unwrap()[..6].parse().unwrap();
            let num_prompts = {
                let mut state = state.lock().unwrap();
                assert!(
                    state.uploads.contains_key(&image),
                    "LoadImage of an upload: {image}"
                );
                state.num_prompts += 1;
                state.num_prompts
            };
            if behaviour
                .dies_after
                .is_some_and(|limit| num_prompts > limit)
            {
                is_dead.store(true, Ordering::SeqCst);
                state.lock().unwrap().sockets.clear();
                let _ = request.respond(Response::from_string("Bad Gateway").with_status_code(502));
                return;
            }
            let prompt_id = format!("p{num_prompts}-{frame_idx}");
            let _ = request.respond(json_response(
                200,
                &json!({"prompt_id": prompt_id, "number": num_prompts, "node_errors": {}}),
            ));
            if behaviour.dies_holding == Some(num_prompts) {
                is_dead.store(true, Ordering::SeqCst);
                state.lock().unwrap().sockets.clear();
                if let Some(meet) = &behaviour.meet {
                    meet.wait();
                }
            }
            if behaviour.dies_holding.is_none() {
                let queued = Queued {
                    prompt_id,
                    client_id,
                    frame_idx,
                    seed,
                    denoise,
                    num_prompts,
                };
                queue.send(queued).unwrap();
            }
        }
        // Taking prompts off the queue: recorded, answered as ComfyUI does (200, no body).
        "/queue" => {
            let _ = request.respond(Response::empty(200));
        }
        _ if path.starts_with("/history/") => {
            let prompt_id = &path["/history/".len()..];
            let state = state.lock().unwrap();
            let reply = match state.history.get(prompt_id) {
                Some(entry) => json!({prompt_id: entry}),
                None => json!({}),
            };
            let _ = request.respond(json_response(200, &reply));
        }
        "/view" => {
            let state = state.lock().unwrap();
            assert_eq!(params["type"], "output");
            match state.outputs.get(&params["filename"]) {
                Some(bytes) => {
                    let _ = request.respond(Response::from_data(bytes.clone()));
                }
                None => {
                    let _ = request.respond(Response::empty(404));
                }
            }
        }
        _ => {
            let _ = request.respond(Response::empty(404));
        }
    }
}

/// The fake ComfyUI's GPU: samples the queued prompts one at a time, as the real server does, and
/// notes each time it finishes one with nothing else queued.
fn sample_queue(
    queue: &mpsc::Receiver<Queued>,
    behaviour: &Comfy,
    state: &Mutex<ComfyState>,
    is_dead: &AtomicBool,
    idle_after: &Mutex<Vec<usize>>,
) {
    let mut next = None;
    let mut num_finished = 0;
    while let Some(prompt) = next.take().or_else(|| queue.recv().ok()) {
        if let Some(hold) = &behaviour.hold
            && (hold.at == HoldAt::Frame(prompt.frame_idx)
                || hold.at == HoldAt::Prompt(prompt.num_prompts))
        {
            hold.reached.send(()).unwrap();
            let _ = hold.release.lock().unwrap().recv();
        }
        if let (Some(meet), 1) = (&behaviour.meet, prompt.num_prompts) {
            meet.wait();
        }
        // Held or queued behind other prompts until now: the server starts it.
        let started_ms = now_ms();
        let start = json!({"prompt_id": prompt.prompt_id, "timestamp": started_ms});
        let sockets = state.lock().unwrap().sockets.clone();
        send(
            &sockets,
            &prompt.client_id,
            json!({"type": "execution_start", "data": start}),
        );
        std::thread::sleep(behaviour.delay);
        num_finished += 1;
        // Sampled, and the client not told yet: is the next frame already here?
        match queue.try_recv() {
            Ok(queued) => next = Some(queued),
            Err(_) => idle_after.lock().unwrap().push(num_finished),
        }
        if !is_dead.load(Ordering::SeqCst) {
            report(prompt, started_ms, behaviour, state);
        }
    }
}

/// Milliseconds since the Unix epoch, as ComfyUI stamps its execution messages.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A sampled prompt's websocket messages, history and output image (or its out-of-memory error);
/// `execution_start` (sent when sampling started) and `execution_success` carry the times
/// sampling started and ended, in the messages and in the history's status, as ComfyUI reports
/// them.
fn report(prompt: Queued, started_ms: u64, behaviour: &Comfy, state: &Mutex<ComfyState>) {
    let Queued {
        prompt_id,
        client_id,
        seed,
        denoise,
        num_prompts,
        ..
    } = prompt;
    let sockets = state.lock().unwrap().sockets.clone();
    let data = |extra: Value| {
        let mut data = json!({"prompt_id": prompt_id});
        data.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        data
    };
    let start = data(json!({"timestamp": started_ms}));
    if behaviour.out_of_memory {
        let error = data(
            json!({"node_id": "6", "node_type": "KSampler", "executed": ["1", "4"],
                        "exception_message": "CUDA out of memory. Tried to allocate 1.50 GiB",
                        "exception_type": "torch.OutOfMemoryError", "traceback": [], "current_inputs": {}, "current_outputs": {}}),
        );
        state.lock().unwrap().history.insert(prompt_id.clone(), json!({
                        "prompt": [], "outputs": {},
                        "status": {"status_str": "error", "completed": false, "messages": [["execution_error", error]]},
                    }));
        send(
            &sockets,
            &client_id,
            json!({"type": "execution_error", "data": error}),
        );
        return;
    }
    send(
        &sockets,
        &client_id,
        json!({"type": "executing", "data": data(json!({"node": "6", "display_node": "6"}))}),
    );
    send(
        &sockets,
        &client_id,
        json!({"type": "progress", "data": data(json!({"value": 1, "max": 1, "node": "6"}))}),
    );
    let success = data(json!({"timestamp": now_ms()}));
    send(
        &sockets,
        &client_id,
        json!({"type": "execution_success", "data": success}),
    );
    // SaveImage's counter: one file per prompt.
    let filename = format!("spectral-diffusion_{num_prompts:05}_.png");
    {
        let mut state = state.lock().unwrap();
        state
            .outputs
            .insert(filename.clone(), drawn_png(seed, denoise));
        state.history.insert(prompt_id.clone(), json!({
                        "prompt": [num_prompts, prompt_id, {}, {}, ["8"]],
                        "outputs": {"8": {"images": [{"filename": filename, "subfolder": "", "type": "output"}]}},
                        "status": {"status_str": "success", "completed": true,
                            "messages": [["execution_start", start], ["execution_success", success]]},
                    }));
    }
    send(
        &sockets,
        &client_id,
        json!({"type": "executing", "data": data(json!({"node": null, "display_node": null}))}),
    );
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut idx = 0;
    while idx < bytes.len() {
        if bytes[idx] == b'%' {
            out.push(u8::from_str_radix(&text[idx + 1..idx + 3], 16).unwrap());
            idx += 3;
        } else {
            out.push(if bytes[idx] == b'+' { b' ' } else { bytes[idx] });
            idx += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A fake A1111: img2img answers after `delay` with the fake model's frame, or at once always
/// `status` with `error`; `/sdapi/v1/progress` says the sampler is half way. Each request has a
/// thread of its own, as in the real server's web framework.
pub fn start_a1111(failure: Option<(u16, Value)>, delay: Duration) -> Fake {
    start_a1111_failing_while(failure, delay, Arc::new(AtomicBool::new(true)))
}

/// [`start_a1111`] whose img2img fails with `failure` only while `is_failing` is set.
pub fn start_a1111_failing_while(
    failure: Option<(u16, Value)>,
    delay: Duration,
    is_failing: Arc<AtomicBool>,
) -> Fake {
    let server = Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let log: Log = Arc::default();
    let thread_log = Arc::clone(&log);
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let mut body = Vec::new();
            request.as_reader().read_to_end(&mut body).unwrap();
            thread_log.lock().unwrap().push(Recorded {
                method: request.method().to_string(),
                url: request.url().to_owned(),
                body: body.clone(),
            });
            let failure = failure
                .clone()
                .filter(|_| is_failing.load(Ordering::SeqCst));
            std::thread::spawn(move || answer_a1111(request, &body, failure, delay));
        }
    });
    Fake {
        url,
        log,
        idle_after: Arc::default(),
    }
}

fn answer_a1111(request: Request, body: &[u8], failure: Option<(u16, Value)>, delay: Duration) {
    let (path, _) = request.url().split_once('?').unwrap_or((request.url(), ""));
    if path == "/sdapi/v1/progress" {
        let state = json!({"skipped": false, "interrupted": false, "job": "", "job_count": 1,
            "job_timestamp": "0", "job_no": 0, "sampling_step": 10, "sampling_steps": 20});
        let progress = json!({"progress": 0.5, "eta_relative": 0.3, "state": state,
            "current_image": null, "textinfo": null});
        let _ = request.respond(json_response(200, &progress));
        return;
    }
    if path != "/sdapi/v1/img2img" {
        let _ = request.respond(json_response(404, &json!({"detail": "Not Found"})));
        return;
    }
    if let Some((status, error)) = &failure {
        let _ = request.respond(json_response(*status, error));
        return;
    }
    std::thread::sleep(delay);
    let json: Value = serde_json::from_slice(body).unwrap();
    let png = drawn_png(
        json["seed"].as_u64().unwrap(),
        json["denoising_strength"].as_f64().unwrap(),
    );
    let _ = request.respond(json_response(
        200,
        &json!({"images": [BASE64.encode(png)], "parameters": json, "info": "{}"}),
    ));
}

/// A fake ComfyUI sampling each prompt for `delay_ms` that holds the prompt `at`: the receiver
/// hears when that prompt is reached, and it goes on when the sender sends (or is dropped).
pub fn start_comfy_holding(
    delay_ms: u64,
    at: HoldAt,
) -> (Fake, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (reached_tx, reached_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let server = start_comfy(Comfy {
        hold: Some(Hold {
            at,
            reached: reached_tx,
            release: Arc::new(Mutex::new(release_rx)),
        }),
        ..comfy(delay_ms)
    });
    (server, reached_rx, release_tx)
}

pub const CHECKPOINT: &str = "v1-5-pruned-emaonly.safetensors";

/// A fake ComfyUI with [`CHECKPOINT`] installed, sampling each prompt for `delay_ms`.
pub fn comfy(delay_ms: u64) -> Comfy {
    Comfy {
        delay: Duration::from_millis(delay_ms),
        checkpoints: vec![CHECKPOINT.to_owned()],
        ..Comfy::default()
    }
}
