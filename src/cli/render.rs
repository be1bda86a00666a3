//! CLI: `spectral-diffusion render`: an audio file (or the demo track) into guide frames,
//! `spectrum.csv` and `manifest.json`, through [`pipeline::render`], the same engine the plugin
//! runs; then the preview page.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::failure::{EXIT_IO, Failure, print_damage};
use super::{DEMO_SAMPLE_RATE, default_out_dir, progress_bar, stop_on_signals};
use crate::analysis::{AnalysisSettings, Preset, WindowKind};
use crate::audio::decode::{FileSource, MonoSource};
use crate::audio::demo::{self, DemoSource};
use crate::clock::FrameRate;
use crate::export::format::audio::{self, DEMO_AUDIO_NAME};
use crate::export::{self, CsvFormat, ExportSettings, OpenMode, Source, StaleDerived};
use crate::page::{self, BrokenSchedule};
use crate::pipeline::{self, RenderJob};
use crate::render::{Look, Palette, PieShape, RenderSettings, Renderer, View};

/// The most worker threads `--jobs` asks for: each holds its own renderer and buffers, and
/// thousands would exhaust memory or threads before the first frame.
const MAX_JOBS: usize = 256;

#[derive(Debug, Args)]
pub(super) struct RenderArgs {
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
    #[arg(long, default_value = "24", allow_negative_numbers = true)]
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

pub(super) fn run_render(args: &RenderArgs) -> Result<(), Failure> {
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
    let out_dir = args.out.clone().unwrap_or(default_out);
    let audio = match &args.input {
        Some(path) => audio::path_for_manifest(&out_dir, path),
        None => PathBuf::from(DEMO_AUDIO_NAME),
    };
    let job = RenderJob {
        source: source_info,
        audio: Some(audio),
        fps: args.fps,
        analysis,
        render,
        export: ExportSettings {
            out_dir,
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
        audio::write_demo_wav(&path, track, DEMO_SAMPLE_RATE).map_err(|error| Failure {
            message: error.to_string(),
            exit_code: EXIT_IO,
        })?;
    }
    let stale = export::remove_stale_derived(&job.export.out_dir)?;
    // The frames are written and the manifest complete: a page that cannot be drawn (the
    // user's own index.html, a broken schedule.csv) is a warning, not a failed render.
    match page::write_page(&job.export.out_dir, None, BrokenSchedule::PlotLoudness) {
        Ok(summary) => {
            if let Some(warning) = summary.warning {
                eprintln!("warning: {warning}");
            }
        }
        Err(error) => eprintln!("warning: {error}; the preview page was not written"),
    }
    let seconds = started.elapsed().as_secs_f64();
    let damage = source.damage();
    if let Some(path) = &args.input {
        print_damage(path, damage, source.info().sample_rate);
    }
    print_stale(&stale);
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

/// Says which derived files of the render this one replaced were removed, and what was kept.
fn print_stale(stale: &StaleDerived) {
    if !stale.removed.is_empty() {
        eprintln!(
            "removed {}, made from the render this one replaced",
            stale.removed.join(", ")
        );
    }
    if let Some(command) = &stale.schedule_command {
        eprintln!("make the schedule again with: {command}");
    }
    if stale.has_diffused && !stale.removed.is_empty() {
        eprintln!("kept diffused/: diffuse redraws only the frames whose guide changed");
    }
}
