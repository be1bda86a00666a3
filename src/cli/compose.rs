//! CLI: `spectral-diffusion compose`: lanes combined into one guide frame per timeline frame, so
//! one img2img pass sees every stem (DESIGN.md §13). The lanes are a plugin session's (named as
//! `session.json` lists them) or folders the CLI rendered from stems (`--red out/bass`). `--red`,
//! `--green` and `--blue` put three lanes' grey values into the channels of an RGB frame; `--grid`
//! tiles any number of lanes side by side, in grey.
//!
//! A lane's frame is read as grey: a colour frame (Desaturate off) becomes its luma, as
//! Desaturate would make it. A lane without a frame at k gives black (0) there. Frame k is
//! written when any chosen lane has it.
//!
//! The output folder holds `frames/%06d.png` and a `manifest.json` that `video` and `diffuse`
//! read (its source is a composite naming the lanes, its `layout` how they were combined). It has
//! no `spectrum.csv`: a composite has no single spectrum, so `schedule` and `page` refuse it and
//! take the lanes' folders instead.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::failure::{EXIT_BAD_INPUT, EXIT_IO, Failure};
use crate::export::format::folder::OutputFolder;
use crate::export::format::frames::{
    FRAMES_DIR, FRAMES_PATTERN, encode_png, frame_path, read_grey,
};
use crate::export::format::manifest::{
    FORMAT_VERSION, Fps, FrameColor, Frames, Layout, Manifest, Source, Tool, frame_ranges,
};
use crate::export::format::session::{self, SessionIndex};
use crate::export::format::write_atomically;
use crate::export::{self, ExportError};
use crate::render::{ColorType, Image};

#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// A plugin session folder (session.json and a folder per lane); without it, each LANE is
    /// the folder of a render (`render bass.wav` → out/bass)
    session: Option<PathBuf>,
    /// The lane whose grey values fill the red channel
    #[arg(long, value_name = "LANE")]
    red: Option<String>,
    /// The lane whose grey values fill the green channel
    #[arg(long, value_name = "LANE")]
    green: Option<String>,
    /// The lane whose grey values fill the blue channel
    #[arg(long, value_name = "LANE")]
    blue: Option<String>,
    /// Tile lanes side by side in a grid (as near square as it gets) instead
    #[arg(long, conflicts_with_all = ["red", "green", "blue"])]
    grid: bool,
    /// The lanes --grid tiles, comma-separated, in order [default: every lane of session.json]
    #[arg(long, value_delimiter = ',', value_name = "LANES", requires = "grid")]
    lanes: Vec<String>,
    /// Folder to write [default: SESSION/compose-rgb, or SESSION/compose-grid; needed for
    /// folders given as lanes]
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Use lanes whose render was interrupted (their frames stop short)
    #[arg(long)]
    partial: bool,
    /// Write into a non-empty folder that holds no composite of ours, keeping its files
    #[arg(long)]
    force: bool,
    /// No summary line
    #[arg(long, short)]
    quiet: bool,
}

/// How the chosen lanes make a frame.
enum Arrangement {
    /// Red, green, blue: the index into the chosen lanes of each channel's lane.
    Rgb([Option<usize>; 3]),
    /// Lanes tiled row by row.
    Grid { num_columns: u32, num_rows: u32 },
}

/// A chosen lane: its name, its folder and the frames it holds.
struct LaneFrames {
    name: String,
    folder: OutputFolder,
    frames: BTreeSet<u64>,
}

pub(super) fn run_compose(args: &ComposeArgs) -> Result<(), Failure> {
    let index = args.session.as_deref().map(read_index).transpose()?;
    let (names, arrangement, default_name) = choose_lanes(args, index.as_ref())?;
    let lanes = names
        .iter()
        .map(|name| read_lane(args, index.as_ref(), name))
        .collect::<Result<Vec<_>, _>>()?;
    let fps = lanes[0].folder.fps();
    if let Some(other) = lanes.iter().find(|lane| lane.folder.fps() != fps) {
        return Err(bad_input(format!(
            "lane {} is at {} fps and {} at {fps}: the lanes of a composite share a frame rate",
            other.name,
            other.folder.fps(),
            lanes[0].name
        )));
    }
    let (width, height) = frame_size(&lanes)?;
    let out_dir = match (&args.out, &args.session) {
        (Some(out), _) => out.clone(),
        (None, Some(session)) => session.join(default_name),
        (None, None) => {
            return Err(Failure::usage(
                "give --out DIR: where to write the composite of these folders",
            ));
        }
    };
    prepare_out_dir(&out_dir, args.force)?;

    let frames: BTreeSet<u64> = lanes
        .iter()
        .flat_map(|lane| lane.frames.iter().copied())
        .collect();
    let mut image = match arrangement {
        Arrangement::Rgb(_) => Image {
            width,
            height,
            color: ColorType::Rgb,
            pixels: Vec::new(),
        },
        Arrangement::Grid {
            num_columns,
            num_rows,
        } => Image {
            width: width * num_columns,
            height: height * num_rows,
            color: ColorType::Grey,
            pixels: Vec::new(),
        },
    };
    let mut manifest = composite_manifest(args, &lanes, &arrangement, &image);
    write_manifest(&out_dir, &manifest)?;
    let mut png_bytes = Vec::new();
    for &frame_idx in &frames {
        compose_frame(&lanes, &arrangement, (width, height), frame_idx, &mut image)?;
        encode_png(&image, &mut png_bytes).map_err(|error| Failure {
            message: format!("cannot encode composite frame {frame_idx}: {error}"),
            exit_code: EXIT_IO,
        })?;
        write_atomically(&frame_path(&out_dir, frame_idx), |file| {
            file.write_all(&png_bytes)
        })
        .map_err(io_failure)?;
    }
    let ranges = frame_ranges(frames.iter().copied());
    manifest.first_frame = ranges.first().map(|range| range[0]);
    manifest.last_frame = ranges.last().map(|range| range[1]);
    manifest.frame_ranges = ranges;
    manifest.frames_written = frames.len() as u64;
    manifest.complete = true;
    write_manifest(&out_dir, &manifest)?;
    if !args.quiet {
        let what = match &arrangement {
            Arrangement::Rgb(channels) => ["red", "green", "blue"]
                .iter()
                .zip(channels)
                .filter_map(|(channel, idx)| Some(format!("{channel} {}", lanes[(*idx)?].name)))
                .collect::<Vec<_>>()
                .join(", "),
            Arrangement::Grid {
                num_columns,
                num_rows,
            } => format!("{num_columns}×{num_rows} grid of {}", names.join(", ")),
        };
        eprintln!(
            "wrote {} composite frames ({}×{}: {what}) to {}",
            frames.len(),
            image.width,
            image.height,
            out_dir.display()
        );
    }
    Ok(())
}

/// The lanes asked for, how they make a frame, and the default folder's name.
fn choose_lanes(
    args: &ComposeArgs,
    index: Option<&SessionIndex>,
) -> Result<(Vec<String>, Arrangement, &'static str), Failure> {
    if args.grid {
        let names = match (args.lanes.is_empty(), index) {
            (false, _) => args.lanes.clone(),
            (true, Some(index)) => index.lanes.iter().map(|lane| lane.name.clone()).collect(),
            (true, None) => {
                return Err(Failure::usage(
                    "--grid without a session needs the folders to tile: --lanes A,B,C",
                ));
            }
        };
        if names.is_empty() {
            return Err(bad_input(
                "the session lists no lanes yet: record a take first".to_owned(),
            ));
        }
        let num_columns = (names.len() as f64).sqrt().ceil() as u32;
        let num_rows = (names.len() as u32).div_ceil(num_columns);
        let arrangement = Arrangement::Grid {
            num_columns,
            num_rows,
        };
        return Ok((names, arrangement, "compose-grid"));
    }
    let channels = [&args.red, &args.green, &args.blue];
    let names: Vec<String> = channels.iter().filter_map(|name| (*name).clone()).collect();
    if names.is_empty() {
        return Err(Failure::usage(
            "give lanes with --red, --green and --blue, or tile them with --grid",
        ));
    }
    let mut next_idx = 0;
    let indices = channels.map(|name| {
        name.as_ref().map(|_| {
            next_idx += 1;
            next_idx - 1
        })
    });
    Ok((names, Arrangement::Rgb(indices), "compose-rgb"))
}

fn bad_input(message: String) -> Failure {
    Failure {
        message,
        exit_code: EXIT_BAD_INPUT,
    }
}

fn io_failure(error: impl std::fmt::Display) -> Failure {
    Failure {
        message: error.to_string(),
        exit_code: EXIT_IO,
    }
}

/// `SESSION/session.json`, which must exist.
fn read_index(root: &Path) -> Result<SessionIndex, Failure> {
    read_index_if_any(root)?.ok_or_else(|| {
        bad_input(format!(
            "{} has no {}: give the folder the plugin's instances record into (one subfolder \
             per track), or folders rendered from stems without it",
            root.display(),
            session::SESSION_NAME
        ))
    })
}

/// `SESSION/session.json`, if `root` is a session.
pub(super) fn read_index_if_any(root: &Path) -> Result<Option<SessionIndex>, Failure> {
    session::read_session(root).map_err(|error| {
        let is_io = error.is_io();
        Failure::unreadable(error, is_io)
    })
}

/// The folder of the session's lane `name`, which the index must list.
pub(super) fn lane_dir(root: &Path, index: &SessionIndex, name: &str) -> Result<PathBuf, Failure> {
    if index.lane(name).is_some() {
        return Ok(root.join(name));
    }
    let names: Vec<&str> = index.lanes.iter().map(|lane| lane.name.as_str()).collect();
    Err(bad_input(format!(
        "{} lists no lane {name:?}; its lanes: {}",
        root.join(session::SESSION_NAME).display(),
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    )))
}

/// The lane `name`: a lane of the session, or without one a folder; its manifest read and its
/// frames listed.
fn read_lane(
    args: &ComposeArgs,
    index: Option<&SessionIndex>,
    name: &str,
) -> Result<LaneFrames, Failure> {
    let dir = match (&args.session, index) {
        (Some(root), Some(index)) => lane_dir(root, index, name)?,
        _ => PathBuf::from(name),
    };
    let folder = OutputFolder::read_frames(&dir)
        .and_then(|folder| folder.require_finished(args.partial).map(|()| folder))
        .map_err(|error| {
            let is_io = error.is_io();
            Failure::unreadable(format!("lane {name}: {error}"), is_io)
        })?;
    if folder.frame_size().is_none() {
        return Err(bad_input(format!(
            "lane {name} has no images (rendered with --csv-only, or recorded with Write Images \
             off): compose needs its frames"
        )));
    }
    Ok(LaneFrames {
        name: name.to_owned(),
        frames: folder.frame_indices().collect(),
        folder,
    })
}

/// The lanes' common frame size.
fn frame_size(lanes: &[LaneFrames]) -> Result<(u32, u32), Failure> {
    let sizes: Vec<(u32, u32)> = lanes
        .iter()
        .filter_map(|lane| lane.folder.frame_size())
        .collect();
    if sizes.windows(2).any(|pair| pair[0] != pair[1]) {
        let listed: Vec<String> = lanes
            .iter()
            .zip(&sizes)
            .map(|(lane, (width, height))| format!("{} {width}×{height}", lane.name))
            .collect();
        return Err(bad_input(format!(
            "the lanes' frames differ in size ({}): make them with one image size",
            listed.join(", ")
        )));
    }
    Ok(sizes[0])
}

/// Makes sure `dir` may be written: missing, empty, an earlier composite (whose frames are
/// removed), or, with `is_forced`, a folder of the user's (whose files stay). A render or a lane
/// of ours is refused untouched, and so is anyone else's folder without `--force`.
fn prepare_out_dir(dir: &Path, is_forced: bool) -> Result<(), Failure> {
    if let Ok(manifest) = Manifest::read_ours(dir)
        && !matches!(manifest.source, Source::Composite { .. })
    {
        return Err(io_failure(format!(
            "{} holds a render or a lane of ours, not a composite: choose another --out",
            dir.display()
        )));
    }
    let result = match export::clear_folder(dir) {
        Err(ExportError::NotOurs { .. }) if is_forced => Ok(()),
        result => result,
    };
    result.map_err(|error| match error {
        ExportError::NotOurs { .. } => io_failure(format!(
            "{error}; choose an empty folder with --out, or add --force to write beside its files"
        )),
        error => io_failure(error),
    })?;
    let frames_dir = dir.join(FRAMES_DIR);
    std::fs::create_dir_all(&frames_dir)
        .map_err(|error| io_failure(format!("cannot write {}: {error}", frames_dir.display())))
}

/// Frame `frame_idx` of the composite into `image` (its size and colour already set).
fn compose_frame(
    lanes: &[LaneFrames],
    arrangement: &Arrangement,
    (width, height): (u32, u32),
    frame_idx: u64,
    image: &mut Image,
) -> Result<(), Failure> {
    image.pixels.clear();
    image.pixels.resize(
        image.width as usize * image.height as usize * image.color.bytes_per_pixel(),
        0,
    );
    let lane_pixels = |lane: &LaneFrames| -> Result<Option<Vec<u8>>, Failure> {
        if !lane.frames.contains(&frame_idx) {
            return Ok(None);
        }
        read_grey(&lane.folder.frame_path(frame_idx), (width, height))
            .map(Some)
            .map_err(Failure::from)
    };
    match arrangement {
        Arrangement::Rgb(channels) => {
            for (channel, lane_idx) in channels.iter().enumerate() {
                let Some(lane_idx) = *lane_idx else {
                    continue;
                };
                let Some(grey) = lane_pixels(&lanes[lane_idx])? else {
                    continue;
                };
                for (pixel, &value) in image.pixels.chunks_exact_mut(3).zip(&grey) {
                    pixel[channel] = value;
                }
            }
        }
        Arrangement::Grid { num_columns, .. } => {
            let (width, height) = (width as usize, height as usize);
            let stride = image.width as usize;
            for (tile_idx, lane) in lanes.iter().enumerate() {
                let Some(grey) = lane_pixels(lane)? else {
                    continue;
                };
                let column = tile_idx % *num_columns as usize;
                let row = tile_idx / *num_columns as usize;
                for (y, line) in grey.chunks_exact(width).enumerate() {
                    let start = (row * height + y) * stride + column * width;
                    image.pixels[start..start + width].copy_from_slice(line);
                }
            }
        }
    }
    Ok(())
}

/// The composite's manifest, listing no frames yet and incomplete.
fn composite_manifest(
    args: &ComposeArgs,
    lanes: &[LaneFrames],
    arrangement: &Arrangement,
    image: &Image,
) -> Manifest {
    let names: Vec<String> = lanes.iter().map(|lane| lane.name.clone()).collect();
    let layout = match arrangement {
        Arrangement::Rgb(channels) => {
            let lane = |idx: &Option<usize>| idx.map(|idx| names[idx].clone());
            Layout::Rgb {
                red: lane(&channels[0]),
                green: lane(&channels[1]),
                blue: lane(&channels[2]),
            }
        }
        Arrangement::Grid {
            num_columns,
            num_rows,
        } => Layout::Grid {
            columns: *num_columns,
            rows: *num_rows,
        },
    };
    Manifest {
        format_version: FORMAT_VERSION,
        tool: Tool::ours(),
        source: Source::Composite {
            session: args.session.clone(),
            lanes: names,
        },
        audio: None,
        layout: Some(layout),
        sample_rate: lanes[0].folder.sample_rate(),
        fps: Fps::of(lanes[0].folder.fps()),
        analysis: None,
        bin_freqs_hz: Vec::new(),
        csv: None,
        frames: Some(Frames {
            pattern: FRAMES_PATTERN.to_owned(),
            width: image.width,
            height: image.height,
            color: FrameColor::from(image.color),
            render: None,
        }),
        first_frame: None,
        last_frame: None,
        frame_ranges: Vec::new(),
        frames_written: 0,
        frames_expected: None,
        complete: false,
        frames_dropped: 0,
        takes: Vec::new(),
        warnings: Vec::new(),
        transport: None,
    }
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), Failure> {
    manifest.write(dir).map_err(io_failure)
}
