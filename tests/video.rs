//! `spectral-diffusion video`: the mp4 has the manifest's frames at its exact rate and the audio
//! ends with the video, checked with ffprobe; a missing ffmpeg is one clear line; frames the folder
//! lacks are black at their place on the timeline; `render --demo` leaves its audio in the folder.

// Each test crate uses its own part of the shared helpers.
#[allow(dead_code)]
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_success, cli, has_ffmpeg, path_arg, probe, song, to_i16, write_wav_i16};
use serde_json::Value;
use tempfile::TempDir;

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// A 64 px render of `seconds` of the test song at `fps` into `dir/out`; the WAV's path.
fn render_song(dir: &Path, seconds: f64, fps: &str) -> (PathBuf, PathBuf) {
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
    let grey = decoded_frame(mp4, frame_idx, "gray");
    grey.iter().map(|&v| f64::from(v)).sum::<f64>() / grey.len() as f64
}

/// Frame `frame_idx` of `video` in `pixel_format` (ffmpeg's name), decoded by ffmpeg.
fn decoded_frame(video: &Path, frame_idx: u64, pixel_format: &str) -> Vec<u8> {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(video)
        .args([
            "-vf",
            &format!("select=eq(n\\,{frame_idx})"),
            "-frames:v",
            "1",
            "-pix_fmt",
            pixel_format,
            "-f",
            "rawvideo",
            "-",
        ])
        .output()
        .unwrap();
    assert_success(&output);
    assert!(!output.stdout.is_empty(), "frame {frame_idx} decoded");
    output.stdout
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

/// `seconds` of the test song at `dir/name`, an Ogg Vorbis made by ffmpeg (libvorbis).
fn long_ogg(dir: &Path, seconds: f64) -> PathBuf {
    let wav = dir.join("long.wav");
    write_wav_i16(&wav, &to_i16(&song(44_100, seconds)), 44_100);
    let ogg = dir.join("long.ogg");
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&wav)
        .args(["-c:a", "libvorbis", "-q:a", "4"])
        .arg(&ogg)
        .output()
        .unwrap();
    assert_success(&output);
    ogg
}

/// Both streams of `video` last `expected_s`, within one frame at 24 fps.
fn assert_streams_last(video: &Path, expected_s: f64, case: &str) {
    let frame_s = 1.0 / 24.0;
    let (video_s, audio_s) = (
        probe(video, "v:0").duration_s,
        probe(video, "a:0").duration_s,
    );
    assert!(
        (video_s - audio_s).abs() <= frame_s,
        "{case}: video {video_s} s, audio {audio_s} s"
    );
    assert!(
        (video_s - expected_s).abs() <= frame_s,
        "{case}: video {video_s} s, expected {expected_s} s"
    );
}

/// The largest difference between the channels of one pixel, over the frame: 0 for grey.
fn colourfulness(rgb: &[u8]) -> u8 {
    rgb.chunks_exact(3)
        .map(|pixel| pixel.iter().max().unwrap() - pixel.iter().min().unwrap())
        .max()
        .unwrap()
}

/// Longer audio on a grey, an RGB and a mixed folder (grey PNGs switching to RGB and back), and
/// side-by-side with mixed outputs: the video runs on in black to the audio's end, and both
/// streams end together; the mixed folder's frames keep their colours.
#[test]
fn audio_and_video_end_together_in_grey_rgb_and_mixed_folders() {
    if !has_ffmpeg() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let ogg = long_ogg(dir.path(), 4.0);
    let (wav, grey) = render_song(dir.path(), 2.0, "24");
    let rgb = dir.path().join("rgb");
    assert_success(&cli(&[
        "render",
        path_arg(&wav),
        "--size",
        "64",
        "--color",
        "--out",
        path_arg(&rgb),
        "--quiet",
    ]));
    // Frames 12–23 and 36–47 of the grey render in colour.
    let mixed = dir.path().join("mixed");
    copy_dir(&grey, &mixed);
    for k in (12..24).chain(36..48) {
        let name = format!("frames/{k:06}.png");
        fs::copy(rgb.join(&name), mixed.join(&name)).unwrap();
    }
    for (case, folder) in [("grey", &grey), ("rgb", &rgb), ("mixed", &mixed)] {
        assert_success(&cli(&[
            "video",
            path_arg(folder),
            "--audio",
            path_arg(&ogg),
        ]));
        let video = folder.join("video.mp4");
        assert_eq!(probe(&video, "v:0").num_frames, 96, "{case}");
        assert_streams_last(&video, 4.0, case);
    }
    let video = mixed.join("video.mp4");
    for (frame_idx, is_colour) in [(6, false), (18, true), (30, false), (42, true)] {
        let colour = colourfulness(&decoded_frame(&video, frame_idx, "rgb24"));
        assert_eq!(colour > 40, is_colour, "mixed frame {frame_idx}: {colour}");
    }

    // img2img outputs as ComfyUI numbers them, grey then RGB.
    let outputs = dir.path().join("outputs");
    fs::create_dir(&outputs).unwrap();
    for k in 0..48 {
        let from = if k < 24 { &grey } else { &rgb };
        fs::copy(
            from.join(format!("frames/{k:06}.png")),
            outputs.join(format!("ComfyUI_{:05}_.png", k + 1)),
        )
        .unwrap();
    }
    let output = cli(&[
        "video",
        path_arg(&grey),
        "--side-by-side",
        path_arg(&outputs),
        "--audio",
        path_arg(&ogg),
    ]);
    assert_success(&output);
    let video = grey.join("side-by-side.mp4");
    assert_eq!(probe(&video, "v:0").width, 128);
    assert_streams_last(&video, 4.0, "side-by-side");
}

/// A copy of the files of `from` (and of its sub-folders) in `to`.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

/// A 64×64 grey PNG of one `level`.
fn write_level_png(path: &Path, level: u8) {
    let file = fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), 64, 64);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[level; 64 * 64]).unwrap();
}

/// The level of the output picture for guide frame k: 40, 48, … 224.
fn level_of(frame_idx: u64) -> u8 {
    40 + 8 * frame_idx as u8
}

/// Each guide frame k of `video` has beside it the picture of level `level_of(k)`: the mean of
/// the right half of frame k, in RGB.
fn assert_paired(video: &Path, case: &str) {
    for frame_idx in [0, 1, 12, 23] {
        let rgb = decoded_frame(video, frame_idx, "rgb24");
        let right: Vec<u8> = rgb
            .chunks_exact(128 * 3)
            .flat_map(|row| row[64 * 3..].iter().copied())
            .collect();
        let mean = right.iter().map(|&v| f64::from(v)).sum::<f64>() / right.len() as f64;
        let expected = f64::from(level_of(frame_idx));
        assert!(
            (mean - expected).abs() < 3.0,
            "{case}: frame {frame_idx} has {mean} beside it, not {expected}"
        );
    }
}

/// The outputs of ComfyUI count from 1 (`ComfyUI_00001_.png` is guide frame 0), in a folder that
/// also holds an older file numbered 0: each guide is paired with its own output, and one line
/// says which pairing was used.
#[test]
fn side_by_side_finds_comfyui_numbering_from_1() {
    if !has_ffmpeg() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let (_, out) = render_song(dir.path(), 1.0, "24");
    let outputs = dir.path().join("output");
    fs::create_dir(&outputs).unwrap();
    for k in 0..24 {
        write_level_png(
            &outputs.join(format!("ComfyUI_{:05}_.png", k + 1)),
            level_of(k),
        );
    }
    write_level_png(&outputs.join("sketch_0.png"), 0);
    let output = cli(&[
        "video",
        path_arg(&out),
        "--side-by-side",
        path_arg(&outputs),
    ]);
    assert_success(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let pairing: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("paired"))
        .collect();
    assert_eq!(pairing.len(), 1, "{stderr}");
    assert!(
        pairing[0].contains("ComfyUI_#####_.png number k+1")
            && pairing[0].contains("ComfyUI_00001_.png to ComfyUI_00024_.png")
            && pairing[0].contains("1 other image there is not used"),
        "{stderr}"
    );
    assert_paired(&out.join("side-by-side.mp4"), "1-based");
}

/// A folder of several runs: ComfyUI's counter went on from an older run (1–24) to this one
/// (25–48), and another tool's run numbers from 0. Two runs fit: that is one line naming both
/// and the options; `--prefix` and `--offset` choose this one.
#[test]
fn side_by_side_of_several_runs_is_chosen_by_prefix_and_offset() {
    if !has_ffmpeg() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let (_, out) = render_song(dir.path(), 1.0, "24");
    let outputs = dir.path().join("output");
    fs::create_dir(&outputs).unwrap();
    for k in 0..24 {
        write_level_png(&outputs.join(format!("ComfyUI_{:05}_.png", k + 1)), 250);
        write_level_png(
            &outputs.join(format!("ComfyUI_{:05}_.png", k + 25)),
            level_of(k),
        );
        write_level_png(&outputs.join(format!("upscaled-{k:04}.png")), 10);
    }
    let side_by_side = [
        "video",
        path_arg(&out),
        "--side-by-side",
        path_arg(&outputs),
    ];
    let output = cli(&side_by_side);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("ComfyUI_#####_.png from 1")
            && stderr.contains("upscaled-####.png from 0")
            && stderr.contains("--prefix"),
        "{stderr}"
    );
    assert!(!out.join("side-by-side.mp4").exists());

    let chosen = [
        &side_by_side[..],
        &["--prefix", "ComfyUI", "--offset", "25"],
    ]
    .concat();
    let output = cli(&chosen);
    assert_success(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("number k+25 (ComfyUI_00025_.png to ComfyUI_00048_.png)"),
        "{stderr}"
    );
    assert_paired(&out.join("side-by-side.mp4"), "--offset 25");

    // Pairing options without outputs to pair are a usage error.
    let output = cli(&["video", path_arg(&out), "--offset", "1"]);
    assert_eq!(output.status.code(), Some(2));

    // An offset no file fits names the first missing one.
    let output = cli(&[
        &side_by_side[..],
        &["--prefix", "ComfyUI", "--offset", "30"],
    ]
    .concat());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no output frame numbered 49 (ComfyUI_00049_.png) for guide frame 19"),
        "{stderr}"
    );
}

/// The manifest of the render in `out` as an interrupted render leaves it: 24 of 48 frames.
fn interrupt(out: &Path) {
    let mut manifest = manifest(out);
    manifest["complete"] = false.into();
    manifest["frames_written"] = 24.into();
    manifest["frames_expected"] = 48.into();
    manifest["frame_ranges"] = serde_json::json!([[0, 23]]);
    fs::write(
        out.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    for k in 24..48 {
        fs::remove_file(out.join(format!("frames/{k:06}.png"))).unwrap();
    }
}

/// An interrupted render is not made into a video without a word: one line says what to do;
/// `--partial` makes it, black where frames are missing.
#[test]
fn an_interrupted_render_needs_partial() {
    if !has_ffmpeg() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let (_, out) = render_song(dir.path(), 2.0, "24");
    interrupt(&out);
    let output = cli(&["video", path_arg(&out)]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: {} is an interrupted render (24 of 48 frames): run render --resume, or pass \
             --partial",
            out.display()
        )
    );
    assert!(!out.join("video.mp4").exists());

    assert_success(&cli(&["video", path_arg(&out), "--partial"]));
    let video = out.join("video.mp4");
    assert_eq!(probe(&video, "v:0").num_frames, 48);
    assert_streams_last(&video, 2.0, "--partial");
    assert!(mean_luma(&video, 36) < 20.0, "frame 36 is black");
}

/// `derived.json` of `out`.
fn derived(out: &Path) -> Value {
    serde_json::from_slice(&fs::read(out.join("derived.json")).unwrap()).unwrap()
}

/// The videos are recorded in `derived.json` with the render they were made from; `video`
/// replaces its own file but not the user's (one line, exit 3) unless `--force`; a video
/// outside the folder is recorded by its absolute path; a render at another rate removes them.
#[test]
fn videos_are_recorded_and_foreign_files_kept() {
    if !has_ffmpeg() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let (wav, out) = render_song(dir.path(), 1.0, "24");
    assert_success(&cli(&["video", path_arg(&out)]));
    let record = &derived(&out)["videos"][0];
    assert_eq!(record["file"], "video.mp4");
    assert_eq!(record["from"]["fps"], serde_json::json!([24, 1]));
    assert_eq!(record["from"]["frame_ranges"], serde_json::json!([[0, 23]]));
    // Ours: made again.
    assert_success(&cli(&["video", path_arg(&out)]));
    assert_eq!(derived(&out)["videos"].as_array().unwrap().len(), 1);

    let mine = out.join("mine.mp4");
    fs::write(&mine, b"the user's own film").unwrap();
    let output = cli(&["video", path_arg(&out), "--out", path_arg(&mine)]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("mine.mp4") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(fs::read(&mine).unwrap(), b"the user's own film");
    assert!(!out.join("mine.log").exists());
    assert_success(&cli(&[
        "video",
        path_arg(&out),
        "--out",
        path_arg(&mine),
        "--force",
    ]));
    assert_eq!(probe(&mine, "v:0").num_frames, 24);

    let elsewhere = dir.path().join("films/song.mp4");
    assert_success(&cli(&[
        "video",
        path_arg(&out),
        "--out",
        path_arg(&elsewhere),
    ]));
    let files: Vec<Value> = derived(&out)["videos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|video| video["file"].clone())
        .collect();
    let elsewhere_abs = fs::canonicalize(&elsewhere).unwrap();
    assert_eq!(
        files,
        [
            Value::from("video.mp4"),
            Value::from("mine.mp4"),
            Value::from(elsewhere_abs.to_str().unwrap())
        ]
    );

    // Another rate: the videos of the old render go, as render says.
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
    assert!(!out.join("video.mp4").exists() && !mine.exists() && !elsewhere.exists());
}

/// The container follows `--out`'s extension: Matroska, QuickTime and WebM are what their names
/// say; another extension is one usage line, and nothing is written.
#[test]
fn the_container_follows_the_name() {
    if !has_ffmpeg() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let (_, out) = render_song(dir.path(), 1.0, "24");
    for (name, format, video_codec, audio_codec) in [
        ("v.mkv", "matroska,webm", "h264", "aac"),
        ("v.mov", "mov,mp4,m4a,3gp,3g2,mj2", "h264", "aac"),
        ("v.webm", "matroska,webm", "vp9", "opus"),
    ] {
        let file = dir.path().join(name);
        assert_success(&cli(&["video", path_arg(&out), "--out", path_arg(&file)]));
        let (found_format, codecs) = format_and_codecs(&file);
        assert_eq!(found_format, format, "{name}");
        assert_eq!(codecs, [video_codec, audio_codec], "{name}");
    }
    // Matroska's own header, not MP4's `ftyp` box.
    let mkv = fs::read(dir.path().join("v.mkv")).unwrap();
    assert_eq!(&mkv[..4], b"\x1a\x45\xdf\xa3");

    let avi = dir.path().join("w.avi");
    let output = cli(&["video", path_arg(&out), "--out", path_arg(&avi)]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(".mkv"), "{stderr}");
    assert!(!avi.exists() && !dir.path().join("w.log").exists());
}

/// ffprobe's container name for `file`, and its streams' codecs.
fn format_and_codecs(file: &Path) -> (String, Vec<String>) {
    let json = common::ffprobe(file, &[], "format=format_name:stream=codec_name");
    let codecs = json["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|stream| stream["codec_name"].as_str().unwrap().to_owned())
        .collect();
    (
        json["format"]["format_name"].as_str().unwrap().to_owned(),
        codecs,
    )
}
