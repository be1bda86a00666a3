//! CLI: `spectral-diffusion video`: an output folder's frames and audio as a video file, see
//! [`crate::video`].

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use clap::Args;

use super::failure::Failure;
use super::stop_on_signals;
use crate::video::{self, Pairing, VideoJob};

#[derive(Debug, Args)]
pub(super) struct VideoArgs {
    /// Output folder of `render` or of the plugin
    folder: PathBuf,
    /// Audio to mux [default: the audio the manifest names: the rendered file, or the demo's
    /// demo.wav; a plugin take needs its bounce here]
    #[arg(long)]
    audio: Option<PathBuf>,
    /// The video to write, .mp4, .mkv, .mov or .webm [default: FOLDER/video.mp4,
    /// FOLDER/side-by-side.mp4 or FOLDER/diffused.mp4]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder of img2img output frames, numbered like the guides (000042.png, or any name whose
    /// last number is the frame; ComfyUI's count from 1 is found), shown to the right of each
    /// guide frame
    #[arg(long, value_name = "DIR")]
    side_by_side: Option<PathBuf>,
    /// Folder of img2img output frames, numbered like the guides, to make the video of instead
    /// of the guides (`diffuse` writes FOLDER/diffused)
    #[arg(long, value_name = "DIR", conflicts_with = "side_by_side")]
    frames: Option<PathBuf>,
    /// Pair guide frame k with the output numbered k+N [default: 0 or 1, whichever fits]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    offset: Option<i64>,
    /// Pair only the outputs whose names start with TEXT before their number (ComfyUI's
    /// filename_prefix), when the folder holds several runs
    #[arg(long, value_name = "TEXT")]
    prefix: Option<String>,
    /// Make the video of an interrupted render (its missing frames are black)
    #[arg(long)]
    partial: bool,
    /// Replace a file at --out that `video` did not write from this folder
    #[arg(long)]
    force: bool,
}

pub(super) fn run_video(args: &VideoArgs) -> Result<(), Failure> {
    if (args.offset.is_some() || args.prefix.is_some())
        && args.side_by_side.is_none()
        && args.frames.is_none()
    {
        return Err(Failure::usage(
            "--offset and --prefix pair the output frames of --side-by-side DIR or --frames DIR: \
             give one of those",
        ));
    }
    let default_name = match (&args.side_by_side, &args.frames) {
        (Some(_), _) => "side-by-side.mp4",
        (None, Some(_)) => "diffused.mp4",
        (None, None) => "video.mp4",
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.folder.join(default_name));
    let stop = stop_on_signals(false)?;
    let job = VideoJob {
        folder: args.folder.clone(),
        audio: args.audio.clone(),
        out,
        side_by_side: args.side_by_side.clone(),
        frames: args.frames.clone(),
        pairing: Pairing {
            offset: args.offset,
            prefix: args.prefix.clone(),
        },
        is_partial_ok: args.partial,
        is_forced: args.force,
    };
    let summary = video::make_video(&job, || stop.load(Ordering::Relaxed))?;
    if let Some(paired) = &summary.paired {
        eprintln!("{paired}");
    }
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
