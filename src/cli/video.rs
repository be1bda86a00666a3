//! CLI: `spectral-diffusion video`: an output folder's frames and audio as an mp4, see
//! [`crate::video`].

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use clap::Args;

use super::failure::Failure;
use super::stop_on_signals;
use crate::video::{self, VideoJob};

#[derive(Debug, Args)]
pub(super) struct VideoArgs {
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

pub(super) fn run_video(args: &VideoArgs) -> Result<(), Failure> {
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
