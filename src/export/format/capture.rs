//! Any thread: the host tables a plugin take writes beside `spectrum.csv` (DESIGN.md §13):
//!
//! ```text
//! transport.csv  frame,time_s,tempo_bpm,sig_num,sig_den,beat,bar,bar_beat,playing
//! midi.csv       frame,time_s,note_N…,cc_N…   (every note / CC that had an event)
//! macros.csv     frame,time_s,macro_1,…,macro_8
//! ```
//! One row per frame that `spectrum.csv` lists, sorted by frame; an empty cell is something the
//! host did not say. Columns are typed ([`HostColumn`]) on both sides: the writer names them,
//! the reader maps a header back to them, and nobody builds a column name from a string.

use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use super::{FormatError, MAX_FRAMES};
use crate::take::{NUM_MACROS, NUM_MIDI_KEYS};

/// The three tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostTableKind {
    Transport,
    Midi,
    Macros,
}

impl HostTableKind {
    pub const ALL: [Self; 3] = [Self::Transport, Self::Midi, Self::Macros];

    /// The table's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Transport => "transport.csv",
            Self::Midi => "midi.csv",
            Self::Macros => "macros.csv",
        }
    }

    /// Whether `column` belongs in this table.
    fn holds(self, column: HostColumn) -> bool {
        match column {
            HostColumn::Note(_) | HostColumn::Cc(_) => self == Self::Midi,
            HostColumn::Macro(_) => self == Self::Macros,
            _ => self == Self::Transport,
        }
    }
}

/// A column after `frame,time_s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostColumn {
    TempoBpm,
    SigNum,
    SigDen,
    Beat,
    Bar,
    BarBeat,
    Playing,
    /// A MIDI note's gate, 0–127.
    Note(u8),
    /// A MIDI CC's value, 0–127.
    Cc(u8),
    /// Macro 1–8.
    Macro(u8),
}

/// `transport.csv`'s columns, in order.
pub const TRANSPORT_COLUMNS: [HostColumn; 7] = [
    HostColumn::TempoBpm,
    HostColumn::SigNum,
    HostColumn::SigDen,
    HostColumn::Beat,
    HostColumn::Bar,
    HostColumn::BarBeat,
    HostColumn::Playing,
];

impl HostColumn {
    /// `macros.csv`'s columns, in order.
    pub fn macros() -> impl Iterator<Item = Self> {
        (1..=NUM_MACROS as u8).map(Self::Macro)
    }

    fn parse(name: &str) -> Option<Self> {
        let numbered = |prefix: &str, range: std::ops::RangeInclusive<u8>| {
            name.strip_prefix(prefix)?
                .parse::<u8>()
                .ok()
                .filter(|n| range.contains(n))
        };
        let max_key = NUM_MIDI_KEYS as u8 - 1;
        Some(match name {
            "tempo_bpm" => Self::TempoBpm,
            "sig_num" => Self::SigNum,
            "sig_den" => Self::SigDen,
            "beat" => Self::Beat,
            "bar" => Self::Bar,
            "bar_beat" => Self::BarBeat,
            "playing" => Self::Playing,
            _ => {
                if let Some(n) = numbered("note_", 0..=max_key) {
                    Self::Note(n)
                } else if let Some(n) = numbered("cc_", 0..=max_key) {
                    Self::Cc(n)
                } else {
                    Self::Macro(numbered("macro_", 1..=NUM_MACROS as u8)?)
                }
            }
        })
    }
}

impl fmt::Display for HostColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TempoBpm => f.write_str("tempo_bpm"),
            Self::SigNum => f.write_str("sig_num"),
            Self::SigDen => f.write_str("sig_den"),
            Self::Beat => f.write_str("beat"),
            Self::Bar => f.write_str("bar"),
            Self::BarBeat => f.write_str("bar_beat"),
            Self::Playing => f.write_str("playing"),
            Self::Note(n) => write!(f, "note_{n}"),
            Self::Cc(n) => write!(f, "cc_{n}"),
            Self::Macro(n) => write!(f, "macro_{n}"),
        }
    }
}

/// Writes a table's header: `frame,time_s` and `columns`.
pub fn write_header(out: &mut impl Write, columns: &[HostColumn]) -> io::Result<()> {
    write!(out, "frame,time_s")?;
    for column in columns {
        write!(out, ",{column}")?;
    }
    writeln!(out)
}

/// A host table as read: its columns and its rows, frames ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTable {
    pub kind: HostTableKind,
    pub columns: Vec<HostColumn>,
    /// Each row's frame and cells (one per column), empty where the host said nothing.
    pub rows: Vec<(u64, Vec<Option<f64>>)>,
}

/// The longest line of a table of ours: 256 MIDI columns of at most 16 characters.
const MAX_LINE_BYTES: u64 = 1 << 13;

impl HostTable {
    /// Reads `<dir>/<kind's file>`; `Ok(None)` when the take has none. Bounded: at most
    /// `max_frames` rows (the frames the folder lists), each frame below [`MAX_FRAMES`], and
    /// only the columns the table can have.
    pub fn read(
        dir: &Path,
        kind: HostTableKind,
        max_frames: u64,
    ) -> Result<Option<Self>, FormatError> {
        let path = dir.join(kind.file_name());
        match std::fs::File::open(&path) {
            Ok(file) => Self::from_lines(&path, kind, BufReader::new(file), max_frames).map(Some),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(FormatError::read(&path, source)),
        }
    }

    /// A table of `kind` from its text, as [`Self::read`] reads a file.
    pub fn parse(kind: HostTableKind, text: &str, max_frames: u64) -> Result<Self, FormatError> {
        Self::from_lines(
            Path::new(kind.file_name()),
            kind,
            text.as_bytes(),
            max_frames,
        )
    }

    fn from_lines(
        path: &Path,
        kind: HostTableKind,
        mut reader: impl BufRead,
        max_frames: u64,
    ) -> Result<Self, FormatError> {
        let line_error = |line_idx: usize, reason: String| FormatError::Line {
            path: path.to_owned(),
            line: line_idx + 1,
            reason,
        };
        let mut line = String::new();
        let mut table = Self {
            kind,
            columns: Vec::new(),
            rows: Vec::new(),
        };
        for line_idx in 0.. {
            line.clear();
            let len = io::Read::take(&mut reader, MAX_LINE_BYTES + 1)
                .read_line(&mut line)
                .map_err(|source| FormatError::read(path, source))?;
            if len == 0 {
                break;
            }
            if len as u64 > MAX_LINE_BYTES {
                return Err(line_error(line_idx, "longer than any row of ours".into()));
            }
            let text = line.trim_end();
            if line_idx == 0 {
                table.columns = parse_header(kind, text).map_err(|reason| line_error(0, reason))?;
                continue;
            }
            if text.is_empty() {
                continue;
            }
            let row = parse_row(text, table.columns.len())
                .map_err(|reason| line_error(line_idx, reason))?;
            if table.rows.last().is_some_and(|&(last, _)| row.0 <= last) {
                return Err(line_error(
                    line_idx,
                    "frames are not in ascending order".into(),
                ));
            }
            if table.rows.len() as u64 >= max_frames {
                let reason = format!("more rows than the {max_frames} frames the folder lists");
                return Err(line_error(line_idx, reason));
            }
            table.rows.push(row);
        }
        Ok(table)
    }

    /// Where `column` is in each row.
    pub fn column(&self, column: HostColumn) -> Option<usize> {
        self.columns.iter().position(|&c| c == column)
    }

    /// One past the last frame.
    pub fn end_frame(&self) -> u64 {
        self.rows.last().map_or(0, |&(frame_idx, _)| frame_idx + 1)
    }
}

/// The columns a header names after `frame,time_s`, each one the table may hold, none twice.
fn parse_header(kind: HostTableKind, header: &str) -> Result<Vec<HostColumn>, String> {
    let Some(rest) = header.strip_prefix("frame,time_s") else {
        return Err("the header does not start with frame,time_s".into());
    };
    let mut columns: Vec<HostColumn> = Vec::new();
    for name in rest.split(',').skip(1) {
        let column = HostColumn::parse(name)
            .filter(|&column| kind.holds(column))
            .ok_or_else(|| format!("{name:?} is no column of {}", kind.file_name()))?;
        if columns.contains(&column) {
            return Err(format!("{name} is named twice"));
        }
        columns.push(column);
    }
    Ok(columns)
}

/// `frame,time_s,cells…` with `num_cells` cells.
fn parse_row(text: &str, num_cells: usize) -> Result<(u64, Vec<Option<f64>>), String> {
    let mut fields = text.split(',');
    let frame_idx = fields
        .next()
        .and_then(|field| field.parse::<u64>().ok())
        .filter(|&frame_idx| frame_idx < MAX_FRAMES)
        .ok_or("no frame number a folder holds")?;
    fields.next();
    let cells = fields
        .map(|field| match field {
            "" => Ok(None),
            _ => field
                .parse::<f64>()
                .ok()
                .filter(|value| value.is_finite())
                .map(Some)
                .ok_or_else(|| format!("{field:?} is not a number")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if cells.len() != num_cells {
        return Err(format!("a row needs {num_cells} values"));
    }
    Ok((frame_idx, cells))
}
