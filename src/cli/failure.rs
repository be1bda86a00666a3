//! CLI: a command's failure as one line and its exit code (DESIGN.md §9): 0 ok, 1 bad input
//! (damaged audio too, with `--strict` or `info --verify`), 2 usage, 3 I/O, 130 interrupted; a
//! panic is 101 with one line (see [`super::main`]). Each damaged span of audio is one `warning:`
//! line before it.

use std::path::Path;

use crate::audio::decode::{Damage, DecodeError};
use crate::export::ExportError;
use crate::export::FormatError;
use crate::export::format::folder::FolderError;
use crate::page::PageError;
use crate::pipeline::PipelineError;
use crate::video::{PairingError, VideoError};

/// A failure with its exit code; printed as one line.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(super) struct Failure {
    pub(super) message: String,
    pub(super) exit_code: u8,
}

pub(super) const EXIT_BAD_INPUT: u8 = 1;
pub(super) const EXIT_USAGE: u8 = 2;
pub(super) const EXIT_IO: u8 = 3;
/// 128 + SIGINT, as shells report a process that Ctrl-C ended.
pub(super) const EXIT_INTERRUPTED: u8 = 130;

impl Failure {
    pub(super) fn usage(error: impl std::fmt::Display) -> Self {
        Self {
            message: error.to_string(),
            exit_code: EXIT_USAGE,
        }
    }

    /// A folder or file that cannot be read as ours: bad input, or an I/O failure when `is_io`.
    pub(super) fn unreadable(error: impl std::fmt::Display, is_io: bool) -> Self {
        Self {
            message: error.to_string(),
            exit_code: if is_io { EXIT_IO } else { EXIT_BAD_INPUT },
        }
    }

    /// Damaged audio where the user asked for none (`--strict`, `info --verify`).
    pub(super) fn damaged(path: &Path, damage: &[Damage], consequence: &str) -> Self {
        Self {
            message: format!(
                "{}: damaged audio ({}){consequence}",
                path.display(),
                num_spans(damage.len())
            ),
            exit_code: EXIT_BAD_INPUT,
        }
    }
}

/// "1 damaged span", "3 damaged spans".
pub(super) fn num_spans(n: usize) -> String {
    match n {
        1 => "1 damaged span".to_owned(),
        n => format!("{n} damaged spans"),
    }
}

/// One `warning:` line on stderr per damaged span.
pub(super) fn print_damage(path: &Path, damage: &[Damage], sample_rate: u32) {
    for damage in damage {
        eprintln!(
            "warning: {}: {}",
            path.display(),
            damage.describe(sample_rate)
        );
    }
}

impl From<DecodeError> for Failure {
    fn from(error: DecodeError) -> Self {
        let is_io = error.is_io();
        Self::unreadable(error, is_io)
    }
}

impl From<VideoError> for Failure {
    fn from(error: VideoError) -> Self {
        let exit_code = match &error {
            VideoError::Folder(error) if error.is_io() => EXIT_IO,
            VideoError::Audio(error) if error.is_io() => EXIT_IO,
            VideoError::Pairing(PairingError::Read { .. }) => EXIT_IO,
            VideoError::Container { .. } => EXIT_USAGE,
            VideoError::Folder(_)
            | VideoError::Audio(_)
            | VideoError::NoFrames { .. }
            | VideoError::MissingFrame { .. }
            | VideoError::Pairing(_)
            | VideoError::MissingAudio { .. } => EXIT_BAD_INPUT,
            VideoError::NoFfmpeg
            | VideoError::NoEncoder { .. }
            | VideoError::NotOurs { .. }
            | VideoError::Io { .. }
            | VideoError::Ffmpeg { .. } => EXIT_IO,
            VideoError::Interrupted => EXIT_INTERRUPTED,
        };
        Self {
            message: error.to_string(),
            exit_code,
        }
    }
}

impl From<FormatError> for Failure {
    fn from(error: FormatError) -> Self {
        let is_io = error.is_io();
        Self::unreadable(error, is_io)
    }
}

impl From<FolderError> for Failure {
    fn from(error: FolderError) -> Self {
        let is_io = error.is_io();
        Self::unreadable(error, is_io)
    }
}

impl From<PageError> for Failure {
    fn from(error: PageError) -> Self {
        let is_io = error.is_io();
        Self::unreadable(error, is_io)
    }
}

impl From<ExportError> for Failure {
    fn from(error: ExportError) -> Self {
        match error {
            error @ ExportError::NotOurs { .. } => Self {
                message: format!(
                    "{error}; choose an empty folder, or add --force to write beside its files"
                ),
                exit_code: EXIT_IO,
            },
            // Only a continued folder compares settings: `--resume` with other options.
            ExportError::SettingsDiffer { path, field } => Self::usage(format_args!(
                "cannot resume {}: {} differs from that render's; give the same, or drop \
                 --resume to replace that render",
                path.display(),
                option_of_setting(field)
            )),
            // A damaged file of the folder is bad input, like a damaged audio file.
            ExportError::Format(error) if !error.is_io() => Self::unreadable(error, false),
            error => Self {
                message: error.to_string(),
                exit_code: EXIT_IO,
            },
        }
    }
}

impl From<PipelineError> for Failure {
    fn from(error: PipelineError) -> Self {
        match error {
            PipelineError::Decode(error) => error.into(),
            PipelineError::Analysis(error) => Self::usage(error),
            PipelineError::Export(error) => error.into(),
            PipelineError::NoAudio => Self {
                message: error.to_string(),
                exit_code: EXIT_BAD_INPUT,
            },
            PipelineError::Interrupted { .. } => Self {
                message: error.to_string(),
                exit_code: EXIT_INTERRUPTED,
            },
        }
    }
}

/// The `render` option that decides a manifest setting [`ExportError::SettingsDiffer`] names.
fn option_of_setting(field: &str) -> &str {
    match field {
        "source" => "the input",
        "sample_rate" => "the input's sample rate",
        "fps" => "--fps",
        "analysis" | "bin_freqs_hz" => {
            "the analysis (--preset, --bins, --fft-size, --window, --window-seconds, --floor-db, \
             --tilt)"
        }
        "csv" => "--csv",
        "frames" => "--csv-only",
        "frames.size" => "--size",
        "frames.color" => "--color",
        "frames.render" => {
            "the look (--look, --view, --pie, --palette, --noise, --seed, --blur, …)"
        }
        other => other,
    }
}
