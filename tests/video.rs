//! `spectral-diffusion video`: the mp4 has the manifest's frames at its exact rate and the audio
//! ends with the video, checked with ffprobe; a missing ffmpeg is one clear line; frames the folder
//! lacks are black at their place on the timeline; `render --demo` leaves its audio in the folder.

// Each test crate uses its own part of the shared helpers.
#[allow(dead_code)]
mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{assert_success, cli, has_ffmpeg, path_arg, probe, song, to_i16, write_wav_i16};
use serde_json::Value;
use tempfile::TempDir;

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// A 64 px render of `seconds` of the test song at `fps` into `dir/out`; the WAV's path.
fn render_song(dir: &Path, seconds: f64, fps: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let wav = dir.join("song.wav");
    write_wav_i16(&wav, &to_i16(&song(44_100, seconds)), 44_100);
    let out = dir.join("out");
    assert_success(&cli(&[
        "render",
        path_arg(&wav),
        "--fps",
        fps,
        "--size",
        "64",
        "--out",
        path_arg(&out),
        "--quiet",
    ]));
    (wav, out)
}

/// The mp4 holds exactly the manifest's frames at its rational rate, and both streams last as
/// long as those frames, within one frame: at 24 fps and at 29.97 fps (30000/1001), for a song
/// whose length is no whole number of frames (the audio is padded to the last frame's end).
#[test]
fn video_matches_the_manifest_at_24_and_29_97_fps() {
    if !has_ffmpeg() {
        return;
    }
    for (fps, rate) in [("24", "24/1"), ("29.97", "30000/1001")] {
        let dir = TempDir::new().unwrap();
        let (_, out) = render_song(dir.path(), 7.3, fps);
        let output = cli(&["video", path_arg(&out)]);
        assert_success(&output);
        let manifest = manifest(&out);
        let num_frames = manifest["frames_written"].as_u64().unwrap();
        let (num, den) = (
            manifest["fps"]["num"].as_f64().unwrap(),
            manifest["fps"]["den"].as_f64().unwrap(),
        );
        let frame_s = den / num;
        let expected_s = num_frames as f64 * frame_s;
        // 7.3 s is 175.2 frames at 24 fps and 218.8 at 29.97: the last frame is partly audio.
        assert_eq!(
            num_frames,
            (7.3 * num / den).ceil() as u64,
            "{fps}: render's frame count"
        );
        let mp4 = out.join("video.mp4");
        let video = probe(&mp4, "v:0");
        let audio = probe(&mp4, "a:0");
        assert_eq!(video.r_frame_rate, rate, "{fps}: rate");
        assert!(
            video.num_frames.abs_diff(num_frames) <= 1,
            "{fps}: {} frames in the mp4, {num_frames} in the manifest",
            video.num_frames
        );
        assert!(
            (video.duration_s - expected_s).abs() <= frame_s,
            "{fps}: video {} s, frames {expected_s} s",
            video.duration_s
        );
        assert!(
            (audio.duration_s - expected_s).abs() <= frame_s,
            "{fps}: audio {} s, frames {expected_s} s",
            audio.duration_s
        );
        assert!(
            (audio.duration_s - 7.3).abs() <= frame_s,
            "{fps}: the song's 7.3 s became {} s",
            audio.duration_s
        );
        assert!(out.join("video.log").is_file(), "ffmpeg's log is kept");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("ffmpeg version"), "ffmpeg spoke: {stderr}");
    }
}

/// The demo rendered into `out` without frame images: the manifest and the demo's audio.
fn render_demo_csv_only(out: &Path) {
    assert_success(&cli(&[
        "render",
        "--demo",
        "--csv-only",
        "--out",
        path_arg(out),
        "--quiet",
    ]));
}

/// Without ffmpeg on PATH, `video` says so in one line naming the package, exits 3, writes nothing.
#[test]
fn video_without_ffmpeg_names_the_package() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    render_demo_csv_only(&out);
    let empty = dir.path().join("empty-path");
    fs::create_dir(&empty).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_spectral-diffusion"))
        .args(["video", path_arg(&out)])
        .env("PATH", &empty)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("apt-get install ffmpeg"), "{stderr}");
    assert!(!out.join("video.mp4").exists());
}

/// Frame k of the video is timeline frame k: frames a folder lacks (a take's gap) are black in
/// their place, and the frames after them keep their times.
#[test]
fn missing_frames_are_black_in_their_place() {
    if !has_ffmpeg() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let (_, out) = render_song(dir.path(), 2.0, "24");
    // As a plugin session with takes over frames 0–9 and 20–47 leaves it.
    let mut manifest = manifest(&out);
    manifest["frame_ranges"] = serde_json::json!([[0, 9], [20, 47]]);
    fs::write(
        out.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    for k in 10..20 {
        fs::remove_file(out.join(format!("frames/{k:06}.png"))).unwrap();
    }
    assert_success(&cli(&["video", path_arg(&out)]));
    let mp4 = out.join("video.mp4");
    assert_eq!(probe(&mp4, "v:0").num_frames, 48);
    for (frame_idx, is_black) in [(5, false), (15, true), (25, false)] {
        let mean = mean_luma(&mp4, frame_idx);
        // Black in limited-range YUV is 16; a guide frame's noise field averages far above it.
        assert_eq!(mean < 20.0, is_black, "frame {frame_idx}: mean luma {mean}");
    }
}

/// The mean luma (0..255) of frame `frame_idx` of `mp4`, decoded by ffmpeg.
fn mean_luma(mp4: &Path, frame_idx: u64) -> f64 {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(mp4)
        .args([
            "-vf",
            &format!("select=eq(n\\,{frame_idx})"),
            "-frames:v",
            "1",
            "-pix_fmt",
            "gray",
            "-f",
            "rawvideo",
            "-",
        ])
        .output()
        .unwrap();
    assert_success(&output);
    assert!(!output.stdout.is_empty(), "frame {frame_idx} decoded");
    output.stdout.iter().map(|&v| f64::from(v)).sum::<f64>() / output.stdout.len() as f64
}

/// `--side-by-side` puts each output frame beside its guide (twice the width) and names the first
/// output frame that is missing.
#[test]
fn side_by_side_needs_every_output_frame() {
    if !has_ffmpeg() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let (_, out) = render_song(dir.path(), 1.0, "24");
    let outputs = dir.path().join("img2img");
    fs::create_dir(&outputs).unwrap();
    // Named as ComfyUI names its outputs; skip frames 7 and 9.
    for k in (0..24).filter(|&k| k != 7 && k != 9) {
        fs::copy(
            out.join(format!("frames/{k:06}.png")),
            outputs.join(format!("ComfyUI_{k:05}_.png")),
        )
        .unwrap();
    }
    let output = cli(&[
        "video",
        path_arg(&out),
        "--side-by-side",
        path_arg(&outputs),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("numbered 7 "), "{stderr}");
    assert!(!out.join("side-by-side.mp4").exists());

    for k in [7, 9] {
        fs::copy(
            out.join(format!("frames/{k:06}.png")),
            outputs.join(format!("ComfyUI_{k:05}_.png")),
        )
        .unwrap();
    }
    assert_success(&cli(&[
        "video",
        path_arg(&out),
        "--side-by-side",
        path_arg(&outputs),
    ]));
    let video = probe(&out.join("side-by-side.mp4"), "v:0");
    assert_eq!((video.num_frames, video.width), (24, 128));
}

/// The demo folder holds the demo's audio, named by the manifest, as long as the render.
#[test]
fn demo_folder_holds_its_audio() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("demo");
    render_demo_csv_only(&out);
    let manifest = manifest(&out);
    assert_eq!(manifest["audio"], "demo.wav");
    let reader = hound::WavReader::open(out.join("demo.wav")).unwrap();
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.sample_rate), (2, 48_000));
    let num_frames = manifest["frames_written"].as_u64().unwrap();
    let frames_of_audio = (u64::from(reader.duration()) * 24).div_ceil(48_000);
    assert_eq!(frames_of_audio, num_frames);
    // Not silence: the demo's peak is -1.5 dBFS.
    let peak = reader
        .into_samples::<i16>()
        .map(|sample| sample.unwrap().unsigned_abs())
        .max()
        .unwrap();
    assert!(peak > 27_000, "peak {peak}");
}
