//! CLI: `spectral-diffusion page`: an output folder's preview page written (again), see
//! [`crate::page`].

use std::path::PathBuf;

use clap::Args;

use super::failure::Failure;
use crate::page::{self, BrokenSchedule};

#[derive(Debug, Args)]
pub(super) struct PageArgs {
    /// Output folder of `render` or of the plugin
    folder: PathBuf,
    /// Audio the page plays [default: the audio the manifest names, when it is there]
    #[arg(long)]
    audio: Option<PathBuf>,
}

pub(super) fn run_page(args: &PageArgs) -> Result<(), Failure> {
    let summary = page::write_page(&args.folder, args.audio.as_deref(), BrokenSchedule::Refuse)?;
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
