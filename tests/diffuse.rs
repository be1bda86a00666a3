//! `spectral-diffusion diffuse` against the in-process fake ComfyUI and A1111 servers of
//! `fake_servers` (written from their documented APIs, DESIGN.md §14): each records every
//! request, so the tests check what the client sent, and draws a frame as a function of the seed
//! and denoise it was sent only, so any server's result is the expected one.

// Each test crate uses its own part of the shared helpers.
#[allow(dead_code)]
mod common;
mod fake_servers;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{assert_success, cli, has_ffmpeg, path_arg, probe, song, to_i16, write_wav_i16};
use fake_servers::{
    CHECKPOINT, Comfy, Fake, HoldAt, comfy, drawn_png, multipart_fields, start_a1111, start_comfy,
    start_comfy_holding,
};
use serde_json::{Value, json};
use tempfile::TempDir;

/// 0.5 s of the test song at 12 fps, 64 px: an output folder of 6 guide frames.
fn render_folder(dir: &Path) -> PathBuf {
    let wav = dir.join("song.wav");
    write_wav_i16(&wav, &to_i16(&song(44_100, 0.5)), 44_100);
    let out = dir.join("out");
    assert_success(&cli(&[
        "render",
        path_arg(&wav),
        "--fps",
        "12",
        "--size",
        "64",
        "--out",
        path_arg(&out),
        "--quiet",
    ]));
    out
}

const NUM_FRAMES: u64 = 6;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `diffuse FOLDER --server A [--server B …] --quiet` plus `extra`.
fn diffuse(folder: &Path, servers: &[&Fake], extra: &[&str]) -> Output {
    let mut args = vec!["diffuse", path_arg(folder), "--quiet", "--timeout", "20"];
    for server in servers {
        args.extend(["--server", server.url.as_str()]);
    }
    args.extend(extra);
    cli(&args)
}

/// The drawn frames in `diffused/` with their bytes; every other file's name.
fn diffused(folder: &Path) -> (BTreeMap<u64, Vec<u8>>, BTreeSet<String>) {
    let mut frames = BTreeMap::new();
    let mut others = BTreeSet::new();
    for entry in fs::read_dir(folder.join("diffused")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        match name.strip_suffix(".png").and_then(|stem| stem.parse().ok()) {
            Some(frame_idx) => {
                frames.insert(frame_idx, fs::read(&path).unwrap());
            }
            None => {
                others.insert(name);
            }
        }
    }
    (frames, others)
}

/// Frames 0..N-1, each the fake model's drawing of seed k at `denoise(k)`, and the ledger.
fn assert_all_drawn(folder: &Path, denoise: impl Fn(u64) -> f64) {
    let (frames, others) = diffused(folder);
    assert_eq!(
        frames.keys().copied().collect::<Vec<_>>(),
        (0..NUM_FRAMES).collect::<Vec<_>>()
    );
    for (frame_idx, bytes) in &frames {
        assert_eq!(
            *bytes,
            drawn_png(*frame_idx, denoise(*frame_idx)),
            "frame {frame_idx}"
        );
    }
    assert_eq!(others, BTreeSet::from(["ledger.jsonl".to_owned()]));
}

/// Each frame in the ledger once, done.
fn ledger_frames(folder: &Path) -> Vec<u64> {
    fs::read_to_string(folder.join("diffused/ledger.jsonl"))
        .unwrap()
        .lines()
        .map(|line| {
            let entry: Value = serde_json::from_str(line).unwrap();
            assert_eq!(entry["status"], "done");
            entry["frame"].as_u64().unwrap()
        })
        .collect()
}

/// ComfyUI's whole round: the guide uploaded byte for byte into one subfolder with overwrite, the
/// built-in workflow submitted with typed values and the client's id, the result fetched from
/// `/view`; the folder then holds exactly frames 0..N-1 with the server's bytes.
#[test]
fn comfyui_round_trip_writes_every_frame() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let server = start_comfy(comfy(0));
    let args = [
        "--checkpoint",
        CHECKPOINT,
        "--prompt",
        "a lake",
        "--negative",
        "blur",
        "--denoise",
        "0.4",
        "--seed",
        "0",
        "--steps",
        "12",
        "--cfg",
        "6.5",
    ];
    let output = diffuse(&folder, &[&server], &args);
    assert_success(&output);
    assert_all_drawn(&folder, |_| 0.4);
    let requests = server.requests();
    let mut subfolders = BTreeSet::new();
    for request in &requests {
        match request.url.as_str() {
            "/upload/image" => {
                assert_eq!(request.method, "POST");
                let (name, subfolder, file) = multipart_fields(&request.body);
                let text = String::from_utf8_lossy(&request.body);
                assert!(text.contains("name=\"type\"\r\n\r\ninput\r\n"));
                assert!(text.contains("name=\"overwrite\"\r\n\r\ntrue\r\n"));
                assert_eq!(file, fs::read(folder.join("frames").join(&name)).unwrap());
                subfolders.insert(subfolder);
            }
            "/prompt" => {
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                assert!(body["client_id"].as_str().is_some_and(|id| !id.is_empty()));
                let workflow = &body["prompt"];
                let sampler = &workflow["6"]["inputs"];
                assert_eq!(sampler["denoise"], json!(0.4));
                assert_eq!(sampler["steps"], json!(12));
                assert_eq!(sampler["cfg"], json!(6.5));
                assert!(sampler["seed"].is_u64());
                assert_eq!(workflow["2"]["inputs"]["text"], "a lake");
                assert_eq!(workflow["3"]["inputs"]["text"], "blur");
                assert_eq!(workflow["1"]["inputs"]["ckpt_name"], CHECKPOINT);
            }
            _ => {}
        }
    }
    assert_eq!(
        subfolders.len(),
        1,
        "one upload subfolder per output folder"
    );
    assert_each_frame_once(server.frames_sent(), "sent");
    assert_eq!(ledger_frames(&folder).len() as u64, NUM_FRAMES);

    // A rerun with nothing changed sends nothing.
    let before = server.requests().len();
    assert_success(&diffuse(&folder, &[&server], &args));
    assert_eq!(server.requests().len(), before);
}

/// Two servers of different speeds (the slow one without a websocket, so it is polled through
/// `/history`) share the frames: both draw some (their first prompts wait for each other, so
/// this does not hang on thread timing), every frame is drawn once.
#[test]
fn two_servers_share_the_frames() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let meet = Arc::new(Barrier::new(2));
    let fast = start_comfy(Comfy {
        meet: Some(Arc::clone(&meet)),
        ..comfy(0)
    });
    let slow = start_comfy(Comfy {
        no_websocket: true,
        meet: Some(meet),
        ..comfy(150)
    });
    assert_success(&diffuse(
        &folder,
        &[&fast, &slow],
        &["--checkpoint", CHECKPOINT],
    ));
    assert_all_drawn(&folder, |_| 0.5);
    let (on_fast, on_slow) = (fast.frames_sent(), slow.frames_sent());
    assert!(
        !on_fast.is_empty() && !on_slow.is_empty(),
        "{on_fast:?} {on_slow:?}"
    );
    assert_each_frame_once(on_fast.iter().chain(&on_slow).copied(), "sent");
    assert_each_frame_once(ledger_frames(&folder), "recorded");
}

/// A server that dies mid-run (its proxy answers 502, its websocket closes) with a frame in
/// flight: that frame and the rest finish on the other server, and the run succeeds.
#[test]
fn a_dying_servers_frames_finish_elsewhere() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let dying = start_comfy(Comfy {
        dies_after: Some(1),
        ..comfy(0)
    });
    let steady = start_comfy(comfy(30));
    let output = diffuse(&folder, &[&dying, &steady], &["--checkpoint", CHECKPOINT]);
    assert_success(&output);
    assert_all_drawn(&folder, |_| 0.5);
    assert!(stderr(&output).contains("502"), "{}", stderr(&output));
    assert_each_frame_once(ledger_frames(&folder), "recorded");
}

/// A ComfyUI that holds frame `frame_idx` until told, and `diffuse` on `folder` against it in a
/// child process (to be signalled), once the frame has reached the server: the server, the child,
/// and the sender that releases the frame.
fn diffuse_held_at(folder: &Path, frame_idx: u64) -> (Fake, std::process::Child, mpsc::Sender<()>) {
    let (server, reached_rx, release_tx) = start_comfy_holding(0, HoldAt::Frame(frame_idx));
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_spectral-diffusion"))
        .args([
            "diffuse",
            path_arg(folder),
            "--quiet",
            "--server",
            &server.url,
        ])
        .args(["--checkpoint", CHECKPOINT])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    reached_rx.recv_timeout(Duration::from_secs(60)).unwrap();
    (server, child, release_tx)
}

/// Ctrl-C while a frame is on the server: the run exits 130 with a consistent ledger, and the
/// rerun draws exactly the frames the first did not, nothing twice.
#[cfg(unix)]
#[test]
fn interrupt_then_resume_redoes_nothing() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let (server, child, release_tx) = diffuse_held_at(&folder, 3);
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    // The signal handler only sets a flag; give it its moment before the held frame finishes.
    std::thread::sleep(Duration::from_millis(100));
    release_tx.send(()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(
        stderr(&output).starts_with("interrupted"),
        "{}",
        stderr(&output)
    );
    let first: BTreeSet<u64> = ledger_frames(&folder).into_iter().collect();
    assert!(
        first.contains(&3) && (first.len() as u64) < NUM_FRAMES,
        "{first:?}"
    );
    let (frames, _) = diffused(&folder);
    assert_eq!(
        frames.keys().copied().collect::<BTreeSet<_>>(),
        first,
        "ledger and folder agree"
    );

    let before = server.requests().len();
    assert_success(&diffuse(&folder, &[&server], &["--checkpoint", CHECKPOINT]));
    let resent: BTreeSet<u64> = server.requests()[before..]
        .iter()
        .filter(|request| request.url == "/upload/image")
        .map(|request| multipart_fields(&request.body).0[..6].parse().unwrap())
        .collect();
    let rest: BTreeSet<u64> = (0..NUM_FRAMES)
        .filter(|frame| !first.contains(frame))
        .collect();
    assert_eq!(resent, rest);
    assert_all_drawn(&folder, |_| 0.5);
}

/// A server that hangs on a frame: the first Ctrl-C waits for it, the second exits at once with
/// 130, and the ledger still lists exactly the frames in the folder.
#[cfg(unix)]
#[test]
fn second_interrupt_abandons_a_hung_frame() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let (_server, child, release_tx) = diffuse_held_at(&folder, 2);
    for _ in 0..2 {
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
        // Two signals sent at once may arrive as one: the first must be handled before the second.
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    // The hung frame is abandoned. Which others were drawn depends on which of the two workers
    // queued its prompt first (frame 3 may be sampled before frame 2 is held, frame 0 may still
    // be on its way): asserting exactly {0, 1} failed 2 runs in 5 on main.
    let done: BTreeSet<u64> = ledger_frames(&folder).into_iter().collect();
    assert!(!done.contains(&2), "{done:?}");
    assert_eq!(
        diffused(&folder).0.keys().copied().collect::<BTreeSet<_>>(),
        done
    );
    drop(release_tx);
}

/// A denoise schedule from `schedule.csv`: each frame gets its row's value; changing two rows
/// redraws exactly those two frames.
#[test]
fn changed_denoise_schedule_redoes_exactly_the_changed_frames() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let server = start_comfy(comfy(0));
    let write_schedule = |denoise: &dyn Fn(u64) -> f64| {
        let mut csv = "frame,kick,strength\n".to_owned();
        for frame_idx in 0..NUM_FRAMES {
            csv.push_str(&format!("{frame_idx},0.1,{}\n", denoise(frame_idx)));
        }
        fs::write(folder.join("schedule.csv"), csv).unwrap();
    };
    let first = |frame_idx: u64| 0.3 + 0.05 * frame_idx as f64;
    write_schedule(&first);
    let args = ["--checkpoint", CHECKPOINT, "--denoise-from", "strength"];
    assert_success(&diffuse(&folder, &[&server], &args));
    assert_all_drawn(&folder, first);

    let second = |frame_idx: u64| {
        if frame_idx == 1 || frame_idx == 4 {
            0.9
        } else {
            first(frame_idx)
        }
    };
    write_schedule(&second);
    let before = server.requests().len();
    assert_success(&diffuse(&folder, &[&server], &args));
    let resent: Vec<u64> = server.requests()[before..]
        .iter()
        .filter(|request| request.url == "/upload/image")
        .map(|request| multipart_fields(&request.body).0[..6].parse().unwrap())
        .collect();
    let mut resent_sorted = resent.clone();
    resent_sorted.sort_unstable();
    assert_eq!(resent_sorted, vec![1, 4]);
    assert_all_drawn(&folder, second);
}

/// A checkpoint ComfyUI does not have: its 400 `node_errors` become one line quoting the node,
/// exit 1, nothing written.
#[test]
fn missing_checkpoint_quotes_node_errors() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let server = start_comfy(comfy(0));
    let output = diffuse(&folder, &[&server], &["--checkpoint", "sdxl.safetensors"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with(&format!(
            "error: {} refused the workflow: node 1 (CheckpointLoaderSimple): Value not in list: \
             ckpt_name: 'sdxl.safetensors' not in [\"{CHECKPOINT}\"] (checkpoint not installed",
            server.url
        )),
        "{text}"
    );
    assert!(diffused(&folder).0.is_empty());
}

/// A user's API-format workflow: placeholders filled typed; one without `{{image}}` is refused in
/// one line before anything is sent.
#[test]
fn user_workflow_is_filled_and_checked() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let server = start_comfy(comfy(0));
    let mut workflow: Value = json!({
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": CHECKPOINT}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "oil painting, {{prompt}}", "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{negative}}", "clip": ["1", 1]}},
        "4": {"class_type": "LoadImage", "inputs": {"image": "{{image}}"}},
        "5": {"class_type": "VAEEncode", "inputs": {"pixels": ["4", 0], "vae": ["1", 2]}},
        "6": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}", "steps": "{{steps}}", "cfg": "{{cfg}}",
            "sampler_name": "dpmpp_2m", "scheduler": "karras", "denoise": "{{denoise}}",
            "model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["5", 0]}},
        "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["1", 2]}},
        "8": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x", "images": ["7", 0]}}
    });
    let path = dir.path().join("workflow_api.json");
    fs::write(&path, workflow.to_string()).unwrap();
    assert_success(&diffuse(
        &folder,
        &[&server],
        &[
            "--workflow",
            path_arg(&path),
            "--prompt",
            "a lake",
            "--seed",
            "100",
        ],
    ));
    let prompts: Vec<Value> = server
        .requests()
        .iter()
        .filter(|request| request.url == "/prompt")
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect();
    assert_eq!(prompts.len() as u64, NUM_FRAMES);
    for prompt in &prompts {
        let workflow = &prompt["prompt"];
        assert_eq!(workflow["2"]["inputs"]["text"], "oil painting, a lake");
        assert_eq!(workflow["6"]["inputs"]["sampler_name"], "dpmpp_2m");
        let image = workflow["4"]["inputs"]["image"].as_str().unwrap();
        let frame_idx: u64 = image.rsplit('/').next().unwrap()[..6].parse().unwrap();
        assert_eq!(workflow["6"]["inputs"]["seed"], json!(100 + frame_idx));
    }

    workflow["4"]["inputs"]["image"] = json!("guide.png");
    fs::write(&path, workflow.to_string()).unwrap();
    let before = server.requests().len();
    let output = diffuse(&folder, &[&server], &["--workflow", path_arg(&path)]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output).lines().count(), 1);
    assert!(
        stderr(&output).contains("has no \"{{image}}\" placeholder"),
        "{}",
        stderr(&output)
    );
    assert_eq!(server.requests().len(), before, "nothing sent");
}

/// An unreachable server beside a working one is warned of while the other draws; alone, it ends the run
/// with its one error line, exit 3 (no warnings first: no other server could take the frames).
#[test]
fn unreachable_servers_are_dropped_then_reported() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let output = cli(&[
        "diffuse",
        path_arg(&folder),
        "--quiet",
        "--server",
        &closed,
        "--checkpoint",
        CHECKPOINT,
    ]);
    assert_eq!(output.status.code(), Some(3));
    let text = stderr(&output);
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with(&format!("error: no server left: {closed} is unreachable")),
        "{text}"
    );
    assert!(last.contains("(0 of 6 frames drawn"), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");

    let working = start_comfy(comfy(0));
    let output = cli(&[
        "diffuse",
        path_arg(&folder),
        "--quiet",
        "--server",
        &closed,
        "--server",
        &working.url,
        "--checkpoint",
        CHECKPOINT,
    ]);
    assert_success(&output);
    let text = stderr(&output);
    assert!(
        text.contains(&format!(
            "warning: {closed} is unreachable (connection refused): is the server running?; "
        )),
        "{text}"
    );
    assert_all_drawn(&folder, |_| 0.5);
}

/// A1111: every field of the documented img2img request, the guide as base64, the answer's
/// base64 image written as is.
#[test]
fn a1111_request_fields_are_right() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let server = start_a1111(None, Duration::ZERO);
    assert_success(&diffuse(
        &folder,
        &[&server],
        &[
            "--backend",
            "a1111",
            "--prompt",
            "a lake",
            "--negative",
            "blur",
            "--steps",
            "9",
            "--cfg",
            "5",
            "--denoise",
            "0.35",
        ],
    ));
    assert_all_drawn(&folder, |_| 0.35);
    let requests = server.requests();
    assert_eq!(requests.len() as u64, NUM_FRAMES);
    for request in requests {
        assert_eq!(
            (request.method.as_str(), request.url.as_str()),
            ("POST", "/sdapi/v1/img2img")
        );
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let frame_idx = body["seed"].as_u64().unwrap();
        let guide = fs::read(folder.join(format!("frames/{frame_idx:06}.png"))).unwrap();
        assert_eq!(
            BASE64
                .decode(body["init_images"][0].as_str().unwrap())
                .unwrap(),
            guide
        );
        assert_eq!(body["denoising_strength"], json!(0.35));
        assert_eq!(body["steps"], json!(9));
        assert_eq!(body["cfg_scale"], json!(5.0));
        assert_eq!(
            (body["width"].clone(), body["height"].clone()),
            (json!(64), json!(64))
        );
        assert_eq!(body["prompt"], "a lake");
        assert_eq!(body["negative_prompt"], "blur");
    }
}

/// A1111 answering HTTP 500 with its out-of-memory body: retried, then one line quoting the
/// server's message, exit 3, nothing in the ledger.
#[test]
fn http_500_quotes_the_servers_message() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let server = start_a1111(
        Some((
            500,
            json!({"error": "OutOfMemoryError", "detail": "", "body": "", "errors": "CUDA out of memory. Tried to allocate 20.00 MiB"}),
        )),
        Duration::ZERO,
    );
    let output = diffuse(&folder, &[&server], &["--backend", "a1111"]);
    assert_eq!(output.status.code(), Some(3));
    let text = stderr(&output);
    let last = text.lines().last().unwrap();
    assert_eq!(
        last,
        format!(
            "error: no server left: {}: img2img: HTTP 500: OutOfMemoryError: CUDA out of memory. \
             Tried to allocate 20.00 MiB (0 of 6 frames drawn; rerun to draw the rest)",
            server.url
        )
    );
    assert_eq!(
        server.requests().len(),
        3,
        "tried three times, then dropped"
    );
    assert!(ledger_frames(&folder).is_empty());
}

/// `--dry-run` prints the first request of each kind and sends nothing.
#[test]
fn dry_run_sends_nothing() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let server = start_comfy(comfy(0));
    let output = diffuse(
        &folder,
        &[&server],
        &["--checkpoint", CHECKPOINT, "--dry-run"],
    );
    assert_success(&output);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(&format!("POST {}/upload/image", server.url)),
        "{text}"
    );
    assert!(
        text.contains(&format!("POST {}/prompt", server.url)),
        "{text}"
    );
    assert!(
        text.contains("\"ckpt_name\": \"v1-5-pruned-emaonly.safetensors\""),
        "{text}"
    );
    assert!(server.requests().is_empty());
    assert!(!folder.join("diffused").exists());
}

/// `--video` muxes the drawn frames (not the guides) with the song into `diffused.mp4`: one video
/// frame per guide frame, the server's 4×4 pictures.
#[test]
fn video_is_made_of_the_drawn_frames() {
    if !has_ffmpeg() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let server = start_a1111(None, Duration::ZERO);
    let output = cli(&[
        "diffuse",
        path_arg(&folder),
        "--quiet",
        "--backend",
        "a1111",
        "--server",
        &server.url,
        "--video",
        "--audio",
        path_arg(&dir.path().join("song.wav")),
    ]);
    assert_success(&output);
    let video = probe(&folder.join("diffused.mp4"), "v:0");
    assert_eq!((video.num_frames, video.width), (NUM_FRAMES, 4));
    assert_eq!(video.r_frame_rate, "12/1");
    assert!(probe(&folder.join("diffused.mp4"), "a:0").duration_s > 0.4);
}

/// ComfyUI running out of memory (`execution_error` on the websocket): the server is retried,
/// then dropped, and the run ends with one line quoting the node and CUDA's message, exit 3.
#[test]
fn comfyui_out_of_memory_is_reported() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let server = start_comfy(Comfy {
        out_of_memory: true,
        ..comfy(0)
    });
    let output = diffuse(&folder, &[&server], &["--checkpoint", CHECKPOINT]);
    assert_eq!(output.status.code(), Some(3));
    let text = stderr(&output);
    assert_eq!(
        text.lines().last().unwrap(),
        format!(
            "error: no server left: {}: node 6 (KSampler) failed: torch.OutOfMemoryError: CUDA out \
             of memory. Tried to allocate 1.50 GiB (out of memory on the server) (0 of 6 frames \
             drawn; rerun to draw the rest)",
            server.url
        )
    );
    let prompts = server
        .requests()
        .iter()
        .filter(|request| request.url == "/prompt")
        .count();
    assert_eq!(prompts, 3, "tried three times, then dropped");
}

/// `--denoise-from` a target's name: `schedule` writes every target as a column of
/// `schedule.csv` beside the lanes, and each frame is drawn at its row's value.
#[test]
fn denoise_from_a_target_of_schedule() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    assert_success(&cli(&[
        "schedule",
        path_arg(&folder),
        "--lane",
        "kick=30-120",
        "--target",
        "strength_schedule=kick,min=0.3,max=0.6",
        "--quiet",
    ]));
    let csv = fs::read_to_string(folder.join("schedule.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("frame,kick,strength_schedule"));
    let strength: Vec<f64> = lines
        .map(|line| line.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(strength.len() as u64, NUM_FRAMES);
    let server = start_comfy(comfy(0));
    let args = [
        "--checkpoint",
        CHECKPOINT,
        "--denoise-from",
        "strength_schedule",
    ];
    assert_success(&diffuse(&folder, &[&server], &args));
    assert_all_drawn(&folder, |frame_idx| strength[frame_idx as usize]);
}

/// A server taking 200 ms a frame, with the default settings: each time it finishes a frame the
/// next is already queued, so it never waits for us; only after the last frame is its queue
/// empty. With `--in-flight 1` it waits after every frame (what this test would catch).
#[test]
fn default_settings_keep_a_server_busy() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let server = start_comfy(comfy(200));
    assert_success(&diffuse(&folder, &[&server], &["--checkpoint", CHECKPOINT]));
    assert_all_drawn(&folder, |_| 0.5);
    assert_eq!(
        *server.idle_after.lock().unwrap(),
        vec![NUM_FRAMES as usize]
    );

    fs::remove_dir_all(folder.join("diffused")).unwrap();
    let server = start_comfy(comfy(200));
    let args = ["--checkpoint", CHECKPOINT, "--in-flight", "1"];
    assert_success(&diffuse(&folder, &[&server], &args));
    assert_eq!(
        *server.idle_after.lock().unwrap(),
        (1..=NUM_FRAMES as usize).collect::<Vec<_>>()
    );
}

/// A server that hangs with two frames queued, then dies (502s, its websockets closed): both
/// frames are drawn on the other server, each once, and the run succeeds.
#[test]
fn a_server_dying_with_two_frames_gives_both_back() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    // The steady server samples nothing before the other one dies: frames are left for it.
    let meet = Arc::new(Barrier::new(2));
    let dying = start_comfy(Comfy {
        dies_holding: Some(2),
        meet: Some(Arc::clone(&meet)),
        ..comfy(0)
    });
    let steady = start_comfy(Comfy {
        meet: Some(meet),
        ..comfy(0)
    });
    let output = diffuse(&folder, &[&dying, &steady], &["--checkpoint", CHECKPOINT]);
    assert_success(&output);
    assert_all_drawn(&folder, |_| 0.5);
    let held: Vec<u64> = dying
        .requests()
        .iter()
        .filter(|request| request.url == "/prompt")
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            body["prompt"]["6"]["inputs"]["seed"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(held.len(), 2, "{held:?}");
    // Every frame, the two held ones included, went to the steady server once.
    assert_each_frame_once(steady.frames_sent(), "sent to the steady server");
    assert_each_frame_once(ledger_frames(&folder), "recorded");
}

/// A1111: while a frame is on the server, the client asks `/sdapi/v1/progress` (without the
/// preview image) how far its sampler is, for the bar.
#[test]
fn a1111_progress_is_polled_during_a_frame() {
    let dir = TempDir::new().unwrap();
    let folder = render_folder(dir.path());
    let server = start_a1111(None, Duration::from_millis(1200));
    let args = ["--backend", "a1111", "--in-flight", "6"];
    assert_success(&diffuse(&folder, &[&server], &args));
    assert_all_drawn(&folder, |_| 0.5);
    let polls = server
        .requests()
        .iter()
        .filter(|request| request.url == "/sdapi/v1/progress?skip_current_image=true")
        .count();
    assert!(
        polls >= 6,
        "each frame's worker polled at least once: {polls}"
    );
}

/// `frames` hold every frame of the render exactly once, in any order.
fn assert_each_frame_once(frames: impl IntoIterator<Item = u64>, what: &str) {
    let mut frames: Vec<u64> = frames.into_iter().collect();
    frames.sort_unstable();
    assert_eq!(
        frames,
        (0..NUM_FRAMES).collect::<Vec<_>>(),
        "each frame {what} once"
    );
}
