//! CLI: `spectral-diffusion info`: an audio file's duration, rate, channels and the frames it
//! would make; with `--verify`, the whole file decoded and every damaged span listed.

use std::path::PathBuf;

use clap::Args;

use super::failure::{Failure, num_spans};
use crate::audio::decode::{FileSource, MonoSource};
use crate::clock::FrameRate;

#[derive(Debug, Args)]
pub(super) struct InfoArgs {
    /// Audio file: WAV, FLAC, MP3 or Ogg Vorbis
    input: PathBuf,
    /// Frame rate to count frames at
    #[arg(long, default_value = "24", allow_negative_numbers = true)]
    fps: FrameRate,
    /// Decode the whole file: report its real duration and any damage (exit 1 if damaged)
    #[arg(long)]
    verify: bool,
}

pub(super) fn run_info(args: &InfoArgs) -> Result<(), Failure> {
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
