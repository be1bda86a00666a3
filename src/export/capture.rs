//! Writer thread: the host tables a plugin take writes beside `spectrum.csv` (DESIGN.md §13; their
//! format is [`super::format::capture`]). One row per frame that `spectrum.csv` lists; an empty
//! cell is something the host did not say (or a frame recorded before these tables existed).
//! Rows live in a spill file like the spectrum's, so a loop's second pass replaces its frames'
//! rows. The CLI writes none.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::format::capture::{self, HostColumn, HostTable, HostTableKind, TRANSPORT_COLUMNS};
use super::format::manifest::{TempoChange, TransportSummary};
use super::table::{RowFile, SpectrumTable};
use super::{ExportError, write_atomically};
use crate::clock::FrameRate;
use crate::take::{FrameCapture, FrameTransport, NUM_MACROS, NUM_MIDI_KEYS};

/// The host tables' scratch rows while a writer is open.
pub const CAPTURE_SPILL_NAME: &str = ".capture.rows.tmp";

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
    /// Takes this frame's cells of `table` (in its columns' order): a transport row as it is,
    /// macros and MIDI only when every cell is there.
    fn fill(&mut self, table: &HostTable, cells: &[Option<f64>]) {
        let cell = |column| table.column(column).and_then(|idx| cells[idx]);
        match table.kind {
            HostTableKind::Transport => {
                let int = |column| cell(column).map(|value| value as i32);
                self.transport = Some(FrameTransport {
                    tempo_bpm: cell(HostColumn::TempoBpm),
                    time_sig: int(HostColumn::SigNum).zip(int(HostColumn::SigDen)),
                    beat: cell(HostColumn::Beat),
                    bar: int(HostColumn::Bar),
                    bar_beat: cell(HostColumn::BarBeat),
                    is_playing: cell(HostColumn::Playing) == Some(1.0),
                });
            }
            _ if cells.iter().any(Option::is_none) => {}
            HostTableKind::Macros => {
                let mut macros = [0.0; NUM_MACROS];
                for (n, slot) in (1..).zip(&mut macros) {
                    *slot = cell(HostColumn::Macro(n)).unwrap_or(0.0) as f32;
                }
                self.macros = Some(macros);
            }
            HostTableKind::Midi => {
                let (mut gates, mut ccs) = ([0.0; NUM_MIDI_KEYS], [0.0; NUM_MIDI_KEYS]);
                for (column, value) in table.columns.iter().zip(cells) {
                    let value = value.unwrap_or(0.0) as f32;
                    match *column {
                        HostColumn::Note(n) => gates[usize::from(n)] = value,
                        HostColumn::Cc(n) => ccs[usize::from(n)] = value,
                        _ => {}
                    }
                }
                self.midi = Some((gates, ccs));
            }
        }
    }

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
        HostTableKind::ALL
            .iter()
            .any(|kind| out_dir.join(kind.file_name()).exists())
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
    /// what its files say, at most `max_rows` of each; the columns of `midi.csv` are the notes
    /// and CCs seen.
    pub fn load_csvs(&mut self, out_dir: &Path, max_rows: u64) -> Result<(), ExportError> {
        for kind in HostTableKind::ALL {
            let Some(table) = HostTable::read(out_dir, kind, max_rows)? else {
                continue;
            };
            for column in &table.columns {
                match *column {
                    HostColumn::Note(n) => self.seen_notes |= 1 << n,
                    HostColumn::Cc(n) => self.seen_ccs |= 1 << n,
                    _ => {}
                }
            }
            for (frame_idx, cells) in &table.rows {
                // The other tables' cells for this frame, if they came first.
                let mut row = CaptureRow::default();
                if self.rows.read_row(*frame_idx, &mut self.record)? {
                    row = CaptureRow::decode(&self.record);
                }
                row.fill(&table, cells);
                self.store(*frame_idx, &row)?;
            }
        }
        Ok(())
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
        for kind in HostTableKind::ALL {
            let columns: Vec<HostColumn> = match kind {
                HostTableKind::Transport => TRANSPORT_COLUMNS.to_vec(),
                HostTableKind::Macros => HostColumn::macros().collect(),
                HostTableKind::Midi => notes
                    .iter()
                    .map(|&n| HostColumn::Note(n as u8))
                    .chain(ccs.iter().map(|&n| HostColumn::Cc(n as u8)))
                    .collect(),
            };
            let rows = &mut self.rows;
            write_atomically(&out_dir.join(kind.file_name()), |file| {
                let mut out = BufWriter::new(file);
                capture::write_header(&mut out, &columns)?;
                rows.for_each_slot(end_frame, |frame_idx, record| {
                    if !spectrum.is_written(frame_idx) {
                        return Ok(());
                    }
                    let row = record.map(CaptureRow::decode).unwrap_or_default();
                    let time_s = fps.frame_time_s(frame_idx as i64);
                    write!(out, "{frame_idx},{}", text.format(time_s))?;
                    match kind {
                        HostTableKind::Transport => {
                            summary.add(frame_idx, row.transport.as_ref());
                            write_transport(&mut out, row.transport.as_ref(), &mut text)?;
                        }
                        HostTableKind::Macros => match row.macros {
                            Some(macros) => write_f32s(&mut out, &mut text, macros)?,
                            None => write_empty(&mut out, NUM_MACROS)?,
                        },
                        HostTableKind::Midi => match row.midi {
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
