//! CLI thread: the files `schedule` writes into a folder (DESIGN.md §12), and the one reader of
//! `schedule.csv`, which `page` plots and `diffuse` takes settings from.
//!
//! `schedule.csv` is `frame,<name>…`, then one row per frame, frames ascending: every lane, then
//! every target, on every frame. The reader is bounded by the render it belongs to: a frame past
//! the render's timeline is an error naming the line, never an allocation; memory grows with the
//! rows the file really holds, at most one per frame of the render. Which schedule files are
//! ours is `derived.json`'s to say ([`foreign_files`]).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::FormatError;
use super::derived::Derived;
use super::manifest::Manifest;

/// The lanes and targets as columns, every frame.
pub const LANES_CSV_NAME: &str = "schedule.csv";
/// Deforum keyframe strings.
pub const DEFORUM_NAME: &str = "deforum.txt";
/// AnimateDiff-Evolved value schedules.
pub const ANIMATEDIFF_NAME: &str = "animatediff.txt";
/// Comfyroll's `CR Simple Value Scheduler` lines.
pub const COMFYROLL_NAME: &str = "comfyroll.txt";
/// Parseq's rendered frames, as Deforum's Parseq adapter reads them.
pub const PARSEQ_NAME: &str = "parseq.json";
/// Every file `schedule` writes, its lanes first.
pub const SCHEDULE_FILES: [&str; 5] = [
    LANES_CSV_NAME,
    DEFORUM_NAME,
    ANIMATEDIFF_NAME,
    COMFYROLL_NAME,
    PARSEQ_NAME,
];

/// More columns than any schedule of lanes and targets has.
const MAX_COLUMNS: usize = 4096;
/// A longer line is no row of ours (a row of `MAX_COLUMNS` values is about 60 kB).
const MAX_LINE_BYTES: u64 = 1 << 20;

/// `schedule.csv` as read: its columns and the rows it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleTable {
    pub path: PathBuf,
    /// The column names after `frame`.
    pub names: Vec<String>,
    /// Each row's frame, ascending.
    frames: Vec<u64>,
    /// The rows' values, one row after another, `names.len()` to a row.
    values: Vec<f64>,
}

impl ScheduleTable {
    /// Reads `path`; every frame must lie below `num_frames`, the timeline of the render it
    /// belongs to.
    pub fn read(path: &Path, num_frames: u64) -> Result<Self, FormatError> {
        let file = File::open(path).map_err(|source| FormatError::read(path, source))?;
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let mut line_no = 0;
        let bad = |line: usize, reason: String| FormatError::Line {
            path: path.to_owned(),
            line,
            reason,
        };
        let mut next_line =
            |line: &mut Vec<u8>, line_no: &mut usize| -> Result<bool, FormatError> {
                line.clear();
                let len = (&mut reader)
                    .take(MAX_LINE_BYTES + 1)
                    .read_until(b'\n', line)
                    .map_err(|source| FormatError::read(path, source))?;
                *line_no += 1;
                if len as u64 > MAX_LINE_BYTES {
                    return Err(bad(
                        *line_no,
                        "longer than a row of a schedule can be".into(),
                    ));
                }
                while line
                    .last()
                    .is_some_and(|&byte| byte == b'\n' || byte == b'\r')
                {
                    line.pop();
                }
                Ok(len > 0)
            };

        if !next_line(&mut line, &mut line_no)? {
            return Err(FormatError::invalid(path, "empty: no `frame,…` header"));
        }
        let header = text_of(&line).ok_or_else(|| bad(1, "not UTF-8 text".into()))?;
        let mut cells = header.split(',').map(str::trim);
        if cells.next() != Some("frame") {
            return Err(bad(1, "the first column must be `frame`".into()));
        }
        let mut names: Vec<String> = Vec::new();
        for name in cells {
            if name.is_empty() {
                return Err(bad(1, "a column has no name".into()));
            }
            if names.iter().any(|known| known == name) {
                return Err(bad(1, format!("the column `{name}` is named twice")));
            }
            if names.len() == MAX_COLUMNS {
                return Err(bad(1, format!("more than {MAX_COLUMNS} columns")));
            }
            names.push(name.to_owned());
        }

        let mut table = Self {
            path: path.to_owned(),
            names,
            frames: Vec::new(),
            values: Vec::new(),
        };
        while next_line(&mut line, &mut line_no)? {
            let text = text_of(&line).ok_or_else(|| bad(line_no, "not UTF-8 text".into()))?;
            if text.trim().is_empty() {
                continue;
            }
            let mut cells = text.split(',').map(str::trim);
            let frame_cell = cells.next().unwrap_or_default();
            let frame_idx: u64 = frame_cell.parse().map_err(|_| {
                bad(
                    line_no,
                    format!("the frame {frame_cell:?} is not a whole number"),
                )
            })?;
            if frame_idx >= num_frames {
                return Err(bad(
                    line_no,
                    format!("frame {frame_idx} is past the render's {num_frames} frames"),
                ));
            }
            if let Some(&previous) = table
                .frames
                .last()
                .filter(|&&previous| previous >= frame_idx)
            {
                return Err(bad(
                    line_no,
                    format!("frame {frame_idx} after frame {previous}: rows go up by frame"),
                ));
            }
            let mut num_cells = 0;
            for (name, cell) in table.names.iter().zip(&mut cells) {
                let value = cell
                    .parse::<f64>()
                    .ok()
                    .filter(|value| value.is_finite())
                    .ok_or_else(|| bad(line_no, format!("`{name}`: {cell:?} is not a number")))?;
                table.values.push(value);
                num_cells += 1;
            }
            let num_extra = cells.count();
            if num_cells < table.names.len() || num_extra > 0 {
                return Err(bad(
                    line_no,
                    format!(
                        "{} values for {} columns",
                        num_cells + num_extra,
                        table.names.len()
                    ),
                ));
            }
            table.frames.push(frame_idx);
        }
        Ok(table)
    }

    /// The index of the column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|known| known == name)
    }

    /// Each row's frame and its value in column `column`, frames ascending.
    pub fn rows(&self, column: usize) -> impl Iterator<Item = (u64, f64)> + '_ {
        let width = self.names.len();
        self.frames
            .iter()
            .enumerate()
            .map(move |(row, &frame_idx)| (frame_idx, self.values[row * width + column]))
    }

    /// The value of column `column` on frame `frame_idx`, if a row holds it.
    pub fn value(&self, column: usize, frame_idx: u64) -> Option<f64> {
        let row = self.frames.binary_search(&frame_idx).ok()?;
        Some(self.values[row * self.names.len() + column])
    }
}

/// The folder's `schedule.csv`, bounded by its render (`manifest`): `Ok(None)` when there is
/// none. (Whether it was made for that render is `OutputFolder::require_current_schedule`'s
/// question, asked first.)
pub fn read_for_render(
    dir: &Path,
    manifest: &Manifest,
) -> Result<Option<ScheduleTable>, FormatError> {
    let path = dir.join(LANES_CSV_NAME);
    if !path.is_file() {
        return Ok(None);
    }
    ScheduleTable::read(&path, timeline_len(manifest)).map(Some)
}

/// The frames a schedule of `manifest`'s render may hold: its timeline from frame 0, or the
/// whole song when an interrupted render knows how long that is.
pub fn timeline_len(manifest: &Manifest) -> u64 {
    manifest
        .end_frame()
        .max(manifest.frames_expected.unwrap_or(0))
}

fn text_of(line: &[u8]) -> Option<&str> {
    std::str::from_utf8(line).ok()
}

/// The schedule files in `dir` that are not ours: there, but not listed by `derived.json`'s
/// schedule record (the user's own, or written before we kept the record).
pub fn foreign_files(dir: &Path) -> Result<Vec<PathBuf>, FormatError> {
    let derived = Derived::read(dir)?;
    let is_ours = |name: &str| {
        derived
            .as_ref()
            .is_some_and(|derived| derived.is_ours(Path::new(name)))
    };
    Ok(SCHEDULE_FILES
        .iter()
        .filter(|&&name| !is_ours(name))
        .map(|name| dir.join(name))
        .filter(|path| path.exists())
        .collect())
}
