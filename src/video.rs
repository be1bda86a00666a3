//! CLI thread: `spectral-diffusion video`, an output folder's frames and its audio muxed by ffmpeg
//! into an mp4 (or the Matroska, QuickTime or WebM file its name asks for), at the manifest's
//! exact rational frame rate.
//!
//! Frame k of the video is timeline frame k, whatever the folder holds: frames the folder lacks (a
//! plugin session's takes leave gaps, and need not start at frame 0) are black, and the video runs
//! to the end of the audio if that is longer. The audio is padded with silence, or trimmed, to the
//! video's length, so the two end together. ffmpeg reads the frames as one numbered sequence; when
//! the folder's frames are not already one (gaps, side-by-side), the sequence is a temporary folder
//! of hard links (copies where links fail) beside the video, removed afterwards.
//!
//! Each sequence is one stream of one size and one pixel format: the black filler frames are drawn
//! in the format of the frames around them, ffmpeg is told not to rebuild its filter graph when a
//! frame's format changes anyway (a folder of img2img outputs switching from grey to RGB), and the
//! graph's first step scales every frame to the stream's size and format. A rebuilt graph would
//! start the audio's padding and trimming again, and the audio would outlast the video.
//!
//! The video is recorded in the folder's `derived.json`, made from which render; a file at the
//! video's name (or its log's) that `derived.json` does not list is the user's, and is replaced
//! only when asked (`--force`).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod container;
mod pairing;

pub use container::Container;
pub use pairing::{Paired, Pairing, PairingError};

use container::{ffmpeg_encoders, pick_encoder};
use pairing::pair_outputs;

use crate::audio::decode::{DecodeError, FileSource, MonoSource};
use crate::clock::FrameRate;
use crate::export::format::derived::{Derived, RenderId, VideoRecord};
use crate::export::format::folder::{FolderError, OutputFolder};
use crate::export::format::frames::FRAMES_PATTERN;

/// The program and the Debian package that provides it.
const FFMPEG: &str = "ffmpeg";
/// ffmpeg's image-sequence pattern inside a sequence folder.
const SEQUENCE_PATTERN: &str = "%06d.png";

/// What to make.
#[derive(Debug, Clone)]
pub struct VideoJob {
    /// The output folder whose frames become the video.
    pub folder: PathBuf,
    /// The audio to mux; `None` takes the one the manifest names.
    pub audio: Option<PathBuf>,
    /// The video to write; its extension chooses the container ([`Container`]).
    pub out: PathBuf,
    /// img2img output frames to put to the right of the guides, numbered like them.
    pub side_by_side: Option<PathBuf>,
    /// img2img output frames, numbered like the guides, to make the video of instead of them.
    pub frames: Option<PathBuf>,
    /// How the files of `side_by_side` or `frames` are matched to guide frames.
    pub pairing: Pairing,
    /// Whether an interrupted render may be made into a video (`--partial`).
    pub is_partial_ok: bool,
    /// Whether a file at `out` that is not ours may be replaced (`--force`).
    pub is_forced: bool,
}

/// Why no video was made. Each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error(
        "ffmpeg is not installed (not found on PATH); install it (Debian/Ubuntu: apt-get install \
         ffmpeg) and run this again"
    )]
    NoFfmpeg,
    #[error(
        "cannot tell the container of {} from its name: end it in .mp4, .mkv, .mov or .webm",
        path.display()
    )]
    Container { path: PathBuf },
    #[error(
        "this ffmpeg has no {kind} encoder for {container} (it needs {wanted}): write .mp4 or .mkv \
         instead"
    )]
    NoEncoder {
        container: Container,
        kind: &'static str,
        wanted: String,
    },
    #[error(transparent)]
    Folder(#[from] FolderError),
    #[error("{} holds no frames (rendered with --csv-only?): render it with images first", dir.display())]
    NoFrames { dir: PathBuf },
    #[error("{} is listed in manifest.json but missing: render the folder again", path.display())]
    MissingFrame { path: PathBuf },
    #[error(transparent)]
    Pairing(#[from] PairingError),
    #[error(
        "{} was not written by `video` from {} (its derived.json does not list it); choose \
         another --out, or add --force to replace it",
        path.display(),
        folder.display()
    )]
    NotOurs { path: PathBuf, folder: PathBuf },
    #[error(
        "the audio {} named in manifest.json is not there; give the audio with --audio FILE",
        path.display()
    )]
    MissingAudio { path: PathBuf },
    #[error(transparent)]
    Audio(#[from] DecodeError),
    #[error("cannot write {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("ffmpeg failed: {line} (full log: {})", log.display())]
    Ffmpeg { line: String, log: PathBuf },
    #[error("interrupted; no video written")]
    Interrupted,
}

impl VideoError {
    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// What `video` made.
#[derive(Debug, Clone)]
pub struct VideoSummary {
    pub num_frames: u64,
    pub fps: FrameRate,
    /// The audio muxed in; `None` made a silent video.
    pub audio: Option<PathBuf>,
    /// ffmpeg's log, beside the video.
    pub log: PathBuf,
    /// How the output frames (`side_by_side` or `frames`) were paired with the guides.
    pub paired: Option<Paired>,
}

impl VideoSummary {
    pub fn duration_s(&self) -> f64 {
        self.num_frames as f64 * f64::from(self.fps.den) / f64::from(self.fps.num)
    }
}

/// Makes `job.out`. `is_stopped` is asked once ffmpeg has ended: when set (Ctrl-C reaches ffmpeg
/// too, which then stops early), nothing is kept.
pub fn make_video(
    job: &VideoJob,
    is_stopped: impl Fn() -> bool,
) -> Result<VideoSummary, VideoError> {
    let container = Container::of(&job.out).ok_or_else(|| VideoError::Container {
        path: job.out.clone(),
    })?;
    let encoders = ffmpeg_encoders()?;
    let video_encoder = pick_encoder(&encoders, container, "video", container.video_encoders())?;
    let folder = OutputFolder::read_frames(&job.folder)?;
    folder.require_finished(job.is_partial_ok)?;
    let Some(guide_size) = folder.frame_size() else {
        return Err(VideoError::NoFrames {
            dir: folder.dir.clone(),
        });
    };
    if folder.end_frame() == 0 {
        return Err(VideoError::NoFrames {
            dir: folder.dir.clone(),
        });
    }
    if let Some(path) = folder
        .frame_indices()
        .map(|frame_idx| folder.frame_path(frame_idx))
        .find(|path| !path.is_file())
    {
        return Err(VideoError::MissingFrame { path });
    }
    // `frames` in the guides' place, else `side_by_side` beside them.
    let is_beside = job.frames.is_none();
    let outputs = job
        .frames
        .as_ref()
        .or(job.side_by_side.as_ref())
        .map(|dir| {
            let guides: Vec<u64> = folder.frame_indices().collect();
            pair_outputs(dir, &guides, &job.pairing)
        })
        .transpose()?;
    let audio = match &job.audio {
        Some(path) => Some(path.clone()),
        None => match folder.source_audio() {
            Some(path) if !path.is_file() => return Err(VideoError::MissingAudio { path }),
            audio => audio,
        },
    };
    let audio_encoder = audio
        .as_ref()
        .map(|_| pick_encoder(&encoders, container, "audio", container.audio_encoders()))
        .transpose()?;
    // The audio's sample rate, and its length in frames.
    let (sample_rate, audio_frames) = match &audio {
        Some(path) => {
            let mut source = FileSource::open(path)?;
            let num_samples = match source.info().num_samples {
                Some(num_samples) => num_samples,
                None => source.decode_to_end()?,
            };
            let sample_rate = source.info().sample_rate;
            (
                sample_rate,
                folder.fps().num_frames(num_samples, sample_rate),
            )
        }
        None => (0, 0),
    };
    let num_frames = folder.end_frame().max(audio_frames);

    let out_dir = match job.out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&out_dir).map_err(|source| VideoError::io(&out_dir, source))?;
    let file_name = job.out.file_name().map_or_else(
        || "video".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    let log = job.out.with_extension("log");
    let record_name = record_name(&folder.dir, &out_dir, &file_name);
    // Ours: a video `derived.json` lists, and the log of one (`v.mkv` and `v.mov` share `v.log`).
    let videos = Derived::read(&folder.dir)
        .map_err(FolderError::from)?
        .map(|derived| derived.videos)
        .unwrap_or_default();
    let is_ours = |path: &Path| {
        let name = record_name.with_file_name(path.file_name().unwrap_or_default());
        videos
            .iter()
            .any(|video| video.file == name || video.file.with_extension("log") == name)
    };
    if !job.is_forced
        && let Some(path) = [&job.out, &log]
            .into_iter()
            .find(|path| path.symlink_metadata().is_ok() && !is_ours(path))
    {
        return Err(VideoError::NotOurs {
            path: path.clone(),
            folder: folder.dir.clone(),
        });
    }
    let temp_out = out_dir.join(format!(".{file_name}.tmp"));
    let mut scratch = Scratch {
        dirs: Vec::new(),
        file: temp_out.clone(),
    };

    let guide_paths: BTreeMap<u64, PathBuf> = folder
        .frame_indices()
        .map(|frame_idx| (frame_idx, folder.frame_path(frame_idx)))
        .collect();
    let output_frames = outputs.as_ref().map(|paired| {
        let stream = Stream::of(&paired.frames, guide_size);
        (&paired.frames, stream)
    });
    // The main picture: the guides, or the outputs in their place.
    let (main_frames, main) = match output_frames {
        Some(frames) if !is_beside => frames,
        _ => (&guide_paths, Stream::of(&guide_paths, guide_size)),
    };
    let is_plain_sequence = outputs.is_none() && folder.frame_ranges() == [[0, num_frames - 1]];
    let main_input = if is_plain_sequence {
        folder.dir.join(FRAMES_PATTERN)
    } else {
        let dir = out_dir.join(format!(".{file_name}.guides.tmp"));
        scratch.dirs.push(dir.clone());
        link_sequence(&dir, main_frames, num_frames, main)?;
        dir.join(SEQUENCE_PATTERN)
    };
    let side = match output_frames {
        Some((frames, stream)) if is_beside => {
            let dir = out_dir.join(format!(".{file_name}.outputs.tmp"));
            scratch.dirs.push(dir.clone());
            link_sequence(&dir, frames, num_frames, stream)?;
            // Beside the guides, at their height.
            let (width, height) = stream.size;
            let width = (u64::from(width) * u64::from(guide_size.1))
                .div_ceil(u64::from(height.max(1)))
                .clamp(1, u64::from(u32::MAX));
            let beside = Stream {
                size: (width as u32, guide_size.1),
                ..stream
            };
            Some((dir.join(SEQUENCE_PATTERN), beside))
        }
        _ => None,
    };

    let fps = folder.fps();
    let rate = format!("{}/{}", fps.num, fps.den);
    let mut command = Command::new(FFMPEG);
    command.args(["-hide_banner", "-nostdin", "-nostats", "-y"]);
    for input in std::iter::once(&main_input).chain(side.as_ref().map(|(input, _)| input)) {
        // A frame of another pixel format than the first goes through the graph's scaler: a
        // rebuilt graph would start the audio's trim again.
        command
            .args([
                "-reinit_filter",
                "0",
                "-framerate",
                &rate,
                "-start_number",
                "0",
            ])
            .arg("-i")
            .arg(input);
    }
    // The frame count is cut in the filter graph: `-frames:v` would end the audio with it, a few
    // packets early.
    let trim = format!("trim=end_frame={num_frames}");
    // hstack wants one pixel format: colour when either side has colour.
    let pixel = match &side {
        Some((_, beside)) => main.pixel.max(beside.pixel),
        None => main.pixel,
    };
    // Even sizes for yuv420p: odd sizes get one black column or row.
    let even = "pad=ceil(iw/2)*2:ceil(ih/2)*2,format=yuv420p";
    let mut filter = match &side {
        Some((_, beside)) => format!(
            "[0:v]{trim},{}[guide];[1:v]{trim},{}[output];[guide][output]hstack=inputs=2,{even}[v]",
            main.fit(pixel),
            beside.fit(pixel)
        ),
        None => format!("[0:v]{trim},{},{even}[v]", main.fit(pixel)),
    };
    if let Some(path) = &audio {
        command.arg("-i").arg(path);
        let audio_input = 1 + usize::from(side.is_some());
        // Exactly the video's length in samples, rounded up: padded with silence, or cut.
        let num_samples = (u128::from(num_frames) * u128::from(fps.den) * u128::from(sample_rate))
            .div_ceil(u128::from(fps.num));
        filter.push_str(&format!(
            ";[{audio_input}:a]apad=whole_len={num_samples},atrim=end_sample={num_samples}[a]"
        ));
    }
    command.args(["-filter_complex", &filter, "-map", "[v]", "-r", &rate]);
    command.args(video_encoder);
    if let Some(audio_encoder) = audio_encoder {
        command.args(["-map", "[a]"]).args(audio_encoder);
    }
    if matches!(container, Container::Mp4 | Container::QuickTime) {
        command.args(["-movflags", "+faststart"]);
    }
    command.args(["-f", container.muxer()]);
    command.arg(&temp_out);

    let log_file = File::create(&log).map_err(|source| VideoError::io(&log, source))?;
    let log_err = log_file
        .try_clone()
        .map_err(|source| VideoError::io(&log, source))?;
    let status = command
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .status()
        .map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => VideoError::NoFfmpeg,
            _ => VideoError::io(Path::new(FFMPEG), error),
        })?;
    if is_stopped() {
        return Err(VideoError::Interrupted);
    }
    if !status.success() {
        return Err(VideoError::Ffmpeg {
            line: last_meaningful_line(&fs::read_to_string(&log).unwrap_or_default())
                .unwrap_or_else(|| format!("exit status {status}")),
            log,
        });
    }
    fs::rename(&temp_out, &job.out).map_err(|source| VideoError::io(&job.out, source))?;
    drop(scratch);
    let from = RenderId::of(&folder.manifest);
    Derived::update(&folder.dir, |derived| {
        derived.videos.retain(|video| video.file != record_name);
        derived.videos.push(VideoRecord {
            file: record_name,
            from,
        });
    })
    .map_err(FolderError::from)?;
    Ok(VideoSummary {
        num_frames,
        fps,
        audio,
        log,
        paired: outputs,
    })
}

/// The name `derived.json` gives the video `file_name` in `out_dir`: relative to the folder when
/// it lies inside it, else its absolute path (so it is found from any working directory).
fn record_name(folder_dir: &Path, out_dir: &Path, file_name: &str) -> PathBuf {
    let (Ok(folder_dir), Ok(out_dir)) = (fs::canonicalize(folder_dir), fs::canonicalize(out_dir))
    else {
        return out_dir.join(file_name);
    };
    let path = out_dir.join(file_name);
    match path.strip_prefix(&folder_dir) {
        Ok(relative) => relative.to_owned(),
        Err(_) => path,
    }
}

/// A sequence of images as ffmpeg is given it: one size and one pixel format for every frame.
#[derive(Debug, Clone, Copy)]
struct Stream {
    size: (u32, u32),
    pixel: Pixel,
}

/// The pixel formats of a stream; colour wins over grey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pixel {
    Grey,
    Rgb,
}

impl Stream {
    /// The stream of `frames`: the size of the first when it is a PNG (else `fallback_size`),
    /// grey when every frame is a grey PNG, else RGB.
    fn of(frames: &BTreeMap<u64, PathBuf>, fallback_size: (u32, u32)) -> Self {
        let first = frames.values().next().and_then(|path| png_header(path));
        let is_grey = frames
            .values()
            .all(|path| png_header(path).is_some_and(|(pixel, _)| pixel == Pixel::Grey));
        Self {
            size: first.map_or(fallback_size, |(_, size)| size),
            pixel: if is_grey { Pixel::Grey } else { Pixel::Rgb },
        }
    }

    /// The filters that make every frame of the input this stream's size (scaled to fit,
    /// centred on black) and `pixel`'s format.
    fn fit(&self, pixel: Pixel) -> String {
        let (width, height) = self.size;
        let format = match pixel {
            Pixel::Grey => "gray",
            Pixel::Rgb => "rgb24",
        };
        format!(
            "scale=w={width}:h={height}:force_original_aspect_ratio=decrease,\
             pad={width}:{height}:-1:-1,format={format}"
        )
    }
}

/// The pixel format and size of the PNG at `path`; `None` when it is no PNG (a JPEG, a WebP).
fn png_header(path: &Path) -> Option<(Pixel, (u32, u32))> {
    let file = File::open(path).ok()?;
    let reader = png::Decoder::new(BufReader::new(file)).read_info().ok()?;
    let info = reader.info();
    let pixel = match info.color_type {
        png::ColorType::Grayscale | png::ColorType::GrayscaleAlpha => Pixel::Grey,
        png::ColorType::Rgb | png::ColorType::Rgba | png::ColorType::Indexed => Pixel::Rgb,
    };
    Some((pixel, (info.width, info.height)))
}

/// Fills `dir` with `000000.png … ` for frames `0..num_frames`: a link to `frames[k]` where there
/// is one, else a link to one black image in the stream's size and format.
fn link_sequence(
    dir: &Path,
    frames: &BTreeMap<u64, PathBuf>,
    num_frames: u64,
    stream: Stream,
) -> Result<(), VideoError> {
    // A leftover from a killed run would mix old links in.
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|source| VideoError::io(dir, source))?;
    }
    fs::create_dir_all(dir).map_err(|source| VideoError::io(dir, source))?;
    let black = dir.join("black.png");
    if frames.len() as u64 != num_frames {
        write_black_png(&black, stream)?;
    }
    for frame_idx in 0..num_frames {
        let target = frames.get(&frame_idx).unwrap_or(&black);
        let link = dir.join(format!("{frame_idx:06}.png"));
        if fs::hard_link(target, &link).is_err() {
            fs::copy(target, &link).map_err(|source| VideoError::io(&link, source))?;
        }
    }
    Ok(())
}

/// A black 8-bit PNG of the stream's size and pixel format.
fn write_black_png(path: &Path, stream: Stream) -> Result<(), VideoError> {
    let (width, height) = stream.size;
    let file = File::create(path).map_err(|source| VideoError::io(path, source))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width, height);
    let (color, channels) = match stream.pixel {
        Pixel::Grey => (png::ColorType::Grayscale, 1),
        Pixel::Rgb => (png::ColorType::Rgb, 3),
    };
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    let black = vec![0u8; width as usize * height as usize * channels];
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&black))
        .map_err(|error| VideoError::io(path, io::Error::other(error)))
}

/// The line of ffmpeg's log that says what went wrong: the last one that is not its closing
/// remark or a progress line.
fn last_meaningful_line(log: &str) -> Option<String> {
    const NOISE: [&str; 3] = ["Conversion failed!", "Exiting normally", "frame="];
    log.lines()
        .map(str::trim)
        .rev()
        .find(|line| !line.is_empty() && !NOISE.iter().any(|noise| line.starts_with(noise)))
        .map(str::to_owned)
}

/// Temporary files and folders of one run, removed however it ends.
struct Scratch {
    dirs: Vec<PathBuf>,
    file: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for dir in &self.dirs {
            let _ = fs::remove_dir_all(dir);
        }
        let _ = fs::remove_file(&self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error shown is ffmpeg's own complaint, not its "Conversion failed!" sign-off.
    #[test]
    fn last_meaningful_line_skips_the_sign_off() {
        let log = "Input #0, image2\n[png @ 0x1] Invalid PNG signature 0x0.\n\
                   Error while decoding stream #0:0: Invalid data found\nConversion failed!\n";
        assert_eq!(
            last_meaningful_line(log).as_deref(),
            Some("Error while decoding stream #0:0: Invalid data found")
        );
    }
}
