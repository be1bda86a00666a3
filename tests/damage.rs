//! Damaged and cut-off audio: the timeline survives (frame k still shows the audio at k/fps), each
//! damaged span is one warning, and `--strict` / `info --verify` turn damage into exit code 1.

// Each test crate uses its own part of the shared helpers.
#[allow(dead_code)]
mod common;

use common::{cli, ogg_pages, path_arg};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use spectral_diffusion::audio::decode::{Damage, FileSource, MonoSource};
use tempfile::TempDir;

const SAMPLE_RATE: u32 = 44_100;
/// Samples per video frame at 24 fps and 44.1 kHz.
const FRAME_LEN: f64 = 44_100.0 / 24.0;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Renders `input` CSV-only into `out` and expects success; returns stderr.
fn render_csv(input: &Path, out: &Path) -> String {
    let output = cli(&[
        "render",
        path_arg(input),
        "--out",
        path_arg(out),
        "--csv-only",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    stderr(&output)
}

/// The CSV's data rows, without the frame and time columns.
fn csv_values(out: &Path) -> Vec<Vec<f32>> {
    fs::read_to_string(out.join("spectrum.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            line.split(',')
                .skip(2)
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect()
}

fn manifest(out: &Path) -> Value {
    serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

fn warning_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.starts_with("warning: "))
        .collect()
}

/// Deterministic bytes that look like nothing in particular.
fn junk(len: usize) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// The centre sample of video frame k, where the default preset centres its window.
fn frame_centre(frame_idx: usize) -> usize {
    ((2 * frame_idx + 1) as f64 * FRAME_LEN / 2.0) as usize
}

/// `seconds` of quiet music with a full-scale click at the centre of frame `click_frame`, as
/// interleaved 16-bit stereo.
fn song_with_click(seconds: f64, click_frame: usize) -> Vec<i32> {
    let mut channels = common::song(SAMPLE_RATE, seconds);
    for channel in &mut channels {
        for sample in channel.iter_mut() {
            *sample *= 0.05;
        }
        channel[frame_centre(click_frame)] = 1.0;
    }
    common::to_i16(&channels)
}

/// The frame whose top half of bins (the highs, where the click stands out over the music) is
/// loudest.
fn loudest_frame(rows: &[Vec<f32>]) -> usize {
    let highs = |row: &Vec<f32>| row[row.len() / 2..].iter().sum::<f32>();
    (0..rows.len())
        .max_by(|&a, &b| highs(&rows[a]).total_cmp(&highs(&rows[b])))
        .unwrap()
}

/// Renders an intact and a damaged copy (bytes `damage` overwritten) of the same file: the frame
/// count is the same, the click after the damage peaks in its own frame, and every frame whose
/// window lies past the damage has the intact file's values. Returns the damaged render's stderr.
fn assert_damage_keeps_timeline(
    dir: &Path,
    intact: &Path,
    damage: std::ops::Range<usize>,
    click_frame: usize,
    first_clean_frame: usize,
) -> String {
    let mut bytes = fs::read(intact).unwrap();
    let num_damaged = damage.len();
    bytes[damage].copy_from_slice(&junk(num_damaged));
    let extension = intact.extension().unwrap().to_str().unwrap();
    let damaged = dir.join(format!("damaged.{extension}"));
    fs::write(&damaged, bytes).unwrap();

    let (intact_out, damaged_out) = (dir.join("intact"), dir.join("damaged"));
    render_csv(intact, &intact_out);
    let stderr = render_csv(&damaged, &damaged_out);
    let (intact_rows, damaged_rows) = (csv_values(&intact_out), csv_values(&damaged_out));
    assert_eq!(damaged_rows.len(), intact_rows.len(), "frame count");
    assert_eq!(loudest_frame(&intact_rows), click_frame);
    assert_eq!(
        loudest_frame(&damaged_rows[first_clean_frame..]) + first_clean_frame,
        click_frame
    );
    assert_eq!(
        damaged_rows[first_clean_frame..],
        intact_rows[first_clean_frame..],
        "frames after the damage"
    );
    stderr
}

/// A FLAC with 20 KB overwritten at about 4 s: the demuxer skips the unreadable frames, and their
/// span becomes silence of the same length, so the click at 12 s still peaks in its frame.
#[test]
fn damaged_flac_keeps_every_later_frame_on_time() {
    let dir = TempDir::new().unwrap();
    let click_frame = 290;
    // Whole 4096-sample blocks: flacenc 0.5 marks a short last block in a way symphonia refuses.
    let samples = song_with_click(4096.0 * 160.0 / 44_100.0, click_frame);
    let flac = dir.path().join("song.flac");
    common::write_flac_i16(&flac, &samples, SAMPLE_RATE);
    let len = fs::metadata(&flac).unwrap().len() as usize;
    let start = len / 3;
    let stderr =
        assert_damage_keeps_timeline(dir.path(), &flac, start..start + 20_000, click_frame, 200);

    let warnings = warning_lines(&stderr);
    assert_eq!(warnings.len(), 1, "one span, one line: {stderr}");
    assert!(
        warnings[0].contains("damaged.flac") && warnings[0].contains("silence"),
        "{stderr}"
    );
    let summary = stderr.lines().last().unwrap();
    assert!(summary.contains("1 warning"), "{summary}");
    let manifest = manifest(&dir.path().join("damaged"));
    let listed = manifest["warnings"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(warnings[0].ends_with(listed[0].as_str().unwrap()));
}

/// A WAV's damaged bytes decode as noise in place: nothing moves, and the click still peaks in
/// its frame.
#[test]
fn damaged_wav_keeps_every_later_frame_on_time() {
    let dir = TempDir::new().unwrap();
    let samples = song_with_click(12.0, 250);
    let wav = dir.path().join("song.wav");
    common::write_wav_i16(&wav, &samples, SAMPLE_RATE);
    // 4 bytes a sample frame: bytes 44 + 4n hold sample n; damage about 4 s to 5 s.
    let start = 44 + 4 * 4 * 44_100 + 1;
    assert_damage_keeps_timeline(dir.path(), &wav, start..start + 4 * 44_100, 250, 130);
}

/// `info --verify` decodes the damaged FLAC, lists the damage and exits 1; plain `info` says its
/// duration comes from the header.
#[test]
fn info_verify_reports_damage() {
    let dir = TempDir::new().unwrap();
    let samples = common::to_i16(&common::song(SAMPLE_RATE, 4096.0 * 40.0 / 44_100.0));
    let flac = dir.path().join("song.flac");
    common::write_flac_i16(&flac, &samples, SAMPLE_RATE);
    let output = cli(&["info", path_arg(&flac), "--verify"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.contains("(decoded, as the header says)"), "{text}");
    assert!(text.contains("damage:      none"), "{text}");

    let plain = String::from_utf8(cli(&["info", path_arg(&flac)]).stdout).unwrap();
    assert!(plain.contains("s (from the header)"), "{plain}");
    assert!(!plain.contains("damage:"), "{plain}");

    let mut bytes = fs::read(&flac).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 5000].copy_from_slice(&junk(5000));
    fs::write(&flac, bytes).unwrap();
    let output = cli(&["info", path_arg(&flac), "--verify"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.contains("damage:      1 damaged span"), "{text}");
    assert!(text.contains("became"), "{text}");
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
}

/// A cut-off file of each format: a render writes the frames of what exists with one warning
/// (giving both durations where the header states one), and `--strict` exits 1 without creating
/// the output folder.
fn assert_cut_off(dir: &Path, file: &Path, expected_frames: std::ops::RangeInclusive<usize>) {
    let out = dir.join(format!("out-{}", file.display()).replace('/', "_"));
    let stderr = render_csv(file, &out);
    let warnings = warning_lines(&stderr);
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("cut off"), "{stderr}");
    let num_frames = csv_values(&out).len();
    assert!(
        expected_frames.contains(&num_frames),
        "{}: {num_frames} frames, expected {expected_frames:?}",
        file.display()
    );
    assert_eq!(manifest(&out)["frames_written"], num_frames as u64);

    let strict_out = dir.join("strict");
    let output = cli(&[
        "render",
        path_arg(file),
        "--out",
        path_arg(&strict_out),
        "--strict",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", self::stderr(&output));
    assert!(self::stderr(&output).contains("--strict"));
    assert!(!strict_out.exists(), "--strict leaves nothing");
}

/// Video frames for `num_samples` at 24 fps and 44.1 kHz.
fn num_frames(num_samples: usize) -> usize {
    (num_samples as f64 / FRAME_LEN).ceil() as usize
}

#[test]
fn cut_off_wav_renders_what_exists() {
    let dir = TempDir::new().unwrap();
    let wav = dir.path().join("song.wav");
    common::write_wav_i16(
        &wav,
        &common::to_i16(&common::song(SAMPLE_RATE, 10.0)),
        SAMPLE_RATE,
    );
    // symphonia drops the incomplete last packet (up to 1152 samples): cut where dropping it or
    // not gives the same frame count (201 frames end at sample 369 338).
    let kept = 369_000;
    let bytes = fs::read(&wav).unwrap();
    fs::write(&wav, &bytes[..44 + 4 * kept]).unwrap();
    assert_eq!(num_frames(kept), num_frames(kept - 1152));
    assert_cut_off(dir.path(), &wav, num_frames(kept)..=num_frames(kept));

    // `schedule` analyses the same audio, and says it is cut off too.
    let schedule_out = dir.path().join("schedule");
    let output = cli(&[
        "schedule",
        path_arg(&wav),
        "--lane",
        "kick=30-120",
        "--out",
        path_arg(&schedule_out),
        "--quiet",
    ]);
    let text = stderr(&output);
    assert!(output.status.success(), "{text}");
    let warnings = warning_lines(&text);
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(warnings[0].contains("cut off"), "{text}");
    let schedule = fs::read_to_string(schedule_out.join("schedule.csv")).unwrap();
    assert_eq!(
        schedule.lines().count() - 1,
        num_frames(kept),
        "one row per frame"
    );

    let output = cli(&["info", path_arg(&wav), "--verify"]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.contains("the header says 10.000 s"), "{text}");
}

#[test]
fn cut_off_flac_renders_what_exists() {
    let dir = TempDir::new().unwrap();
    let flac = dir.path().join("song.flac");
    let samples = common::to_i16(&common::song(SAMPLE_RATE, 4096.0 * 40.0 / 44_100.0));
    common::write_flac_i16(&flac, &samples, SAMPLE_RATE);
    let bytes = fs::read(&flac).unwrap();
    // Cut 100 bytes into FLAC frame 25: frames 0..25 of 4096 samples remain whole. A frame header
    // is the sync code, the block size / rate and channel / depth bytes of frame 0's header, and
    // the frame number (one byte below 128).
    let first = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xF8])
        .expect("frame 0");
    let pattern = [0xFF, 0xF8, bytes[first + 2], bytes[first + 3], 25];
    let frame_25 = bytes
        .windows(5)
        .position(|w| w == pattern)
        .expect("frame 25");
    fs::write(&flac, &bytes[..frame_25 + 100]).unwrap();
    let expected = num_frames(25 * 4096);
    assert_cut_off(dir.path(), &flac, expected..=expected);
}

#[test]
fn cut_off_mp3_renders_what_exists() {
    let dir = TempDir::new().unwrap();
    let mp3 = dir.path().join("tones.mp3");
    let bytes = fs::read(fixture("tones.mp3")).unwrap();
    let cut = bytes.len() / 2;
    fs::write(&mp3, &bytes[..cut]).unwrap();
    // 64 kb/s CBR at 44.1 kHz: 1152-sample MPEG frames of 208 or 209 bytes. Count the whole frames
    // before the cut; the first is the Xing/Info frame, which holds no audio, and the encoder's
    // delay (about 1105 samples) is trimmed.
    // The ID3v2 tag before the first frame: a 10-byte header and a 28-bit "syncsafe" size.
    assert_eq!(&bytes[..3], b"ID3");
    let tag_len = bytes[6..10]
        .iter()
        .fold(0, |len, &byte| (len << 7) | usize::from(byte));
    let mut pos = 10 + tag_len;
    let mut num_whole = 0;
    while pos + 4 <= cut && bytes[pos] == 0xFF {
        let padding = usize::from((bytes[pos + 2] >> 1) & 1);
        let len = 144 * 64_000 / 44_100 + padding;
        if pos + len > cut {
            break;
        }
        num_whole += 1;
        pos += len;
    }
    let num_samples = (num_whole - 1) * 1152;
    let expected = num_frames(num_samples - 2 * 1152)..=num_frames(num_samples);
    assert_cut_off(dir.path(), &mp3, expected);
}

#[test]
fn cut_off_ogg_renders_what_exists() {
    let dir = TempDir::new().unwrap();
    let ogg = dir.path().join("tones.ogg");
    let bytes = fs::read(fixture("tones.ogg")).unwrap();
    // Inside the last of its four pages (the first two hold the Vorbis headers).
    let cut = bytes.len() - 1500;
    fs::write(&ogg, &bytes[..cut]).unwrap();
    // What exists ends with the last whole page: its granule position counts the samples up to
    // its end.
    let (_, granule) = ogg_pages(&bytes)
        .into_iter()
        .take_while(|(range, _)| range.end <= cut)
        .last()
        .unwrap();
    let expected = num_frames(granule as usize);
    assert_cut_off(dir.path(), &ogg, expected..=expected);
}

/// The library's samples and damage for `path`.
fn decode_with_damage(path: &Path) -> (Vec<f32>, Vec<Damage>) {
    let mut source = FileSource::open(path).unwrap();
    let mut samples = Vec::new();
    while source.read_mono(&mut samples).unwrap() {}
    (samples, source.damage().to_vec())
}

/// An Ogg Vorbis file whose page `page_idx` (mid-file, an audio page) is lost or skipped by the
/// demuxer: the damage is one span of lost audio where that page was (starting within one page
/// of it), silence of the length the granule positions count, so the timeline is as long as the
/// intact file's and every sample from the page after the gap on is the intact file's sample at
/// the same position. `info --verify` and `render --strict` exit 1.
fn assert_ogg_page_lost(dir: &Path, damaged: &[u8], page_idx: usize) {
    let intact = fixture("noise.ogg");
    let pages = ogg_pages(&fs::read(&intact).unwrap());
    let path = dir.join("damaged.ogg");
    fs::write(&path, damaged).unwrap();
    let (clean, _) = decode_with_damage(&intact);
    let (samples, damage) = decode_with_damage(&path);
    assert_eq!(samples.len(), clean.len(), "timeline length");

    let page_start = pages[page_idx - 1].1;
    let page_end = pages[page_idx].1;
    let after_gap = pages[page_idx + 1].1 as usize;
    let [Damage::Lost { start, end, .. }] = damage[..] else {
        panic!("one lost span expected: {damage:?}");
    };
    let page_len = page_end - page_start;
    assert!(
        start.abs_diff(page_start) <= page_len && end.abs_diff(page_end) <= page_len,
        "lost {start}..{end}, page {page_start}..{page_end}"
    );
    assert!(
        samples[start as usize..end as usize]
            .iter()
            .all(|&x| x == 0.0),
        "the lost span is silence"
    );
    assert!(end as usize <= after_gap);
    assert_eq!(
        samples[after_gap..],
        clean[after_gap..],
        "samples after the gap moved"
    );

    let output = cli(&["info", path_arg(&path), "--verify"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.contains("damage:      1 damaged span"), "{text}");
    let strict_out = dir.join("strict");
    let output = cli(&[
        "render",
        path_arg(&path),
        "--out",
        path_arg(&strict_out),
        "--strict",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(!strict_out.exists(), "--strict leaves nothing");
}

/// An Ogg file with one page taken out mid-file: found by its page sequence numbers, and filled.
#[test]
fn ogg_with_a_lost_page_keeps_its_timeline() {
    let dir = TempDir::new().unwrap();
    let bytes = fs::read(fixture("noise.ogg")).unwrap();
    let pages = ogg_pages(&bytes);
    assert_eq!(pages.len(), 10, "two header pages and eight audio pages");
    let lost = &pages[5].0;
    let damaged = [&bytes[..lost.start], &bytes[lost.end..]].concat();
    assert_ogg_page_lost(dir.path(), &damaged, 5);
}

/// An Ogg file with bytes of one page changed: the demuxer skips the page for its checksum; the
/// decoder finds it and fills it as a lost page.
#[test]
fn ogg_with_a_corrupt_page_keeps_its_timeline() {
    let dir = TempDir::new().unwrap();
    let mut bytes = fs::read(fixture("noise.ogg")).unwrap();
    let pages = ogg_pages(&bytes);
    let corrupt = pages[4].0.start + 500;
    bytes[corrupt..corrupt + 64].copy_from_slice(&junk(64));
    assert_ogg_page_lost(dir.path(), &bytes, 4);
}
