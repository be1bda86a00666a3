//! Worker threads: the AUTOMATIC1111 / Forge backend (started with `--api`, DESIGN.md §14): one
//! `POST /sdapi/v1/img2img` per frame, the guide as base64 in `init_images`, the drawn frame as
//! base64 in the answer's `images[0]`. While the frame is on the server, `GET
//! /sdapi/v1/progress` says how far its sampler is.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use crossbeam_channel::RecvTimeoutError;
use serde_json::Value;

use super::{
    Backend, DrawError, Drawn, FrameJob, FrameSettings, http_agent, read_answer, sha256_hex,
    short_body, status_error,
};

/// How often a server is asked how far it is while a frame is on it; also the longest such a
/// question may take.
const PROGRESS_POLL: Duration = Duration::from_millis(500);

/// What every worker on every A1111 server shares.
#[derive(Debug)]
pub struct A1111Job {
    /// The size to draw at: the guide frames' own.
    pub width: u32,
    pub height: u32,
    /// The longest one frame may take.
    pub timeout: Duration,
}

impl A1111Job {
    /// The request body for one frame; `init_image` is the guide's base64.
    pub fn body(&self, settings: &FrameSettings, init_image: &str) -> Value {
        serde_json::json!({
            "init_images": [init_image],
            "denoising_strength": settings.denoise,
            "seed": settings.seed,
            "steps": settings.steps,
            "cfg_scale": settings.cfg,
            "width": self.width,
            "height": self.height,
            "prompt": settings.prompt,
            "negative_prompt": settings.negative,
        })
    }

    /// Hex SHA-256 of the request body with the image left out.
    pub fn settings_hash(&self, settings: &FrameSettings) -> String {
        sha256_hex(format!("a1111\n{}", self.body(settings, "")).as_bytes())
    }

    /// The request the first frame makes, as text, for `--dry-run`.
    pub fn describe(&self, server: &str, job: &FrameJob, guide_len: usize) -> String {
        let body = self.body(
            &job.settings,
            &format!(
                "<base64 of frames/{:06}.png, {guide_len} bytes>",
                job.frame_idx
            ),
        );
        format!(
            "POST {server}/sdapi/v1/img2img\n{}",
            serde_json::to_string_pretty(&body).expect("JSON values serialize")
        )
    }
}

/// One worker's connection to one A1111 server.
pub struct A1111 {
    server: String,
    job: Arc<A1111Job>,
    agent: ureq::Agent,
}

impl A1111 {
    pub fn new(server: &str, job: Arc<A1111Job>) -> Self {
        Self {
            server: server.to_owned(),
            agent: http_agent(job.timeout),
            job,
        }
    }
}

impl A1111 {
    /// `POST /sdapi/v1/img2img` on a thread of its own, while this one polls the server's
    /// progress for `progress`: the answer's status and body.
    fn img2img(
        &self,
        body: &[u8],
        progress: &mut dyn FnMut(f64),
    ) -> Result<(u16, Vec<u8>), DrawError> {
        let (agent, server) = (&self.agent, self.server.as_str());
        std::thread::scope(|scope| {
            let (answer_tx, answer_rx) = crossbeam_channel::bounded(1);
            scope.spawn(move || {
                let sent = agent
                    .post(format!("{server}/sdapi/v1/img2img"))
                    .header("Content-Type", "application/json")
                    .send(body);
                let _ = answer_tx.send(read_answer(server, sent));
            });
            loop {
                match answer_rx.recv_timeout(PROGRESS_POLL) {
                    Ok(answer) => return answer,
                    Err(RecvTimeoutError::Timeout) => {
                        if let Some(fraction) = self.progress() {
                            progress(fraction);
                        }
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        unreachable!("the request's thread answers before it ends")
                    }
                }
            }
        })
    }

    /// `GET /sdapi/v1/progress`: how far the sampler is with the server's current frame; `None`
    /// when the server does not say (an old build, a proxy, a slow answer).
    fn progress(&self) -> Option<f64> {
        let sent = self
            .agent
            .get(format!("{}/sdapi/v1/progress", self.server))
            .query("skip_current_image", "true")
            .config()
            .timeout_global(Some(PROGRESS_POLL))
            .build()
            .call();
        let (status, bytes) = read_answer(&self.server, sent).ok()?;
        let json: Value = serde_json::from_slice(&bytes)
            .ok()
            .filter(|_| status == 200)?;
        json["progress"]
            .as_f64()
            .filter(|fraction| (0.0..=1.0).contains(fraction))
    }
}

impl Backend for A1111 {
    fn draw(
        &mut self,
        job: &FrameJob,
        guide_png: &[u8],
        progress: &mut dyn FnMut(f64),
    ) -> Result<Drawn, DrawError> {
        let body = self.job.body(&job.settings, &BASE64.encode(guide_png));
        let (status, bytes) = self.img2img(body.to_string().as_bytes(), progress)?;
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        if status != 200 {
            let message = json
                .as_ref()
                .map_or_else(|| short_body(&bytes), error_message);
            return Err(status_error(&self.server, "img2img", status, &message));
        }
        let image = json
            .as_ref()
            .and_then(|json| json["images"][0].as_str())
            .ok_or_else(|| {
                DrawError::Server(format!(
                    "{}: img2img answered without images: {}",
                    self.server,
                    short_body(&bytes)
                ))
            })?;
        // Some builds prefix a data URL.
        let image = image.rsplit_once("base64,").map_or(image, |(_, data)| data);
        let png = BASE64.decode(image).map_err(|error| {
            DrawError::Server(format!(
                "{}: img2img's image is not base64: {error}",
                self.server
            ))
        })?;
        Ok(Drawn {
            png,
            execution: None,
            queued: None,
        })
    }
}

/// A1111's error bodies: `{"error", "detail", "body", "errors"}` from its exception handler, or
/// FastAPI's `{"detail": …}` (a validation error's list) — as one line.
fn error_message(json: &Value) -> String {
    let mut parts = Vec::new();
    for key in ["error", "errors", "detail"] {
        match &json[key] {
            Value::String(text) if !text.is_empty() => parts.push(text.clone()),
            Value::Null => {}
            Value::String(_) => {}
            other => parts.push(other.to_string()),
        }
    }
    if parts.is_empty() {
        parts.push(json.to_string());
    }
    short_body(parts.join(": ").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exception handler's fields and FastAPI's validation detail both read as one line.
    #[test]
    fn error_bodies_read_as_one_line() {
        let oom = serde_json::json!({"error": "OutOfMemoryError", "detail": "", "body": "",
            "errors": "CUDA out of memory. Tried to allocate 2.00 GiB"});
        assert_eq!(
            error_message(&oom),
            "OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
        );
        let invalid = serde_json::json!({"detail": [{"loc": ["body", "steps"], "msg": "value is not a valid integer"}]});
        assert!(error_message(&invalid).contains("value is not a valid integer"));
    }
}
