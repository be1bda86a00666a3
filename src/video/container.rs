//! CLI thread: the file `video` writes, by its name's extension, and the encoders for it that
//! this ffmpeg has.

use std::fmt;
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};

use super::{FFMPEG, VideoError};

/// The containers `video` writes, chosen by the output's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Mp4,
    Matroska,
    QuickTime,
    WebM,
}

impl Container {
    /// The container an output named `path` asks for, if it is one of ours.
    pub fn of(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "mp4" => Self::Mp4,
            "mkv" => Self::Matroska,
            "mov" => Self::QuickTime,
            "webm" => Self::WebM,
            _ => return None,
        })
    }

    /// ffmpeg's name of the muxer.
    pub(super) fn muxer(self) -> &'static str {
        match self {
            Self::Mp4 => "mp4",
            Self::Matroska => "matroska",
            Self::QuickTime => "mov",
            Self::WebM => "webm",
        }
    }

    /// Video encoders by preference, with their settings: H.264 when this ffmpeg has it, else
    /// MPEG-4 part 2 (still a file every player and Deforum's Video Input read); VP9, else VP8,
    /// for WebM.
    pub(super) fn video_encoders(self) -> &'static [Encoder] {
        match self {
            Self::WebM => &[
                (
                    "libvpx-vp9",
                    &["-c:v", "libvpx-vp9", "-crf", "30", "-b:v", "0"],
                ),
                ("libvpx", &["-c:v", "libvpx", "-crf", "10", "-b:v", "4M"]),
            ],
            _ => &[
                (
                    "libx264",
                    &["-c:v", "libx264", "-crf", "18", "-preset", "medium"],
                ),
                ("mpeg4", &["-c:v", "mpeg4", "-q:v", "2"]),
            ],
        }
    }

    /// Audio encoders by preference: AAC, or Opus (else Vorbis) for WebM.
    pub(super) fn audio_encoders(self) -> &'static [Encoder] {
        match self {
            Self::WebM => &[
                ("libopus", &["-c:a", "libopus", "-b:a", "160k"]),
                ("libvorbis", &["-c:a", "libvorbis", "-q:a", "6"]),
            ],
            _ => &[("aac", &["-c:a", "aac", "-b:a", "192k"])],
        }
    }
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Mp4 => "MP4",
            Self::Matroska => "Matroska",
            Self::QuickTime => "QuickTime",
            Self::WebM => "WebM",
        })
    }
}

/// An ffmpeg encoder's name and the arguments that select and set it.
type Encoder = (&'static str, &'static [&'static str]);

/// The encoders this ffmpeg has (`ffmpeg -encoders`); also the check that ffmpeg is there.
pub(super) fn ffmpeg_encoders() -> Result<Vec<String>, VideoError> {
    let output = Command::new(FFMPEG)
        .args(["-hide_banner", "-encoders"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => VideoError::NoFfmpeg,
            _ => VideoError::io(Path::new(FFMPEG), error),
        })?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1).map(str::to_owned))
        .collect())
}

/// The arguments of the first of `choices` that this ffmpeg has.
pub(super) fn pick_encoder(
    encoders: &[String],
    container: Container,
    kind: &'static str,
    choices: &'static [Encoder],
) -> Result<&'static [&'static str], VideoError> {
    choices
        .iter()
        .find(|(name, _)| encoders.iter().any(|encoder| encoder == name))
        .map(|&(_, args)| args)
        .ok_or_else(|| VideoError::NoEncoder {
            container,
            kind,
            wanted: choices
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(" or "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The container follows the name, in any case; other names have none.
    #[test]
    fn container_follows_the_extension() {
        assert_eq!(Container::of(Path::new("v.MKV")), Some(Container::Matroska));
        assert_eq!(
            Container::of(Path::new("out/v.webm")),
            Some(Container::WebM)
        );
        assert_eq!(Container::of(Path::new("v.avi")), None);
        assert_eq!(Container::of(Path::new("video")), None);
    }
}
