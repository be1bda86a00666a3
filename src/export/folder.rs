//! Writer thread / CLI: which files in an output folder are ours, and removing only those.
//!
//! A folder is ours when its `manifest.json` names this tool. Our files in it are the manifest,
//! `spectrum.csv`, the session tables (`transport.csv`, `midi.csv`, `macros.csv`), the numbered PNGs in `frames/` (`frames/%06d.png`, the names
//! [`super::frame_path`] makes), the preview page `index.html` when it carries our mark, and the
//! hidden temporaries of [`super::write_atomically`] and the spill file. Everything else belongs
//! to the user and is never touched.

use std::fs;
use std::io;
use std::path::Path;

use super::capture::CAPTURE_SPILL_NAME;
use super::format::capture::HostTableKind;
use super::format::derived::{DERIVED_NAME, Derived, RenderId, VideoRecord};
use super::format::diffused::DIFFUSED_DIR;
use super::format::frames::{FRAMES_DIR, frame_idx_of};
use super::format::manifest::{MANIFEST_NAME, Manifest, ManifestState};
use super::format::page::{self, is_our_page};
use super::format::schedule::SCHEDULE_FILES;
use super::format::spectrum::SPECTRUM_NAME;
use super::{ExportError, SPILL_NAME};

/// What an output folder holds before a job writes into it.
#[derive(Debug)]
pub enum FolderState {
    /// Missing, or an empty folder (a writer's lock file aside).
    Empty,
    /// Holds a render (or takes) of ours, possibly beside the user's own files.
    Ours(Box<Manifest>),
    /// Holds files, but no manifest of ours; the manifest's error when it has one that is not.
    Foreign(Option<super::FormatError>),
}

/// Looks at `dir` without changing it.
pub fn inspect(dir: &Path) -> Result<FolderState, ExportError> {
    let mut entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(FolderState::Empty),
        Err(source) => return Err(ExportError::io(dir, source)),
    };
    // A writer's lock file is no content (the writer locks a folder before opening it), nor are
    // schedules made from the audio before any render, with their record.
    let is_no_content = |entry: &io::Result<fs::DirEntry>| {
        entry.as_ref().is_ok_and(|entry| {
            let name = entry.file_name();
            name == super::LOCK_FILE
                || name == DERIVED_NAME
                || SCHEDULE_FILES.iter().any(|file| name == *file)
        })
    };
    if entries.all(|entry| is_no_content(&entry)) {
        return Ok(FolderState::Empty);
    }
    Ok(match Manifest::read(dir)? {
        ManifestState::Ours(manifest) => FolderState::Ours(manifest),
        ManifestState::Missing => FolderState::Foreign(None),
        ManifestState::Foreign(error) => FolderState::Foreign(Some(error)),
    })
}

/// Empties `dir` of our files, leaving the user's ("Clear" in the plugin's recorder panel). A
/// missing or empty folder is fine; a folder without a manifest of ours is refused. Where the
/// user's files stay, so does a manifest listing no frames: the user's files alone would make the
/// folder look foreign to the next take.
pub fn clear_folder(dir: &Path) -> Result<(), ExportError> {
    match inspect(dir)? {
        FolderState::Empty => Ok(()),
        FolderState::Ours(manifest) => {
            remove_listed_files(dir)?;
            let manifest_path = dir.join(MANIFEST_NAME);
            let mut others = 0;
            for_each_entry(dir, |name| {
                others += usize::from(name != MANIFEST_NAME && name != super::LOCK_FILE);
                Ok(())
            })?;
            if others == 0 {
                remove_file(&manifest_path)
            } else {
                Ok(manifest.emptied().write(dir)?)
            }
        }
        FolderState::Foreign(why) => Err(ExportError::NotOurs {
            path: dir.to_owned(),
            why: why.map(Box::new),
        }),
    }
}

/// The frame PNGs in `<dir>/frames/` named as ours, by index (none when `frames/` is missing).
pub fn numbered_frames(dir: &Path) -> Result<Vec<u64>, ExportError> {
    let frames_dir = dir.join(FRAMES_DIR);
    let mut frames = Vec::new();
    for_each_entry(&frames_dir, |name| {
        if let Some(frame_idx) = frame_idx_of(name) {
            frames.push(frame_idx);
        }
        Ok(())
    })?;
    Ok(frames)
}

/// Removes every file of ours from `dir`, whatever its manifest says, and `frames/` if that leaves
/// it empty. The manifest goes last, so a folder cleared halfway is still recognized as ours.
pub fn remove_our_files(dir: &Path) -> Result<(), ExportError> {
    remove_listed_files(dir)?;
    remove_file(&dir.join(MANIFEST_NAME))
}

/// Removes our files but the manifest: the frames, the CSV and the temporaries.
fn remove_listed_files(dir: &Path) -> Result<(), ExportError> {
    let frames_dir = dir.join(FRAMES_DIR);
    for_each_entry(&frames_dir, |name| {
        if frame_idx_of(name).is_some() || is_our_temporary(name) {
            remove_file(&frames_dir.join(name))?;
        }
        Ok(())
    })?;
    // Not ours to remove if the user keeps files in it.
    let _ = fs::remove_dir(&frames_dir);
    remove_temporaries(dir)?;
    // A page left from the render being replaced would show its frames.
    if is_our_page(dir) {
        remove_file(&page::page_path(dir))?;
    }
    for kind in HostTableKind::ALL {
        remove_file(&dir.join(kind.file_name()))?;
    }
    remove_file(&dir.join(SPECTRUM_NAME))
}

/// Removes the temporaries a killed process may have left in `dir` and `dir/frames`.
pub fn remove_temporaries(dir: &Path) -> Result<(), ExportError> {
    for folder in [dir.to_owned(), dir.join(FRAMES_DIR)] {
        for_each_entry(&folder, |name| {
            if is_our_temporary(name) {
                remove_file(&folder.join(name))?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// `.000042.png.tmp`, `.spectrum.csv.tmp`, `.manifest.json.tmp`, the session tables' and the
/// spill files.
fn is_our_temporary(name: &str) -> bool {
    name == SPILL_NAME
        || name == CAPTURE_SPILL_NAME
        || name
            .strip_prefix('.')
            .and_then(|name| name.strip_suffix(".tmp"))
            .is_some_and(|name| {
                name == SPECTRUM_NAME
                    || name == MANIFEST_NAME
                    || HostTableKind::ALL
                        .iter()
                        .any(|kind| kind.file_name() == name)
                    || frame_idx_of(name).is_some()
            })
}

/// Calls `f` with each UTF-8 entry name of `dir`; a missing folder has none.
fn for_each_entry(
    dir: &Path,
    mut f: impl FnMut(&str) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(ExportError::io(dir, source)),
    };
    for entry in entries {
        let entry = entry.map_err(|source| ExportError::io(dir, source))?;
        if let Some(name) = entry.file_name().to_str() {
            f(name)?;
        }
    }
    Ok(())
}

/// Removes `path`; already gone is fine.
fn remove_file(path: &Path) -> Result<(), ExportError> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(ExportError::io(path, error)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::names;

    /// Only the names [`super::super::frame_path`] makes count as our frames.
    #[test]
    fn frame_names_are_recognized_exactly() {
        assert_eq!(frame_idx_of("000042.png"), Some(42));
        assert_eq!(frame_idx_of("1234567.png"), Some(1_234_567));
        for name in [
            "42.png",
            "0000042.png",
            "000042.PNG",
            "frame.png",
            "-00042.png",
        ] {
            assert_eq!(frame_idx_of(name), None, "{name}");
        }
        assert!(is_our_temporary(".000042.png.tmp"));
        assert!(is_our_temporary(".spectrum.bins.tmp"));
        assert!(!is_our_temporary(".notes.txt.tmp"));
    }

    /// Removing our files keeps the user's files, in the folder and in `frames/`.
    #[test]
    fn removing_our_files_keeps_the_users() {
        let dir = tempfile::tempdir().unwrap();
        let frames = dir.path().join("frames");
        fs::create_dir(&frames).unwrap();
        for name in ["000000.png", "000001.png", ".000002.png.tmp", "cover.png"] {
            fs::write(frames.join(name), b"x").unwrap();
        }
        for name in [MANIFEST_NAME, SPECTRUM_NAME, SPILL_NAME, "notes.txt"] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        remove_our_files(dir.path()).unwrap();
        let left = names(dir.path());
        assert_eq!(left, ["frames/cover.png", "notes.txt"]);
    }

    /// `clear_folder` refuses a folder that holds no manifest of ours, and touches nothing.
    #[test]
    fn clearing_a_foreign_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("frames")).unwrap();
        fs::write(dir.path().join("frames/000000.png"), b"x").unwrap();
        let error = clear_folder(dir.path()).unwrap_err();
        assert!(matches!(error, ExportError::NotOurs { .. }), "{error}");
        assert_eq!(names(dir.path()), ["frames/000000.png"]);
        assert!(clear_folder(&dir.path().join("missing")).is_ok());
    }
}

/// What [`remove_stale_derived`] did.
#[derive(Debug, Default, PartialEq)]
pub struct StaleDerived {
    /// The files removed: they were made from an earlier render.
    pub removed: Vec<String>,
    /// How to make the schedule again, when it was among them.
    pub schedule_command: Option<String>,
    /// Whether the folder keeps img2img results (`diffused/`), which `diffuse` redraws where
    /// the guides changed.
    pub has_diffused: bool,
}

/// After a render replaced the folder's frames: removes the derived files we made from the
/// render before (its schedule files and videos, as `derived.json` lists them) that do not
/// match the new one, and says what went. `diffused/` is kept: its ledger redraws only the
/// frames whose guide changed.
pub fn remove_stale_derived(dir: &Path) -> Result<StaleDerived, ExportError> {
    let Some(derived) = Derived::read(dir)? else {
        return Ok(StaleDerived::default());
    };
    let manifest = Manifest::read_ours(dir)?;
    let now = RenderId::of(&manifest);
    let mut stale = StaleDerived {
        has_diffused: dir.join(DIFFUSED_DIR).is_dir(),
        ..StaleDerived::default()
    };
    let schedule_is_stale = derived
        .schedule
        .as_ref()
        .is_some_and(|schedule| schedule.mismatch(&manifest).is_some());
    if let Some(schedule) = derived.schedule.as_ref().filter(|_| schedule_is_stale) {
        for name in &schedule.files {
            remove_file(&dir.join(name))?;
            stale.removed.push(name.clone());
        }
        stale.schedule_command = Some(schedule.command_for(dir, manifest.rate()));
    }
    let (stale_videos, kept_videos): (Vec<VideoRecord>, Vec<VideoRecord>) = derived
        .videos
        .iter()
        .cloned()
        .partition(|video| video.from != now);
    for video in &stale_videos {
        remove_file(&dir.join(&video.file))?;
        remove_file(&dir.join(video.file.with_extension("log")))?;
        stale.removed.push(video.file.display().to_string());
    }
    Derived::update(dir, |derived| {
        if schedule_is_stale {
            derived.schedule = None;
        }
        derived.videos = kept_videos;
    })?;
    Ok(stale)
}
