//! Writer thread: the session tables a plugin take writes beside `spectrum.csv` (DESIGN.md §13):
//!
//! ```text
//! transport.csv  frame,time_s,tempo_bpm,sig_num,sig_den,beat,bar,bar_beat,playing
//! midi.csv       frame,time_s,note_N…,cc_N…   (every note / CC that had an event)
//! macros.csv     frame,time_s,macro_1,…,macro_8
//! ```
//! One row per frame that `spectrum.csv` lists, sorted by frame; an empty cell is something the
//! host did not say (or a frame recorded before these tables existed). Rows live in a spill file
//! like the spectrum's, so a loop's second pass replaces its frames' rows. The CLI writes none.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::format::manifest::{TempoChange, TransportSummary};
use super::table::{MAX_LOADED_FRAME_IDX, RowFile, SpectrumTable};
use super::{ExportError, write_atomically};
use crate::clock::FrameRate;
use crate::take::{FrameCapture, FrameTransport, NUM_MACROS, NUM_MIDI_KEYS};

pub const TRANSPORT_CSV: &str = "transport.csv";
pub const MIDI_CSV: &str = "midi.csv";
pub const MACROS_CSV: &str = "macros.csv";
/// The session tables, as [`super::folder`] recognizes them.
pub const CAPTURE_CSVS: [&str; 3] = [TRANSPORT_CSV, MIDI_CSV, MACROS_CSV];
/// Their scratch rows while a writer is open.
pub const CAPTURE_SPILL_NAME: &str = ".capture.rows.tmp";

const TRANSPORT_HEADER: &str = "frame,time_s,tempo_bpm,sig_num,sig_den,beat,bar,bar_beat,playing";

/// Which parts of a row are known, and which transport fields the host gave.
const HAS_TRANSPORT: u8 = 1;
const HAS_MACROS: u8 = 1 << 1;
const HAS_MIDI: u8 = 1 << 2;
const HAS_TEMPO: u8 = 1 << 3;
const HAS_SIG: u8 = 1 << 4;
const HAS_BEAT: u8 = 1 << 5;
const HAS_BAR: u8 = 1 << 6;
const IS_PLAYING: u8 = 1 << 7;

/// flags, tempo, sig num and den, beat, bar, bar beat, macros, note gates, CC values.
const RECORD_LEN: usize = 1 + 8 + 4 + 4 + 8 + 4 + 8 + 4 * NUM_MACROS + 8 * NUM_MIDI_KEYS;

/// One frame's row in the three tables; `None` where the table has no row for the frame.
#[derive(Debug, Clone, PartialEq, Default)]
struct CaptureRow {
    transport: Option<FrameTransport>,
    macros: Option<[f32; NUM_MACROS]>,
    /// Note gates, CC values.
    midi: Option<([f32; NUM_MIDI_KEYS], [f32; NUM_MIDI_KEYS])>,
}

impl CaptureRow {
    fn of(capture: &FrameCapture) -> Self {
        Self {
            transport: Some(capture.transport),
            macros: Some(capture.macros),
            midi: Some((capture.note_gates, capture.cc_values)),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.clear();
        let transport = self.transport.unwrap_or_default();
        let mut flags = 0;
        for (is_set, flag) in [
            (self.transport.is_some(), HAS_TRANSPORT),
            (self.macros.is_some(), HAS_MACROS),
            (self.midi.is_some(), HAS_MIDI),
            (transport.tempo_bpm.is_some(), HAS_TEMPO),
            (transport.time_sig.is_some(), HAS_SIG),
            (transport.beat.is_some(), HAS_BEAT),
            (transport.bar.zip(transport.bar_beat).is_some(), HAS_BAR),
            (transport.is_playing, IS_PLAYING),
        ] {
            if is_set {
                flags |= flag;
            }
        }
        out.push(flags);
        let (num, den) = transport.time_sig.unwrap_or_default();
        out.extend(transport.tempo_bpm.unwrap_or_default().to_le_bytes());
        out.extend(num.to_le_bytes());
        out.extend(den.to_le_bytes());
        out.extend(transport.beat.unwrap_or_default().to_le_bytes());
        out.extend(transport.bar.unwrap_or_default().to_le_bytes());
        out.extend(transport.bar_beat.unwrap_or_default().to_le_bytes());
        let (gates, ccs) = self
            .midi
            .unwrap_or(([0.0; NUM_MIDI_KEYS], [0.0; NUM_MIDI_KEYS]));
        for value in self
            .macros
            .unwrap_or_default()
            .iter()
            .chain(&gates)
            .chain(&ccs)
        {
            out.extend(value.to_le_bytes());
        }
        debug_assert_eq!(out.len(), RECORD_LEN);
    }

    fn decode(record: &[u8]) -> Self {
        let mut bytes = record.iter().copied();
        let mut take = |n: usize| -> Vec<u8> { bytes.by_ref().take(n).collect() };
        let flags = take(1)[0];
        let f64_of = |b: Vec<u8>| f64::from_le_bytes(b.try_into().expect("eight bytes"));
        let i32_of = |b: Vec<u8>| i32::from_le_bytes(b.try_into().expect("four bytes"));
        let tempo = f64_of(take(8));
        let sig = (i32_of(take(4)), i32_of(take(4)));
        let beat = f64_of(take(8));
        let bar = i32_of(take(4));
        let bar_beat = f64_of(take(8));
        let mut f32s = take(4 * (NUM_MACROS + 2 * NUM_MIDI_KEYS))
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("four bytes")))
            .collect::<Vec<_>>()
            .into_iter();
        let mut array = |out: &mut [f32]| out.iter_mut().for_each(|v| *v = f32s.next().unwrap());
        let mut macros = [0.0; NUM_MACROS];
        let (mut gates, mut ccs) = ([0.0; NUM_MIDI_KEYS], [0.0; NUM_MIDI_KEYS]);
        array(&mut macros);
        array(&mut gates);
        array(&mut ccs);
        let has = |flag: u8| flags & flag != 0;
        Self {
            transport: has(HAS_TRANSPORT).then_some(FrameTransport {
                tempo_bpm: has(HAS_TEMPO).then_some(tempo),
                time_sig: has(HAS_SIG).then_some(sig),
                beat: has(HAS_BEAT).then_some(beat),
                bar: has(HAS_BAR).then_some(bar),
                bar_beat: has(HAS_BAR).then_some(bar_beat),
                is_playing: has(IS_PLAYING),
            }),
            macros: has(HAS_MACROS).then_some(macros),
            midi: has(HAS_MIDI).then_some((gates, ccs)),
        }
    }
}

/// The rows behind the three session tables, and the notes and CCs seen.
pub struct CaptureTable {
    rows: RowFile,
    seen_notes: u128,
    seen_ccs: u128,
    /// Reused encoding buffer for one row.
    record: Vec<u8>,
}

impl CaptureTable {
    /// Creates the spill file in `out_dir`.
    pub fn create(out_dir: &Path) -> Result<Self, ExportError> {
        Ok(Self {
            rows: RowFile::create(out_dir.join(CAPTURE_SPILL_NAME), RECORD_LEN)?,
            seen_notes: 0,
            seen_ccs: 0,
            record: Vec::with_capacity(RECORD_LEN),
        })
    }

    /// Whether `out_dir` holds any of the tables (a plugin's folder).
    pub fn exists_in(out_dir: &Path) -> bool {
        CAPTURE_CSVS.iter().any(|name| out_dir.join(name).exists())
    }

    /// Stores frame `frame_idx`'s capture, replacing any earlier row for that frame.
    pub fn write_row(&mut self, frame_idx: u64, capture: &FrameCapture) -> Result<(), ExportError> {
        self.seen_notes |= capture.seen_notes;
        self.seen_ccs |= capture.seen_ccs;
        self.store(frame_idx, &CaptureRow::of(capture))
    }

    fn store(&mut self, frame_idx: u64, row: &CaptureRow) -> Result<(), ExportError> {
        row.encode(&mut self.record);
        self.rows.write_row(frame_idx, &self.record)
    }

    /// Stores the rows of the tables in `out_dir` (written by [`Self::write_csvs`]), each with
    /// what its files say; the columns of `midi.csv` are the notes and CCs seen.
    pub fn load_csvs(&mut self, out_dir: &Path) -> Result<(), ExportError> {
        let mut tables = Vec::new();
        for name in CAPTURE_CSVS {
            let path = out_dir.join(name);
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(error) if error.kind() == io::ErrorKind::NotFound => String::new(),
                Err(source) => return Err(ExportError::io(&path, source)),
            };
            tables.push((path, text));
        }
        let [transport, midi, macros] = &tables[..] else {
            unreachable!("three tables")
        };
        let midi_columns = self.midi_columns(midi)?;
        for (name, (path, text)) in [
            (TRANSPORT_CSV, transport),
            (MIDI_CSV, midi),
            (MACROS_CSV, macros),
        ] {
            for (row_idx, line) in text.lines().skip(1).enumerate() {
                let unreadable = |reason: String| ExportError::Unreadable {
                    path: path.clone(),
                    reason: format!("row {}: {reason}", row_idx + 1),
                };
                let cells: Vec<&str> = line.split(',').collect();
                let frame_idx = cells[0]
                    .parse::<u64>()
                    .ok()
                    .filter(|&k| k <= MAX_LOADED_FRAME_IDX)
                    .ok_or_else(|| unreadable("names no frame".into()))?;
                // The other tables' cells for this frame, if they came first.
                let mut row = CaptureRow::default();
                if self.rows.read_row(frame_idx, &mut self.record)? {
                    row = CaptureRow::decode(&self.record);
                }
                parse_cells(name, &cells[2.min(cells.len())..], &midi_columns, &mut row)
                    .map_err(unreadable)?;
                self.store(frame_idx, &row)?;
            }
        }
        Ok(())
    }

    /// `midi.csv`'s columns as (is a CC, number), marking each seen.
    fn midi_columns(
        &mut self,
        (path, text): &(PathBuf, String),
    ) -> Result<Vec<(bool, usize)>, ExportError> {
        let Some(header) = text.lines().next() else {
            return Ok(Vec::new());
        };
        let mut columns = Vec::new();
        for name in header.split(',').skip(2) {
            let column = name
                .strip_prefix("note_")
                .map(|n| (false, n))
                .or_else(|| name.strip_prefix("cc_").map(|n| (true, n)))
                .and_then(|(is_cc, n)| Some((is_cc, n.parse::<usize>().ok()?)))
                .filter(|&(_, n)| n < NUM_MIDI_KEYS)
                .ok_or_else(|| ExportError::Unreadable {
                    path: path.clone(),
                    reason: format!("header names {name:?}, not note_N or cc_N"),
                })?;
            match column {
                (false, n) => self.seen_notes |= 1 << n,
                (true, n) => self.seen_ccs |= 1 << n,
            }
            columns.push(column);
        }
        Ok(columns)
    }

    /// Writes the three tables with one row for every frame `spectrum` lists, and returns the
    /// manifest's transport summary.
    pub fn write_csvs(
        &mut self,
        out_dir: &Path,
        spectrum: &SpectrumTable,
        fps: FrameRate,
        sample_rate: u32,
    ) -> Result<TransportSummary, ExportError> {
        let end_frame = spectrum.end_frame();
        let notes = bits(self.seen_notes);
        let ccs = bits(self.seen_ccs);
        let mut summary = SummaryBuilder::new(fps, sample_rate);
        let mut text = ryu::Buffer::new();
        for name in CAPTURE_CSVS {
            let rows = &mut self.rows;
            write_atomically(&out_dir.join(name), |file| {
                let mut out = BufWriter::new(file);
                match name {
                    TRANSPORT_CSV => writeln!(out, "{TRANSPORT_HEADER}")?,
                    MACROS_CSV => {
                        write!(out, "frame,time_s")?;
                        for n in 1..=NUM_MACROS {
                            write!(out, ",macro_{n}")?;
                        }
                        writeln!(out)?;
                    }
                    _ => {
                        write!(out, "frame,time_s")?;
                        for n in &notes {
                            write!(out, ",note_{n}")?;
                        }
                        for n in &ccs {
                            write!(out, ",cc_{n}")?;
                        }
                        writeln!(out)?;
                    }
                }
                rows.for_each_slot(end_frame, |frame_idx, record| {
                    if !spectrum.is_written(frame_idx) {
                        return Ok(());
                    }
                    let row = record.map(CaptureRow::decode).unwrap_or_default();
                    let time_s = fps.frame_time_s(frame_idx as i64);
                    write!(out, "{frame_idx},{}", text.format(time_s))?;
                    match name {
                        TRANSPORT_CSV => {
                            summary.add(frame_idx, row.transport.as_ref());
                            write_transport(&mut out, row.transport.as_ref(), &mut text)?;
                        }
                        MACROS_CSV => match row.macros {
                            Some(macros) => write_f32s(&mut out, &mut text, macros)?,
                            None => write_empty(&mut out, NUM_MACROS)?,
                        },
                        _ => match row.midi {
                            Some((gates, values)) => {
                                let cells = notes.iter().map(|&n| gates[n]);
                                let cells = cells.chain(ccs.iter().map(|&n| values[n]));
                                write_f32s(&mut out, &mut text, cells)?;
                            }
                            None => write_empty(&mut out, notes.len() + ccs.len())?,
                        },
                    }
                    writeln!(out)
                })?;
                out.flush()
            })?;
        }
        Ok(summary.finish())
    }
}

/// The set bits of `set`, ascending.
fn bits(set: u128) -> Vec<usize> {
    (0..NUM_MIDI_KEYS)
        .filter(|&n| set & (1 << n) != 0)
        .collect()
}

/// Reads the cells (after `frame,time_s`) of table `name` into `row`.
fn parse_cells(
    name: &str,
    cells: &[&str],
    midi_columns: &[(bool, usize)],
    row: &mut CaptureRow,
) -> Result<(), String> {
    let number = |cell: &str| -> Result<Option<f64>, String> {
        if cell.is_empty() {
            return Ok(None);
        }
        cell.parse::<f64>()
            .map(Some)
            .map_err(|_| format!("{cell:?} is not a number"))
    };
    let expect_len = |n: usize| {
        (cells.len() == n)
            .then_some(())
            .ok_or_else(|| format!("{} cells, not {}", cells.len() + 2, n + 2))
    };
    let values: Vec<Option<f64>> = cells.iter().map(|c| number(c)).collect::<Result<_, _>>()?;
    match name {
        TRANSPORT_CSV => {
            expect_len(7)?;
            let int = |v: Option<f64>| v.map(|v| v as i32);
            row.transport = Some(FrameTransport {
                tempo_bpm: values[0],
                time_sig: int(values[1]).zip(int(values[2])),
                beat: values[3],
                bar: int(values[4]),
                bar_beat: values[5],
                is_playing: values[6] == Some(1.0),
            });
        }
        MACROS_CSV => {
            expect_len(NUM_MACROS)?;
            if values.iter().all(Option::is_some) {
                row.macros = Some(std::array::from_fn(|i| values[i].unwrap_or(0.0) as f32));
            }
        }
        _ => {
            expect_len(midi_columns.len())?;
            if values.iter().all(Option::is_some) {
                let (mut gates, mut ccs) = ([0.0; NUM_MIDI_KEYS], [0.0; NUM_MIDI_KEYS]);
                for (&(is_cc, n), value) in midi_columns.iter().zip(&values) {
                    let table = if is_cc { &mut ccs } else { &mut gates };
                    table[n] = value.unwrap_or(0.0) as f32;
                }
                row.midi = Some((gates, ccs));
            }
        }
    }
    Ok(())
}

fn write_transport(
    out: &mut impl Write,
    transport: Option<&FrameTransport>,
    text: &mut ryu::Buffer,
) -> io::Result<()> {
    let Some(t) = transport else {
        return write_empty(out, 7);
    };
    let mut float = |out: &mut dyn Write, value: Option<f64>| -> io::Result<()> {
        out.write_all(b",")?;
        match value {
            Some(value) => out.write_all(text.format(value).as_bytes()),
            None => Ok(()),
        }
    };
    float(out, t.tempo_bpm)?;
    match t.time_sig {
        Some((num, den)) => write!(out, ",{num},{den}")?,
        None => out.write_all(b",,")?,
    }
    float(out, t.beat)?;
    match t.bar {
        Some(bar) => write!(out, ",{bar}")?,
        None => out.write_all(b",")?,
    }
    float(out, t.bar_beat)?;
    write!(out, ",{}", u8::from(t.is_playing))
}

fn write_f32s(
    out: &mut impl Write,
    text: &mut ryu::Buffer,
    values: impl IntoIterator<Item = f32>,
) -> io::Result<()> {
    for value in values {
        out.write_all(b",")?;
        out.write_all(text.format(value).as_bytes())?;
    }
    Ok(())
}

fn write_empty(out: &mut impl Write, num_cells: usize) -> io::Result<()> {
    for _ in 0..num_cells {
        out.write_all(b",")?;
    }
    Ok(())
}

/// Builds the [`TransportSummary`] from the transport rows, in frame order.
struct SummaryBuilder {
    fps: FrameRate,
    sample_rate: u32,
    summary: TransportSummary,
}

impl SummaryBuilder {
    fn new(fps: FrameRate, sample_rate: u32) -> Self {
        Self {
            fps,
            sample_rate,
            summary: TransportSummary {
                has_tempo: false,
                has_beats: false,
                tempo_changes: Vec::new(),
                first_downbeat_frame: None,
                note: None,
            },
        }
    }

    fn add(&mut self, frame_idx: u64, transport: Option<&FrameTransport>) {
        let Some(t) = transport else {
            return;
        };
        let summary = &mut self.summary;
        summary.has_beats |= t.beat.is_some();
        if let Some(tempo_bpm) = t.tempo_bpm {
            summary.has_tempo = true;
            if summary
                .tempo_changes
                .last()
                .is_none_or(|c| c.tempo_bpm != tempo_bpm)
            {
                summary.tempo_changes.push(TempoChange {
                    frame: frame_idx,
                    tempo_bpm,
                });
            }
        }
        if self.summary.first_downbeat_frame.is_none() && self.holds_downbeat(frame_idx, t) {
            self.summary.first_downbeat_frame = Some(frame_idx);
        }
    }

    /// Whether a bar starts within frame `frame_idx`: at its first sample, or before its next
    /// frame's at the frame's tempo.
    fn holds_downbeat(&self, frame_idx: u64, t: &FrameTransport) -> bool {
        let (Some(bar_beat), Some(tempo), Some((num, den))) = (t.bar_beat, t.tempo_bpm, t.time_sig)
        else {
            return false;
        };
        let frame_start = |k: u64| {
            (u128::from(k) * u128::from(self.sample_rate) * u128::from(self.fps.den)
                / u128::from(self.fps.num)) as f64
        };
        let seconds =
            (frame_start(frame_idx + 1) - frame_start(frame_idx)) / f64::from(self.sample_rate);
        let sig_beats = seconds * tempo / 60.0 * f64::from(den) / 4.0;
        bar_beat < 1e-6 || bar_beat + sig_beats > f64::from(num) + 1e-6
    }

    fn finish(mut self) -> TransportSummary {
        if !self.summary.has_beats {
            self.summary.note =
                Some("the host gave no musical position: beat and bar columns are empty".into());
        }
        self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row goes through its record unchanged, unknown fields included.
    #[test]
    fn rows_round_trip_through_records() {
        let mut capture = FrameCapture {
            transport: FrameTransport {
                tempo_bpm: Some(90.0),
                time_sig: Some((7, 8)),
                beat: Some(12.345),
                bar: Some(3),
                bar_beat: Some(2.5),
                is_playing: true,
            },
            ..FrameCapture::default()
        };
        capture.macros[7] = 0.5;
        capture.note_gates[60] = 0.75;
        capture.cc_values[1] = 0.25;
        let mut record = Vec::new();
        let row = CaptureRow::of(&capture);
        row.encode(&mut record);
        assert_eq!(CaptureRow::decode(&record), row);
        let partial = CaptureRow {
            transport: Some(FrameTransport::default()),
            ..CaptureRow::default()
        };
        partial.encode(&mut record);
        assert_eq!(CaptureRow::decode(&record), partial);
    }
}
