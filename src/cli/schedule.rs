//! CLI: `spectral-diffusion schedule`: keyframe schedules from a render folder or from audio.
//!
//! A folder's `spectrum.csv` is streamed row by row (one row's bins at a time, never the whole
//! table), each value mapped to dB as the manifest's analysis defines it, and measured by every
//! lane. Audio runs the render's own analysis (`pipeline::cut_frames` and the `Analyzer`, no
//! images), and onsets lanes a second pass over each frame's own samples ([`FrameFlux`]).
//! Writes `schedule.csv`, `deforum.txt`, `animatediff.txt`, `comfyroll.txt` and `parseq.json`,
//! and records in `derived.json` what they were made from. A render folder only takes a schedule
//! at its own rate, and a schedule file that `derived.json` does not list is the user's: it is
//! replaced only with `--force`.
//!
//! A plugin take's folder also has its host's beat grid, MIDI and macros (`transport.csv`,
//! `midi.csv`, `macros.csv`): beat, note, CC and macro lanes read them. A session folder holds
//! several takes (one per track); its lanes name the take they follow (`Drums/onsets:30-120`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs;
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use super::compose;
use super::failure::{EXIT_BAD_INPUT, EXIT_IO, Failure, print_damage};
use super::{DEMO_SAMPLE_RATE, default_out_dir};
use crate::analysis::{AnalysisSettings, Analyzer};
use crate::audio::decode::{FileSource, MonoSource};
use crate::audio::demo::DemoSource;
use crate::clock::{FrameClock, FrameRate};
use crate::export::format::capture::{HostTable, HostTableKind};
use crate::export::format::derived::{Derived, Origin, RenderId, ScheduleRecord};
use crate::export::format::folder::{FolderError, OutputFolder};
use crate::export::format::manifest::{MANIFEST_NAME, Manifest, ManifestState};
use crate::export::format::page::is_our_page;
use crate::export::format::schedule::{
    ANIMATEDIFF_NAME, COMFYROLL_NAME, DEFORUM_NAME, LANES_CSV_NAME, PARSEQ_NAME, SCHEDULE_FILES,
    foreign_files,
};
use crate::export::format::session::SessionIndex;
use crate::export::write_atomically;
use crate::page::BrokenSchedule;
use crate::pipeline::{self, PipelineError};
use crate::schedule::emit::{self, Schedule};
use crate::schedule::host::HostSource;
use crate::schedule::lanes::Band;
use crate::schedule::onsets::FrameFlux;
use crate::schedule::{
    DbScale, Lane, LaneConfig, LaneSet, LaneSource, RowMeter, Target, TargetConfig, frame_period_s,
    parseq, unit_curves,
};

/// The keyframe tolerance unless told.
const DEFAULT_EPSILON: f64 = 0.001;

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// A render's or plugin take's output folder (spectrum.csv + manifest.json), a plugin
    /// session folder (session.json and a folder per track), or an audio file to analyse
    #[arg(required_unless_present = "demo")]
    input: Option<PathBuf>,
    /// Analyse the built-in demo track instead
    #[arg(long, conflicts_with = "input")]
    demo: bool,
    /// A lane: NAME=LO-HI (a band in Hz), NAME=loudness or NAME=onsets:LO-HI; from a plugin
    /// take also beats[:N], bars[:N], note:N[-M], cc:N or macro:N; in a session, prefixed with
    /// the lane folder it follows (Drums/30-120). Then optional ,key=value: attack_ms,
    /// release_ms, gate_db, curve (linear|exp|log), normalize, min, max, invert, threshold_db and
    /// gap_ms (onsets). Repeat for more lanes.
    #[arg(long = "lane", value_name = "SPEC")]
    lanes: Vec<String>,
    /// A schedule to write: NAME=LANE[,min=…,max=…,invert], e.g.
    /// strength_schedule=kick,min=0.45,max=0.75,invert; a column of schedule.csv too. Every lane
    /// no target follows is a schedule of its own name as well
    #[arg(long = "target", value_name = "SPEC")]
    targets: Vec<String>,
    /// Write only the --target schedules, not the lanes that no target follows
    #[arg(long, requires = "targets")]
    targets_only: bool,
    /// A TOML file of [[lane]] and [[target]] tables with the same keys (added to --lane/--target)
    #[arg(long)]
    config: Option<PathBuf>,
    /// Folder to write into [default: the input folder; for audio out/<file name>, or out/demo]
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Keyframe tolerance: a frame is left out of the strings when interpolation misses it by
    /// at most this much
    #[arg(long, default_value_t = DEFAULT_EPSILON)]
    epsilon: f64,
    /// Video frame rate, when analysing audio [default: 24]
    #[arg(long, allow_negative_numbers = true)]
    fps: Option<FrameRate>,
    /// Replace schedule files that are not ours (derived.json does not list them)
    #[arg(long)]
    force: bool,
    /// Measure an interrupted render's frames as they are, instead of refusing it
    #[arg(long)]
    partial: bool,
    /// No summary line
    #[arg(long, short)]
    quiet: bool,
}

/// A `--config` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    lane: Vec<LaneConfig>,
    #[serde(default)]
    target: Vec<TargetConfig>,
}

/// What was measured: every lane's raw values, one per frame.
struct Measured {
    raw: Vec<Vec<f32>>,
    fps: FrameRate,
    /// Each lane's analysis floor: what silence reads.
    floors_db: Vec<f32>,
    /// The render (or audio) the values were measured in.
    origin: Origin,
}

pub(super) fn run_schedule(args: &ScheduleArgs) -> Result<(), Failure> {
    if !(args.epsilon.is_finite() && args.epsilon >= 0.0) {
        return Err(Failure::usage(format!(
            "--epsilon {} must be 0 or more",
            args.epsilon
        )));
    }
    let (lanes, targets) = lane_configs(args)?;
    let set = LaneSet::new(&lanes, &targets).map_err(Failure::usage)?;
    let schedules = set.schedules(args.targets_only);
    let fields = parseq::field_names(schedules.iter().map(|target| target.name.as_str()))
        .map_err(Failure::usage)?;
    // clap requires INPUT unless --demo, and refuses both.
    let (measured, default_out) = match &args.input {
        Some(input) if input.is_dir() => {
            if args.fps.is_some() {
                return Err(Failure::usage(
                    "--fps applies to audio; a folder's frame rate is in its manifest",
                ));
            }
            (measure_folder(input, &set, args.partial)?, input.clone())
        }
        Some(input) => (
            measure_audio(
                input,
                &|| Ok(Box::new(FileSource::open(input)?)),
                args.fps.unwrap_or(FrameRate::FPS_24),
                &set,
            )?,
            default_out_dir(input),
        ),
        None => (
            measure_audio(
                Path::new("demo"),
                &|| Ok(Box::new(DemoSource::new(DEMO_SAMPLE_RATE))),
                args.fps.unwrap_or(FrameRate::FPS_24),
                &set,
            )?,
            PathBuf::from("out/demo"),
        ),
    };
    let out_dir = args.out.as_ref().unwrap_or(&default_out);
    check_out_dir(out_dir, measured.fps, args)?;
    let num_keyframes = write_outputs(&set, &schedules, &fields, &measured, out_dir, args.epsilon)?;
    let num_frames = measured.raw.first().map_or(0, Vec::len);
    record(out_dir, &measured, num_frames, args)?;
    // The folder's preview page plots `schedule.csv`: draw it again with these lanes.
    if is_our_page(out_dir) {
        crate::page::write_page(out_dir, None, BrokenSchedule::Refuse)?;
    }
    if !args.quiet {
        eprintln!(
            "wrote {} and {} over {num_frames} frames at {} fps to {} ({num_keyframes} Deforum \
             keyframes)",
            count(set.lanes.len(), "lane"),
            count(schedules.len(), "schedule"),
            measured.fps,
            out_dir.display()
        );
    }
    Ok(())
}

/// "1 lane", "2 lanes".
fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// Refuses to write where the schedule does not belong: into a render at another frame rate
/// (usage: the schedule would not fit its frames), or over schedule files that are not ours,
/// unless `--force` (as `render` refuses a folder that is not ours).
fn check_out_dir(out_dir: &Path, fps: FrameRate, args: &ScheduleArgs) -> Result<(), Failure> {
    if let ManifestState::Ours(manifest) = Manifest::read(out_dir)? {
        let render_rate = manifest.rate();
        if render_rate != fps {
            let how = match &args.input {
                Some(input) if input.is_dir() => "write it to another --out".to_owned(),
                _ => format!("give --fps {render_rate}, or write it to another --out"),
            };
            return Err(Failure::usage(format!(
                "{} holds a render at {render_rate} fps, and this schedule is at {fps} fps: {how}",
                out_dir.display()
            )));
        }
    }
    if !args.force
        && let Some(path) = foreign_files(out_dir)?.first()
    {
        return Err(Failure {
            message: format!(
                "{} is not a schedule of ours (derived.json does not list it): move it away, or \
                 add --force to replace it",
                path.display()
            ),
            exit_code: EXIT_IO,
        });
    }
    Ok(())
}

/// Records in `derived.json` what the schedule files were made from and how to make them again.
fn record(
    out_dir: &Path,
    measured: &Measured,
    num_frames: usize,
    args: &ScheduleArgs,
) -> Result<(), Failure> {
    let mut options = Vec::new();
    if args.epsilon != DEFAULT_EPSILON {
        options.extend(["--epsilon".to_owned(), args.epsilon.to_string()]);
    }
    if args.targets_only {
        options.push("--targets-only".to_owned());
    }
    let record = ScheduleRecord {
        from: measured.origin.clone(),
        fps: [measured.fps.num, measured.fps.den],
        num_frames: num_frames as u64,
        files: SCHEDULE_FILES.iter().map(|&name| name.to_owned()).collect(),
        input: args
            .input
            .as_ref()
            .map_or_else(|| "--demo".to_owned(), |input| input.display().to_string()),
        lanes: args.lanes.clone(),
        targets: args.targets.clone(),
        config: args.config.as_ref().map(|path| path.display().to_string()),
        options,
    };
    Derived::update(out_dir, |derived| derived.schedule = Some(record)).map_err(Failure::from)
}

/// Lanes and targets from `--config`, then `--lane`/`--target`.
fn lane_configs(args: &ScheduleArgs) -> Result<(Vec<LaneConfig>, Vec<TargetConfig>), Failure> {
    let mut config = ConfigFile {
        lane: Vec::new(),
        target: Vec::new(),
    };
    if let Some(path) = &args.config {
        let text = fs::read_to_string(path).map_err(|error| Failure {
            message: format!("{}: {error}", path.display()),
            exit_code: if error.kind() == std::io::ErrorKind::NotFound {
                EXIT_BAD_INPUT
            } else {
                EXIT_IO
            },
        })?;
        config = toml::from_str(&text).map_err(|error| {
            let line = error
                .span()
                .map(|span| format!(" (line {})", text[..span.start].lines().count().max(1)))
                .unwrap_or_default();
            Failure::usage(format!(
                "{}{line}: {}",
                path.display(),
                error
                    .message()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            ))
        })?;
    }
    for spec in &args.lanes {
        config
            .lane
            .push(LaneConfig::parse(spec).map_err(Failure::usage)?);
    }
    for spec in &args.targets {
        config
            .target
            .push(TargetConfig::parse(spec).map_err(Failure::usage)?);
    }
    Ok((config.lane, config.target))
}

/// Measures the lanes in a folder: a render's or a plugin take's, or a session of takes whose
/// lanes name the take they are measured in (`Drums/30-120`). Each folder's `spectrum.csv` is
/// streamed once for all its spectral lanes; host lanes read the take's tables.
fn measure_folder(dir: &Path, set: &LaneSet, is_partial_ok: bool) -> Result<Measured, Failure> {
    // A folder with a manifest of its own is one take, even inside a session.
    let index = match dir.join(MANIFEST_NAME).is_file() {
        true => None,
        false => compose::read_index_if_any(dir)?,
    };
    let lane_dirs = set
        .lanes
        .iter()
        .map(|lane| lane_folder(dir, index.as_ref(), lane))
        .collect::<Result<Vec<_>, _>>()?;
    let mut folder_dirs = lane_dirs.clone();
    folder_dirs.sort();
    folder_dirs.dedup();
    let folders = folder_dirs
        .iter()
        .map(|folder_dir| {
            let folder = OutputFolder::read(folder_dir)?;
            folder.require_finished(is_partial_ok)?;
            Ok(folder)
        })
        .collect::<Result<Vec<_>, FolderError>>()?;
    let fps = folders[0].fps();
    if let Some(other) = folders.iter().find(|folder| folder.fps() != fps) {
        return Err(Failure::unreadable(
            format!(
                "{} is at {} fps and {} at {fps}: lanes of one schedule share a frame rate",
                other.dir.display(),
                other.fps(),
                folders[0].dir.display()
            ),
            false,
        ));
    }
    let num_frames = folders
        .iter()
        .map(OutputFolder::end_frame)
        .max()
        .unwrap_or(0) as usize;
    if num_frames == 0 {
        return Err(Failure::unreadable(
            format!("{} holds no frames", folders[0].dir.display()),
            false,
        ));
    }

    let mut raw = vec![Vec::new(); set.lanes.len()];
    let mut floors_db = vec![0.0; set.lanes.len()];
    for folder in &folders {
        let lane_idxs: Vec<usize> = (0..set.lanes.len())
            .filter(|&idx| lane_dirs[idx] == folder.dir)
            .collect();
        let (spectral, host): (Vec<usize>, Vec<usize>) = lane_idxs
            .into_iter()
            .partition(|&idx| set.lanes[idx].source.is_spectral());
        if !spectral.is_empty() {
            let scale = DbScale::of_folder(folder);
            let measured = measure_spectrum(folder, spectral.iter().map(|&idx| &set.lanes[idx]))?;
            for (&idx, mut values) in spectral.iter().zip(measured) {
                // Frames after the folder's last read as silence.
                let silence = match set.lanes[idx].source {
                    LaneSource::Onsets { .. } => 0.0,
                    _ => scale.floor_db(),
                };
                values.resize(num_frames, silence);
                raw[idx] = values;
                floors_db[idx] = scale.floor_db();
            }
        }
        // Each table read once, however many lanes follow it (beats and bars both read the
        // transport).
        let mut tables: HashMap<HostTableKind, HostTable> = HashMap::new();
        for idx in host {
            let LaneSource::Host(source) = set.lanes[idx].source else {
                unreachable!("partitioned on is_spectral");
            };
            let table = match tables.entry(source.table()) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(read_host_table(folder, source.table())?),
            };
            raw[idx] = source
                .values(table, num_frames, frame_period_s(fps))
                .map_err(|reason| {
                    let path = folder.dir.join(source.table().file_name());
                    Failure::unreadable(format!("{}: {reason}", path.display()), false)
                })?;
        }
    }
    Ok(Measured {
        raw,
        fps,
        floors_db,
        origin: Origin::Render(RenderId::of(&folders[0].manifest)),
    })
}

/// The folder a lane is measured in: `dir` itself, or in a session (`index`, its
/// `session.json`) the lane the source names. Beat lanes may leave it out: every lane of a
/// session has the same beat grid, so the first with one serves.
fn lane_folder(dir: &Path, index: Option<&SessionIndex>, lane: &Lane) -> Result<PathBuf, Failure> {
    match (&lane.stem, index) {
        (Some(stem), Some(index)) => compose::lane_dir(dir, index, stem),
        (Some(stem), None) => Err(Failure::usage(format!(
            "lane {:?}: {stem}/… names a session lane, but {} is no session folder",
            lane.name,
            dir.display()
        ))),
        (None, None) => Ok(dir.to_owned()),
        (None, Some(index)) => match lane.source {
            LaneSource::Host(source @ HostSource::Beats { .. }) => index
                .lanes
                .iter()
                .map(|session_lane| dir.join(&session_lane.name))
                .find(|lane_dir| lane_dir.join(source.table().file_name()).is_file())
                .ok_or_else(|| {
                    Failure::unreadable(
                        format!(
                            "no lane of the session {} has a {}: beats come from the \
                             plugin's takes",
                            dir.display(),
                            source.table().file_name()
                        ),
                        false,
                    )
                }),
            _ => {
                let names: Vec<&str> = index.lanes.iter().map(|lane| lane.name.as_str()).collect();
                Err(Failure::usage(format!(
                    "lane {:?}: {} is a session; name the lane it follows as LANE/SOURCE \
                     (lanes: {})",
                    lane.name,
                    dir.display(),
                    names.join(", ")
                )))
            }
        },
    }
}

/// Streams a folder's `spectrum.csv` through `lanes` (spectral ones): their raw values, one per
/// frame from 0 to the folder's last; frames the folder lacks (gaps between takes) read as silence.
fn measure_spectrum<'a>(
    folder: &OutputFolder,
    lanes: impl IntoIterator<Item = &'a Lane>,
) -> Result<Vec<Vec<f32>>, Failure> {
    let scale = DbScale::of_folder(folder);
    let num_bins = folder.bin_freqs_hz().len();
    let mut meter =
        RowMeter::new(lanes, folder.bin_freqs_hz(), scale.floor_db()).map_err(Failure::usage)?;
    let floor_row = vec![scale.floor_db(); num_bins];
    let mut row_db = vec![0.0f32; num_bins];
    let mut next_frame = 0u64;
    folder.for_each_row(|frame_idx, values| -> Result<(), FolderError> {
        scale.row_to_db(values, &mut row_db);
        for _ in next_frame..frame_idx {
            meter.push_row(&floor_row);
        }
        meter.push_row(&row_db);
        next_frame = frame_idx + 1;
        Ok(())
    })?;
    Ok(meter.raw)
}

/// A take's host table (`transport.csv`, `midi.csv` or `macros.csv`), at most one row per frame
/// the folder lists.
fn read_host_table(folder: &OutputFolder, kind: HostTableKind) -> Result<HostTable, Failure> {
    let max_rows = folder.manifest.frames_written;
    HostTable::read(&folder.dir, kind, max_rows)
        .map_err(Failure::from)?
        .ok_or_else(|| {
            Failure::unreadable(
                format!(
                    "{} has no {}: beat, MIDI and macro lanes come from the plugin's takes",
                    folder.dir.display(),
                    kind.file_name()
                ),
                false,
            )
        })
}

/// Analyses audio with the render's own analysis, frame by frame, through the lanes; onsets lanes
/// then take a second pass over each frame's own samples (`open` gives the audio each time).
fn measure_audio(
    audio: &Path,
    open: &dyn Fn() -> Result<Box<dyn MonoSource>, Failure>,
    fps: FrameRate,
    set: &LaneSet,
) -> Result<Measured, Failure> {
    let mut source = open()?;
    let analysis = AnalysisSettings::default();
    let sample_rate = source.info().sample_rate;
    let mut analyzer = Analyzer::new(&analysis, sample_rate)
        .map_err(|error| Failure::from(PipelineError::from(error)))?;
    if let Some(lane) = set
        .lanes
        .iter()
        .find(|lane| lane.stem.is_some() || !lane.source.is_spectral())
    {
        return Err(Failure::usage(format!(
            "lane {:?} reads a plugin take or session: give its folder, not audio",
            lane.name
        )));
    }
    let scale = DbScale::for_analysis(&analysis, sample_rate, fps);
    let mut meter = RowMeter::new(
        &set.lanes,
        &analyzer.bin_map().centre_freqs_hz,
        scale.floor_db(),
    )
    .map_err(Failure::usage)?;
    let clock = FrameClock::new(fps, sample_rate, analyzer.placement());
    let mut bins = vec![0.0f32; analyzer.num_bins()];
    let mut bins_db = bins.clone();
    pipeline::cut_frames(source.as_mut(), &clock, |_, window| {
        analyzer.analyze(window, &mut bins);
        scale.row_to_db(&bins, &mut bins_db);
        meter.push_row(&bins_db);
        Ok(ControlFlow::Continue(()))
    })?;
    // Damaged spans became silence of their length, as in `render`: say where, as it does.
    print_damage(audio, source.damage(), sample_rate);
    if meter.raw.first().is_none_or(Vec::is_empty) {
        return Err(PipelineError::NoAudio.into());
    }

    let onset_lanes: Vec<(usize, (Band, f32))> = set
        .lanes
        .iter()
        .enumerate()
        .filter_map(|(idx, lane)| match lane.source {
            LaneSource::Onsets { band, .. } => {
                Some((idx, (band, lane.shaping.gate_db.unwrap_or(f32::MIN))))
            }
            _ => None,
        })
        .collect();
    if !onset_lanes.is_empty() {
        let bands: Vec<(Band, f32)> = onset_lanes.iter().map(|&(_, band)| band).collect();
        let max_frame_len = (clock.frame_start(1) + 1) as usize;
        let mut flux_meter = FrameFlux::new(sample_rate, max_frame_len, &bands, scale.floor_db());
        let mut flux = vec![0.0f32; bands.len()];
        for &(lane_idx, _) in &onset_lanes {
            meter.raw[lane_idx].clear();
        }
        let mut source = open()?;
        for_each_frame(source.as_mut(), &clock, |samples| {
            flux_meter.push_frame(samples, &mut flux);
            for (&(lane_idx, _), &value) in onset_lanes.iter().zip(&flux) {
                meter.raw[lane_idx].push(value);
            }
        })?;
    }
    Ok(Measured {
        floors_db: vec![scale.floor_db(); set.lanes.len()],
        raw: meter.raw,
        fps,
        origin: Origin::Audio,
    })
}

/// Calls `on_frame` with each video frame's own samples, `floor(k·sr/fps) .. floor((k+1)·sr/fps)`
/// (the last frame: what the audio holds of it), for every frame that starts inside the audio.
fn for_each_frame(
    source: &mut dyn MonoSource,
    clock: &FrameClock,
    mut on_frame: impl FnMut(&[f32]),
) -> Result<(), Failure> {
    let mut samples: Vec<f32> = Vec::new();
    // Timeline position of `samples[0]`, always the next frame's start.
    let mut buffer_start: i64 = 0;
    let mut frame_idx: i64 = 0;
    loop {
        let is_done = !source.read_mono(&mut samples)?;
        let buffer_end = buffer_start + samples.len() as i64;
        loop {
            let (start, end) = (
                clock.frame_start(frame_idx),
                clock.frame_start(frame_idx + 1),
            );
            let is_ready = end <= buffer_end || (is_done && start < buffer_end);
            if !is_ready {
                break;
            }
            let to = end.min(buffer_end);
            on_frame(&samples[(start - buffer_start) as usize..(to - buffer_start) as usize]);
            frame_idx += 1;
        }
        if is_done {
            return Ok(());
        }
        let consumed = (clock.frame_start(frame_idx) - buffer_start) as usize;
        samples.drain(..consumed);
        buffer_start += consumed as i64;
    }
}

/// Writes the schedule files; returns the Deforum keyframes written. `schedules` are the
/// schedules to write, `fields` their Parseq fields.
fn write_outputs(
    set: &LaneSet,
    schedules: &[Target],
    fields: &[String],
    measured: &Measured,
    out_dir: &Path,
    epsilon: f64,
) -> Result<usize, Failure> {
    let frame_s = frame_period_s(measured.fps);
    let units = unit_curves(set, measured.raw.clone(), &measured.floors_db, frame_s);
    let values_of = |target: &Target| -> Vec<f32> {
        units[target.lane_idx]
            .iter()
            .map(|&u| target.range.map(u))
            .collect()
    };
    let lane_values: Vec<Vec<f32>> = set
        .lanes
        .iter()
        .zip(&units)
        .map(|(lane, units)| units.iter().map(|&u| lane.shaping.range.map(u)).collect())
        .collect();
    let target_values: Vec<Vec<f32>> = set.targets.iter().map(values_of).collect();
    let schedule_values: Vec<Vec<f32>> = schedules.iter().map(values_of).collect();
    // schedule.csv: every lane, then every target.
    let columns: Vec<Schedule> = set
        .lanes
        .iter()
        .map(|lane| lane.name.as_str())
        .zip(&lane_values)
        .chain(
            set.targets
                .iter()
                .map(|target| target.name.as_str())
                .zip(&target_values),
        )
        .map(|(name, values)| Schedule { name, values })
        .collect();
    let schedules: Vec<Schedule> = schedules
        .iter()
        .zip(&schedule_values)
        .map(|(target, values)| Schedule {
            name: &target.name,
            values,
        })
        .collect();
    let num_frames = units.first().map_or(0, Vec::len);

    fs::create_dir_all(out_dir).map_err(|error| Failure {
        message: format!("cannot write {}: {error}", out_dir.display()),
        exit_code: EXIT_IO,
    })?;
    let write = |name: &str, emit: &dyn Fn(&mut dyn Write) -> std::io::Result<()>| {
        write_atomically(&out_dir.join(name), |file| {
            let mut out = BufWriter::new(file);
            emit(&mut out)?;
            out.flush()
        })
        .map_err(|error| Failure {
            message: error.to_string(),
            exit_code: EXIT_IO,
        })
    };
    write(LANES_CSV_NAME, &|mut out| {
        emit::write_csv(&mut out, &columns, num_frames)
    })?;
    write(DEFORUM_NAME, &|mut out| {
        emit::write_strings(&mut out, &schedules, epsilon, emit::write_deforum)
    })?;
    write(ANIMATEDIFF_NAME, &|mut out| {
        emit::write_strings(&mut out, &schedules, epsilon, emit::write_animatediff)
    })?;
    write(COMFYROLL_NAME, &|mut out| {
        emit::write_comfyroll(&mut out, &schedules)
    })?;
    write(PARSEQ_NAME, &|mut out| {
        parseq::write_parseq(
            &mut out,
            &schedules,
            fields,
            measured.fps.as_f64(),
            num_frames,
        )
    })?;
    Ok(schedule_values
        .iter()
        .map(|values| emit::keyframes(values, epsilon).len())
        .sum())
}
