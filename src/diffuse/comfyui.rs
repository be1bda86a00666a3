//! Worker threads: the ComfyUI backend (DESIGN.md §14). Per frame: upload the guide
//! (`POST /upload/image`, multipart, into a subfolder of `input/`, overwriting), submit the filled
//! API-format workflow (`POST /prompt {prompt, client_id}`), follow the websocket
//! `/ws?clientId=` until `executing` with `node: null` (or `execution_success`, or
//! `execution_error`), with `GET /history/{id}` whenever the socket is silent or gone, then fetch
//! the saved image (`GET /view`). The history entry's `execution_start` and `execution_success`
//! timestamps say how long the server worked on the frame; the websocket's `execution_start`
//! says how long the prompt waited behind others in the server's queue.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use super::workflow::Workflow;
use super::{
    Backend, DrawError, Drawn, FrameJob, FrameSettings, http_agent, is_out_of_memory, read_answer,
    sha256_hex, short_body, status_error,
};

/// How long the websocket may stay silent before `/history` is asked instead.
const SOCKET_SILENCE: Duration = Duration::from_secs(2);
/// The pause between `/history` polls when there is no websocket.
const HISTORY_POLL: Duration = Duration::from_millis(250);
/// The longest a websocket handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a worker polls `/history` after its websocket could not be opened, before it tries
/// again (a proxy that does not pass websockets refuses every time).
const SOCKET_RETRY: Duration = Duration::from_secs(30);

/// What every worker on every ComfyUI server shares.
#[derive(Debug)]
pub struct ComfyUiJob {
    pub workflow: Workflow,
    /// The subfolder of ComfyUI's `input/` that the guides are uploaded to.
    pub subfolder: String,
    /// What the uploads in `subfolder` are named after.
    pub upload_names: UploadNames,
    /// The longest one frame may take, from upload to fetched image.
    pub timeout: Duration,
    /// Set when the frames on the servers are no longer wanted (Live stopping): a connection
    /// waiting for its prompt takes it off the server's queue (a prompt already running is left
    /// to finish: an interrupt could hit another client's on a server without targeted
    /// interrupts) and returns. `None`: every frame is waited for (`diffuse`).
    pub stop: Option<Arc<AtomicBool>>,
}

/// What an uploaded guide is named after, as `%06d.png`. A connection has one frame on the
/// server at a time, so either way no upload is overwritten before its prompt has run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadNames {
    /// The frame's index: a rerun overwrites its own uploads (`diffuse`).
    Frame,
    /// The connection's number: each connection overwrites its one file, so a loop that runs
    /// for hours leaves a file per connection, not per frame (Live).
    Connection,
}

impl ComfyUiJob {
    /// Hex SHA-256 of the workflow a frame's settings make, image name left out: what the
    /// ledger compares to know whether a frame's result still stands.
    pub fn settings_hash(&self, settings: &FrameSettings) -> String {
        let filled = self.workflow.fill(settings, "{{image}}");
        sha256_hex(format!("comfyui\n{filled}").as_bytes())
    }

    /// The name LoadImage reads a frame's upload by (as `describe` shows it).
    fn image_name(&self, frame_idx: u64) -> String {
        format!("{}/{}", self.subfolder, upload_file_name(frame_idx))
    }

    /// The file name a connection uploads frame `frame_idx` as.
    fn upload_name(&self, frame_idx: u64, connection_idx: u64) -> String {
        upload_file_name(match self.upload_names {
            UploadNames::Frame => frame_idx,
            UploadNames::Connection => connection_idx,
        })
    }

    /// The requests the first frame makes, as text, for `--dry-run`.
    pub fn describe(&self, server: &str, job: &FrameJob, guide_len: usize) -> String {
        let prompt = serde_json::json!({
            "prompt": self.workflow.fill(&job.settings, &self.image_name(job.frame_idx)),
            "client_id": "<client id>",
        });
        format!(
            "POST {server}/upload/image  multipart/form-data: image={} ({guide_len} bytes, \
             image/png), type=input, subfolder={}, overwrite=true\n\
             GET {}?clientId=<client id>  (websocket)\n\
             POST {server}/prompt\n{}\n\
             GET {server}/history/<prompt_id>  (when the websocket is silent)\n\
             GET {server}/view?filename=<saved image>&subfolder=<its subfolder>&type=output",
            upload_file_name(job.frame_idx),
            self.subfolder,
            websocket_url(server),
            serde_json::to_string_pretty(&prompt).expect("JSON values serialize"),
        )
    }
}

/// `000042.png`.
fn upload_file_name(frame_idx: u64) -> String {
    format!("{frame_idx:06}.png")
}

/// `ws://host:port/ws` (or `wss://`) of a server URL.
fn websocket_url(server: &str) -> String {
    let rest = server
        .strip_prefix("https://")
        .map(|rest| format!("wss://{rest}"))
        .or_else(|| {
            server
                .strip_prefix("http://")
                .map(|rest| format!("ws://{rest}"))
        })
        .unwrap_or_else(|| server.to_owned());
    format!("{rest}/ws")
}

/// Numbers connections, so that every one in the process has its own client id (the server sends
/// a prompt's messages to the socket of the id that queued it) and upload name.
static NUM_CONNECTIONS: AtomicU64 = AtomicU64::new(0);

/// One worker's connection to one ComfyUI server.
pub struct ComfyUi {
    server: String,
    job: Arc<ComfyUiJob>,
    agent: ureq::Agent,
    /// This connection's number in the process.
    connection_idx: u64,
    client_id: String,
    /// The websocket, while it works; `None` falls back to polling `/history`.
    socket: Option<Socket>,
    /// When to try opening the websocket again after it failed.
    next_socket_try: Instant,
}

struct Socket {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
}

/// What the websocket told about a prompt.
enum Outcome {
    /// It ended well: its images are in `/history`.
    Finished,
    /// The server started it (`execution_start`): it waited in the queue until now.
    Started,
    Failed(DrawError),
    /// The sampler's step, as a fraction of its steps.
    Progress(f64),
    /// A message about something else.
    Pending,
    /// No message within [`SOCKET_SILENCE`] (or no socket): time to ask `/history`.
    Silent,
    /// The socket broke; `/history` takes over.
    Broken,
}

impl ComfyUi {
    /// A connection for one worker, with a client id of its own.
    pub fn new(server: &str, job: Arc<ComfyUiJob>) -> Self {
        let connection_idx = NUM_CONNECTIONS.fetch_add(1, Ordering::Relaxed);
        Self {
            server: server.to_owned(),
            agent: http_agent(job.timeout),
            job,
            connection_idx,
            client_id: format!("spectral-diffusion-{}-{connection_idx}", std::process::id()),
            socket: None,
            next_socket_try: Instant::now(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server)
    }

    /// `POST /upload/image`: the name LoadImage finds the guide by.
    fn upload(
        &self,
        frame_idx: u64,
        guide_png: &[u8],
        boundary: &str,
    ) -> Result<String, DrawError> {
        let body = multipart_body(
            boundary,
            &self.job.upload_name(frame_idx, self.connection_idx),
            guide_png,
            &[
                ("type", "input"),
                ("subfolder", &self.job.subfolder),
                ("overwrite", "true"),
            ],
        );
        let reply = self.post(
            "/upload/image",
            &format!("multipart/form-data; boundary={boundary}"),
            &body,
            "upload",
        )?;
        let name = reply["name"].as_str().ok_or_else(|| {
            DrawError::Server(format!(
                "{}: upload answered without a name: {}",
                self.server,
                short_body(reply.to_string().as_bytes())
            ))
        })?;
        Ok(match reply["subfolder"].as_str() {
            Some(subfolder) if !subfolder.is_empty() => format!("{subfolder}/{name}"),
            _ => name.to_owned(),
        })
    }

    /// `POST /prompt`: the prompt id, or the server's reasons for refusing the workflow.
    fn submit(&self, workflow: Value) -> Result<String, DrawError> {
        let body = serde_json::json!({"prompt": workflow, "client_id": self.client_id});
        let reply = self.post(
            "/prompt",
            "application/json",
            body.to_string().as_bytes(),
            "prompt",
        )?;
        reply["prompt_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| {
                DrawError::Server(format!(
                    "{}: /prompt answered without a prompt_id: {}",
                    self.server,
                    short_body(reply.to_string().as_bytes())
                ))
            })
    }

    /// A POST whose answer is JSON; error statuses become [`DrawError`]s quoting the server.
    fn post(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
        what: &str,
    ) -> Result<Value, DrawError> {
        let sent = self
            .agent
            .post(self.url(path))
            .header("Content-Type", content_type)
            .send(body);
        let (status, bytes) = read_answer(&self.server, sent)?;
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        match (status, json) {
            (200, Some(json)) => Ok(json),
            (400, Some(json)) if json.get("node_errors").is_some() => {
                Err(DrawError::Rejected(rejection(&self.server, &json)))
            }
            (200, None) => Err(DrawError::Server(format!(
                "{}: {what}: the answer is not JSON: {}",
                self.server,
                short_body(&bytes)
            ))),
            (status, json) => Err(status_error(
                &self.server,
                what,
                status,
                &json.map_or_else(|| short_body(&bytes), |json| error_message(&json)),
            )),
        }
    }

    fn get(&self, path: &str, query: &[(&str, &str)], what: &str) -> Result<Vec<u8>, DrawError> {
        let mut request = self.agent.get(self.url(path));
        for (key, value) in query {
            request = request.query(*key, *value);
        }
        let (status, bytes) = read_answer(&self.server, request.call())?;
        if status == 200 {
            Ok(bytes)
        } else {
            Err(status_error(
                &self.server,
                what,
                status,
                &short_body(&bytes),
            ))
        }
    }

    /// Opens the websocket if it is not open; a server without one is polled instead.
    fn ensure_socket(&mut self) {
        if self.socket.is_none() && Instant::now() >= self.next_socket_try {
            self.socket = connect_socket(&self.server, &self.client_id).ok();
            if self.socket.is_none() {
                self.next_socket_try = Instant::now() + SOCKET_RETRY;
            }
        }
    }

    /// Waits for `prompt_id` to end, by websocket messages or by `/history`; `progress` hears the
    /// sampler's steps. Returns its history entry and, when the websocket told, when the server
    /// started it.
    fn wait(
        &mut self,
        prompt_id: &str,
        progress: &mut dyn FnMut(f64),
    ) -> Result<(Value, Option<Instant>), DrawError> {
        let deadline = Instant::now() + self.job.timeout;
        let mut started_at = None;
        loop {
            if let Some(stop) = &self.job.stop
                && stop.load(Ordering::Relaxed)
            {
                self.forget(prompt_id);
                return Err(DrawError::Server(format!(
                    "{}: stopped waiting for the frame",
                    self.server
                )));
            }
            if Instant::now() > deadline {
                return Err(DrawError::Server(format!(
                    "{}: no result for frame within {} s",
                    self.server,
                    self.job.timeout.as_secs()
                )));
            }
            let heard = match &mut self.socket {
                Some(socket) => socket.next_outcome(&self.server, prompt_id),
                None => {
                    std::thread::sleep(HISTORY_POLL);
                    Outcome::Silent
                }
            };
            match heard {
                Outcome::Failed(error) => return Err(error),
                Outcome::Started => started_at = Some(Instant::now()),
                Outcome::Progress(fraction) => progress(fraction),
                Outcome::Pending => {}
                Outcome::Broken => self.socket = None,
                // `execution_success` comes just before the prompt reaches the history, so a
                // finished prompt that is not listed yet is asked for again.
                Outcome::Finished | Outcome::Silent => {
                    if let Some(entry) = self.history(prompt_id)? {
                        return Ok((entry, started_at));
                    }
                }
            }
        }
    }

    /// `POST /queue {"delete": [id]}`: takes a prompt that has not started off the server's
    /// queue. Best effort: the answer is not needed.
    fn forget(&self, prompt_id: &str) {
        let body = serde_json::json!({"delete": [prompt_id]});
        let _ = self.post(
            "/queue",
            "application/json",
            body.to_string().as_bytes(),
            "queue",
        );
    }

    /// `GET /history/{id}`: the prompt's entry once it has finished, `None` before.
    fn history(&self, prompt_id: &str) -> Result<Option<Value>, DrawError> {
        let bytes = self.get(&format!("/history/{prompt_id}"), &[], "history")?;
        let json: Value = serde_json::from_slice(&bytes).map_err(|_| {
            DrawError::Server(format!(
                "{}: /history is not JSON: {}",
                self.server,
                short_body(&bytes)
            ))
        })?;
        let Some(entry) = json.get(prompt_id) else {
            return Ok(None);
        };
        let status = &entry["status"];
        if status["status_str"] == "error" {
            let message = status["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|message| message[0] == "execution_error")
                .map(|message| &message[1]);
            return Err(match message {
                Some(data) => execution_error(&self.server, data),
                None => DrawError::Server(format!("{}: the prompt failed", self.server)),
            });
        }
        let is_done = status["completed"].as_bool().unwrap_or(true)
            && entry.get("outputs").is_some_and(Value::is_object);
        Ok(is_done.then(|| entry.clone()))
    }

    /// The first saved image of a finished prompt's outputs (SaveImage's), else any image.
    fn fetch_image(&self, entry: &Value) -> Result<Vec<u8>, DrawError> {
        let images: Vec<&Value> = entry["outputs"]
            .as_object()
            .into_iter()
            .flat_map(|outputs| outputs.values())
            .filter_map(|output| output["images"].as_array())
            .flatten()
            .collect();
        let image = images
            .iter()
            .find(|image| image["type"] == "output")
            .or_else(|| images.first())
            .ok_or_else(|| {
                DrawError::Rejected(format!(
                    "{}: the workflow output no image: it needs a SaveImage node",
                    self.server
                ))
            })?;
        let field = |key: &str| image[key].as_str().unwrap_or_default().to_owned();
        self.get(
            "/view",
            &[
                ("filename", &field("filename")),
                ("subfolder", &field("subfolder")),
                ("type", &field("type")),
            ],
            "view",
        )
    }
}

impl Backend for ComfyUi {
    fn draw(
        &mut self,
        job: &FrameJob,
        guide_png: &[u8],
        progress: &mut dyn FnMut(f64),
    ) -> Result<Drawn, DrawError> {
        // The socket is opened before the prompt is queued, so no message about it is missed.
        self.ensure_socket();
        let boundary = format!("spectral-diffusion-{}", &job.input_hash[..32]);
        let image_name = self.upload(job.frame_idx, guide_png, &boundary)?;
        let submitted_at = Instant::now();
        let prompt_id = self.submit(self.job.workflow.fill(&job.settings, &image_name))?;
        let (entry, started_at) = self.wait(&prompt_id, progress)?;
        Ok(Drawn {
            png: self.fetch_image(&entry)?,
            execution: execution_time(&entry),
            queued: started_at.map(|at| at.saturating_duration_since(submitted_at)),
        })
    }
}

impl Socket {
    /// What the next message (or [`SOCKET_SILENCE`]) says about `prompt_id`.
    fn next_outcome(&mut self, server: &str, prompt_id: &str) -> Outcome {
        let text = match self.socket.read() {
            Ok(Message::Text(text)) => text,
            Ok(_) => return Outcome::Pending,
            Err(tungstenite::Error::Io(error))
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Outcome::Silent;
            }
            Err(_) => return Outcome::Broken,
        };
        let Ok(message) = serde_json::from_str::<Value>(&text) else {
            return Outcome::Pending;
        };
        let data = &message["data"];
        if data["prompt_id"] != prompt_id {
            return Outcome::Pending;
        }
        match message["type"].as_str() {
            Some("execution_start") => Outcome::Started,
            Some("executing") if data["node"].is_null() => Outcome::Finished,
            Some("execution_success") => Outcome::Finished,
            Some("progress") => match (data["value"].as_f64(), data["max"].as_f64()) {
                (Some(value), Some(max)) if max > 0.0 => Outcome::Progress(value / max),
                _ => Outcome::Pending,
            },
            Some("execution_error") => Outcome::Failed(execution_error(server, data)),
            Some("execution_interrupted") => Outcome::Failed(DrawError::Server(format!(
                "{server}: the prompt was interrupted on the server"
            ))),
            _ => Outcome::Pending,
        }
    }
}

/// Opens `/ws?clientId=` with a read timeout of [`SOCKET_SILENCE`].
fn connect_socket(server: &str, client_id: &str) -> Result<Socket, String> {
    let url = format!("{}?clientId={client_id}", websocket_url(server));
    let uri: ureq::http::Uri = server.parse().map_err(|error| format!("{error}"))?;
    let host = uri.host().ok_or("no host")?;
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let address = (host, port)
        .to_socket_addrs()
        .map_err(|error| error.to_string())?
        .next()
        .ok_or("no address")?;
    let stream = TcpStream::connect_timeout(&address, HANDSHAKE_TIMEOUT)
        .map_err(|error| error.to_string())?;
    stream
        .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
        .map_err(|error| error.to_string())?;
    let handle = stream.try_clone().map_err(|error| error.to_string())?;
    let (socket, _) = tungstenite::client_tls(url, stream).map_err(|error| error.to_string())?;
    // Messages are waited for only as long as the socket may stay silent.
    handle
        .set_read_timeout(Some(SOCKET_SILENCE))
        .map_err(|error| error.to_string())?;
    Ok(Socket { socket })
}

/// How long a finished prompt ran on the server: from its `execution_start` to its
/// `execution_success` message in the history entry's status (timestamps in ms since the epoch,
/// as ComfyUI stamps them). `None` from a server that does not record them.
fn execution_time(entry: &Value) -> Option<Duration> {
    let timestamp = |kind: &str| {
        entry["status"]["messages"]
            .as_array()?
            .iter()
            .find(|message| message[0] == kind)?[1]["timestamp"]
            .as_u64()
    };
    let (start_ms, end_ms) = (
        timestamp("execution_start")?,
        timestamp("execution_success")?,
    );
    end_ms.checked_sub(start_ms).map(Duration::from_millis)
}

/// `execution_error`'s data as one line; out of memory is the server's trouble, anything else the
/// workflow's.
fn execution_error(server: &str, data: &Value) -> DrawError {
    let text = |key: &str| data[key].as_str().unwrap_or_default().trim().to_owned();
    let line = format!(
        "{server}: node {} ({}) failed: {}: {}",
        text("node_id"),
        text("node_type"),
        text("exception_type"),
        short_body(text("exception_message").as_bytes()),
    );
    if is_out_of_memory(&line) {
        DrawError::Server(format!("{line} (out of memory on the server)"))
    } else {
        DrawError::Rejected(line)
    }
}

/// A 400 from `/prompt`: each node's errors, quoted, with a hint for a missing checkpoint.
fn rejection(server: &str, json: &Value) -> String {
    let mut reasons = Vec::new();
    for (node_id, node) in json["node_errors"].as_object().into_iter().flatten() {
        let class = node["class_type"].as_str().unwrap_or("?");
        for error in node["errors"].as_array().into_iter().flatten() {
            let message = error["message"].as_str().unwrap_or_default();
            let details = error["details"].as_str().unwrap_or_default();
            let mut reason = format!("node {node_id} ({class}): {message}");
            if !details.is_empty() {
                reason.push_str(&format!(": {details}"));
            }
            if class.starts_with("CheckpointLoader") && error["type"] == "value_not_in_list" {
                reason.push_str(" (checkpoint not installed: put it in ComfyUI's models/checkpoints or pick one with --checkpoint)");
            }
            reasons.push(short_body(reason.as_bytes()));
        }
    }
    if reasons.is_empty() {
        reasons.push(error_message(json));
    }
    format!("{server} refused the workflow: {}", reasons.join("; "))
}

/// `{"error": {"message": …, "details": …}}` or `{"error": "…"}` as one line.
fn error_message(json: &Value) -> String {
    let error = &json["error"];
    let text = match error {
        Value::String(text) => text.clone(),
        Value::Object(_) => {
            let message = error["message"].as_str().unwrap_or_default();
            match error["details"].as_str() {
                Some(details) if !details.is_empty() => format!("{message}: {details}"),
                _ => message.to_owned(),
            }
        }
        _ => json.to_string(),
    };
    short_body(text.as_bytes())
}

/// A multipart/form-data body: the file part, then the text fields.
fn multipart_body(
    boundary: &str,
    file_name: &str,
    file: &[u8],
    fields: &[(&str, &str)],
) -> Vec<u8> {
    let mut body = Vec::with_capacity(file.len() + 512);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; \
             filename=\"{file_name}\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(b"\r\n");
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ComfyUI's 400 names the node, its class, the message and the details.
    #[test]
    fn node_errors_are_quoted() {
        let json = serde_json::json!({
            "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": ""},
            "node_errors": {"1": {"errors": [{"type": "value_not_in_list", "message": "Value not in list",
                "details": "ckpt_name: 'nope.safetensors' not in ['v1-5.safetensors']"}],
                "class_type": "CheckpointLoaderSimple"}}
        });
        let line = rejection("http://gpu:8188", &json);
        assert!(line.starts_with("http://gpu:8188 refused the workflow: node 1 (CheckpointLoaderSimple): Value not in list: ckpt_name: 'nope.safetensors'"), "{line}");
        assert!(line.contains("checkpoint not installed"));
    }

    /// The server's own time is execution_start to execution_success, as the history records
    /// them; an entry without both has none.
    #[test]
    fn execution_time_comes_from_the_history_timestamps() {
        let entry = serde_json::json!({"status": {"status_str": "success", "completed": true,
            "messages": [["execution_start", {"prompt_id": "p", "timestamp": 1_700_000_000_000u64}],
                         ["execution_cached", {"nodes": [], "prompt_id": "p", "timestamp": 1_700_000_000_001u64}],
                         ["execution_success", {"prompt_id": "p", "timestamp": 1_700_000_000_750u64}]]}});
        assert_eq!(execution_time(&entry), Some(Duration::from_millis(750)));
        let old = serde_json::json!({"status": {"messages": []}});
        assert_eq!(execution_time(&old), None);
    }

    /// The websocket URL keeps the scheme's security and any path prefix.
    #[test]
    fn websocket_url_follows_the_server_url() {
        assert_eq!(websocket_url("http://h:8188"), "ws://h:8188/ws");
        assert_eq!(websocket_url("https://proxy/x"), "wss://proxy/x/ws");
    }
}
