//! CLI: `spectral-diffusion render` and `info`. Argument parsing, progress and exit codes; the
//! work itself is [`pipeline::render`] over the same engine the plugin runs.
//!
//! Exit codes: 0 ok, 1 bad input (damaged audio too, with `--strict` or `info --verify`), 2 usage,
//! 3 I/O, 130 interrupted (DESIGN.md §9). Every failure is one line on stderr; each damaged span of
//! audio is one `warning:` line before it.

mod compose;
mod diffuse;
pub mod page;
pub mod rendered;
mod schedule;
pub mod video;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::analysis::{AnalysisSettings, Preset, WindowKind};
use crate::audio::decode::{Damage, DecodeError, FileSource, MonoSource};
use crate::audio::demo::{self, DemoSource};
use crate::clock::FrameRate;
use crate::export::{CsvFormat, DEMO_AUDIO_NAME, ExportError, ExportSettings, OpenMode, Source};
use crate::pipeline::{self, PipelineError, RenderJob};
use crate::render::{Look, Palette, PieShape, RenderSettings, Renderer, View};
use page::PageError;
use video::{VideoError, VideoJob};

/// Sample rate of the synthesized demo track.
const DEMO_SAMPLE_RATE: u32 = 48_000;
/// The most worker threads `--jobs` asks for: each holds its own renderer and buffers, and
/// thousands would exhaust memory or threads before the first frame.
const MAX_JOBS: usize = 256;

#[derive(Debug, Parser)]
#[command(
    name = "spectral-diffusion",
    version,
    about = "Audio spectra as guide frames for Stable Diffusion"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render an audio file (or the demo track) into PNG guide frames, spectrum.csv and manifest.json
    Render(RenderArgs),
    /// Print an audio file's duration, sample rate, channels and the frames it would make
    Info(InfoArgs),
    /// Keyframe schedules (Deforum, AnimateDiff, Parseq, CSV) from a render folder or audio
    Schedule(schedule::ScheduleArgs),
    /// Make an mp4 of an output folder's frames with its audio (needs ffmpeg)
    Video(VideoArgs),
    /// Combine a plugin session's lanes into RGB guide frames (--red/--green/--blue) or a grid
    Compose(compose::ComposeArgs),
    /// Write (again) an output folder's preview page, index.html: after `schedule`, for a plugin
    /// take, or to point it at other audio
    Page(PageArgs),
    /// img2img on an output folder's frames through ComfyUI or AUTOMATIC1111 servers, resumable,
    /// spread over every server given, into FOLDER/diffused/
    Diffuse(diffuse::DiffuseArgs),
}

#[derive(Debug, Args)]
struct PageArgs {
    /// Output folder of `render` or of the plugin
    folder: PathBuf,
    /// Audio the page plays [default: the audio the manifest names, when it is there]
    #[arg(long)]
    audio: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct VideoArgs {
    /// Output folder of `render` or of the plugin
    folder: PathBuf,
    /// Audio to mux [default: the audio the manifest names: the rendered file, or the demo's
    /// demo.wav; a plugin take needs its bounce here]
    #[arg(long)]
    audio: Option<PathBuf>,
    /// The mp4 to write [default: FOLDER/video.mp4, FOLDER/side-by-side.mp4 or FOLDER/diffused.mp4]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder of img2img output frames, numbered like the guides (000042.png, or any name whose
    /// last number is the frame), shown to the right of each guide frame
    #[arg(long, value_name = "DIR")]
    side_by_side: Option<PathBuf>,
    /// Folder of img2img output frames, numbered like the guides, to make the video of instead
    /// of the guides (`diffuse` writes FOLDER/diffused)
    #[arg(long, value_name = "DIR", conflicts_with = "side_by_side")]
    frames: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct RenderArgs {
    /// Audio file: WAV, FLAC, MP3 or Ogg Vorbis
    #[arg(required_unless_present = "demo")]
    input: Option<PathBuf>,
    /// Render the built-in demo track instead of a file
    #[arg(long, conflicts_with = "input")]
    demo: bool,
    /// Output folder [default: out/<input file name>, or out/demo]
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Video frame rate: 12, 15, 23.976, 24, 25, 29.97, 30, 50, 59.94 or 60
    #[arg(long, default_value = "24")]
    fps: FrameRate,
    /// Analysis recipe: `default` (calibrated dB analyzer) or `seed` (the blog post's formula)
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    preset: Preset,
    /// Frequency bins per frame
    #[arg(long, default_value_t = 256)]
    bins: usize,
    /// FFT length in samples (`default` preset) [default: 4096 at 44.1/48 kHz, scaled with the rate]
    #[arg(long)]
    fft_size: Option<usize>,
    /// FFT length in seconds (`seed` preset)
    #[arg(long, default_value_t = 0.1)]
    window_seconds: f64,
    /// Analysis window (`default` preset)
    #[arg(long, value_enum, default_value_t = WindowKind::Hann)]
    window: WindowKind,
    /// Level drawn as zero, in dB (`default` preset)
    #[arg(long, default_value_t = -90.0, allow_negative_numbers = true)]
    floor_db: f32,
    /// Spectral tilt in dB per octave around 1 kHz; 3 makes pink noise flat (`default` preset)
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    tilt: f32,
    /// Write spectrum.csv and manifest.json only, no images
    #[arg(long)]
    csv_only: bool,
    /// spectrum.csv layout: `full` (header, frame and time columns) or `seed` (the post's bare rows)
    #[arg(long, value_enum, default_value_t = CsvFormat::Full)]
    csv: CsvFormat,
    /// Write into a non-empty folder that holds no render of ours, keeping its files
    #[arg(long)]
    force: bool,
    /// Finish an interrupted render in --out (same input and settings), keeping its frames
    #[arg(long)]
    resume: bool,
    /// Threads that render frames, 1 to 256 [default: all cores]
    #[arg(long, short)]
    jobs: Option<usize>,
    /// No progress bar
    #[arg(long, short)]
    quiet: bool,
    /// Damaged audio is an error: decode the whole file first and, if any of it is damaged or
    /// missing, exit 1 without touching the output folder
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    look: LookArgs,
}

/// How frames look. Every option defaults to the preset's look ([`RenderSettings::for_look`]):
/// the guide look, or the post's with `--preset seed`.
#[derive(Debug, Args)]
struct LookArgs {
    /// `guide` (tuned for img2img: per-view level windows, mid-grey noise) or `post` (the blog
    /// post's) [default: guide; post with --preset seed]
    #[arg(long, value_enum)]
    look: Option<Look>,
    /// Image view [default: pie]
    #[arg(long, value_enum)]
    view: Option<View>,
    /// Pie view: the post's half circle, or mirrored to a full circle [default: full; half with
    /// the post's look]
    #[arg(long, value_enum)]
    pie: Option<PieShape>,
    /// Colours before desaturation [default: level; rainbow with the post's look]
    #[arg(long, value_enum)]
    palette: Option<Palette>,
    /// Image width and height in pixels, 64 to 2048 [default: 512]
    #[arg(long)]
    size: Option<u32>,
    /// Background noise amount, 0 to 1 [default: 0.5]
    #[arg(long)]
    noise: Option<f32>,
    /// Background noise seed [default: 0]
    #[arg(long)]
    seed: Option<u64>,
    /// A new noise field every frame instead of one per render
    #[arg(long)]
    noise_per_frame: bool,
    /// Final Gaussian blur sigma in pixels, 0 for none [default: 2]
    #[arg(long)]
    blur: Option<f32>,
    /// Keep colour (RGB PNGs) instead of desaturating to grey
    #[arg(long)]
    color: bool,
    /// Invert the image
    #[arg(long)]
    invert: bool,
    /// Skip autocontrast
    #[arg(long)]
    no_autocontrast: bool,
    /// Autocontrast: percent of the histogram clipped at each end [default: 0]
    #[arg(long)]
    cutoff: Option<f32>,
    /// Equalize the histogram
    #[arg(long)]
    equalize: bool,
}

impl LookArgs {
    fn render_settings(&self, preset: Preset) -> RenderSettings {
        let look = self.look.unwrap_or(Look::for_preset(preset));
        let mut settings = RenderSettings::for_look(look);
        settings.view = self.view.unwrap_or(settings.view);
        settings.pie_shape = self.pie.unwrap_or(settings.pie_shape);
        settings.palette = self.palette.unwrap_or(settings.palette);
        settings.size = self.size.unwrap_or(settings.size);
        settings.noise.amount = self.noise.unwrap_or(settings.noise.amount);
        settings.noise.seed = self.seed.unwrap_or(settings.noise.seed);
        settings.noise.per_frame |= self.noise_per_frame;
        let post = &mut settings.post;
        post.blur_sigma = self.blur.unwrap_or(post.blur_sigma);
        post.desaturate &= !self.color;
        post.invert |= self.invert;
        post.autocontrast &= !self.no_autocontrast;
        post.autocontrast_cutoff_percent = self.cutoff.unwrap_or(post.autocontrast_cutoff_percent);
        post.equalize |= self.equalize;
        settings
    }
}

#[derive(Debug, Args)]
struct InfoArgs {
    /// Audio file: WAV, FLAC, MP3 or Ogg Vorbis
    input: PathBuf,
    /// Frame rate to count frames at
    #[arg(long, default_value = "24")]
    fps: FrameRate,
    /// Decode the whole file: report its real duration and any damage (exit 1 if damaged)
    #[arg(long)]
    verify: bool,
}

/// A failure with its exit code; printed as one line.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Failure {
    message: String,
    exit_code: u8,
}

const EXIT_BAD_INPUT: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_IO: u8 = 3;
/// 128 + SIGINT, as shells report a process that Ctrl-C ended.
const EXIT_INTERRUPTED: u8 = 130;

impl Failure {
    fn usage(error: impl std::fmt::Display) -> Self {
        Self {
            message: error.to_string(),
            exit_code: EXIT_USAGE,
        }
    }

    /// A folder or file that cannot be read as ours: bad input, or an I/O failure when `is_io`.
    fn unreadable(error: impl std::fmt::Display, is_io: bool) -> Self {
        Self {
            message: error.to_string(),
            exit_code: if is_io { EXIT_IO } else { EXIT_BAD_INPUT },
        }
    }

    /// Damaged audio where the user asked for none (`--strict`, `info --verify`).
    fn damaged(path: &Path, damage: &[Damage], consequence: &str) -> Self {
        Self {
            message: format!(
                "{}: damaged audio ({}){consequence}",
                path.display(),
                num_spans(damage.len())
            ),
            exit_code: EXIT_BAD_INPUT,
        }
    }
}

/// "1 damaged span", "3 damaged spans".
fn num_spans(n: usize) -> String {
    match n {
        1 => "1 damaged span".to_owned(),
        n => format!("{n} damaged spans"),
    }
}

/// One `warning:` line on stderr per damaged span.
fn print_damage(path: &Path, damage: &[Damage], sample_rate: u32) {
    for damage in damage {
        eprintln!(
            "warning: {}: {}",
            path.display(),
            damage.describe(sample_rate)
        );
    }
}

impl From<DecodeError> for Failure {
    fn from(error: DecodeError) -> Self {
        let is_io = error.is_io();
        Self::unreadable(error, is_io)
    }
}

impl From<VideoError> for Failure {
    fn from(error: VideoError) -> Self {
        let exit_code = match &error {
            VideoError::Folder(error) if error.is_io() => EXIT_IO,
            VideoError::Audio(error) if error.is_io() => EXIT_IO,
            VideoError::Folder(_)
            | VideoError::Audio(_)
            | VideoError::NoFrames { .. }
            | VideoError::MissingFrame { .. }
            | VideoError::MissingSideFrame { .. }
            | VideoError::AmbiguousSideFrame { .. }
            | VideoError::MissingAudio { .. } => EXIT_BAD_INPUT,
            VideoError::NoFfmpeg | VideoError::Io { .. } | VideoError::Ffmpeg { .. } => EXIT_IO,
            VideoError::Interrupted => EXIT_INTERRUPTED,
        };
        Self {
            message: error.to_string(),
            exit_code,
        }
    }
}

impl From<rendered::RenderedError> for Failure {
    fn from(error: rendered::RenderedError) -> Self {
        let is_io = error.is_io();
        Self::unreadable(error, is_io)
    }
}

impl From<PageError> for Failure {
    fn from(error: PageError) -> Self {
        let is_io = error.is_io();
        Self::unreadable(error, is_io)
    }
}

impl From<PipelineError> for Failure {
    fn from(error: PipelineError) -> Self {
        match error {
            PipelineError::Decode(error) => error.into(),
            PipelineError::Analysis(error) => Self::usage(error),
            PipelineError::Export(error @ ExportError::NotOurs { .. }) => Self {
                message: format!(
                    "{error}; choose an empty folder, or add --force to write beside its files"
                ),
                exit_code: EXIT_IO,
            },
            // Only a continued folder compares settings: `--resume` with other options.
            PipelineError::Export(error @ ExportError::SettingsDiffer { .. }) => Self::usage(
                format_args!("cannot resume: {error}; drop --resume to replace that render"),
            ),
            PipelineError::Export(error) => Self {
                message: error.to_string(),
                exit_code: EXIT_IO,
            },
            PipelineError::NoAudio => Self {
                message: error.to_string(),
                exit_code: EXIT_BAD_INPUT,
            },
            PipelineError::Interrupted { .. } => Self {
                message: error.to_string(),
                exit_code: EXIT_INTERRUPTED,
            },
        }
    }
}

/// Runs the command line; the binary's whole `main`.
pub fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => {
            // --help and --version: print as clap formats them.
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("{}", one_line(&error.render().to_string()));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = match &cli.command {
        Command::Render(args) => run_render(args),
        Command::Info(args) => run_info(args),
        Command::Video(args) => run_video(args),
        Command::Page(args) => run_page(args),
        Command::Schedule(args) => schedule::run_schedule(args),
        Command::Diffuse(args) => diffuse::run_diffuse(args),
        Command::Compose(args) => compose::run_compose(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // An interruption is the user's request, not an error.
        Err(failure) if failure.exit_code == EXIT_INTERRUPTED => {
            eprintln!("{failure}");
            ExitCode::from(failure.exit_code)
        }
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(failure.exit_code)
        }
    }
}

fn run_render(args: &RenderArgs) -> Result<(), Failure> {
    let stop = stop_on_signals(false)?;
    let render = args.look.render_settings(args.preset);
    // Check the look before decoding anything: a bad --size should not wait for a long file.
    Renderer::new(&render).map_err(Failure::usage)?;
    let analysis = AnalysisSettings {
        preset: args.preset,
        num_bins: args.bins,
        fft_size: args.fft_size,
        window: args.window,
        window_seconds: args.window_seconds,
        floor_db: args.floor_db,
        tilt_db_per_octave: args.tilt,
        ..AnalysisSettings::default()
    };
    if let (true, Some(path)) = (args.strict, &args.input) {
        // Verify before the output folder is touched, so damaged input leaves nothing behind.
        let mut source = FileSource::open(path)?;
        source.decode_to_end()?;
        if !source.damage().is_empty() {
            print_damage(path, source.damage(), source.info().sample_rate);
            return Err(Failure::damaged(
                path,
                source.damage(),
                "; --strict renders nothing",
            ));
        }
    }
    // The demo's samples are kept to be saved as `demo.wav` beside its frames.
    let mut demo_track = None;
    let (mut source, source_info, default_out): (Box<dyn MonoSource>, Source, PathBuf) =
        match &args.input {
            Some(path) => (
                Box::new(FileSource::open(path)?),
                Source::File { path: path.clone() },
                default_out_dir(path),
            ),
            None => {
                let track = demo_track.insert(demo::demo_track(DEMO_SAMPLE_RATE));
                (
                    Box::new(DemoSource::from_track(DEMO_SAMPLE_RATE, track)),
                    Source::Demo,
                    PathBuf::from("out/demo"),
                )
            }
        };
    let num_workers = match args.jobs {
        Some(jobs @ 1..=MAX_JOBS) => jobs,
        Some(_) => return Err(Failure::usage(format!("--jobs must be 1 to {MAX_JOBS}"))),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let job = RenderJob {
        source: source_info,
        fps: args.fps,
        analysis,
        render,
        export: ExportSettings {
            out_dir: args.out.clone().unwrap_or(default_out),
            csv: args.csv,
            write_images: !args.csv_only,
            is_forced: args.force,
        },
        mode: if args.resume {
            OpenMode::Continue
        } else {
            OpenMode::Replace
        },
        num_workers,
    };

    let info = source.info();
    let expected_frames = info
        .num_samples
        .map(|samples| job.fps.num_frames(samples, info.sample_rate));
    let progress = progress_bar(expected_frames, args.quiet);
    let started = Instant::now();
    let result = pipeline::render(source.as_mut(), &job, &stop, &|_| progress.inc(1));
    progress.finish_and_clear();
    let summary = result?;
    if let Some(track) = &demo_track {
        let path = job.export.out_dir.join(DEMO_AUDIO_NAME);
        demo::write_wav(&path, track, DEMO_SAMPLE_RATE).map_err(|error| Failure {
            message: error.to_string(),
            exit_code: EXIT_IO,
        })?;
    }
    match page::write_page(&job.export.out_dir, None) {
        Ok(_) => {}
        // The user's own index.html stays; the frames are written all the same.
        Err(error @ PageError::NotOurs { .. }) => {
            eprintln!("warning: {error}; the preview page was not written");
        }
        Err(error) => return Err(error.into()),
    }
    let seconds = started.elapsed().as_secs_f64();
    let damage = source.damage();
    if let Some(path) = &args.input {
        print_damage(path, damage, source.info().sample_rate);
    }
    if !args.quiet {
        let warnings = match damage.len() {
            0 => String::new(),
            1 => ", 1 warning".to_owned(),
            n => format!(", {n} warnings"),
        };
        let kept = match summary.num_frames - summary.num_rendered {
            0 => String::new(),
            kept => format!(", {kept} already there"),
        };
        eprintln!(
            "wrote {} frames to {} in {seconds:.2} s ({:.0} frames/s){kept}{warnings}",
            summary.num_rendered,
            job.export.out_dir.display(),
            summary.num_rendered as f64 / seconds
        );
    }
    Ok(())
}

fn run_page(args: &PageArgs) -> Result<(), Failure> {
    let summary = page::write_page(&args.folder, args.audio.as_deref())?;
    let audio = summary
        .audio
        .as_deref()
        .unwrap_or("none (plays on a timer)");
    eprintln!(
        "wrote {} ({} KB): lanes {}; audio {audio}",
        summary.path.display(),
        summary.num_bytes.div_ceil(1000),
        summary.lanes.join(", ")
    );
    Ok(())
}

fn run_video(args: &VideoArgs) -> Result<(), Failure> {
    let stop = stop_on_signals(false)?;
    let default_name = match (&args.side_by_side, &args.frames) {
        (Some(_), _) => "side-by-side.mp4",
        (None, Some(_)) => "diffused.mp4",
        (None, None) => "video.mp4",
    };
    let job = VideoJob {
        folder: args.folder.clone(),
        audio: args.audio.clone(),
        out: args
            .out
            .clone()
            .unwrap_or_else(|| args.folder.join(default_name)),
        side_by_side: args.side_by_side.clone(),
        frames: args.frames.clone(),
    };
    let summary = video::make_video(&job, || stop.load(Ordering::Relaxed))?;
    let audio = match &summary.audio {
        Some(path) => format!("with {}", path.display()),
        None => {
            eprintln!(
                "warning: {} names no audio file (a plugin take): the video is silent; add \
                 --audio with the bounce",
                args.folder.display()
            );
            "silent".to_owned()
        }
    };
    eprintln!(
        "wrote {}: {} frames at {} fps ({:.3} s), {audio}; ffmpeg's log: {}",
        job.out.display(),
        summary.num_frames,
        summary.fps,
        summary.duration_s(),
        summary.log.display()
    );
    Ok(())
}

/// A panic is a bug of ours, but the user still gets one line, not a backtrace; the exit code
/// stays Rust's 101. Only the first panic speaks: a worker's panic also fails the main thread.
fn install_panic_hook() {
    static HAS_PANICKED: AtomicBool = AtomicBool::new(false);
    std::panic::set_hook(Box::new(|info| {
        if HAS_PANICKED.swap(true, Ordering::Relaxed) {
            return;
        }
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
            .unwrap_or("no message");
        let location = info
            .location()
            .map_or_else(String::new, |location| format!(" at {location}"));
        eprintln!(
            "error: internal error, please report it: {}{location}",
            one_line(message)
        );
    }));
}

/// A flag that SIGINT (Ctrl-C) and SIGTERM set instead of killing the process, so the render can
/// stop between frames and leave its folder resumable. With `is_second_fatal`, a second signal
/// exits at once with 130 (`diffuse`: its frames in flight wait on servers that may hang).
fn stop_on_signals(is_second_fatal: bool) -> Result<Arc<AtomicBool>, Failure> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // The shutdown goes first: it sees the flag as the previous signal left it.
        let shutdown = || {
            signal_hook::flag::register_conditional_shutdown(
                signal,
                i32::from(EXIT_INTERRUPTED),
                Arc::clone(&stop),
            )
        };
        is_second_fatal
            .then(shutdown)
            .transpose()
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)))
            .map_err(|error| Failure {
                message: format!("cannot handle signal {signal}: {error}"),
                exit_code: EXIT_IO,
            })?;
    }
    Ok(stop)
}

/// clap's message without its usage block and "--help" hint, folded into one line:
/// `error: the following required arguments were not provided: <INPUT>`.
fn one_line(clap_message: &str) -> String {
    let what = clap_message
        .split("\n\nUsage:")
        .next()
        .unwrap_or(clap_message);
    let what = what
        .split("\n\nFor more information")
        .next()
        .unwrap_or(what);
    what.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `out/<file stem>` for an input file.
fn default_out_dir(input: &Path) -> PathBuf {
    let stem = input.file_stem().map_or_else(
        || "render".into(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    Path::new("out").join(stem)
}

/// A progress bar on a terminal; nothing when stderr is a pipe or a file (CI logs, scripts).
fn progress_bar(expected_frames: Option<u64>, is_quiet: bool) -> ProgressBar {
    if is_quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match expected_frames {
        Some(frames) => ProgressBar::new(frames).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} frames  {per_sec}  eta {eta}")
                .expect("valid template"),
        ),
        None => ProgressBar::new_spinner(),
    }
}

fn run_info(args: &InfoArgs) -> Result<(), Failure> {
    let mut source = FileSource::open(&args.input)?;
    let header_samples = source.info().num_samples;
    // Containers that do not state their length (some MP3s, cut-off Ogg) are counted by decoding.
    let num_samples = match header_samples {
        Some(samples) if !args.verify => samples,
        _ => source.decode_to_end()?,
    };
    let info = source.info();
    let seconds = |samples: u64| samples as f64 / f64::from(info.sample_rate);
    let origin = match (args.verify, header_samples) {
        (false, Some(_)) => "from the header".to_owned(),
        (_, None) => "decoded; the header states none".to_owned(),
        (true, Some(samples)) if samples == num_samples => "decoded, as the header says".to_owned(),
        (true, Some(samples)) => format!("decoded; the header says {:.3} s", seconds(samples)),
    };
    let num_frames = args.fps.num_frames(num_samples, info.sample_rate);
    println!("file:        {}", args.input.display());
    println!("codec:       {}", info.codec);
    println!("duration:    {:.3} s ({origin})", seconds(num_samples));
    println!("sample rate: {} Hz", info.sample_rate);
    println!("channels:    {}", info.num_channels);
    println!("frames:      {num_frames} at {} fps", args.fps);
    let damage = source.damage();
    if args.verify || header_samples.is_none() {
        match damage.len() {
            0 => println!("damage:      none"),
            n => println!("damage:      {}", num_spans(n)),
        }
        for damage in damage {
            println!("  - {}", damage.describe(info.sample_rate));
        }
    }
    if args.verify && !damage.is_empty() {
        return Err(Failure::damaged(&args.input, damage, ""));
    }
    Ok(())
}
