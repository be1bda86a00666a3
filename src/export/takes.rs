//! Writer thread: a plugin instance's takes into its folder (DESIGN.md §7, §13). Which folder a
//! take goes to (`<track>`, or `<track>-2`, `-3`… when that one holds frames made with other
//! settings, holds files not ours, or another instance writes there), the folder's lock, Clear,
//! and the lane's entry in its session's `session.json`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::format::session::{self, Lane, SessionError};
use super::{
    CsvFormat, ExportError, ExportSettings, FolderLock, FrameWriter, JobInfo, OpenMode, Source,
    TakeStats,
};
use crate::analysis::{AnalysisSettings, BinMap};
use crate::render::RenderSettings;
use crate::take::{FolderSnapshot, PositionSource, RecordedFrame, TakeSettings};

/// The most numbered folders tried beside `<track>` before giving up.
const MAX_FOLDER_NUMBER: usize = 999;

/// The folder a take is written into: what it was opened for, its lock and its writer.
pub struct TakeFolder {
    key: TakeKey,
    writer: FrameWriter,
    /// Held while this instance writes here; declared after `writer`, so it is released last.
    _lock: FolderLock,
}

/// What a [`TakeFolder`] was opened for; a take with another key gets another folder.
#[derive(PartialEq)]
struct TakeKey {
    /// `<folder>/<track name or instance id>`, before any number.
    base_dir: PathBuf,
    track: String,
    settings: TakeSettings,
}

impl TakeKey {
    fn new(folder: &FolderSnapshot, settings: &TakeSettings) -> Self {
        Self {
            base_dir: folder.out_dir(),
            track: folder.track.clone(),
            settings: settings.clone(),
        }
    }
}

impl TakeFolder {
    /// Opens the first of `<base>`, `<base>-2`, `<base>-3`… that no other instance holds and
    /// that is empty or holds frames made with the take's settings, continuing them. Also returns
    /// why the last folder passed over (other settings, or files not ours) was, if any.
    pub fn open(
        folder: &FolderSnapshot,
        settings: &TakeSettings,
        host: &str,
    ) -> Result<(Self, Option<ExportError>), ExportError> {
        let key = TakeKey::new(folder, settings);
        let instance = folder.instance_name();
        let mut skipped = None;
        for number in 1..=MAX_FOLDER_NUMBER {
            let dir = numbered_dir(&key.base_dir, number);
            let Some(lock) = FolderLock::try_acquire(&dir, &instance)? else {
                continue;
            };
            let writer = match open_writer(&key, &dir, host) {
                Ok(writer) => writer,
                Err(error @ (ExportError::SettingsDiffer { .. } | ExportError::NotOurs { .. })) => {
                    skipped = Some(error);
                    continue;
                }
                Err(error) => return Err(error),
            };
            let take_folder = Self {
                key,
                writer,
                _lock: lock,
            };
            return Ok((take_folder, skipped));
        }
        Err(ExportError::io(
            &key.base_dir,
            std::io::Error::other("every numbered folder beside it is in use"),
        ))
    }

    /// Whether a take with these settings, into this folder, goes on here.
    pub fn is_for(&self, folder: &FolderSnapshot, settings: &TakeSettings) -> bool {
        self.key == TakeKey::new(folder, settings)
    }

    /// The folder written.
    pub fn out_dir(&self) -> &Path {
        &self.writer.settings().out_dir
    }

    /// Writes one recorded frame: its PNG, its spectrum row and its host tables' rows.
    pub fn write_frame(&mut self, frame: &RecordedFrame) -> Result<(), ExportError> {
        self.writer.write_frame(frame.frame_idx, frame.bins())?;
        self.writer.record_capture(frame.frame_idx, &frame.capture)
    }

    /// Ends a take: the CSVs and the manifest list every frame written, with the take's counts.
    pub fn finish_take(
        &mut self,
        dropped: &Dropped,
        position_source: PositionSource,
    ) -> Result<(), ExportError> {
        self.writer
            .finish_take(&take_stats(dropped, position_source))
    }

    /// Adds a warning to the folder's manifest, outside any take.
    pub fn add_warning(&mut self, warning: String) -> Result<(), ExportError> {
        self.writer.finish_take(&TakeStats {
            frames_dropped: 0,
            position_source: PositionSource::Timeline,
            warnings: vec![warning],
        })
    }

    /// Lists the folder in its session's `session.json`, with the frames it holds now (DESIGN.md
    /// §13). A failure leaves the take recording: the lane's folder is whole, only the session
    /// does not list it.
    pub fn register_lane(&self, instance: &str) -> Result<(), SessionError> {
        register_lane(&self.writer, &self.key.track, instance)
    }

    /// Empties the folder of our files, keeping the user's ("Clear"): reopened in Replace mode,
    /// so an empty listing keeps the folder ours (the user's files alone would make it look
    /// foreign to the next take). On failure the folder is no longer open.
    pub fn clear(self) -> (PathBuf, Result<Self, ExportError>) {
        let Self { key, writer, _lock } = self;
        let settings = writer.settings().clone();
        let job = writer.job().clone();
        // The old writer goes first: its spill file has the new one's name.
        drop(writer);
        let result = FrameWriter::open(&settings, job, OpenMode::Replace).map(|writer| Self {
            key,
            writer,
            _lock,
        });
        (settings.out_dir, result)
    }
}

/// Clears the folder `folder` names when no take folder is open: under its lock, so not while
/// another instance writes there.
pub fn clear_unopened(folder: &FolderSnapshot) -> (PathBuf, Result<(), ExportError>) {
    let dir = folder.out_dir();
    let result = match FolderLock::try_acquire(&dir, &folder.instance_name()) {
        Ok(Some(_lock)) => super::clear_folder(&dir),
        Ok(None) => Err(ExportError::io(
            &dir,
            std::io::Error::other("another instance writes there"),
        )),
        Err(error) => Err(error),
    };
    (dir, result)
}

/// Takes the cleared lane `dir` out of its session: a lane without frames has nothing to offer;
/// its next take lists it again. `None` when `dir` is in no session folder.
pub fn leave_session(dir: &Path) -> Option<Result<(), SessionError>> {
    session::session_of(dir).map(|(root, name)| session::remove_lane(root, &name))
}

/// The take settings as a lane lists them.
#[derive(Serialize)]
struct LaneSettings<'a> {
    sample_rate: u32,
    analysis: &'a AnalysisSettings,
    render: &'a RenderSettings,
    write_images: bool,
}

/// Lists the lane `writer` writes in its session (the folder above the lane's), or updates its
/// entry: track, instance, take settings, frame range. A lane whose frame rate differs from the
/// other lanes' is not listed ([`SessionError::FpsDiffers`]); a session whose lanes are all gone
/// takes the lane's rate.
pub fn register_lane(
    writer: &FrameWriter,
    track: &str,
    instance_id: &str,
) -> Result<(), SessionError> {
    let Some((root, name)) = session::session_of(&writer.settings().out_dir) else {
        return Ok(());
    };
    let job = writer.job();
    let settings = LaneSettings {
        sample_rate: job.sample_rate,
        analysis: &job.analysis,
        render: &job.render,
        write_images: writer.settings().write_images,
    };
    let span = writer.frame_span();
    let lane = Lane {
        name,
        track: track.to_owned(),
        instance_id: instance_id.to_owned(),
        settings: serde_json::to_value(&settings).expect("take settings serialize"),
        first_frame: span.map(|[first, _]| first),
        last_frame: span.map(|[_, last]| last),
        frames_written: writer.num_frames(),
    };
    session::update_lane(root, job.fps, lane)
}

/// Opens `dir` in `Continue` mode: the take adds to the frames already there.
fn open_writer(key: &TakeKey, dir: &Path, host: &str) -> Result<FrameWriter, ExportError> {
    let settings = ExportSettings {
        out_dir: dir.to_owned(),
        csv: CsvFormat::Full,
        write_images: key.settings.write_images,
        is_forced: false,
    };
    let take = &key.settings;
    let job = JobInfo {
        source: Source::Host {
            host: host.to_owned(),
            track: key.track.clone(),
        },
        sample_rate: take.sample_rate,
        fps: take.fps,
        analysis: take.analysis.clone(),
        render: take.render.clone(),
        bin_freqs_hz: BinMap::for_settings(&take.analysis, take.sample_rate).centre_freqs_hz,
        audio: None,
        frames_expected: None,
    };
    FrameWriter::open(&settings, job, OpenMode::Continue)
}

/// `<base>` for 1, `<base>-<n>` beside it for n > 1.
fn numbered_dir(base: &Path, number: usize) -> PathBuf {
    if number == 1 {
        return base.to_owned();
    }
    let mut name = base.file_name().unwrap_or_default().to_os_string();
    name.push(format!("-{number}"));
    base.with_file_name(name)
}

/// A take's frames that are not in its folder, by cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Frames the real-time recorder could not queue.
    pub num_real_time: u64,
    /// Frames queued but not written: the instance ended, and the writer stopped after `wait`.
    pub num_unwritten: u64,
    pub wait: std::time::Duration,
}

/// The manifest's warning for takes the end of an instance left unstarted.
pub fn unwritten_takes_warning(num_takes: u64, wait: std::time::Duration) -> String {
    format!(
        "{num_takes} later takes not written: the plugin was closed with them queued, and the \
         writer stops {} s after the close",
        wait.as_secs()
    )
}

fn take_stats(dropped: &Dropped, position_source: PositionSource) -> TakeStats {
    let mut warnings = Vec::new();
    if dropped.num_real_time > 0 {
        warnings.push(format!(
            "{} frames dropped: the host ran in real-time mode faster than the writer could \
             write; bounce offline to keep every frame",
            dropped.num_real_time
        ));
    }
    if dropped.num_unwritten > 0 {
        warnings.push(format!(
            "{} frames not written: the plugin was closed while they were queued, and the writer \
             stops {} s after the close; keep it open until the recorder panel says idle to keep \
             every frame",
            dropped.num_unwritten,
            dropped.wait.as_secs()
        ));
    }
    if position_source == PositionSource::SampleCount {
        warnings.push(
            "the host reported no transport position: frames counted from the take's start".into(),
        );
    }
    TakeStats {
        frames_dropped: dropped.num_real_time + dropped.num_unwritten,
        position_source,
        warnings,
    }
}
