//! CLI: `spectral-diffusion diffuse`: an output folder's guide frames through img2img on ComfyUI
//! or AUTOMATIC1111 servers, into `OUTDIR/diffused/%06d.png` (DESIGN.md §14).
//!
//! Settings per frame come from flags, or from `schedule.csv` columns (`--denoise-from LANE`…);
//! the seed of frame k is `--seed` + k. The ledger (`diffused/ledger.jsonl`) makes a rerun draw
//! only the frames whose guide or settings changed, or whose output is gone. Exit codes as every
//! command: 1 a request the servers refuse (or bad settings), 2 usage, 3 no server left or a
//! write failed, 130 interrupted.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::failure::{EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_IO, Failure};
use super::{progress_bar, stop_on_signals};
use crate::diffuse::a1111::A1111Job;
use crate::diffuse::comfyui::{ComfyUiJob, UploadNames};
use crate::diffuse::scheduler::{self, Event, PoolError, PoolSettings};
use crate::diffuse::workflow::Workflow;
use crate::diffuse::{BackendKind, FrameJob, FrameSettings, Plan, server_url, sha256_hex};
use crate::export::format::diffused::{DIFFUSED_DIR, Entry, Ledger, output_path};
use crate::export::format::folder::OutputFolder;
use crate::export::format::schedule::{self, LANES_CSV_NAME, ScheduleTable, timeline_len};
use crate::export::write_atomically;
use crate::video::{self, Pairing, VideoJob};

/// The most frames one server may work on at once.
const MAX_IN_FLIGHT: usize = 64;
/// A server that fails this many frames in a row is dropped.
const MAX_FAILURES: u32 = 3;
/// The pause after a server's first failure, doubled after each further one.
const BACKOFF: Duration = Duration::from_millis(500);
/// The bar counts thousandths of a frame, so a server's progress on a frame moves it.
const BAR_STEPS_PER_FRAME: u64 = 1000;

#[derive(Debug, Args)]
pub struct DiffuseArgs {
    /// Output folder of `render` or of the plugin; the results go to its diffused/ folder
    folder: PathBuf,
    /// A server's URL, e.g. http://gpu1:8188; repeat for more servers [default: the backend's
    /// port on 127.0.0.1]
    #[arg(long = "server", value_name = "URL")]
    servers: Vec<String>,
    /// The server software
    #[arg(long, value_enum, default_value_t = BackendKind::Comfyui)]
    backend: BackendKind,
    /// What to draw
    #[arg(long, default_value = "")]
    prompt: String,
    /// What not to draw
    #[arg(long, default_value = "")]
    negative: String,
    /// Sampling steps
    #[arg(long, default_value_t = 20)]
    steps: u32,
    /// Classifier-free guidance scale
    #[arg(long, default_value_t = 7.0)]
    cfg: f64,
    /// img2img strength, 0 (keep the guide) to 1 (ignore it)
    #[arg(long, default_value_t = 0.5)]
    denoise: f64,
    /// Seed of frame 0; frame k gets SEED + k
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Every frame gets the same seed, SEED
    #[arg(long)]
    fixed_seed: bool,
    /// Denoise per frame from this column of the schedule (values 0..1)
    #[arg(long, value_name = "LANE")]
    denoise_from: Option<String>,
    /// CFG scale per frame from this column of the schedule
    #[arg(long, value_name = "LANE")]
    cfg_from: Option<String>,
    /// Steps per frame from this column of the schedule (rounded)
    #[arg(long, value_name = "LANE")]
    steps_from: Option<String>,
    /// The schedule the *-from columns come from [default: FOLDER/schedule.csv, as `schedule`
    /// writes it]
    #[arg(long, value_name = "CSV")]
    schedule: Option<PathBuf>,
    /// ComfyUI: an API-format workflow ("Save (API)") whose string values "{{image}}",
    /// "{{prompt}}", "{{negative}}", "{{seed}}", "{{steps}}", "{{cfg}}", "{{denoise}}" are filled
    /// per frame [default: a built-in img2img workflow]
    #[arg(long, value_name = "JSON")]
    workflow: Option<PathBuf>,
    /// ComfyUI: the checkpoint of the built-in workflow (a file in models/checkpoints)
    #[arg(long, value_name = "NAME")]
    checkpoint: Option<String>,
    /// Frames each server holds at once: with 2 the next frame is uploaded and queued while the
    /// server draws the current one, so it never waits for us
    #[arg(long, default_value_t = 2)]
    in_flight: usize,
    /// The longest one frame may take on a server, in seconds
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Print the first request of each kind and send nothing
    #[arg(long)]
    dry_run: bool,
    /// Then make FOLDER/diffused.mp4 of the drawn frames with the audio (needs ffmpeg)
    #[arg(long)]
    video: bool,
    /// The audio for --video [default: the audio the manifest names]
    #[arg(long, requires = "video")]
    audio: Option<PathBuf>,
    /// Draw an interrupted render's frames as they are, instead of refusing it
    #[arg(long)]
    partial: bool,
    /// With --video: replace a diffused.mp4 that was not made by `diffuse --video`
    #[arg(long, requires = "video")]
    force: bool,
    /// No progress bar
    #[arg(long, short)]
    quiet: bool,
}

pub fn run_diffuse(args: &DiffuseArgs) -> Result<(), Failure> {
    let stop = stop_on_signals(true)?;
    if !(0.0..=1.0).contains(&args.denoise) {
        return Err(Failure::usage("--denoise must be 0 to 1"));
    }
    if !(1..=MAX_IN_FLIGHT).contains(&args.in_flight) {
        return Err(Failure::usage(format!(
            "--in-flight must be 1 to {MAX_IN_FLIGHT}"
        )));
    }
    if args.timeout == 0 {
        return Err(Failure::usage("--timeout must be at least 1 second"));
    }
    let servers = server_urls(args)?;
    let folder = OutputFolder::read_frames(&args.folder)?;
    folder.require_finished(args.partial)?;
    let reads_own_schedule = args.schedule.is_none()
        && [&args.denoise_from, &args.cfg_from, &args.steps_from]
            .iter()
            .any(|name| name.is_some());
    if reads_own_schedule {
        folder.require_current_schedule()?;
    }
    let Some((width, height)) = folder.frame_size() else {
        return Err(bad_input(format!(
            "{} holds no frames (rendered with --csv-only?): render it with images first",
            folder.dir.display()
        )));
    };
    let timeout = Duration::from_secs(args.timeout);
    let plan = match args.backend {
        BackendKind::Comfyui => Plan::ComfyUi(Arc::new(ComfyUiJob {
            workflow: workflow(args)?,
            subfolder: upload_subfolder(&folder.dir),
            upload_names: UploadNames::Frame,
            timeout,
            stop: None,
        })),
        BackendKind::A1111 => {
            if args.workflow.is_some() || args.checkpoint.is_some() {
                return Err(Failure::usage(
                    "--workflow and --checkpoint are ComfyUI's; A1111 draws with the model loaded \
                     in its web UI",
                ));
            }
            Plan::A1111(Arc::new(A1111Job {
                width,
                height,
                timeout,
            }))
        }
    };
    let lanes = Lanes::read(args, &folder)?;

    let mut jobs = Vec::new();
    let mut first_guide_len = 0;
    for frame_idx in folder.frame_indices() {
        let path = folder.frame_path(frame_idx);
        let guide = fs::read(&path).map_err(|error| {
            bad_input(format!(
                "{} is listed in manifest.json but cannot be read ({error}): render the folder again",
                path.display()
            ))
        })?;
        if jobs.is_empty() {
            first_guide_len = guide.len();
        }
        let settings = lanes.settings(args, frame_idx)?;
        jobs.push(FrameJob {
            frame_idx,
            settings_hash: plan.settings_hash(&settings),
            settings,
            input_hash: sha256_hex(&guide),
        });
    }
    if jobs.is_empty() {
        return Err(bad_input(format!(
            "{} lists no frames",
            folder.dir.display()
        )));
    }
    if args.dry_run {
        println!("{}", plan.describe(&servers[0], &jobs[0], first_guide_len));
        return Ok(());
    }

    let out_dir = folder.dir.join(DIFFUSED_DIR);
    fs::create_dir_all(&out_dir).map_err(|error| io_failure(&out_dir, error))?;
    let mut ledger = Ledger::open(&out_dir).map_err(|error| io_failure(&out_dir, error))?;
    let num_frames = jobs.len();
    jobs.retain(|job| {
        !(ledger.is_done(job.frame_idx, &job.input_hash, &job.settings_hash)
            && output_path(&out_dir, job.frame_idx).is_file())
    });
    let num_to_draw = jobs.len();
    if !args.quiet {
        eprintln!(
            "{num_to_draw} of {num_frames} frames to draw ({} already done) on {}",
            num_frames - num_to_draw,
            match servers.len() {
                1 => "1 server".to_owned(),
                n => format!("{n} servers"),
            }
        );
    }

    let progress = progress_bar(Some(num_to_draw as u64 * BAR_STEPS_PER_FRAME), args.quiet);
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {frames} frames  {rate}  eta {eta}  {msg}")
            .expect("valid template")
            .with_key(
                "frames",
                |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                    let len = state.len().unwrap_or_default();
                    let _ = write!(
                        out,
                        "{}/{}",
                        state.pos() / BAR_STEPS_PER_FRAME,
                        len / BAR_STEPS_PER_FRAME
                    );
                },
            )
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                    let _ = write!(out, "{:.2}/s", state.per_sec() / BAR_STEPS_PER_FRAME as f64);
                },
            ),
    );
    let mut tally = Tally::new(servers.len());
    let pool = PoolSettings {
        in_flight: args.in_flight,
        max_failures: MAX_FAILURES,
        backoff: BACKOFF,
    };
    let result = scheduler::draw_all(
        jobs,
        &servers,
        &pool,
        &|server_idx| plan.connect(&servers[server_idx]),
        &|job| {
            let path = folder.frame_path(job.frame_idx);
            fs::read(&path).map_err(|error| format!("cannot read {}: {error}", path.display()))
        },
        &stop,
        |event| {
            if let Event::Drawn {
                job,
                server_idx,
                png,
            } = &event
            {
                let path = output_path(&out_dir, job.frame_idx);
                write_atomically(&path, |file| file.write_all(png))
                    .map_err(|error| Failure::unreadable(error, true))?;
                ledger
                    .record(Entry::done(
                        job.frame_idx,
                        &job.input_hash,
                        &job.settings_hash,
                        &servers[*server_idx],
                    ))
                    .map_err(|error| io_failure(ledger.path(), error))?;
            }
            tally.hear(event, &servers, &progress);
            Ok(())
        },
    );
    progress.finish_and_clear();
    let num_drawn: u64 = tally.drawn.iter().sum();
    match result {
        Ok(()) => {}
        Err(PoolError::Sink(failure)) => return Err(failure),
        Err(PoolError::Rejected(error)) => return Err(bad_input(error)),
        Err(PoolError::Interrupted) => {
            return Err(Failure {
                message: format!(
                    "interrupted: {num_drawn} of {num_to_draw} frames drawn; run the same command \
                     again to draw the rest"
                ),
                exit_code: EXIT_INTERRUPTED,
            });
        }
        Err(error @ PoolError::NoServerLeft(_)) => {
            return Err(Failure {
                message: format!(
                    "{error} ({num_drawn} of {num_to_draw} frames drawn; rerun to draw the rest)"
                ),
                exit_code: EXIT_IO,
            });
        }
    }
    if !args.quiet {
        eprintln!(
            "{num_frames} frames in {} ({})",
            out_dir.display(),
            per_server(&servers, &tally.drawn)
        );
    }
    if args.video {
        let job = VideoJob {
            folder: folder.dir.clone(),
            audio: args.audio.clone(),
            out: folder.dir.join("diffused.mp4"),
            frames: Some(out_dir),
            side_by_side: None,
            // `diffuse` names its pictures by frame index.
            pairing: Pairing {
                offset: Some(0),
                prefix: None,
            },
            is_partial_ok: args.partial,
            is_forced: args.force,
        };
        let summary = video::make_video(&job, || stop.load(Ordering::Relaxed))?;
        println!(
            "{} ({} frames, {:.3} s)",
            job.out.display(),
            summary.num_frames,
            summary.duration_s()
        );
    }
    Ok(())
}

/// What the run has heard from the servers: for the bar, the warnings and the summary.
struct Tally {
    /// Frames drawn, per server.
    drawn: Vec<u64>,
    /// How far each server is with the frame it is drawing, 0 to 1.
    partial: Vec<f64>,
    is_dropped: Vec<bool>,
    /// A failure of the only server left, told only if it draws again: while no other server can
    /// take the frame, a retry says nothing new, and if the server is dropped the run's last line
    /// quotes its error.
    held_warning: Vec<Option<String>>,
}

impl Tally {
    fn new(num_servers: usize) -> Self {
        Self {
            drawn: vec![0; num_servers],
            partial: vec![0.0; num_servers],
            is_dropped: vec![false; num_servers],
            held_warning: vec![None; num_servers],
        }
    }

    fn hear(&mut self, event: Event, servers: &[String], bar: &ProgressBar) {
        match event {
            Event::Drawn { server_idx, .. } => {
                if let Some(error) = self.held_warning[server_idx].take() {
                    bar.suspend(|| {
                        eprintln!("warning: {error}; the frame was drawn when tried again")
                    });
                }
                self.drawn[server_idx] += 1;
                self.partial[server_idx] = 0.0;
                bar.set_message(per_server(servers, &self.drawn));
            }
            Event::Progress {
                server_idx,
                fraction,
            } => self.partial[server_idx] = fraction,
            Event::Retry { server_idx, error } => {
                if self.others_are_left(server_idx) {
                    bar.suspend(|| {
                        eprintln!("warning: {error}; the frame goes back to the queue");
                    });
                } else {
                    self.held_warning[server_idx] = Some(error);
                }
            }
            Event::Dropped { server_idx, error } => {
                self.is_dropped[server_idx] = true;
                self.held_warning[server_idx] = None;
                if self.others_are_left(server_idx) {
                    bar.suspend(|| {
                        eprintln!("warning: {error}; no more frames go to this server");
                    });
                }
            }
        }
        let frames = self.drawn.iter().sum::<u64>() as f64 + self.partial.iter().sum::<f64>();
        let position = (frames * BAR_STEPS_PER_FRAME as f64) as u64;
        let len = bar.length().unwrap_or(position);
        bar.set_position(position.max(bar.position()).min(len));
    }

    /// Whether a server besides `server_idx` still takes frames.
    fn others_are_left(&self, server_idx: usize) -> bool {
        self.is_dropped
            .iter()
            .enumerate()
            .any(|(idx, is_dropped)| idx != server_idx && !is_dropped)
    }
}

fn bad_input(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        exit_code: EXIT_BAD_INPUT,
    }
}

fn io_failure(path: &Path, error: std::io::Error) -> Failure {
    Failure {
        message: format!("cannot write {}: {error}", path.display()),
        exit_code: EXIT_IO,
    }
}

/// "gpu1:8188 12 · gpu2:8188 30".
fn per_server(servers: &[String], drawn: &[u64]) -> String {
    servers
        .iter()
        .zip(drawn)
        .map(|(server, drawn)| {
            let host = server
                .split_once("://")
                .map_or(server.as_str(), |(_, host)| host);
            format!("{host} {drawn}")
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The servers as given (without a trailing `/`), or the backend's default.
fn server_urls(args: &DiffuseArgs) -> Result<Vec<String>, Failure> {
    if args.servers.is_empty() {
        return Ok(vec![args.backend.default_server().to_owned()]);
    }
    let mut servers = Vec::new();
    for server in &args.servers {
        let server =
            server_url(server).map_err(|error| Failure::usage(format!("--server {error}")))?;
        if servers.contains(&server) {
            return Err(Failure::usage(format!(
                "--server {server} is given twice; use --in-flight for more frames at once"
            )));
        }
        servers.push(server);
    }
    Ok(servers)
}

/// The user's workflow, or the built-in one with `--checkpoint`.
fn workflow(args: &DiffuseArgs) -> Result<Workflow, Failure> {
    match (&args.workflow, &args.checkpoint) {
        (Some(_), Some(_)) => Err(Failure::usage(
            "--checkpoint is for the built-in workflow; set the checkpoint inside --workflow's file",
        )),
        (Some(path), None) => Ok(Workflow::read(path)?),
        (None, Some(checkpoint)) => Ok(Workflow::img2img(checkpoint)),
        (None, None) => Err(Failure::usage(
            "ComfyUI needs --checkpoint NAME (a file in its models/checkpoints) for the built-in \
             img2img workflow, or --workflow FILE",
        )),
    }
}

/// The subfolder of ComfyUI's `input/` for this output folder: the same on every run, so reruns
/// overwrite their uploads instead of piling them up.
fn upload_subfolder(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let hash = sha256_hex(dir.to_string_lossy().as_bytes());
    format!("spectral-diffusion-{}", &hash[..12])
}

/// The schedule columns the `*-from` flags name: denoise, cfg, steps.
struct Lanes {
    table: Option<ScheduleTable>,
    columns: [Option<usize>; 3],
}

impl Lanes {
    fn read(args: &DiffuseArgs, folder: &OutputFolder) -> Result<Self, Failure> {
        let names = [&args.denoise_from, &args.cfg_from, &args.steps_from];
        if names.iter().all(|name| name.is_none()) {
            return Ok(Self {
                table: None,
                columns: [None; 3],
            });
        }
        let path = args
            .schedule
            .clone()
            .unwrap_or_else(|| folder.dir.join(LANES_CSV_NAME));
        if !path.is_file() {
            return Err(bad_input(format!(
                "there is no schedule {}: write it with `spectral-diffusion schedule {}` or give \
                 --schedule CSV",
                path.display(),
                folder.dir.display()
            )));
        }
        // The folder's own schedule must be made for its render; one given is taken as it is.
        let table = match &args.schedule {
            Some(path) => ScheduleTable::read(path, timeline_len(&folder.manifest)).map(Some),
            None => schedule::read_for_render(&folder.dir, &folder.manifest),
        }
        .map_err(Failure::from)?
        .expect("the schedule is a file");
        let mut columns = [None; 3];
        for (column, name) in columns.iter_mut().zip(names) {
            if let Some(name) = name {
                *column = Some(table.column(name).ok_or_else(|| {
                    bad_input(format!(
                        "{} has no column `{name}`; its columns: {}",
                        table.path.display(),
                        table.names.join(", ")
                    ))
                })?);
            }
        }
        Ok(Self {
            table: Some(table),
            columns,
        })
    }

    /// Frame `frame_idx`'s settings: the lanes' values where given, else the flags'.
    fn settings(&self, args: &DiffuseArgs, frame_idx: u64) -> Result<FrameSettings, Failure> {
        let lane_value = |which: usize, name: &Option<String>| {
            match (&self.table, self.columns[which]) {
            (Some(table), Some(column)) => table.value(column, frame_idx).map(Some).ok_or_else(|| {
                bad_input(format!(
                    "{} has no row for frame {frame_idx} (column `{}`): write the schedule again",
                    table.path.display(),
                    name.as_deref().unwrap_or_default()
                ))
            }),
            _ => Ok(None),
        }
        };
        let denoise = lane_value(0, &args.denoise_from)?.unwrap_or(args.denoise);
        if !(0.0..=1.0).contains(&denoise) {
            return Err(bad_input(format!(
                "{}: column `{}` gives frame {frame_idx} a denoise of {denoise}; denoise must be 0 \
                 to 1 (shape the lane with min=…,max=…)",
                self.table
                    .as_ref()
                    .map_or(Path::new(""), |table| &table.path)
                    .display(),
                args.denoise_from.as_deref().unwrap_or_default()
            )));
        }
        let steps = match lane_value(2, &args.steps_from)? {
            Some(value) => value.round().max(1.0) as u32,
            None => args.steps,
        };
        Ok(FrameSettings {
            prompt: args.prompt.clone(),
            negative: args.negative.clone(),
            steps,
            cfg: lane_value(1, &args.cfg_from)?.unwrap_or(args.cfg),
            denoise,
            seed: if args.fixed_seed {
                args.seed
            } else {
                args.seed.wrapping_add(frame_idx)
            },
        })
    }
}
