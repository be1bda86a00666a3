//! The session tables (DESIGN.md §13) through a real CLAP host (clack-host): a take's
//! `transport.csv`, `macros.csv` and `midi.csv` hold, frame by frame, what the host reported, at
//! any block size. Every value expected here is computed from the test's own tempo map, curve or
//! note list, never from the plugin's code. The debug build runs `process()` under
//! `assert_process_allocs`, so these takes also prove the capture allocation-free.

mod plugin_host;

use std::path::Path;

use plugin_host::{BeatGrid, HostEvent, Rng, TestPlugin, Transport, song};

const TRACK: &str = "Lanes";
const SAMPLE_RATE: u32 = 48_000;
/// 24 fps at 48 kHz: frame k starts at sample 2000 k.
const FRAME_LEN: i64 = 2000;

/// A stretch of the tempo map: from `start_beats` on, `tempo_bpm` in bars of `time_sig`.
#[derive(Clone, Copy)]
struct Section {
    start_beats: f64,
    tempo_bpm: f64,
    time_sig: (u16, u16),
    first_bar: i32,
}

/// A 4/4 bar at 120 bpm, a 7/8 bar at 120, then 4/4 at 90 bpm (the tempo change at 3.75 s).
const TEMPO_MAP: [Section; 3] = [
    Section {
        start_beats: 0.0,
        tempo_bpm: 120.0,
        time_sig: (4, 4),
        first_bar: 0,
    },
    Section {
        start_beats: 4.0,
        tempo_bpm: 120.0,
        time_sig: (7, 8),
        first_bar: 1,
    },
    Section {
        start_beats: 7.5,
        tempo_bpm: 90.0,
        time_sig: (4, 4),
        first_bar: 2,
    },
];

/// Where each section starts, in samples (exact for this map: 2 s and 3.75 s).
fn section_starts() -> Vec<i64> {
    let mut starts = vec![0i64];
    for pair in TEMPO_MAP.windows(2) {
        let seconds = (pair[1].start_beats - pair[0].start_beats) * 60.0 / pair[0].tempo_bpm;
        starts.push(starts.last().unwrap() + (seconds * f64::from(SAMPLE_RATE)).round() as i64);
    }
    starts
}

/// The beat grid at sample `pos`, from the tempo map alone.
fn grid_at(pos: i64) -> BeatGrid {
    let starts = section_starts();
    let idx = starts.iter().rposition(|&s| s <= pos).unwrap();
    let section = TEMPO_MAP[idx];
    let seconds = (pos - starts[idx]) as f64 / f64::from(SAMPLE_RATE);
    let pos_beats = section.start_beats + seconds * section.tempo_bpm / 60.0;
    let (num, den) = section.time_sig;
    let bar_len = f64::from(num) * 4.0 / f64::from(den);
    let bars = ((pos_beats - section.start_beats) / bar_len).floor();
    BeatGrid {
        tempo_bpm: section.tempo_bpm,
        time_sig: section.time_sig,
        pos_beats,
        bar_start_beats: section.start_beats + bars * bar_len,
        bar_number: section.first_bar + bars as i32,
    }
}

/// Plays `audio` rolling from 0 with `events` (absolute sample times, sorted) in blocks of
/// `block_len()`; a block also ends where `cuts` says (a host starts a block where the tempo map
/// changes) or where the audio does. Then stops, and drops the plugin so its writer finishes.
fn take(
    mut plugin: TestPlugin,
    audio: &[Vec<f32>],
    events: &[(i64, HostEvent)],
    cuts: &[i64],
    block_len: &mut dyn FnMut() -> usize,
    transport: &dyn Fn(i64) -> Transport,
) -> Vec<Vec<f32>> {
    let total = audio[0].len() as i64;
    let mut out: Vec<Vec<f32>> = vec![Vec::new(); audio.len()];
    let mut pos = 0i64;
    let mut next_event = 0;
    while pos < total {
        let mut end = (pos + block_len() as i64).min(total);
        if let Some(&cut) = cuts.iter().find(|&&cut| cut > pos && cut < end) {
            end = cut;
        }
        let mut block_events = Vec::new();
        while next_event < events.len() && events[next_event].0 < end {
            let (time, event) = events[next_event];
            block_events.push(at(event, (time - pos) as u32));
            next_event += 1;
        }
        let block: Vec<&[f32]> = audio
            .iter()
            .map(|c| &c[pos as usize..end as usize])
            .collect();
        let result = plugin.process_with_events(&block, transport(pos), &block_events);
        for (o, r) in out.iter_mut().zip(result) {
            o.extend_from_slice(&r);
        }
        pos = end;
    }
    let silence = [vec![0.0f32; 16], vec![0.0f32; 16]];
    for _ in 0..2 {
        plugin.process(&[&silence[0], &silence[1]], Transport::stopped_at(total));
    }
    drop(plugin);
    out
}

/// `event` moved to `time` samples into its block.
fn at(event: HostEvent, time: u32) -> HostEvent {
    match event {
        HostEvent::Param { id, value, .. } => HostEvent::Param { time, id, value },
        HostEvent::NoteOn { key, velocity, .. } => HostEvent::NoteOn {
            time,
            key,
            velocity,
        },
        HostEvent::NoteOff { key, .. } => HostEvent::NoteOff { time, key },
        HostEvent::Cc { cc, value, .. } => HostEvent::Cc { time, cc, value },
    }
}

/// An armed, offline plugin recording CSVs into `dir/TRACK`, active with blocks up to `max_block`.
fn plugin(dir: &Path, max_block: usize) -> TestPlugin {
    let mut plugin = TestPlugin::new();
    plugin.arm_into(dir, TRACK);
    plugin.set_offline(true);
    plugin.activate(f64::from(SAMPLE_RATE), max_block, 2);
    plugin
}

/// A table as (header, rows of cells).
fn table(dir: &Path, name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(dir.join(TRACK).join(name)).unwrap();
    let mut lines = text
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect());
    (lines.next().unwrap(), lines.collect())
}

fn manifest(dir: &Path) -> serde_json::Value {
    let path = dir.join(TRACK).join("manifest.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn number(cell: &str) -> f64 {
    cell.parse()
        .unwrap_or_else(|_| panic!("{cell:?} is not a number"))
}

/// Every frame's row holds the beat grid the host reported at the frame's first sample: the
/// tempo, the time signature, the beat moved on by the tempo inside blocks, the bar and the
/// position in it in the signature's beats (eighths in the 7/8 bar), across the 7/8 bar and the
/// change from 120 to 90 bpm, also where automation splits the host's blocks. The manifest lists
/// the tempo map and the first downbeat, and `schedule`'s beat and bar lanes pulse on exactly the
/// frames that hold the map's beats and downbeats.
#[test]
fn transport_table_follows_the_hosts_beat_grid() {
    let audio = song(SAMPLE_RATE, 6.4);
    let num_frames = (audio[0].len() as u64).div_ceil(FRAME_LEN as u64) as i64;
    for max_block in [512usize, 4096] {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng(7);
        // Automation every 777 samples makes nice-plug split blocks, and guess the bar of each
        // later part as if the meter never changed.
        let automation: Vec<(i64, HostEvent)> = (1..audio[0].len() as i64 / 777)
            .map(|j| automate(777 * j, "macro2", (j % 2) as f64))
            .collect();
        let out = take(
            plugin(dir.path(), max_block),
            &audio,
            &automation,
            &section_starts(),
            &mut || 1 + rng.below(max_block as u64) as usize,
            &|pos| Transport::Musical {
                pos_samples: pos,
                grid: grid_at(pos),
            },
        );
        assert_eq!(out, audio, "pass-through");

        let (header, rows) = table(dir.path(), "transport.csv");
        assert_eq!(
            header.join(","),
            "frame,time_s,tempo_bpm,sig_num,sig_den,beat,bar,bar_beat,playing"
        );
        assert_eq!(rows.len() as i64, num_frames);
        for (k, row) in rows.iter().enumerate() {
            let grid = grid_at(k as i64 * FRAME_LEN);
            let what = format!("max block {max_block}, frame {k}: {row:?}");
            assert_eq!(number(&row[0]), k as f64, "{what}");
            assert_eq!(number(&row[1]), k as f64 / 24.0, "{what}");
            assert_eq!(number(&row[2]), grid.tempo_bpm, "{what}");
            assert_eq!(number(&row[3]), f64::from(grid.time_sig.0), "{what}");
            assert_eq!(number(&row[4]), f64::from(grid.time_sig.1), "{what}");
            assert!((number(&row[5]) - grid.pos_beats).abs() < 1e-6, "{what}");
            assert_eq!(number(&row[6]), f64::from(grid.bar_number), "{what}");
            let bar_beat =
                (grid.pos_beats - grid.bar_start_beats) * f64::from(grid.time_sig.1) / 4.0;
            assert!((number(&row[7]) - bar_beat).abs() < 1e-6, "{what}");
            assert_eq!(row[8], "1", "{what}");
        }
        // The 7/8 bar runs in eighths: frame 60 (2.5 s) is one beat of 120 bpm into it.
        assert_eq!(rows[60][6], "1");
        assert!((number(&rows[60][7]) - 2.0).abs() < 1e-6);

        let transport = &manifest(dir.path())["transport"];
        assert_eq!(transport["has_tempo"], true);
        assert_eq!(transport["has_beats"], true);
        assert_eq!(
            transport["tempo_changes"],
            serde_json::json!([{"frame": 0, "tempo_bpm": 120.0}, {"frame": 90, "tempo_bpm": 90.0}])
        );
        assert_eq!(transport["first_downbeat_frame"], 0);

        let (beats, bars) = schedule_pulses(&dir.path().join(TRACK));
        assert_eq!(
            beats,
            beat_frames(num_frames, false),
            "max block {max_block}: beats"
        );
        assert_eq!(
            bars,
            beat_frames(num_frames, true),
            "max block {max_block}: bars"
        );
    }
}

/// The frames (of `num_frames`) that hold a beat of the tempo map, or only its downbeats: a beat
/// of the time signature (an eighth in 7/8), at its sample from the map alone.
fn beat_frames(num_frames: i64, downbeats_only: bool) -> Vec<i64> {
    let starts = section_starts();
    let mut frames = Vec::new();
    for (idx, section) in TEMPO_MAP.iter().enumerate() {
        let (num, den) = section.time_sig;
        let beat_s = 60.0 / section.tempo_bpm * 4.0 / f64::from(den);
        let end = starts
            .get(idx + 1)
            .copied()
            .unwrap_or(num_frames * FRAME_LEN);
        for n in 0.. {
            let sample = starts[idx] + (n as f64 * beat_s * f64::from(SAMPLE_RATE)).round() as i64;
            if sample >= end {
                break;
            }
            if !downbeats_only || n % i64::from(num) == 0 {
                frames.push(sample / FRAME_LEN);
            }
        }
    }
    frames
}

/// Runs `schedule` on a take with a `beats` and a `bars` lane; the frames each pulses on.
fn schedule_pulses(take_dir: &Path) -> (Vec<i64>, Vec<i64>) {
    let take_arg = take_dir.to_str().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_spectral-diffusion"))
        .args(["schedule", take_arg, "--quiet"])
        .args([
            "--lane",
            "beat=beats,release_ms=0",
            "--lane",
            "bar=bars,release_ms=0",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(take_dir.join("schedule.csv")).unwrap();
    let pulses = |column: usize| {
        text.lines()
            .skip(1)
            .map(|line| line.split(',').collect::<Vec<_>>())
            .filter(|cells| number(cells[column]) == 1.0)
            .map(|cells| number(cells[0]) as i64)
            .collect()
    };
    (pulses(1), pulses(2))
}

/// A host that reports only a position: the musical cells are empty, and the manifest says so.
#[test]
fn transport_table_is_empty_where_the_host_says_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let audio = song(SAMPLE_RATE, 0.5);
    take(
        plugin(dir.path(), 512),
        &audio,
        &[],
        &[],
        &mut || 512,
        &|pos| Transport::playing_at(pos),
    );
    let (_, rows) = table(dir.path(), "transport.csv");
    assert_eq!(rows.len(), 12);
    for row in &rows {
        assert_eq!(row[2..], ["", "", "", "", "", "", "1"], "{row:?}");
    }
    let transport = &manifest(dir.path())["transport"];
    assert_eq!(transport["has_tempo"], false);
    assert_eq!(transport["has_beats"], false);
    assert!(transport["note"].is_string(), "{transport}");
}

/// `(sample, event)` pairs sorted by sample (stable: same-sample events keep their order).
fn sorted(mut events: Vec<(i64, HostEvent)>) -> Vec<(i64, HostEvent)> {
    events.sort_by_key(|&(time, _)| time);
    events
}

/// A value of `macro_id` automated at `time`.
fn automate(time: i64, id: &'static str, value: f64) -> (i64, HostEvent) {
    (time, HostEvent::Param { time: 0, id, value })
}

/// Each macro's row value is its automation curve sampled at the frame's first sample: the
/// last point at or before it (a point on that very sample counts, one on the sample before the
/// next frame does not), 0 before the first. Sample-accurate at every block size, with the
/// pass-through still bit-exact and the frames unchanged while the host splits blocks at the
/// points, also for a host that gives no tempo (nice-plug then repeats the block's position).
#[test]
fn macros_table_samples_the_automation_at_each_frame() {
    let audio = song(SAMPLE_RATE, 2.0);
    let mut curve: Vec<(i64, HostEvent)> = (0..130)
        .map(|j| automate(300 + 700 * j, "macro1", (j % 9) as f64 / 8.0))
        .collect();
    curve.extend([
        automate(4000, "macro5", 0.5),
        automate(5999, "macro5", 0.25),
        automate(40_000, "macro8", 1.0),
    ]);
    let curve = sorted(curve);
    let expected = |frame: i64, id: &str| -> f64 {
        let mut points = curve.iter().filter_map(|&(time, event)| match event {
            HostEvent::Param {
                id: point_id,
                value,
                ..
            } if point_id == id && time <= frame * FRAME_LEN => Some(value),
            _ => None,
        });
        points.next_back().unwrap_or(0.0)
    };

    let reference = tempfile::tempdir().unwrap();
    take(
        plugin(reference.path(), 4096),
        &audio,
        &[],
        &[],
        &mut || 4096,
        &|pos| Transport::playing_at(pos),
    );
    let spectrum = |dir: &Path| std::fs::read(dir.join(TRACK).join("spectrum.csv")).unwrap();

    let mut tables = Vec::new();
    // 0: random sizes; 1: random sizes from a host that gives a position but no tempo.
    for block in [64usize, 512, 4096, 0, 1] {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng(11);
        let mut block_len = || match block {
            0 | 1 => 1 + rng.below(1000) as usize,
            n => n,
        };
        let out = take(
            plugin(dir.path(), 4096),
            &audio,
            &curve,
            &[],
            &mut block_len,
            &|pos| match block {
                1 => Transport::playing_at(pos),
                _ => Transport::Musical {
                    pos_samples: pos,
                    grid: grid_at(pos),
                },
            },
        );
        assert!(
            spectrum(dir.path()) == spectrum(reference.path()),
            "block {block}: automation changed the frames"
        );
        assert_eq!(out, audio, "block {block}: pass-through");
        let (header, rows) = table(dir.path(), "macros.csv");
        assert_eq!(
            header.join(","),
            "frame,time_s,macro_1,macro_2,macro_3,macro_4,macro_5,macro_6,macro_7,macro_8"
        );
        assert_eq!(rows.len(), 48);
        for (k, row) in rows.iter().enumerate() {
            for m in 1..=8 {
                let id = ["macro1", "macro2", "macro3", "macro4"]
                    .into_iter()
                    .chain(["macro5", "macro6", "macro7", "macro8"])
                    .nth(m - 1)
                    .unwrap();
                assert_eq!(
                    number(&row[m + 1]),
                    expected(k as i64, id),
                    "block {block}, frame {k}, {id}: {row:?}"
                );
            }
        }
        assert_eq!(number(&rows[2][6]), 0.5);
        assert_eq!(number(&rows[3][6]), 0.25);
        tables.push(std::fs::read(dir.path().join(TRACK).join("macros.csv")).unwrap());
    }
    assert!(tables.windows(2).all(|pair| pair[0] == pair[1]));
}

/// A played note, `[on, off)` in samples.
struct Note {
    key: u16,
    on: i64,
    off: i64,
    velocity: f64,
}

/// Notes and CCs at known samples, across frame and block boundaries: a note counts for every
/// frame it sounds in (one sample is enough; a note-off on a frame's first sample leaves that
/// frame out), a CC holds its value at the frame's last sample. `midi.csv` is the same at block
/// sizes 1, 7, 64, 512 and 4096, and equals the gates and values computed from the note list.
#[test]
fn midi_table_is_the_same_at_every_block_size() {
    let notes = [
        Note {
            key: 60,
            on: 1000,
            off: 5000,
            velocity: 0.5,
        },
        Note {
            key: 64,
            on: 3999,
            off: 4000,
            velocity: 0.25,
        },
        Note {
            key: 72,
            on: 6000,
            off: 8000,
            velocity: 0.5,
        },
        Note {
            key: 67,
            on: 10_000,
            off: 20_500,
            velocity: 0.75,
        },
        Note {
            key: 60,
            on: 12_345,
            off: 12_346,
            velocity: 1.0,
        },
    ];
    let ccs: [(i64, u8, u8); 3] = [(2000, 1, 64), (5999, 1, 127), (30_000, 74, 10)];
    let mut events = Vec::new();
    for note in &notes {
        events.push((
            note.on,
            HostEvent::NoteOn {
                time: 0,
                key: note.key,
                velocity: note.velocity,
            },
        ));
        events.push((
            note.off,
            HostEvent::NoteOff {
                time: 0,
                key: note.key,
            },
        ));
    }
    for (time, cc, value) in ccs {
        events.push((time, HostEvent::Cc { time: 0, cc, value }));
    }
    let events = sorted(events);
    let audio = song(SAMPLE_RATE, 1.0);

    let mut tables = Vec::new();
    for block in [1usize, 7, 64, 512, 4096] {
        let dir = tempfile::tempdir().unwrap();
        take(
            plugin(dir.path(), 4096),
            &audio,
            &events,
            &[],
            &mut || block,
            &|pos| Transport::playing_at(pos),
        );
        tables.push(std::fs::read(dir.path().join(TRACK).join("midi.csv")).unwrap());
        assert!(tables[0] == tables[tables.len() - 1], "block {block}");
    }

    let text = String::from_utf8(tables.pop().unwrap()).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert_eq!(
        header,
        "frame,time_s,note_60,note_64,note_67,note_72,cc_1,cc_74"
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|line| line.split(',').map(number).collect())
        .collect();
    assert_eq!(rows.len(), 24);
    for (k, row) in rows.iter().enumerate() {
        let (start, end) = (k as i64 * FRAME_LEN, (k as i64 + 1) * FRAME_LEN);
        let gate = |key: u16| {
            notes
                .iter()
                .filter(|n| n.key == key && n.on < end && n.off > start)
                .map(|n| n.velocity)
                .fold(0.0, f64::max)
        };
        let cc = |number: u8| {
            ccs.iter()
                .filter(|&&(time, cc, _)| cc == number && time < end)
                .map(|&(_, _, value)| f64::from(value) / 127.0)
                .next_back()
                .unwrap_or(0.0)
        };
        let expected = [gate(60), gate(64), gate(67), gate(72), cc(1), cc(74)];
        for (cell, expected) in row[2..].iter().zip(expected) {
            assert!((cell - expected).abs() < 1e-6, "frame {k}: {row:?}");
        }
    }
    // Spot checks of the rules themselves.
    assert_eq!(rows[1][3], 0.25, "a one-sample note at the frame's end");
    assert_eq!(
        rows[2][3], 0.0,
        "its note-off on the next frame's first sample"
    );
    assert_eq!(rows[4][5], 0.0, "a note-off on the frame's first sample");
    assert_eq!(rows[6][2], 1.0, "the louder of two notes in a frame");
}
