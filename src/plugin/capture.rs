//! Audio thread: the per-frame side record of DESIGN.md §13. As a take's samples pass, each frame
//! gets the host's transport and the macros at its first sample, the MIDI notes that sound during
//! it and the CCs at its last sample. The recorder emits a frame later (its analysis window runs
//! past it), so captured frames wait in a small ring keyed by frame index until then.
//! Allocation-free: the ring is made with the recorder's guide kit, off the audio thread.

use crate::clock::FrameClock;
use crate::take::{FrameCapture, FrameTransport, NUM_MACROS, NUM_MIDI_KEYS};

/// Frame rates go up to 60 fps: no frame is shorter than `sample_rate / 60` samples.
const MAX_FPS: i64 = 60;

/// A bar boundary this close (in quarter notes) counts as reached: the host's fixed-point beats
/// round a position that sits on a boundary to either side of it.
const BAR_EPSILON_BEATS: f64 = 1e-6;

/// A block's beat this close (in quarter notes) to the beat carried on from earlier blocks is that
/// beat: Ardour gives beats in ticks of 1/1920 (12 samples at 120 bpm), so each block's beat is a
/// few samples off the grid, and a beat on a frame's first sample would land a frame early.
/// Far below any jump or loop.
const HOST_BEAT_JITTER: f64 = 1.0 / 960.0;

/// One block's transport as the host reports it, at the block's first sample (nice-plug's
/// `Transport` fields, none derived).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HostTransport {
    pub tempo_bpm: Option<f64>,
    pub time_sig: Option<(i32, i32)>,
    pub pos_beats: Option<f64>,
    pub bar_start_beats: Option<f64>,
    pub bar_number: Option<i32>,
    pub is_playing: bool,
}

/// A MIDI event the capture keeps, placed `timing` samples into its block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MidiEvent {
    pub timing: u32,
    pub kind: MidiKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MidiKind {
    /// Velocity 0..1.
    NoteOn { key: u8, velocity: f32 },
    /// `None`: every note (a wildcard note off or choke).
    NoteOff { key: Option<u8> },
    /// Value 0..1.
    Cc { cc: u8, value: f32 },
}

/// What one block says besides its audio.
#[derive(Debug, Clone, Copy)]
pub struct HostBlock<'a> {
    pub transport: HostTransport,
    /// The macros' values during the block (the host splits blocks at automation points).
    pub macros: [f32; NUM_MACROS],
    /// In timing order, all within the block.
    pub events: &'a [MidiEvent],
}

impl HostBlock<'static> {
    /// A block that says nothing besides its audio: no transport, macros at 0, no MIDI.
    pub const EMPTY: Self = Self {
        transport: HostTransport {
            tempo_bpm: None,
            time_sig: None,
            pos_beats: None,
            bar_start_beats: None,
            bar_number: None,
            is_playing: false,
        },
        macros: [0.0; NUM_MACROS],
        events: &[],
    };
}

/// The bar that holds a block's first sample, carried from block to block.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BarAnchor {
    start_beats: f64,
    number: i32,
    time_sig: (i32, i32),
    /// The timeline position the next block starts at if the transport goes on.
    next_pos: i64,
}

/// Where the beat was last taken from the host, to carry it on by the tempo.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BeatAnchor {
    pos: i64,
    beat: f64,
    tempo_bpm: f64,
}

/// Quarter notes per bar of `sig`.
fn bar_len_beats((num, den): (i32, i32)) -> f64 {
    f64::from(num) * 4.0 / f64::from(den)
}

/// The bar holding `beat`, counted on from `start_beats`/`number` in bars of `sig`.
fn bar_at(beat: f64, start_beats: f64, number: i32, sig: (i32, i32)) -> (f64, i32) {
    let len = bar_len_beats(sig);
    let bars = ((beat - start_beats) / len + BAR_EPSILON_BEATS).floor();
    (start_beats + bars * len, number + bars as i32)
}

pub struct Capture {
    /// Captured frames awaiting emission: frame `k` at `k mod len`, with its index beside it.
    frames: Box<[FrameCapture]>,
    frame_idxs: Box<[i64]>,
    /// The frame whose samples are passing, if any: its CCs are not final yet.
    open_frame_idx: Option<i64>,
    /// Each note's velocity while it sounds, 0 when silent.
    note_velocities: [f32; NUM_MIDI_KEYS],
    cc_values: [f32; NUM_MIDI_KEYS],
    seen_notes: u128,
    seen_ccs: u128,
    anchor: Option<BarAnchor>,
    beat_anchor: Option<BeatAnchor>,
}

impl Capture {
    /// Room for every frame that can wait for emission: those starting within the longest
    /// analysis window plus one block. Allocates: never on the audio thread.
    pub fn new(sample_rate: u32, max_window_len: usize, max_chunk: usize) -> Self {
        let min_frame_len = (i64::from(sample_rate) / MAX_FPS).max(1) as usize;
        let len = (max_window_len + max_chunk) / min_frame_len + 4;
        Self {
            frames: vec![FrameCapture::default(); len].into_boxed_slice(),
            frame_idxs: vec![-1; len].into_boxed_slice(),
            open_frame_idx: None,
            note_velocities: [0.0; NUM_MIDI_KEYS],
            cc_values: [0.0; NUM_MIDI_KEYS],
            seen_notes: 0,
            seen_ccs: 0,
            anchor: None,
            beat_anchor: None,
        }
    }

    /// Captures the block of `len` samples at timeline position `pos`: opens every frame that
    /// starts in it and applies its events, in sample order. A frame opens after the note-offs at
    /// its first sample (those notes no longer sound in it) and before everything else there.
    /// Allocation-free.
    pub fn process_block(&mut self, pos: i64, len: usize, block: &HostBlock, clock: &FrameClock) {
        let end = pos + len as i64;
        let sample_rate = f64::from(clock.sample_rate());
        let host = HostTransport {
            pos_beats: self.steady_beat(pos, &block.transport, sample_rate),
            ..block.transport
        };
        let transport = self.resolve_bars(pos, end, &host);
        let mut frame_idx = clock.first_frame_at_or_after(pos);
        let mut events = block.events.iter().peekable();
        loop {
            let frame_start = clock.frame_start(frame_idx);
            let comes_first = |e: &&MidiEvent| {
                let t = pos + i64::from(e.timing).min(len as i64);
                t < frame_start || (t == frame_start && matches!(e.kind, MidiKind::NoteOff { .. }))
            };
            if frame_start < end && !events.peek().is_some_and(comes_first) {
                let seconds = (frame_start - pos) as f64 / sample_rate;
                self.open_frame(frame_idx, transport_at(&transport, seconds), block.macros);
                frame_idx += 1;
            } else if let Some(event) = events.next() {
                self.apply(event.kind);
            } else {
                break;
            }
        }
    }

    /// Copies frame `frame_idx`'s capture into `out`. A frame still open gets the CCs as they
    /// are now (its take or segment ends here); a frame never opened is all unknown.
    pub fn fill(&self, frame_idx: i64, out: &mut FrameCapture) {
        let slot = frame_idx.rem_euclid(self.frames.len() as i64) as usize;
        if self.frame_idxs[slot] != frame_idx {
            *out = FrameCapture::default();
            return;
        }
        out.clone_from(&self.frames[slot]);
        if self.open_frame_idx == Some(frame_idx) {
            self.close_into(out);
        }
    }

    /// The block's beat on a steady grid: while the tempo holds and the host's beat moves on as
    /// the tempo says (within [`HOST_BEAT_JITTER`]), the beat is carried on from where it was
    /// last taken from the host (the take's start, a tempo change, a jump).
    fn steady_beat(&mut self, pos: i64, host: &HostTransport, sample_rate: f64) -> Option<f64> {
        let (Some(beat), Some(tempo_bpm)) = (host.pos_beats, host.tempo_bpm) else {
            self.beat_anchor = None;
            return host.pos_beats;
        };
        if let Some(anchor) = self.beat_anchor
            && anchor.tempo_bpm == tempo_bpm
        {
            let carried = anchor.beat + (pos - anchor.pos) as f64 / sample_rate * tempo_bpm / 60.0;
            if (carried - beat).abs() <= HOST_BEAT_JITTER {
                return Some(carried);
            }
        }
        self.beat_anchor = Some(BeatAnchor {
            pos,
            beat,
            tempo_bpm,
        });
        Some(beat)
    }

    /// The block's transport with the bar resolved. The host's bar is taken as it comes, except
    /// where it is missing or could be a guess: VST3 has no bar number (it is counted from the
    /// host's bar start), hosts such as Ardour give no bar either (bars are counted from beat 0,
    /// as nice-plug guesses), and nice-plug guesses the bar of a block split at an automation
    /// point (`floor(beat / bar length)`). Where the transport goes on, such a bar is counted on
    /// from the last one instead, in that bar's time signature (right across meter changes).
    fn resolve_bars(&mut self, pos: i64, end: i64, host: &HostTransport) -> HostTransport {
        let mut transport = *host;
        let (Some(beat), Some(sig)) = (
            host.pos_beats,
            host.time_sig.filter(|&(num, den)| num > 0 && den > 0),
        ) else {
            self.anchor = None;
            transport.bar_start_beats = None;
            transport.bar_number = None;
            return transport;
        };
        let guess = bar_at(beat, 0.0, 0, sig);
        let host_bar = match (host.bar_start_beats, host.bar_number) {
            (Some(start), Some(number)) => Some((start, number)),
            (Some(start), None) => Some((start, (start / bar_len_beats(sig)).round() as i32)),
            (None, _) => None,
        };
        let is_guess = host_bar.is_none_or(|(start, number)| {
            (start - guess.0).abs() < BAR_EPSILON_BEATS && number == guess.1
        });
        let (start, number) = match self.anchor {
            Some(anchor) if is_guess && anchor.next_pos == pos => {
                bar_at(beat, anchor.start_beats, anchor.number, anchor.time_sig)
            }
            _ => host_bar.unwrap_or(guess),
        };
        self.anchor = Some(BarAnchor {
            start_beats: start,
            number,
            time_sig: sig,
            next_pos: end,
        });
        transport.bar_start_beats = Some(start);
        transport.bar_number = Some(number);
        transport
    }

    fn open_frame(&mut self, frame_idx: i64, transport: FrameTransport, macros: [f32; NUM_MACROS]) {
        if let Some(open_idx) = self.open_frame_idx {
            let slot = self.slot(open_idx);
            if self.frame_idxs[slot] == open_idx {
                let mut frame = std::mem::take(&mut self.frames[slot]);
                self.close_into(&mut frame);
                self.frames[slot] = frame;
            }
        }
        let slot = self.slot(frame_idx);
        self.frame_idxs[slot] = frame_idx;
        let frame = &mut self.frames[slot];
        frame.transport = transport;
        frame.macros = macros;
        frame.note_gates = self.note_velocities;
        frame.cc_values = self.cc_values;
        frame.seen_notes = self.seen_notes;
        frame.seen_ccs = self.seen_ccs;
        self.open_frame_idx = Some(frame_idx);
    }

    /// The CCs and seen sets as they stand now, as a frame's final values.
    fn close_into(&self, frame: &mut FrameCapture) {
        frame.cc_values = self.cc_values;
        frame.seen_notes = self.seen_notes;
        frame.seen_ccs = self.seen_ccs;
    }

    fn apply(&mut self, kind: MidiKind) {
        let open = self.open_frame_idx.map(|idx| self.slot(idx));
        match kind {
            MidiKind::NoteOn { key, velocity } => {
                let key = usize::from(key) % NUM_MIDI_KEYS;
                let velocity = velocity.clamp(0.0, 1.0);
                self.note_velocities[key] = velocity;
                self.seen_notes |= 1 << key;
                if let Some(slot) = open {
                    let gate = &mut self.frames[slot].note_gates[key];
                    *gate = gate.max(velocity);
                    self.frames[slot].seen_notes = self.seen_notes;
                }
            }
            MidiKind::NoteOff { key: Some(key) } => {
                let key = usize::from(key) % NUM_MIDI_KEYS;
                self.note_velocities[key] = 0.0;
                self.seen_notes |= 1 << key;
            }
            MidiKind::NoteOff { key: None } => self.note_velocities = [0.0; NUM_MIDI_KEYS],
            MidiKind::Cc { cc, value } => {
                let cc = usize::from(cc) % NUM_MIDI_KEYS;
                self.cc_values[cc] = value.clamp(0.0, 1.0);
                self.seen_ccs |= 1 << cc;
            }
        }
    }

    fn slot(&self, frame_idx: i64) -> usize {
        frame_idx.rem_euclid(self.frames.len() as i64) as usize
    }
}

/// The transport `seconds` after the block's first sample: the beat moves on by the tempo, and
/// the bar with it (in the block's time signature). Without a tempo the position is unknown
/// inside the block, so there is none.
fn transport_at(host: &HostTransport, seconds: f64) -> FrameTransport {
    let beat = match (host.pos_beats, host.tempo_bpm) {
        (Some(beat), Some(tempo)) => Some(beat + seconds * tempo / 60.0),
        _ => None,
    };
    let bar = match (beat, host.bar_start_beats, host.bar_number, host.time_sig) {
        (Some(beat), Some(start), Some(number), Some(sig)) => {
            let (start, number) = bar_at(beat, start, number, sig);
            let bar_beat = ((beat - start) * f64::from(sig.1) / 4.0).max(0.0);
            Some((number, bar_beat))
        }
        _ => None,
    };
    FrameTransport {
        tempo_bpm: host.tempo_bpm,
        time_sig: host.time_sig,
        beat,
        bar: bar.map(|(number, _)| number),
        bar_beat: bar.map(|(_, bar_beat)| bar_beat),
        is_playing: host.is_playing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::WindowPlacement;
    use crate::clock::FrameRate;

    fn clock() -> FrameClock {
        // 24 fps at 48 kHz: frame k starts at 2000 k.
        FrameClock::new(
            FrameRate::FPS_24,
            48_000,
            WindowPlacement::FrameCentre { len: 4096 },
        )
    }

    fn block(events: &[MidiEvent]) -> HostBlock<'_> {
        HostBlock {
            transport: HostTransport::default(),
            macros: [0.0; NUM_MACROS],
            events,
        }
    }

    fn note_on(timing: u32, key: u8, velocity: f32) -> MidiEvent {
        MidiEvent {
            timing,
            kind: MidiKind::NoteOn { key, velocity },
        }
    }

    fn captured(capture: &Capture, frame_idx: i64) -> FrameCapture {
        let mut out = FrameCapture::default();
        capture.fill(frame_idx, &mut out);
        out
    }

    /// A note that starts and ends inside a frame gates that frame only; a CC counts from its
    /// sample on, and a frame reads the value at its last sample.
    #[test]
    fn notes_gate_their_frames_and_ccs_hold_their_last_value() {
        let mut capture = Capture::new(48_000, 4096, 4096);
        let events = [
            note_on(500, 60, 0.5),
            MidiEvent {
                timing: 900,
                kind: MidiKind::NoteOff { key: Some(60) },
            },
            MidiEvent {
                timing: 1999,
                kind: MidiKind::Cc { cc: 7, value: 0.25 },
            },
            MidiEvent {
                timing: 2000,
                kind: MidiKind::Cc { cc: 7, value: 0.75 },
            },
        ];
        capture.process_block(0, 4000, &block(&events), &clock());
        let frame0 = captured(&capture, 0);
        assert_eq!(frame0.note_gates[60], 0.5);
        assert_eq!(frame0.cc_values[7], 0.25);
        let frame1 = captured(&capture, 1);
        assert_eq!(frame1.note_gates[60], 0.0);
        assert_eq!(frame1.cc_values[7], 0.75);
        assert_eq!(frame1.seen_notes, 1 << 60);
        assert_eq!(frame1.seen_ccs, 1 << 7);
    }

    /// A host that gives its beat in ticks of 1/1920 (Ardour) and no bar (VST3): the frames'
    /// beats lie on the steady grid of the tempo, so the beat on frame 12's first sample reads
    /// 1.0, not a tick past it, and bars are counted from beat 0. A jump takes the host's beat.
    #[test]
    fn tick_rounded_beats_give_a_steady_grid_and_bars() {
        // Room for every frame of the test.
        let mut capture = Capture::new(48_000, 48_000, 48_000);
        let take_block = |capture: &mut Capture, pos: i64, beat: f64| {
            let transport = HostTransport {
                tempo_bpm: Some(120.0),
                time_sig: Some((4, 4)),
                pos_beats: Some((beat * 1920.0).round() / 1920.0),
                bar_start_beats: None,
                bar_number: None,
                is_playing: true,
            };
            let block = HostBlock {
                transport,
                ..block(&[])
            };
            capture.process_block(pos, 1001, &block, &clock());
        };
        // 120 bpm at 48 kHz: a beat every 24 000 samples; blocks of 1001 start off the ticks.
        for pos in (0..50_050).step_by(1001) {
            take_block(&mut capture, pos, pos as f64 / 24_000.0);
        }
        let frame12 = captured(&capture, 12).transport;
        assert_eq!(frame12.beat, Some(1.0));
        let frame24 = captured(&capture, 24).transport;
        assert_eq!((frame24.bar, frame24.bar_beat), (Some(0), Some(2.0)));
        // A loop back to beat 0.5 at sample 52 000, frame 26's first.
        take_block(&mut capture, 52_000, 0.5);
        let frame26 = captured(&capture, 26).transport;
        assert_eq!(frame26.beat, Some(0.5));
    }

    /// Inside a block the beat moves on by the tempo, and bars are counted in the signature of
    /// the block: 7/8 at 120 bpm is 3.5 quarter notes a bar.
    #[test]
    fn transport_is_extrapolated_inside_a_block() {
        let mut capture = Capture::new(48_000, 4096, 48_000);
        let transport = HostTransport {
            tempo_bpm: Some(120.0),
            time_sig: Some((7, 8)),
            pos_beats: Some(3.0),
            bar_start_beats: Some(0.0),
            bar_number: Some(0),
            is_playing: true,
        };
        let block = HostBlock {
            transport,
            ..block(&[])
        };
        capture.process_block(0, 48_000, &block, &clock());
        // Frame 6 starts at 0.25 s: beat 3.5, the start of bar 1.
        let frame6 = captured(&capture, 6).transport;
        assert_eq!(frame6.beat, Some(3.5));
        assert_eq!((frame6.bar, frame6.bar_beat), (Some(1), Some(0.0)));
        let frame9 = captured(&capture, 9).transport;
        assert_eq!(frame9.beat, Some(3.75));
        assert_eq!((frame9.bar, frame9.bar_beat), (Some(1), Some(0.5)));
    }
}
