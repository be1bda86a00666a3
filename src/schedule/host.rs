//! Any thread: pure. Lanes from what only the plugin knows, read from a take's own tables
//! (DESIGN.md §13): the host's beat grid (`transport.csv`), MIDI (`midi.csv`) and the eight
//! macros (`macros.csv`), each one row per frame.
//!
//! - **Beats and bars** pulse (1, else 0) on the frame that holds the beat: frame k holds a beat
//!   when the beat falls in `[start of k, start of k + 1)`, on the host's own grid, tempo and
//!   time-signature changes included. A beat is a beat of the time signature (an eighth in 7/8);
//!   `beats:N` keeps the beats whose index in the bar is a multiple of N (so they stay on the bar),
//!   `bars:N` every N-th bar's downbeat.
//! - **Notes**: the highest velocity (0..1) of the notes in the range sounding in the frame.
//! - **CCs and macros**: their value, as recorded.
//!
//! Frames the tables lack (before a take, between takes) read 0 and hold no beat.

use crate::export::format::capture::{HostColumn, HostTable, HostTableKind};

/// A musical unit a beat lane pulses on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeatUnit {
    /// A beat of the time signature.
    Beat,
    /// A bar's first beat.
    Bar,
}

/// What a host lane follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostSource {
    /// Every `every`-th beat in the bar, or every `every`-th bar.
    Beats {
        unit: BeatUnit,
        every: u32,
    },
    /// MIDI notes `lo..=hi`.
    Notes {
        lo: u8,
        hi: u8,
    },
    Cc(u8),
    /// Macro 1–8.
    Macro(u8),
}

impl HostSource {
    /// The table the lane is read from.
    pub fn table(self) -> HostTableKind {
        match self {
            Self::Beats { .. } => HostTableKind::Transport,
            Self::Notes { .. } | Self::Cc(_) => HostTableKind::Midi,
            Self::Macro(_) => HostTableKind::Macros,
        }
    }

    /// One value per frame `0..num_frames` from `table` (the one [`Self::table`] names),
    /// recorded at `frame_s` seconds per frame.
    pub fn values(
        self,
        table: &HostTable,
        num_frames: usize,
        frame_s: f64,
    ) -> Result<Vec<f32>, String> {
        match self {
            Self::Beats { unit, every } => beat_pulses(table, unit, every, num_frames, frame_s),
            Self::Notes { lo, hi } => {
                let columns: Vec<usize> = (lo..=hi)
                    .filter_map(|note| table.column(HostColumn::Note(note)))
                    .collect();
                Ok(per_frame(table, num_frames, |cells| {
                    columns
                        .iter()
                        .filter_map(|&column| cells[column])
                        .fold(0.0, f64::max)
                }))
            }
            Self::Cc(number) => Ok(column_per_frame(table, HostColumn::Cc(number), num_frames)),
            Self::Macro(number) => {
                let column = HostColumn::Macro(number);
                if table.column(column).is_none() {
                    return Err(format!("has no {column} column"));
                }
                Ok(column_per_frame(table, column, num_frames))
            }
        }
    }
}

/// `value(row's cells)` for every frame `table` has, 0 for the rest.
fn per_frame(
    table: &HostTable,
    num_frames: usize,
    value: impl Fn(&[Option<f64>]) -> f64,
) -> Vec<f32> {
    let mut values = vec![0.0; num_frames];
    for (frame_idx, cells) in &table.rows {
        if let Some(slot) = values.get_mut(*frame_idx as usize) {
            *slot = value(cells) as f32;
        }
    }
    values
}

/// A column's values per frame; 0 where `table` has no such column, row or cell.
fn column_per_frame(table: &HostTable, column: HostColumn, num_frames: usize) -> Vec<f32> {
    match table.column(column) {
        Some(idx) => per_frame(table, num_frames, |cells| cells[idx].unwrap_or(0.0)),
        None => vec![0.0; num_frames],
    }
}

/// A place on the host's grid: bar, and beats of the time signature into it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct GridPos {
    bar: i64,
    bar_beat: f64,
    sig_num: f64,
    /// Beats of the time signature per second.
    beats_per_s: f64,
}

/// Positions within this many beats of a whole beat are on it. Hosts keep their grid in ticks
/// (Ardour: 1920 a beat), so a beat on a frame's first sample can read a fraction of a tick to
/// either side of it; a tick is half a millisecond at 120 bpm.
const ON_BEAT_TOLERANCE: f64 = 1.0 / 1920.0;

impl GridPos {
    /// The first beat at or after this position, as (bar, beat in the bar).
    fn next_beat(self) -> (i64, f64) {
        let nearest = self.bar_beat.round();
        let beat = if (self.bar_beat - nearest).abs() <= ON_BEAT_TOLERANCE {
            nearest
        } else {
            self.bar_beat.ceil()
        };
        if beat >= self.sig_num {
            (self.bar + 1, 0.0)
        } else {
            (self.bar, beat)
        }
    }

    /// Where the grid is `seconds` later at this tempo and time signature.
    fn advanced(self, seconds: f64) -> (i64, f64) {
        let bar_beat = self.bar_beat + seconds * self.beats_per_s;
        let bars = (bar_beat / self.sig_num).floor();
        (self.bar + bars as i64, bar_beat - bars * self.sig_num)
    }
}

fn beat_pulses(
    table: &HostTable,
    unit: BeatUnit,
    every: u32,
    num_frames: usize,
    frame_s: f64,
) -> Result<Vec<f32>, String> {
    let column = |column: HostColumn| {
        table
            .column(column)
            .ok_or_else(|| format!("has no {column} column"))
    };
    let (tempo, sig_num, sig_den, bar, bar_beat) = (
        column(HostColumn::TempoBpm)?,
        column(HostColumn::SigNum)?,
        column(HostColumn::SigDen)?,
        column(HostColumn::Bar)?,
        column(HostColumn::BarBeat)?,
    );
    let mut grid: Vec<Option<GridPos>> = vec![None; num_frames];
    for (frame_idx, cells) in &table.rows {
        let Some(slot) = grid.get_mut(*frame_idx as usize) else {
            continue;
        };
        if let (Some(tempo), Some(sig_num), Some(sig_den), Some(bar), Some(bar_beat)) = (
            cells[tempo],
            cells[sig_num],
            cells[sig_den],
            cells[bar],
            cells[bar_beat],
        ) && sig_num >= 1.0
            && sig_den >= 1.0
        {
            *slot = Some(GridPos {
                bar: bar as i64,
                bar_beat,
                sig_num,
                beats_per_s: tempo / 60.0 * sig_den / 4.0,
            });
        }
    }
    if grid.iter().all(Option::is_none) {
        return Err(
            "holds no beat positions: the host gave the plugin no tempo, time \
                    signature or bar"
                .into(),
        );
    }
    let every = i64::from(every);
    Ok((0..num_frames)
        .map(|frame_idx| {
            let Some(pos) = grid[frame_idx] else {
                return 0.0;
            };
            let next = grid
                .get(frame_idx + 1)
                .copied()
                .flatten()
                .map_or_else(|| pos.advanced(frame_s), |next| (next.bar, next.bar_beat));
            let (beat_bar, beat) = pos.next_beat();
            // Before the next frame's start, and not on it (then it is the next frame's).
            let is_in_frame =
                beat_bar < next.0 || (beat_bar == next.0 && beat < next.1 - ON_BEAT_TOLERANCE);
            let is_counted = match unit {
                BeatUnit::Beat => (beat as i64) % every == 0,
                BeatUnit::Bar => beat == 0.0 && beat_bar.rem_euclid(every) == 0,
            };
            if is_in_frame && is_counted { 1.0 } else { 0.0 }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::format::MAX_FRAMES;

    /// A transport table at 24 fps: 120 bpm (a quarter every 12 frames) in 4/4, frames 0..n.
    fn steady_transport(num_frames: u64) -> String {
        let mut text =
            "frame,time_s,tempo_bpm,sig_num,sig_den,beat,bar,bar_beat,playing\n".to_owned();
        for frame in 0..num_frames {
            let beat = frame as f64 / 12.0;
            let bar = (beat / 4.0).floor();
            text += &format!(
                "{frame},{},120,4,4,{beat},{bar},{},1\n",
                frame as f64 / 24.0,
                beat - bar * 4.0
            );
        }
        text
    }

    fn pulses(source: HostSource, text: &str, num_frames: usize) -> Vec<usize> {
        let table = HostTable::parse(HostTableKind::Transport, text, MAX_FRAMES).unwrap();
        let values = source.values(&table, num_frames, 1.0 / 24.0).unwrap();
        (0..num_frames).filter(|&k| values[k] == 1.0).collect()
    }

    #[test]
    fn beats_and_bars_pulse_on_the_frames_that_hold_them() {
        let text = steady_transport(100);
        let beats = |unit, every| HostSource::Beats { unit, every };
        assert_eq!(
            pulses(beats(BeatUnit::Beat, 1), &text, 100),
            vec![0, 12, 24, 36, 48, 60, 72, 84, 96]
        );
        assert_eq!(
            pulses(beats(BeatUnit::Beat, 2), &text, 100),
            vec![0, 24, 48, 72, 96]
        );
        assert_eq!(pulses(beats(BeatUnit::Bar, 1), &text, 100), vec![0, 48, 96]);
        assert_eq!(pulses(beats(BeatUnit::Bar, 2), &text, 100), vec![0, 96]);
    }

    /// A beat between two frame starts belongs to the earlier frame; the table's last frame looks
    /// ahead by its tempo.
    #[test]
    fn a_beat_between_frame_starts_goes_to_the_frame_it_falls_in() {
        let header = "frame,time_s,tempo_bpm,sig_num,sig_den,beat,bar,bar_beat,playing\n";
        // 7/8 at 90 bpm: an eighth every 1/3 s, 8 frames at 24 fps. Frame 3 starts at beat
        // 6.9 of bar 2, so the downbeat of bar 3 falls inside it.
        let text = format!("{header}3,0.125,90,7,8,,2,6.9,1\n");
        let bars = HostSource::Beats {
            unit: BeatUnit::Bar,
            every: 1,
        };
        assert_eq!(pulses(bars, &text, 5), vec![3]);
        // With the next frame on the downbeat, it is that frame's; also where the host's ticks
        // put the frame's start a fraction of a tick before or after it.
        for start in ["3,0", "2,6.9998"] {
            let text = format!("{header}3,0.125,90,7,8,,2,6.9,1\n4,0.16,90,7,8,,{start},1\n");
            assert_eq!(pulses(bars, &text, 5), vec![4], "frame 4 at bar {start}");
        }
    }

    #[test]
    fn notes_take_the_loudest_in_range_and_controllers_their_value() {
        let text = "frame,time_s,note_36,note_38,cc_1\n0,0,0.5,0,0.25\n2,0.08,0,1,1\n";
        let table = HostTable::parse(HostTableKind::Midi, text, MAX_FRAMES).unwrap();
        let values = |source: HostSource| source.values(&table, 3, 1.0 / 24.0).unwrap();
        assert_eq!(
            values(HostSource::Notes { lo: 36, hi: 38 }),
            vec![0.5, 0.0, 1.0]
        );
        assert_eq!(
            values(HostSource::Notes { lo: 36, hi: 36 }),
            vec![0.5, 0.0, 0.0]
        );
        assert_eq!(values(HostSource::Notes { lo: 40, hi: 50 }), vec![0.0; 3]);
        assert_eq!(values(HostSource::Cc(1)), vec![0.25, 0.0, 1.0]);
        assert_eq!(values(HostSource::Cc(7)), vec![0.0; 3]);
        assert!(HostSource::Macro(1).values(&table, 3, 1.0).is_err());
    }

    #[test]
    fn bad_tables_name_the_line() {
        for (text, wanted) in [
            ("time_s,frame\n", "line 1"),
            (
                "frame,time_s,cc_1\n0,0,x\n",
                "line 2: \"x\" is not a number",
            ),
            (
                "frame,time_s,cc_1\n1,0,1\n0,0,1\n",
                "line 3: frames are not in ascending",
            ),
            ("frame,time_s,cc_1\n0,0\n", "line 2: a row needs 1 values"),
            (
                "frame,time_s,macro_1\n",
                "line 1: \"macro_1\" is no column of midi.csv",
            ),
            (
                "frame,time_s,cc_1\n0,0,1\n1,0,1\n",
                "line 3: more rows than the 1 frames",
            ),
        ] {
            let message = HostTable::parse(HostTableKind::Midi, text, 1)
                .unwrap_err()
                .to_string();
            assert!(message.contains(wanted), "{text:?}: {message}");
        }
    }

    #[test]
    fn a_transport_without_positions_is_an_error() {
        let text =
            "frame,time_s,tempo_bpm,sig_num,sig_den,beat,bar,bar_beat,playing\n0,0,,,,,,,1\n";
        let table = HostTable::parse(HostTableKind::Transport, text, MAX_FRAMES).unwrap();
        let beats = HostSource::Beats {
            unit: BeatUnit::Beat,
            every: 1,
        };
        assert!(
            beats
                .values(&table, 1, 1.0)
                .unwrap_err()
                .contains("no beat positions")
        );
    }
}
