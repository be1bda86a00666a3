//! CLI threads: `spectral-diffusion diffuse`, img2img on an output folder's guide frames through
//! Stable Diffusion servers (DESIGN.md §14). The servers do the drawing; this module feeds them:
//! per-frame settings ([`FrameSettings`]), one request shape per backend ([`comfyui`],
//! [`a1111`]), frames spread over every server with a bounded number in flight ([`scheduler`]),
//! and the hashes of a frame's input and settings, which `diffused/`'s ledger keeps so that every
//! run is resumable (`export::format::diffused`).
//!
//! A frame's result depends only on its guide frame and its settings, never on which server drew
//! it: the seed is per frame, and the settings hash covers everything a server is sent.
//!
//! The CLI's `diffuse` and the editor's Live loop ([`live`]) are both clients of this one
//! client: a [`Plan`] connects [`Backend`]s, whose requests are [`comfyui`]'s and [`a1111`]'s.

pub mod a1111;
pub mod comfyui;
pub mod live;
pub mod scheduler;
pub mod workflow;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use a1111::{A1111, A1111Job};
use comfyui::{ComfyUi, ComfyUiJob};

/// The server software.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
pub enum BackendKind {
    /// ComfyUI (`python main.py --listen`), default port 8188
    #[default]
    Comfyui,
    /// AUTOMATIC1111 or Forge started with `--api`, default port 7860
    A1111,
}

impl BackendKind {
    /// Where the server listens when started with its defaults, on this machine.
    pub fn default_server(self) -> &'static str {
        match self {
            Self::Comfyui => "http://127.0.0.1:8188",
            Self::A1111 => "http://127.0.0.1:7860",
        }
    }

    /// The name the server software goes by.
    pub fn name(self) -> &'static str {
        match self {
            Self::Comfyui => "ComfyUI",
            Self::A1111 => "A1111 / Forge",
        }
    }
}

/// The backend's request maker, shared by every connection: how a frame's settings become a
/// request, and the connections that send it.
#[derive(Debug)]
pub enum Plan {
    ComfyUi(Arc<ComfyUiJob>),
    A1111(Arc<A1111Job>),
}

impl Plan {
    /// Hex SHA-256 of the request a frame's settings make, the image left out.
    pub fn settings_hash(&self, settings: &FrameSettings) -> String {
        match self {
            Self::ComfyUi(job) => job.settings_hash(settings),
            Self::A1111(job) => job.settings_hash(settings),
        }
    }

    /// The requests the first frame makes, as text, for `--dry-run`.
    pub fn describe(&self, server: &str, job: &FrameJob, guide_len: usize) -> String {
        match self {
            Self::ComfyUi(plan) => plan.describe(server, job, guide_len),
            Self::A1111(plan) => plan.describe(server, job, guide_len),
        }
    }

    /// A new connection to `server`, for one thread.
    pub fn connect(&self, server: &str) -> Box<dyn Backend> {
        match self {
            Self::ComfyUi(job) => Box::new(ComfyUi::new(server, Arc::clone(job))),
            Self::A1111(job) => Box::new(A1111::new(server, Arc::clone(job))),
        }
    }

    /// Whether the server says how long it worked on a frame ([`Drawn::execution`]).
    pub fn reports_execution(&self) -> bool {
        matches!(self, Self::ComfyUi(_))
    }
}

/// Why a server URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}: give a URL starting with http:// or https://")]
pub struct ServerUrlError(pub String);

/// A server URL as requests are made of it (no trailing `/`), if it is one.
pub fn server_url(text: &str) -> Result<String, ServerUrlError> {
    if text.starts_with("http://") || text.starts_with("https://") {
        Ok(text.trim_end_matches('/').to_owned())
    } else {
        Err(ServerUrlError(text.to_owned()))
    }
}

/// Everything about one frame that the server's picture depends on, besides the guide frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameSettings {
    pub prompt: String,
    pub negative: String,
    pub steps: u32,
    pub cfg: f64,
    /// img2img strength: 0 keeps the guide frame, 1 ignores it.
    pub denoise: f64,
    pub seed: u64,
}

/// One frame to draw: where its guide is, what to draw it with, and the hashes the ledger keeps.
#[derive(Debug, Clone)]
pub struct FrameJob {
    pub frame_idx: u64,
    pub settings: FrameSettings,
    /// Hex SHA-256 of the guide frame's PNG bytes.
    pub input_hash: String,
    /// Hex SHA-256 of the request the backend makes of these settings (the image left out).
    pub settings_hash: String,
}

/// Why a server did not return a frame.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DrawError {
    /// The request itself is wrong (a checkpoint that is not installed, a rejected workflow, an
    /// HTTP 4xx): every server would refuse it, so the run stops.
    #[error("{0}")]
    Rejected(String),
    /// This server failed (unreachable, HTTP 5xx, out of memory, timed out): the frame goes back
    /// to the queue for the others.
    #[error("{0}")]
    Server(String),
}

/// A frame a server drew.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn {
    /// The picture's PNG bytes, as the server sent them.
    pub png: Vec<u8>,
    /// How long the server itself worked on the frame, where it says: ComfyUI's
    /// `execution_start` to `execution_success`. A1111 reports no such time (`None`).
    pub execution: Option<Duration>,
    /// How long the frame waited in the server's queue behind other work, where the server
    /// says when it started it (ComfyUI's websocket `execution_start`); `None` otherwise.
    pub queued: Option<Duration>,
}

/// One connection's worth of a backend: draws frames one at a time on one server. Each worker
/// thread holds its own.
pub trait Backend: Send {
    /// The drawn frame, from `guide_png` and `job.settings`. `progress` hears, while the server
    /// samples, how far it is with the frame it is drawing (0 to 1), as it says.
    fn draw(
        &mut self,
        job: &FrameJob,
        guide_png: &[u8],
        progress: &mut dyn FnMut(f64),
    ) -> Result<Drawn, DrawError>;
}

/// The HTTP agent every backend uses: status codes come back as responses (so the server's
/// message can be quoted), and nothing waits longer than `timeout`.
pub fn http_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(10).min(timeout)))
        .timeout_global(Some(timeout))
        .build()
        .new_agent()
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A server's answer that is not what the API documents, as one line (at most 300 characters
/// of the body).
fn short_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// The most of an answer read: a drawn frame, base64-inflated in a JSON body, fits many times.
const MAX_ANSWER_BYTES: u64 = 256 << 20;

/// A request's answer from `server`: its status and whole body. A request or body that fails on
/// the way is the server's fault ([`transport_error`]).
fn read_answer(
    server: &str,
    sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(u16, Vec<u8>), DrawError> {
    let mut response = sent.map_err(|error| transport_error(server, &error))?;
    let status = response.status().as_u16();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_vec()
        .map_err(|error| transport_error(server, &error))?;
    Ok((status, bytes))
}

/// An HTTP failure: unreachable, timed out, or broken mid-way. Always this server's fault.
fn transport_error(server: &str, error: &ureq::Error) -> DrawError {
    DrawError::Server(match error {
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("{server} is unreachable (connection refused): is the server running?")
        }
        // The resolver's failure reaches us only as its text (getaddrinfo's, through std).
        ureq::Error::Io(io) if io.to_string().contains("lookup address") => {
            format!("{server}: no such host (its name does not resolve): check the URL")
        }
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
            format!("{server} is unreachable ({error}): is the server running?")
        }
        ureq::Error::Timeout(_) => format!("{server} did not answer in time ({error})"),
        _ => format!("{server}: {error}"),
    })
}

/// An answer with an error status: 5xx is the server's trouble, 4xx the request's. Out of memory
/// is the server's trouble whatever the status.
fn status_error(server: &str, what: &str, status: u16, message: &str) -> DrawError {
    let line = format!("{server}: {what}: HTTP {status}: {message}");
    if status >= 500 || is_out_of_memory(message) {
        DrawError::Server(line)
    } else {
        DrawError::Rejected(line)
    }
}

/// The words PyTorch's and the servers' out-of-memory errors use.
fn is_out_of_memory(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("out of memory") || message.contains("outofmemory")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash is SHA-256 as every other tool prints it.
    #[test]
    fn sha256_matches_the_standard_test_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// A long or multi-line body becomes one bounded line.
    #[test]
    fn short_body_is_one_bounded_line() {
        let body = "x\ny ".repeat(400);
        let line = short_body(body.as_bytes());
        assert!(!line.contains('\n'));
        assert_eq!(line.chars().count(), 301);
    }

    /// 5xx and out-of-memory are the server's trouble (retried elsewhere), 4xx the request's.
    #[test]
    fn status_errors_are_classified() {
        assert!(matches!(
            status_error("s", "x", 500, "boom"),
            DrawError::Server(_)
        ));
        assert!(matches!(
            status_error("s", "x", 400, "CUDA out of memory"),
            DrawError::Server(_)
        ));
        assert!(matches!(
            status_error("s", "x", 404, "no such route"),
            DrawError::Rejected(_)
        ));
    }
}
