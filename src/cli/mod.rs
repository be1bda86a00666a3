//! CLI: the `spectral-diffusion` command line. One file per command (`render`, `info`,
//! `schedule`, `video`, `compose`, `page`, `diffuse`): its arguments, the library call that does
//! the work, and its report; [`failure`] maps every error to one line and an exit code. No file
//! format is parsed here.

mod compose;
mod diffuse;
mod failure;
mod info;
mod page;
mod render;
mod schedule;
mod video;

use std::ffi::c_int;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use failure::{EXIT_INTERRUPTED, EXIT_IO, EXIT_USAGE, Failure};

/// Sample rate of the synthesized demo track.
const DEMO_SAMPLE_RATE: u32 = 48_000;

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
    Render(render::RenderArgs),
    /// Print an audio file's duration, sample rate, channels and the frames it would make
    Info(info::InfoArgs),
    /// Keyframe schedules (Deforum, AnimateDiff, Parseq, CSV) from a render folder or audio
    Schedule(schedule::ScheduleArgs),
    /// Make a video (mp4, mov, mkv, webm) of a folder's frames with its audio (needs ffmpeg)
    Video(video::VideoArgs),
    /// Combine a plugin session's lanes into RGB guide frames (--red/--green/--blue) or a grid
    Compose(compose::ComposeArgs),
    /// Write (again) an output folder's preview page, index.html: after `schedule`, for a plugin
    /// take, or to point it at other audio
    Page(page::PageArgs),
    /// img2img on an output folder's frames through ComfyUI or AUTOMATIC1111 servers, resumable,
    /// spread over every server given, into FOLDER/diffused/
    Diffuse(diffuse::DiffuseArgs),
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
            let mut message = one_line(&error.render().to_string());
            let has_demo = matches!(
                std::env::args().nth(1).as_deref(),
                Some("render" | "schedule")
            );
            if error.kind() == ErrorKind::MissingRequiredArgument && has_demo {
                message.push_str(" (an audio file, or --demo for the built-in demo track)");
            }
            eprintln!("{message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = match &cli.command {
        Command::Render(args) => render::run_render(args),
        Command::Info(args) => info::run_info(args),
        Command::Video(args) => video::run_video(args),
        Command::Page(args) => page::run_page(args),
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

/// The signals that ask a command to stop. On Windows signal-hook rides on the C runtime's
/// `signal`, which turns a console's Ctrl-C into SIGINT and its Ctrl-Break into SIGBREAK, and
/// nothing sends SIGTERM; Ctrl-Break is also the only console event that reaches a process started
/// in its own process group (`GenerateConsoleCtrlEvent` cannot aim Ctrl-C at one), so it stops a
/// render the same way. The runtime disarms a handler before calling it and signal-hook re-arms it
/// from there: a second Ctrl-C landing in between ends the process as Windows' default does.
#[cfg(not(windows))]
const STOP_SIGNALS: &[c_int] = &[signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];
#[cfg(windows)]
const STOP_SIGNALS: &[c_int] = &[
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGBREAK,
];

/// A flag that the [`STOP_SIGNALS`] (Ctrl-C, SIGTERM; Ctrl-Break on Windows) set instead of killing
/// the process, so the render can stop between frames and leave its folder resumable. With
/// `is_second_fatal`, a second signal exits at once with 130 (`diffuse`: its frames in flight wait
/// on servers that may hang).
fn stop_on_signals(is_second_fatal: bool) -> Result<Arc<AtomicBool>, Failure> {
    let stop = Arc::new(AtomicBool::new(false));
    for &signal in STOP_SIGNALS {
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
    // clap's tips ("to pass '--bogus' as a value, use '-- --bogus'") mislead more than help
    // for an option that does not exist or a value out of range.
    what.lines()
        .filter(|line| !line.trim_start().starts_with("tip:"))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each stop signal sets the flag the render polls between frames, and leaves the process
    /// running: from there on the path to `"complete": false` and exit 130 is the same on every
    /// system (tests/folders.rs sends real signals on Unix). On Windows this raises SIGINT and
    /// SIGBREAK through the C runtime, where console Ctrl-C and Ctrl-Break arrive.
    #[test]
    fn every_stop_signal_sets_the_flag_and_the_process_goes_on() {
        let stop = stop_on_signals(false).unwrap();
        for &signal in STOP_SIGNALS {
            stop.store(false, Ordering::SeqCst);
            signal_hook::low_level::raise(signal).unwrap();
            assert!(
                stop.load(Ordering::SeqCst),
                "signal {signal} left the flag unset"
            );
        }
    }
}
