//! Any thread (the writer thread changes it, the GUI and the CLI read it): `session.json`, the
//! index of a session
//! folder (DESIGN.md §13). The plugin's output folder is the session: each instance writes its
//! lane into a subfolder (`<session>/<track name or instance id>/`) and lists it here, with its
//! take settings and frame range. Lanes of one session share the frame rate and the timeline's
//! frame numbers.
//!
//! Every change is a read-modify-write under an exclusive advisory lock on
//! `<session>/.session.lock`, and replaces the file atomically ([`write_atomically`]), so
//! instances in one process or in several never lose each other's lanes. Readers (the editor,
//! `compose`) never take the lock: the file is only ever replaced whole. A `session.json` that is
//! not a session index of ours is never overwritten: every change fails with a clear error until
//! the user moves it away.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{FormatError, read_bounded, write_atomically};
use crate::clock::FrameRate;

/// The index's name at the session folder's root.
pub const SESSION_NAME: &str = "session.json";
/// The lock file every change holds, beside the index.
pub const SESSION_LOCK_NAME: &str = ".session.lock";
/// Bumped when a field changes meaning or disappears; new fields do not bump it.
pub const SESSION_FORMAT: u32 = 1;
/// A session index lists a lane per track; a few MB is thousands of them.
const MAX_SESSION_BYTES: u64 = 16 << 20;

/// `session.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionIndex {
    pub format: u32,
    /// The frame rate every lane runs at.
    pub fps: FrameRate,
    /// In the order they were first registered.
    pub lanes: Vec<Lane>,
}

/// One lane: a subfolder of the session written by one plugin instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lane {
    /// The lane's folder name under the session root.
    pub name: String,
    /// The host's track name, empty when the host gave none.
    pub track: String,
    /// The instance that last wrote the lane.
    pub instance_id: String,
    /// The take settings its frames were made with (sample rate, analysis, look, images on or
    /// off), as its manifest records them; kept as JSON so a reader never fails on them.
    pub settings: Value,
    pub first_frame: Option<u64>,
    pub last_frame: Option<u64>,
    /// Distinct frames in the lane's folder.
    pub frames_written: u64,
}

/// Why `session.json` could not be read or changed. Each message is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("cannot update {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(
        "{} is not a session index of spectral-diffusion ({reason}); move it away to record a \
         session here",
        path.display()
    )]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "{} was written by a newer spectral-diffusion (format {format}); update the plugin",
        path.display()
    )]
    NewerFormat { path: PathBuf, format: u64 },
    #[error(
        "lane {lane} is not in the session {}: its frames run at {lane_fps} fps, the session's \
         lanes ({}) at {session_fps} fps; set Frame rate to {session_fps} and record again to \
         join it",
        root.display(),
        lanes.join(", ")
    )]
    FpsDiffers {
        root: PathBuf,
        lane: String,
        lane_fps: FrameRate,
        session_fps: FrameRate,
        lanes: Vec<String>,
    },
}

impl SessionError {
    /// An I/O failure rather than a file or a lane that does not fit.
    pub fn is_io(&self) -> bool {
        matches!(self, Self::Io { .. }) || matches!(self, Self::Format(error) if error.is_io())
    }

    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

impl SessionIndex {
    /// The lane named `name`, if listed.
    pub fn lane(&self, name: &str) -> Option<&Lane> {
        self.lanes.iter().find(|lane| lane.name == name)
    }
}

/// Reads `<root>/session.json` without locking it. `Ok(None)` when there is none.
pub fn read_session(root: &Path) -> Result<Option<SessionIndex>, SessionError> {
    let path = root.join(SESSION_NAME);
    let Some(bytes) = read_bounded(&path, MAX_SESSION_BYTES)? else {
        return Ok(None);
    };
    let unreadable = |reason: String| SessionError::Unreadable {
        path: path.clone(),
        reason,
    };
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|error| unreadable(format!("not JSON: {error}")))?;
    match value.get("format").and_then(Value::as_u64) {
        Some(format) if format > u64::from(SESSION_FORMAT) => {
            return Err(SessionError::NewerFormat { path, format });
        }
        Some(_) => {}
        None => return Err(unreadable("no \"format\" number".to_owned())),
    }
    SessionIndex::deserialize(&value)
        .map(Some)
        .map_err(|error| unreadable(error.to_string()))
}

/// Adds `lane` to `<root>/session.json` (creating it), or replaces the entry of that name.
pub fn update_lane(root: &Path, fps: FrameRate, lane: Lane) -> Result<(), SessionError> {
    change_session(root, |index| {
        let mut index = index.unwrap_or(SessionIndex {
            format: SESSION_FORMAT,
            fps,
            lanes: Vec::new(),
        });
        let others: Vec<String> = index
            .lanes
            .iter()
            .filter(|other| other.name != lane.name)
            .map(|other| other.name.clone())
            .collect();
        if others.is_empty() {
            index.fps = fps;
        } else if index.fps != fps {
            return Err(SessionError::FpsDiffers {
                root: root.to_owned(),
                lane: lane.name,
                lane_fps: fps,
                session_fps: index.fps,
                lanes: others,
            });
        }
        match index.lanes.iter_mut().find(|other| other.name == lane.name) {
            Some(entry) => *entry = lane,
            None => index.lanes.push(lane),
        }
        Ok(Some(index))
    })
}

/// Takes the lane `name` out of `<root>/session.json` (its folder was cleared: a lane without
/// frames has nothing to offer; its next take lists it again). Nothing to do without an index.
pub fn remove_lane(root: &Path, name: &str) -> Result<(), SessionError> {
    if !root.join(SESSION_NAME).exists() {
        return Ok(());
    }
    change_session(root, |index| {
        Ok(index.map(|mut index| {
            index.lanes.retain(|lane| lane.name != name);
            index
        }))
    })
}

/// The session root of lane folder `dir` and the lane's name: its parent and its file name.
pub fn session_of(dir: &Path) -> Option<(&Path, String)> {
    let name = dir.file_name()?.to_str()?.to_owned();
    let root = dir.parent().filter(|root| !root.as_os_str().is_empty())?;
    Some((root, name))
}

/// Reads the index under the session's lock, lets `change` edit it, and replaces the file with
/// the result (unchanged when `change` returns `None`). The lock is released when the lock file
/// closes, also when this process dies.
fn change_session(
    root: &Path,
    change: impl FnOnce(Option<SessionIndex>) -> Result<Option<SessionIndex>, SessionError>,
) -> Result<(), SessionError> {
    let lock_path = root.join(SESSION_LOCK_NAME);
    let lock = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|source| SessionError::io(&lock_path, source))?;
    lock.lock()
        .map_err(|source| SessionError::io(&lock_path, source))?;
    let Some(index) = change(read_session(root)?)? else {
        return Ok(());
    };
    write_atomically(&root.join(SESSION_NAME), |file| {
        serde_json::to_writer_pretty(&mut *file, &index)?;
        file.write_all(b"\n")
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(name: &str, frames: Option<(u64, u64)>) -> Lane {
        Lane {
            name: name.to_owned(),
            track: name.to_owned(),
            instance_id: format!("instance-{name}"),
            settings: serde_json::json!({"sample_rate": 48_000}),
            first_frame: frames.map(|(first, _)| first),
            last_frame: frames.map(|(_, last)| last),
            frames_written: frames.map_or(0, |(first, last)| last - first + 1),
        }
    }

    fn names(root: &Path) -> Vec<String> {
        read_session(root)
            .unwrap()
            .unwrap()
            .lanes
            .into_iter()
            .map(|lane| lane.name)
            .collect()
    }

    /// Lanes are added in order, updated in place, and removed; the file is the format of
    /// DESIGN.md §13.
    #[test]
    fn lanes_are_added_updated_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        update_lane(root, FrameRate::FPS_24, lane("Drums", None)).unwrap();
        update_lane(root, FrameRate::FPS_24, lane("Bass", Some((0, 47)))).unwrap();
        update_lane(root, FrameRate::FPS_24, lane("Drums", Some((10, 20)))).unwrap();
        assert_eq!(names(root), ["Drums", "Bass"]);
        let json: Value =
            serde_json::from_slice(&std::fs::read(root.join(SESSION_NAME)).unwrap()).unwrap();
        assert_eq!(json["format"], 1);
        assert_eq!(json["fps"], serde_json::json!({"num": 24, "den": 1}));
        assert_eq!(json["lanes"][0]["first_frame"], 10);
        assert_eq!(json["lanes"][0]["last_frame"], 20);
        assert_eq!(json["lanes"][0]["frames_written"], 11);
        assert_eq!(json["lanes"][0]["instance_id"], "instance-Drums");
        assert_eq!(json["lanes"][1]["settings"]["sample_rate"], 48_000);

        remove_lane(root, "Drums").unwrap();
        assert_eq!(names(root), ["Bass"]);
    }

    /// A lane at another frame rate is refused while other lanes are listed, and the index
    /// stays as it was; once they are gone, the session takes the new rate.
    #[test]
    fn a_lane_at_another_rate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        update_lane(root, FrameRate::FPS_24, lane("Drums", Some((0, 9)))).unwrap();
        let before = std::fs::read(root.join(SESSION_NAME)).unwrap();
        let error = update_lane(root, FrameRate::new(30, 1), lane("Bass", None)).unwrap_err();
        assert!(
            matches!(&error, SessionError::FpsDiffers { lane, .. } if lane == "Bass"),
            "{error}"
        );
        let message = error.to_string();
        assert!(message.contains("30 fps") && message.contains("(Drums) at 24 fps"));
        assert_eq!(std::fs::read(root.join(SESSION_NAME)).unwrap(), before);
        // The only lane itself may change its rate (its folder was cleared and recorded again).
        update_lane(root, FrameRate::new(30, 1), lane("Drums", Some((0, 4)))).unwrap();
        assert_eq!(read_session(root).unwrap().unwrap().fps.num, 30);
        remove_lane(root, "Drums").unwrap();
        update_lane(root, FrameRate::new(25, 1), lane("Bass", None)).unwrap();
        assert_eq!(read_session(root).unwrap().unwrap().fps.num, 25);
    }

    /// A `session.json` that is not ours (not JSON, another tool's JSON, a newer format) is
    /// reported and never overwritten.
    #[test]
    fn a_foreign_index_is_refused_untouched() {
        for (text, is_newer) in [
            (&b""[..], false),
            (b"{\"format\": 1, \"fps\"", false),
            (b"{\"name\": \"my session\", \"tracks\": []}", false),
            (
                b"{\"format\": 1, \"fps\": {\"num\": 24, \"den\": 1}}",
                false,
            ),
            (b"{\"format\": 2, \"fps\": {}, \"lanes\": 3}", true),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            std::fs::write(root.join(SESSION_NAME), text).unwrap();
            let error = update_lane(root, FrameRate::FPS_24, lane("Drums", None)).unwrap_err();
            let is_expected = if is_newer {
                matches!(error, SessionError::NewerFormat { format: 2, .. })
            } else {
                matches!(error, SessionError::Unreadable { .. })
            };
            assert!(is_expected, "{}: {error}", String::from_utf8_lossy(text));
            assert!(!error.to_string().contains('\n'));
            assert!(remove_lane(root, "Drums").is_err());
            assert!(read_session(root).is_err());
            assert_eq!(std::fs::read(root.join(SESSION_NAME)).unwrap(), text);
        }
    }

    /// Removing from a folder without an index creates none.
    #[test]
    fn removing_without_an_index_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        remove_lane(dir.path(), "Drums").unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(read_session(dir.path()).unwrap().is_none());
    }

    #[test]
    fn a_lane_folder_names_its_session() {
        let (root, name) = session_of(Path::new("/takes/song/Drums")).unwrap();
        assert_eq!((root, name.as_str()), (Path::new("/takes/song"), "Drums"));
        assert!(session_of(Path::new("Drums")).is_none());
    }
}
