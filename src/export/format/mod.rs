//! Any thread: the files of an output folder (DESIGN.md §7, §12–14), one module per file, each
//! with its one typed reader and writer. No other module names a file of the folder or parses one.
//!
//! Every reader is bounded: a number read from a file never sizes an allocation beyond what the
//! folder can hold (the render's frame range, else [`MAX_FRAMES`]), and a bad file is one
//! [`FormatError`] naming the file, the line where there is one, and what is wrong.
//!
//! Every file is written under a temporary name and renamed into place ([`write_atomically`]),
//! so a crash or a full disk never leaves a half-written file behind.

pub mod audio;
pub mod capture;
pub mod derived;
pub mod diffused;
pub mod folder;
pub mod frames;
pub mod manifest;
pub mod page;
pub mod schedule;
pub mod session;
pub mod spectrum;

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The most frames a folder holds: 46 hours at 60 fps. A frame number beyond it in a file of
/// ours is an error, never an allocation.
pub const MAX_FRAMES: u64 = 10_000_000;

/// Why a file of the folder cannot be read or written. Each message is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
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
        matches!(self, Self::Read { .. } | Self::Write { .. })
    }

    pub(crate) fn read(path: &Path, source: io::Error) -> Self {
        Self::Read {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn write(path: &Path, source: io::Error) -> Self {
        Self::Write {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn invalid(path: &Path, reason: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Writes `path` by writing a hidden temporary file beside it and renaming it into place, so the
/// final name only ever holds a complete file. (No fsync: this guards against crashes of the
/// process, which is what DAWs do, not power loss; an fsync per frame would cost milliseconds.)
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), FormatError> {
    let file_name = path
        .file_name()
        .expect("output paths name a file")
        .to_string_lossy();
    let temp_path = path.with_file_name(format!(".{file_name}.tmp"));
    let result = File::create(&temp_path)
        .and_then(|mut file| write(&mut file))
        .and_then(|()| rename_over(&temp_path, path));
    result.map_err(|source| {
        let _ = fs::remove_file(&temp_path);
        FormatError::write(path, source)
    })
}

/// Renames `from` over `to`. On Windows a file that a viewer, an indexer or a virus scanner has
/// open cannot be replaced for a moment (a sharing violation): tried again a few times over about
/// half a second before giving up.
pub fn rename_over(from: &Path, to: &Path) -> io::Result<()> {
    const TRIES: u32 = if cfg!(windows) { 10 } else { 1 };
    let mut tries_left = TRIES;
    loop {
        match fs::rename(from, to) {
            Err(error) if tries_left > 1 && is_held_open(&error) => {
                tries_left -= 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

/// Whether a rename failed because another program holds the file: Windows says access denied,
/// or sharing violation (`ERROR_SHARING_VIOLATION`, 32).
fn is_held_open(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ResourceBusy
    ) || (cfg!(windows) && error.raw_os_error() == Some(32))
}

/// The whole of a small file, refused past `max_len` bytes (a file of ours that large is not
/// one); `Ok(None)` when it is missing.
pub(crate) fn read_bounded(path: &Path, max_len: u64) -> Result<Option<Vec<u8>>, FormatError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(FormatError::read(path, source)),
    };
    let mut bytes = Vec::new();
    file.take(max_len + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| FormatError::read(path, source))?;
    if bytes.len() as u64 > max_len {
        return Err(FormatError::invalid(
            path,
            format!("larger than the {} MB such a file can be", max_len >> 20),
        ));
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A write that fails halfway leaves neither the target nor the temporary file behind.
    #[test]
    fn failed_atomic_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spectrum.csv");
        let result = write_atomically(&path, |file| {
            file.write_all(b"half a row")?;
            Err(io::Error::other("disk full"))
        });
        assert!(matches!(result, Err(FormatError::Write { .. })));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// A successful write replaces the old file whole.
    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        fs::write(&path, b"old").unwrap();
        write_atomically(&path, |file| file.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
