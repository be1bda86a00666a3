//! CLI: `spectral-diffusion compose`: a session's lanes (DESIGN.md §13) combined into one guide
//! frame per timeline frame, so one img2img pass sees every stem. `--red`, `--green` and
//! `--blue` put three lanes' grey values into the channels of an RGB frame; `--grid` tiles any
//! number of lanes side by side, in grey.
//!
//! A lane's frame is read as grey: a colour frame (Desaturate off) becomes its luma, as
//! Desaturate would make it. A lane without a frame at k gives black (0) there. Frame k is
//! written when any chosen lane has it.
//!
//! The output folder holds `frames/%06d.png` and a `manifest.json` that `video` reads (frame rate,
//! size, frame ranges; its source is `{"kind": "composite", …}` naming the session and lanes). It
//! has no `spectrum.csv`: a composite has no single spectrum, so `schedule` and `page` refuse it
//! and take the lanes' folders instead.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Value, json};

use super::failure::{EXIT_BAD_INPUT, EXIT_IO, Failure};
use crate::clock::FrameRate;
use crate::export::format::folder::RenderedFolder;
use crate::export::session::{self, SessionError, SessionIndex};
use crate::export::{self, Source, frame_path, write_atomically};
use crate::render::{ColorType, Image};

#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// A session folder: the plugin's output folder, holding session.json and a folder per lane
    session: PathBuf,
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
    /// Folder to write [default: SESSION/compose-rgb, or SESSION/compose-grid]
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// No summary line
    #[arg(long, short)]
    quiet: bool,
}

/// How the chosen lanes make a frame.
enum Layout {
    /// Red, green, blue: the index into the chosen lanes of each channel's lane.
    Rgb([Option<usize>; 3]),
    /// Lanes tiled row by row.
    Grid { num_columns: u32, num_rows: u32 },
}

/// A chosen lane: its folder and the frames it holds.
struct LaneFrames {
    name: String,
    folder: RenderedFolder,
    frames: BTreeSet<u64>,
}

pub(super) fn run_compose(args: &ComposeArgs) -> Result<(), Failure> {
    let index = read_index(&args.session)?;
    let (names, layout, default_name) = if args.grid {
        let names = if args.lanes.is_empty() {
            index.lanes.iter().map(|lane| lane.name.clone()).collect()
        } else {
            args.lanes.clone()
        };
        if names.is_empty() {
            return Err(bad_input(format!(
                "{} lists no lanes yet: record a take first",
                args.session.join(session::SESSION_NAME).display()
            )));
        }
        let num_columns = (names.len() as f64).sqrt().ceil() as u32;
        let num_rows = (names.len() as u32).div_ceil(num_columns);
        (
            names,
            Layout::Grid {
                num_columns,
                num_rows,
            },
            "compose-grid",
        )
    } else {
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
        (names, Layout::Rgb(indices), "compose-rgb")
    };
    let lanes = names
        .iter()
        .map(|name| read_lane(&args.session, &index, name))
        .collect::<Result<Vec<_>, _>>()?;
    let (width, height) = frame_size(&lanes)?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| args.session.join(default_name));
    prepare_out_dir(&out_dir)?;

    let frames: BTreeSet<u64> = lanes
        .iter()
        .flat_map(|lane| lane.frames.iter().copied())
        .collect();
    let image = match layout {
        Layout::Rgb(_) => Image {
            width,
            height,
            color: ColorType::Rgb,
            pixels: Vec::new(),
        },
        Layout::Grid {
            num_columns,
            num_rows,
        } => Image {
            width: width * num_columns,
            height: height * num_rows,
            color: ColorType::Grey,
            pixels: Vec::new(),
        },
    };
    let manifest = Manifest {
        session: &args.session,
        lanes: &lanes,
        layout: &layout,
        fps: index.fps,
        image_size: (image.width, image.height),
        color: image.color,
    };
    write_manifest(&out_dir, &manifest.to_json(&BTreeSet::new(), false))?;
    let mut image = image;
    let mut png_bytes = Vec::new();
    for &frame_idx in &frames {
        compose_frame(&lanes, &layout, (width, height), frame_idx, &mut image)?;
        export::encode_png(&image, &mut png_bytes).map_err(|error| Failure {
            message: format!("cannot encode composite frame {frame_idx}: {error}"),
            exit_code: EXIT_IO,
        })?;
        write_atomically(&frame_path(&out_dir, frame_idx), |file| {
            file.write_all(&png_bytes)
        })
        .map_err(io_failure)?;
    }
    write_manifest(&out_dir, &manifest.to_json(&frames, true))?;
    if !args.quiet {
        let what = match &layout {
            Layout::Rgb(channels) => ["red", "green", "blue"]
                .iter()
                .zip(channels)
                .filter_map(|(channel, idx)| Some(format!("{channel} {}", lanes[(*idx)?].name)))
                .collect::<Vec<_>>()
                .join(", "),
            Layout::Grid {
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
             per track)",
            root.display(),
            session::SESSION_NAME
        ))
    })
}

/// `SESSION/session.json`, if `root` is a session.
pub(super) fn read_index_if_any(root: &Path) -> Result<Option<SessionIndex>, Failure> {
    session::read_session(root).map_err(|error| match error {
        SessionError::Io { .. } => io_failure(error),
        _ => bad_input(error.to_string()),
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

/// The lane `name` of the session, its manifest read and its frames listed.
fn read_lane(root: &Path, index: &SessionIndex, name: &str) -> Result<LaneFrames, Failure> {
    let dir = lane_dir(root, index, name)?;
    let folder = RenderedFolder::read(&dir).map_err(|error| {
        let is_io = error.is_io();
        Failure::unreadable(format!("lane {name}: {error}"), is_io)
    })?;
    if folder.frame_size.is_none() {
        return Err(bad_input(format!(
            "lane {name} has no images (recorded with Write Images off): compose needs its frames"
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
        .filter_map(|lane| lane.folder.frame_size)
        .collect();
    if sizes.windows(2).any(|pair| pair[0] != pair[1]) {
        let listed: Vec<String> = lanes
            .iter()
            .zip(&sizes)
            .map(|(lane, (width, height))| format!("{} {width}×{height}", lane.name))
            .collect();
        return Err(bad_input(format!(
            "the lanes' frames differ in size ({}): record them with one Image size",
            listed.join(", ")
        )));
    }
    Ok(sizes[0])
}

/// Makes sure `dir` may be written: missing, empty, or an earlier composite (whose frames are
/// removed). Anything else, a lane or a render above all, is refused untouched.
fn prepare_out_dir(dir: &Path) -> Result<(), Failure> {
    let manifest = fs::read(dir.join("manifest.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    if let Some(manifest) = manifest
        && manifest["tool"]["name"] == env!("CARGO_PKG_NAME")
        && manifest["source"]["kind"] != "composite"
    {
        return Err(io_failure(format!(
            "{} holds a render or a lane of ours, not a composite: choose another --out",
            dir.display()
        )));
    }
    export::clear_folder(dir).map_err(|error| match error {
        export::ExportError::NotOurs { .. } => io_failure(format!(
            "{error}; choose an empty folder with --out, or move its files away"
        )),
        error => io_failure(error),
    })?;
    let frames_dir = dir.join("frames");
    fs::create_dir_all(&frames_dir)
        .map_err(|error| io_failure(format!("cannot write {}: {error}", frames_dir.display())))
}

/// Frame `frame_idx` of the composite into `image` (its size and colour already set).
fn compose_frame(
    lanes: &[LaneFrames],
    layout: &Layout,
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
        read_grey(&lane.folder.frame_path(frame_idx), (width, height)).map(Some)
    };
    match layout {
        Layout::Rgb(channels) => {
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
        Layout::Grid { num_columns, .. } => {
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

/// The 8-bit grey pixels of the PNG at `path`, which must be `width`×`height`.
fn read_grey(path: &Path, (width, height): (u32, u32)) -> Result<Vec<u8>, Failure> {
    let bytes = fs::read(path).map_err(|error| {
        let is_io = error.kind() != std::io::ErrorKind::NotFound;
        Failure::unreadable(format!("cannot read {}: {error}", path.display()), is_io)
    })?;
    let unreadable = |reason: String| bad_input(format!("{}: {reason}", path.display()));
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder
        .read_info()
        .map_err(|error| unreadable(error.to_string()))?;
    let mut pixels = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader
        .next_frame(&mut pixels)
        .map_err(|error| unreadable(error.to_string()))?;
    if (info.width, info.height) != (width, height) {
        return Err(unreadable(format!(
            "{}×{} pixels, where the lane's manifest says {width}×{height}",
            info.width, info.height
        )));
    }
    pixels.truncate(info.buffer_size());
    let grey = match info.color_type {
        png::ColorType::Grayscale => pixels,
        png::ColorType::GrayscaleAlpha => pixels.chunks_exact(2).map(|p| p[0]).collect(),
        png::ColorType::Rgb => pixels
            .chunks_exact(3)
            .map(|p| crate::render::luma([p[0], p[1], p[2]]))
            .collect(),
        png::ColorType::Rgba => pixels
            .chunks_exact(4)
            .map(|p| crate::render::luma([p[0], p[1], p[2]]))
            .collect(),
        png::ColorType::Indexed => {
            return Err(unreadable("an indexed PNG that was not expanded".into()));
        }
    };
    Ok(grey)
}

/// What the composite's manifest records.
struct Manifest<'a> {
    session: &'a Path,
    lanes: &'a [LaneFrames],
    layout: &'a Layout,
    fps: FrameRate,
    image_size: (u32, u32),
    color: ColorType,
}

impl Manifest<'_> {
    /// The manifest listing `frames`; `is_complete` once they are all written.
    fn to_json(&self, frames: &BTreeSet<u64>, is_complete: bool) -> Value {
        let names: Vec<&str> = self.lanes.iter().map(|lane| lane.name.as_str()).collect();
        let layout = match self.layout {
            Layout::Rgb(channels) => {
                let lane = |idx: &Option<usize>| idx.map(|idx| names[idx]);
                json!({
                    "kind": "rgb",
                    "red": lane(&channels[0]),
                    "green": lane(&channels[1]),
                    "blue": lane(&channels[2]),
                })
            }
            Layout::Grid {
                num_columns,
                num_rows,
            } => json!({"kind": "grid", "columns": num_columns, "rows": num_rows}),
        };
        let mut frame_ranges: Vec<[u64; 2]> = Vec::new();
        for &frame_idx in frames {
            match frame_ranges.last_mut() {
                Some(range) if range[1] + 1 == frame_idx => range[1] = frame_idx,
                _ => frame_ranges.push([frame_idx, frame_idx]),
            }
        }
        let source = Source::Composite {
            session: self.session.to_owned(),
            lanes: names.iter().map(|name| (*name).to_owned()).collect(),
        };
        json!({
            "format_version": export::FORMAT_VERSION,
            "tool": {"name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")},
            "source": source,
            "layout": layout,
            "sample_rate": self.lanes[0].folder.sample_rate,
            "fps": {"num": self.fps.num, "den": self.fps.den, "value": self.fps.as_f64()},
            "frames": {
                "pattern": "frames/%06d.png",
                "width": self.image_size.0,
                "height": self.image_size.1,
                "color": match self.color {
                    ColorType::Grey => "grey",
                    ColorType::Rgb => "rgb",
                },
            },
            "first_frame": frames.first(),
            "last_frame": frames.last(),
            "frame_ranges": frame_ranges,
            "frames_written": frames.len(),
            "complete": is_complete,
            // No takes and nothing to warn of: read back (a composite replaced) like any folder.
            "takes": [],
            "warnings": [],
        })
    }
}

fn write_manifest(dir: &Path, manifest: &Value) -> Result<(), Failure> {
    write_atomically(&dir.join("manifest.json"), |file| {
        serde_json::to_writer_pretty(&mut *file, manifest)?;
        file.write_all(b"\n")
    })
    .map_err(io_failure)
}
