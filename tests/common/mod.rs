//! Test audio: a deterministic "song" and writers for the files the CLI reads.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

mod song;
pub use song::song;

/// Planar channels as one interleaved stream, as audio files store them.
pub fn interleave(channels: &[Vec<f32>]) -> Vec<f32> {
    (0..channels[0].len())
        .flat_map(|n| channels.iter().map(move |channel| channel[n]))
        .collect()
}

/// 16-bit integer samples, as a WAV or FLAC file stores them.
pub fn to_i16(channels: &[Vec<f32>]) -> Vec<i32> {
    interleave(channels)
        .into_iter()
        .map(|x| (x * 32767.0).round().clamp(-32768.0, 32767.0) as i32)
        .collect()
}

pub fn write_wav_i16(path: &Path, interleaved: &[i32], sample_rate: u32) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &sample in interleaved {
        writer.write_sample(sample as i16).unwrap();
    }
    writer.finalize().unwrap();
}

pub fn write_wav_f32(path: &Path, interleaved: &[f32], channels: u16, sample_rate: u32) {
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &sample in interleaved {
        writer.write_sample(sample).unwrap();
    }
    writer.finalize().unwrap();
}

pub fn write_flac_i16(path: &Path, interleaved: &[i32], sample_rate: u32) {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;
    let config = flacenc::config::Encoder::default().into_verified().unwrap();
    let source = flacenc::source::MemSource::from_samples(interleaved, 2, 16, sample_rate as usize);
    let stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size).unwrap();
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream.write(&mut sink).unwrap();
    std::fs::write(path, sink.as_slice()).unwrap();
}

/// Runs the `spectral-diffusion` binary with `args`; its exit status and output.
pub fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spectral-diffusion"))
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn path_arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every file under `dir`, relative with `/`, sorted, with its bytes.
pub fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if path.is_dir() {
            out.extend(
                files(&path)
                    .into_iter()
                    .map(|(file, bytes)| (format!("{name}/{file}"), bytes)),
            );
        } else {
            out.push((name, fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

/// Whether ffmpeg and ffprobe run; the tests that need them print why they skip.
pub fn has_ffmpeg() -> bool {
    let runs = |program: &str| {
        Command::new(program)
            .arg("-version")
            .output()
            .is_ok_and(|output| output.status.success())
    };
    let has = runs("ffmpeg") && runs("ffprobe");
    if !has {
        // CI installs it: there, a missing tool fails the test instead of skipping it.
        assert!(
            std::env::var_os("SPECTRAL_DIFFUSION_REQUIRE_TOOLS").is_none(),
            "ffmpeg/ffprobe not on PATH (apt-get install ffmpeg; .ci/run does)"
        );
        eprintln!("skipped: ffmpeg/ffprobe not on PATH (apt-get install ffmpeg; .ci/run does)");
    }
    has
}

/// Fails with the exit code and stderr unless `output` exited 0.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// What ffprobe says about one stream of a file.
pub struct Probe {
    /// Frames decoded (video) or packets counted (audio).
    pub num_frames: u64,
    pub duration_s: f64,
    pub width: u64,
    pub r_frame_rate: String,
}

pub fn probe(file: &Path, stream: &str) -> Probe {
    let json = ffprobe(
        file,
        &["-select_streams", stream, "-count_frames"],
        "stream=nb_read_frames,duration,width,r_frame_rate",
    );
    let stream = &json["streams"][0];
    let number = |field: &str| stream[field].as_str().and_then(|text| text.parse().ok());
    Probe {
        num_frames: number("nb_read_frames").unwrap_or(0),
        duration_s: stream["duration"].as_str().unwrap().parse().unwrap(),
        width: stream["width"].as_u64().unwrap_or(0),
        r_frame_rate: stream["r_frame_rate"].as_str().unwrap().to_owned(),
    }
}

/// ffprobe's JSON of `entries` (`-show_entries`) of `file`, after `options`.
pub fn ffprobe(file: &Path, options: &[&str], entries: &str) -> serde_json::Value {
    let output = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(options)
        .args(["-show_entries", entries, "-of", "json"])
        .arg(file)
        .output()
        .unwrap();
    assert_success(&output);
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `schedule.csv` as named columns.
pub fn schedule_csv(dir: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = fs::read_to_string(dir.join("schedule.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    assert_eq!(header[0], "frame");
    let mut columns = vec![Vec::new(); header.len() - 1];
    for (frame_idx, line) in lines.enumerate() {
        let mut fields = line.split(',');
        assert_eq!(fields.next().unwrap(), frame_idx.to_string());
        for (column, field) in columns.iter_mut().zip(fields) {
            column.push(field.parse().unwrap());
        }
    }
    (header[1..].to_vec(), columns)
}

/// The pages of an Ogg file: each one's bytes and granule position. A page is a 27-byte header,
/// a segment table and the segments.
pub fn ogg_pages(bytes: &[u8]) -> Vec<(std::ops::Range<usize>, u64)> {
    let mut pages = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        assert_eq!(&bytes[pos..pos + 4], b"OggS");
        let num_segments = usize::from(bytes[pos + 26]);
        let table = &bytes[pos + 27..pos + 27 + num_segments];
        let len = 27 + num_segments + table.iter().map(|&s| usize::from(s)).sum::<usize>();
        let granule = u64::from_le_bytes(bytes[pos + 6..pos + 14].try_into().unwrap());
        pages.push((pos..pos + len, granule));
        pos += len;
    }
    pages
}
