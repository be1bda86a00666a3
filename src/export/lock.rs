//! Writer thread: one writer per output folder. A plugin instance holds an exclusive lock on
//! `<out>/.spectral-diffusion.lock` (which names the instance) for as long as it writes there;
//! another instance finds the lock taken and writes beside it (DESIGN.md §7). The operating
//! system releases the lock when the file is closed or the process dies, so a crash never leaves
//! a folder locked.

use std::fs::{self, File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::ExportError;

/// The lock file's name inside an output folder.
pub const LOCK_FILE: &str = ".spectral-diffusion.lock";

/// An output folder this process writes into, exclusively; released on drop.
#[derive(Debug)]
pub struct FolderLock {
    dir: PathBuf,
    /// Holds the lock while open.
    file: File,
}

impl FolderLock {
    /// Creates `dir` if needed and locks it for `instance_id`. `Ok(None)` when another writer
    /// (another instance, in this process or another) holds it.
    pub fn try_acquire(dir: &Path, instance_id: &str) -> Result<Option<Self>, ExportError> {
        fs::create_dir_all(dir).map_err(|source| ExportError::io(dir, source))?;
        let path = dir.join(LOCK_FILE);
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| ExportError::io(&path, source))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(source)) => return Err(ExportError::io(&path, source)),
        }
        // Who holds it, for a person looking at the folder.
        file.set_len(0)
            .and_then(|()| (&file).write_all(format!("{instance_id}\n").as_bytes()))
            .map_err(|source| ExportError::io(&path, source))?;
        Ok(Some(Self {
            dir: dir.to_owned(),
            file,
        }))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A second writer cannot take a held folder, and can once the first lets go. The holder's
    /// name is read after it let go: on Windows a held lock keeps other handles from reading.
    #[test]
    fn a_folder_has_one_writer_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("Mix Bus");
        let first = FolderLock::try_acquire(&out, "instance-a")
            .unwrap()
            .unwrap();
        assert!(
            FolderLock::try_acquire(&out, "instance-b")
                .unwrap()
                .is_none()
        );
        drop(first);
        let holder = || fs::read_to_string(out.join(LOCK_FILE)).unwrap();
        assert_eq!(holder(), "instance-a\n");
        let second = FolderLock::try_acquire(&out, "instance-b").unwrap();
        assert!(second.is_some());
        drop(second);
        assert_eq!(holder(), "instance-b\n");
    }
}
