//! Any thread: the files of an output folder (DESIGN.md §7, §12–14), one module per file, each
//! with its one typed reader and writer. No other module names a file of the folder or parses one.
//!
//! Every reader is bounded: a number read from a file never sizes an allocation beyond what the
//! folder can hold (the render's frame range, else [`MAX_FRAMES`]), and a bad file is one
//! [`FormatError`] naming the file, the line where there is one, and what is wrong.

pub mod folder;

use std::io;
use std::path::PathBuf;

/// The most frames a folder holds: 46 hours at 60 fps. A frame number beyond it in a file of
/// ours is an error, never an allocation.
pub const MAX_FRAMES: u64 = 10_000_000;

/// Why a file of the folder cannot be read. Each message is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("{}: line {line}: {reason}", path.display())]
    Line {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

impl FormatError {
    /// An I/O failure rather than a file that says something wrong.
    pub fn is_io(&self) -> bool {
        matches!(self, Self::Io { .. })
    }
}
