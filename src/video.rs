//! CLI thread: `spectral-diffusion video`, an output folder's frames and its audio muxed into an
//! mp4 by ffmpeg, at the manifest's exact rational frame rate.
//!
//! Frame k of the video is timeline frame k, whatever the folder holds: frames the folder lacks (a
//! plugin session's takes leave gaps, and need not start at frame 0) are black, and the video runs
//! to the end of the audio if that is longer. The audio is padded with silence, or trimmed, to the
//! video's length, so the two end together. ffmpeg reads the frames as one numbered sequence; when
//! the folder's frames are not already one (gaps, side-by-side), the sequence is a temporary folder
//! of hard links (copies where links fail) beside the mp4, removed afterwards.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::audio::decode::{DecodeError, FileSource, MonoSource};
use crate::clock::FrameRate;
use crate::export::format::FormatError;
use crate::export::format::folder::{FolderError, OutputFolder};

/// The program and the Debian package that provides it.
const FFMPEG: &str = "ffmpeg";
/// ffmpeg's image-sequence pattern inside a sequence folder.
const SEQUENCE_PATTERN: &str = "%06d.png";
/// Image files `--side-by-side` reads, by extension.
const IMAGE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "webp"];

/// What to make.
#[derive(Debug, Clone)]
pub struct VideoJob {
    /// The output folder whose frames become the video.
    pub folder: PathBuf,
    /// The audio to mux; `None` takes the one the manifest names.
    pub audio: Option<PathBuf>,
    /// The mp4 to write.
    pub out: PathBuf,
    /// img2img output frames to put to the right of the guides, numbered like them.
    pub side_by_side: Option<PathBuf>,
    /// img2img output frames, numbered like the guides, to make the video of instead of them.
    pub frames: Option<PathBuf>,
}

/// Why no video was made. Each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error(
        "ffmpeg is not installed (not found on PATH); install it (Debian/Ubuntu: apt-get install \
         ffmpeg) and run this again"
    )]
    NoFfmpeg,
    #[error(transparent)]
    Folder(#[from] FolderError),
    #[error("{} holds no frames (rendered with --csv-only?): render it with images first", dir.display())]
    NoFrames { dir: PathBuf },
    #[error("{} is listed in manifest.json but missing: render the folder again", path.display())]
    MissingFrame { path: PathBuf },
    #[error(
        "{} has no output frame numbered {frame_idx} (like {frame_idx:06}.png) for guide frame \
         {frame_idx}; side-by-side needs one for every guide frame",
        dir.display()
    )]
    MissingSideFrame { dir: PathBuf, frame_idx: u64 },
    #[error("{} holds two files numbered {frame_idx}: {} and {}", dir.display(), first.display(), second.display())]
    AmbiguousSideFrame {
        dir: PathBuf,
        frame_idx: u64,
        first: PathBuf,
        second: PathBuf,
    },
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
    /// ffmpeg's log, beside the mp4.
    pub log: PathBuf,
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
    let encoder = video_encoder()?;
    let folder = OutputFolder::read_frames(&job.folder)?;
    let Some((width, height)) = folder.frame_size() else {
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
    let output_frames = job
        .frames
        .as_deref()
        .map(|dir| side_frames(dir, &folder))
        .transpose()?;
    let side_frames = job
        .side_by_side
        .as_deref()
        .map(|dir| side_frames(dir, &folder))
        .transpose()?;
    let audio = match &job.audio {
        Some(path) => Some(path.clone()),
        None => match folder.source_audio() {
            Some(path) if !path.is_file() => return Err(VideoError::MissingAudio { path }),
            audio => audio,
        },
    };
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
    let temp_out = out_dir.join(format!(".{file_name}.tmp"));
    let log = job.out.with_extension("log");
    let mut scratch = Scratch {
        dirs: Vec::new(),
        file: temp_out.clone(),
    };

    let is_plain_sequence = folder.frame_ranges() == [[0, num_frames - 1]];
    let guide_input = if is_plain_sequence && side_frames.is_none() && output_frames.is_none() {
        folder.dir.join("frames").join(SEQUENCE_PATTERN)
    } else {
        let guides: BTreeMap<u64, PathBuf> = output_frames.unwrap_or_else(|| {
            folder
                .frame_indices()
                .map(|frame_idx| (frame_idx, folder.frame_path(frame_idx)))
                .collect()
        });
        let dir = out_dir.join(format!(".{file_name}.guides.tmp"));
        scratch.dirs.push(dir.clone());
        link_sequence(&dir, &guides, num_frames, (width, height))?;
        dir.join(SEQUENCE_PATTERN)
    };
    let side_input = match &side_frames {
        Some(frames) => {
            let dir = out_dir.join(format!(".{file_name}.outputs.tmp"));
            scratch.dirs.push(dir.clone());
            link_sequence(&dir, frames, num_frames, (width, height))?;
            Some(dir.join(SEQUENCE_PATTERN))
        }
        None => None,
    };

    let fps = folder.fps();
    let rate = format!("{}/{}", fps.num, fps.den);
    let mut command = Command::new(FFMPEG);
    command.args(["-hide_banner", "-nostdin", "-nostats", "-y"]);
    for input in std::iter::once(&guide_input).chain(&side_input) {
        command
            .args(["-framerate", &rate, "-start_number", "0", "-i"])
            .arg(input);
    }
    // Even sizes for yuv420p: odd guide sizes get one black column or row.
    let even = "pad=ceil(iw/2)*2:ceil(ih/2)*2,format=yuv420p";
    // The frame count is cut in the filter graph: `-frames:v` would end the audio with it, a few
    // packets early.
    let trim = format!("trim=end_frame={num_frames}");
    let mut filter = match side_input {
        // hstack wants one pixel format and one height: the outputs are scaled to the guides'.
        Some(_) => format!(
            "[0:v]{trim},format=rgb24[guide];[1:v]{trim},scale=-2:{height},format=rgb24[output];\
             [guide][output]hstack=inputs=2,{even}[v]"
        ),
        None => format!("[0:v]{trim},{even}[v]"),
    };
    if let Some(path) = &audio {
        command.arg("-i").arg(path);
        let audio_input = 1 + usize::from(side_frames.is_some());
        // Exactly the video's length in samples, rounded up: padded with silence, or cut.
        let num_samples = (u128::from(num_frames) * u128::from(fps.den) * u128::from(sample_rate))
            .div_ceil(u128::from(fps.num));
        filter.push_str(&format!(
            ";[{audio_input}:a]apad=whole_len={num_samples},atrim=end_sample={num_samples}[a]"
        ));
    }
    command.args(["-filter_complex", &filter, "-map", "[v]", "-r", &rate]);
    command.args(encoder.args());
    if audio.is_some() {
        command.args(["-map", "[a]", "-c:a", "aac", "-b:a", "192k"]);
    }
    command.args(["-movflags", "+faststart", "-f", "mp4"]);
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
    Ok(VideoSummary {
        num_frames,
        fps,
        audio,
        log,
    })
}

/// The H.264 encoder when this ffmpeg has it, else MPEG-4 part 2 (still an mp4 every player
/// and Deforum's Video Input read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoder {
    H264,
    Mpeg4,
}

impl Encoder {
    fn args(self) -> &'static [&'static str] {
        match self {
            Self::H264 => &["-c:v", "libx264", "-crf", "18", "-preset", "medium"],
            Self::Mpeg4 => &["-c:v", "mpeg4", "-q:v", "2"],
        }
    }
}

/// Asks ffmpeg for its encoders; also the check that ffmpeg is there at all.
fn video_encoder() -> Result<Encoder, VideoError> {
    let output = Command::new(FFMPEG)
        .args(["-hide_banner", "-encoders"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => VideoError::NoFfmpeg,
            _ => VideoError::io(Path::new(FFMPEG), error),
        })?;
    let has_h264 = String::from_utf8_lossy(&output.stdout)
        .lines()
        .any(|line| line.split_whitespace().nth(1) == Some("libx264"));
    Ok(if has_h264 {
        Encoder::H264
    } else {
        Encoder::Mpeg4
    })
}

/// The image in `dir` for every frame the folder lists, by the number in its file name (the last
/// run of digits: `000042.png`, `frame_42.jpg` and `ComfyUI_00042_.png` are all frame 42).
fn side_frames(dir: &Path, folder: &OutputFolder) -> Result<BTreeMap<u64, PathBuf>, VideoError> {
    let mut numbered: BTreeMap<u64, PathBuf> = BTreeMap::new();
    let entries = fs::read_dir(dir).map_err(|source| {
        VideoError::Folder(FolderError::Format(FormatError::read(dir, source)))
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| {
                VideoError::Folder(FolderError::Format(FormatError::read(dir, source)))
            })?
            .path();
        let is_image = path.extension().is_some_and(|extension| {
            IMAGE_EXTENSIONS
                .iter()
                .any(|known| extension.eq_ignore_ascii_case(known))
        });
        let Some(frame_idx) = path
            .file_stem()
            .and_then(|stem| last_number(&stem.to_string_lossy()))
            .filter(|_| is_image)
        else {
            continue;
        };
        if let Some(first) = numbered.insert(frame_idx, path.clone()) {
            let (first, second) = if first < path {
                (first, path)
            } else {
                (path, first)
            };
            return Err(VideoError::AmbiguousSideFrame {
                dir: dir.to_owned(),
                frame_idx,
                first,
                second,
            });
        }
    }
    folder
        .frame_indices()
        .map(|frame_idx| match numbered.remove(&frame_idx) {
            Some(path) => Ok((frame_idx, path)),
            None => Err(VideoError::MissingSideFrame {
                dir: dir.to_owned(),
                frame_idx,
            }),
        })
        .collect()
}

/// The last run of ASCII digits in `text`, as a number.
fn last_number(text: &str) -> Option<u64> {
    let end = text.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = text[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |idx| idx + 1);
    text[start..end].parse().ok()
}

/// Fills `dir` with `000000.png … ` for frames `0..num_frames`: a link to `frames[k]` where there
/// is one, else a link to one black image of `size`.
fn link_sequence(
    dir: &Path,
    frames: &BTreeMap<u64, PathBuf>,
    num_frames: u64,
    size: (u32, u32),
) -> Result<(), VideoError> {
    // A leftover from a killed run would mix old links in.
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|source| VideoError::io(dir, source))?;
    }
    fs::create_dir_all(dir).map_err(|source| VideoError::io(dir, source))?;
    let black = dir.join("black.png");
    if frames.len() as u64 != num_frames {
        write_black_png(&black, size)?;
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

/// A black 8-bit grey PNG of `(width, height)`.
fn write_black_png(path: &Path, (width, height): (u32, u32)) -> Result<(), VideoError> {
    let file = File::create(path).map_err(|source| VideoError::io(path, source))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let black = vec![0u8; width as usize * height as usize];
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

    /// Output frames are matched by the number in their names, whatever the tool around it.
    #[test]
    fn last_number_reads_common_frame_names() {
        assert_eq!(last_number("000042"), Some(42));
        assert_eq!(last_number("frame_42"), Some(42));
        assert_eq!(last_number("ComfyUI_00042_"), Some(42));
        assert_eq!(last_number("take2_0007"), Some(7));
        assert_eq!(last_number("cover"), None);
    }

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
