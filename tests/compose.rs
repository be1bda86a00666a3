//! `spectral-diffusion compose` on sessions made by the writer the plugin uses (DESIGN.md §13):
//! RGB channels carry the lanes' grey values, grid tiles land in place, the frames are the union
//! of the lanes', and bad input is one line with the documented exit code.

#[allow(dead_code, unused_imports, reason = "shared with the other CLI tests")]
mod common;

use std::path::Path;

use common::{cli, path_arg};
use spectral_diffusion::analysis::{AnalysisSettings, BinMap};
use spectral_diffusion::clock::FrameRate;
use spectral_diffusion::export::format::folder::OutputFolder;
use spectral_diffusion::export::takes::register_lane;
use spectral_diffusion::export::{
    CsvFormat, ExportSettings, FrameWriter, JobInfo, OpenMode, PositionSource, Source, TakeStats,
};
use spectral_diffusion::render::RenderSettings;

/// Records lane `name` of the session `root`, holding `frames` (drawn from bins that differ per
/// lane and frame) at `size` px, in colour unless `is_grey`, and lists it in `session.json`.
fn record_lane(root: &Path, name: &str, frames: std::ops::Range<u64>, size: u32, is_grey: bool) {
    let mut render = RenderSettings {
        size,
        ..RenderSettings::default()
    };
    render.post.desaturate = is_grey;
    let analysis = AnalysisSettings::default();
    let job = JobInfo {
        source: Source::Host {
            host: "tests".into(),
            track: name.into(),
        },
        sample_rate: 48_000,
        fps: FrameRate::FPS_24,
        bin_freqs_hz: BinMap::for_settings(&analysis, 48_000).centre_freqs_hz,
        analysis,
        render,
        audio: None,
        frames_expected: None,
    };
    let settings = ExportSettings {
        out_dir: root.join(name),
        csv: CsvFormat::Full,
        write_images: true,
        is_forced: false,
    };
    let mut writer = FrameWriter::open(&settings, job, OpenMode::Continue).unwrap();
    let seed = name.len() as u64;
    for frame_idx in frames {
        let bins: Vec<f32> = (0..256u64)
            .map(|i| ((i * 7 + frame_idx * 13 + seed * 29) % 97) as f32 / 97.0)
            .collect();
        writer.write_frame(frame_idx, &bins).unwrap();
    }
    writer
        .finish_take(&TakeStats {
            frames_dropped: 0,
            position_source: PositionSource::Timeline,
            warnings: Vec::new(),
        })
        .unwrap();
    register_lane(&writer, name, &format!("instance-{name}")).unwrap();
}

/// A PNG's pixels as grey (a grey PNG as is, luma of a colour one) or as RGB.
fn grey(path: &Path) -> image::GrayImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_luma8()
}

fn rgb(path: &Path) -> image::RgbImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_rgb8()
}

fn frame(dir: &Path, frame_idx: u64) -> std::path::PathBuf {
    dir.join("frames").join(format!("{frame_idx:06}.png"))
}

/// The numbers of the PNGs in `dir/frames`, ascending.
fn frame_numbers(dir: &Path) -> Vec<u64> {
    let mut numbers: Vec<u64> = std::fs::read_dir(dir.join("frames"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name();
            name.to_str()
                .unwrap()
                .strip_suffix(".png")
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    numbers.sort_unstable();
    numbers
}

fn assert_success(output: &std::process::Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The test: on a two-lane session, channel k of each pixel is lane k's grey value (0
/// where the lane has no frame), the blue channel left out is 0, and the frames are the union
/// of the lanes' (0..10 and 5..20 make 0..20). The manifest reads back as `video` reads it.
#[test]
fn rgb_channels_carry_each_lanes_grey() {
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path();
    record_lane(session, "Drums", 0..10, 64, true);
    record_lane(session, "Bass", 5..20, 64, true);
    let output = cli(&[
        "compose",
        path_arg(session),
        "--red",
        "Drums",
        "--green",
        "Bass",
    ]);
    assert_success(&output);
    let out = session.join("compose-rgb");
    assert_eq!(frame_numbers(&out), (0..20).collect::<Vec<_>>());
    for frame_idx in 0..20 {
        let composite = rgb(&frame(&out, frame_idx));
        assert_eq!(composite.dimensions(), (64, 64));
        let lane = |name: &str, frames: std::ops::Range<u64>| {
            frames
                .contains(&frame_idx)
                .then(|| grey(&frame(&session.join(name), frame_idx)))
        };
        let (drums, bass) = (lane("Drums", 0..10), lane("Bass", 5..20));
        for (x, y, pixel) in composite.enumerate_pixels() {
            let value = |lane: &Option<image::GrayImage>| lane.as_ref().map_or(0, |l| l[(x, y)][0]);
            assert_eq!(
                pixel.0,
                [value(&drums), value(&bass), 0],
                "frame {frame_idx} pixel ({x}, {y})"
            );
        }
    }
    let folder = OutputFolder::read_frames(&out).unwrap();
    assert_eq!(folder.fps(), FrameRate::FPS_24);
    assert_eq!(folder.frame_size(), Some((64, 64)));
    assert_eq!(folder.frame_ranges(), [[0, 19]]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["source"]["kind"], "composite");
    assert_eq!(
        manifest["source"]["lanes"],
        serde_json::json!(["Drums", "Bass"])
    );
    assert_eq!(manifest["frames"]["color"], "rgb");
    assert_eq!(manifest["complete"], true);
    // Composed again with one lane: it replaces the earlier composite, stale frames and all.
    assert_success(&cli(&["compose", path_arg(session), "--red", "Drums"]));
    assert_eq!(frame_numbers(&out), (0..10).collect::<Vec<_>>());
    assert_eq!(
        OutputFolder::read_frames(&out).unwrap().frame_ranges(),
        [[0, 9]]
    );
    // Without a spectrum, `schedule` says so in one line instead of measuring nothing.
    let schedule = cli(&["schedule", path_arg(&out), "--lane", "low=20-200"]);
    let stderr = String::from_utf8_lossy(&schedule.stderr);
    assert_eq!(schedule.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no spectrum"), "{stderr}");
}

/// A colour lane enters a channel as its luma (what Desaturate would make of it).
#[test]
fn a_colour_lane_enters_as_its_luma() {
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path();
    record_lane(session, "Keys", 0..3, 64, false);
    assert_success(&cli(&["compose", path_arg(session), "--blue", "Keys"]));
    let out = session.join("compose-rgb");
    for frame_idx in 0..3 {
        let lane = rgb(&frame(&session.join("Keys"), frame_idx));
        let composite = rgb(&frame(&out, frame_idx));
        for (pixel, lane_pixel) in composite.pixels().zip(lane.pixels()) {
            let [r, g, b] = lane_pixel.0.map(u32::from);
            // PIL's convert('L'), as the post chain's Desaturate computes it.
            let luma = ((r * 19_595 + g * 38_470 + b * 7_471 + 0x8000) >> 16) as u8;
            assert_eq!(pixel.0, [0, 0, luma]);
        }
    }
}

/// `--grid` tiles every lane row by row in a grid as near square as it gets: three lanes make
/// 2×2 tiles, the fourth black; a lane without frame k leaves its tile black there.
#[test]
fn grid_tiles_land_where_expected() {
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path();
    let lanes = [("Drums", 0..4), ("Bass", 2..6), ("Vocals", 0..6)];
    for (name, frames) in &lanes {
        record_lane(session, name, frames.clone(), 64, true);
    }
    assert_success(&cli(&["compose", path_arg(session), "--grid"]));
    let out = session.join("compose-grid");
    assert_eq!(frame_numbers(&out), (0..6).collect::<Vec<_>>());
    for frame_idx in 0..6 {
        let composite = grey(&frame(&out, frame_idx));
        assert_eq!(composite.dimensions(), (128, 128));
        for (tile_idx, origin) in [(0, 0), (64, 0), (0, 64), (64, 64)].into_iter().enumerate() {
            let lane = lanes
                .get(tile_idx)
                .filter(|(_, frames)| frames.contains(&frame_idx))
                .map(|(name, _)| grey(&frame(&session.join(name), frame_idx)));
            for y in 0..64 {
                for x in 0..64 {
                    let expected = lane.as_ref().map_or(0, |lane| lane[(x, y)][0]);
                    assert_eq!(
                        composite[(origin.0 + x, origin.1 + y)][0],
                        expected,
                        "frame {frame_idx} tile {tile_idx} pixel ({x}, {y})"
                    );
                }
            }
        }
    }
    // `--lanes` picks and orders the tiles: two lanes side by side.
    assert_success(&cli(&[
        "compose",
        path_arg(session),
        "--grid",
        "--lanes",
        "Vocals,Drums",
        "--out",
        path_arg(&dir.path().join("pair")),
    ]));
    let pair = grey(&frame(&dir.path().join("pair"), 1));
    assert_eq!(pair.dimensions(), (128, 64));
    let vocals = grey(&frame(&session.join("Vocals"), 1));
    assert_eq!(pair[(10, 20)], vocals[(10, 20)]);
}

/// Bad input is one readable line and the documented exit code, and writes nothing.
#[test]
fn bad_input_is_one_line_with_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join("Song");
    let no_session = cli(&["compose", path_arg(&session), "--red", "Drums"]);
    record_lane(&session, "Drums", 0..2, 64, true);
    record_lane(&session, "Bass", 0..2, 128, true);
    let drums_before = common::files(&session.join("Drums"));
    let cases = [
        (no_session, 1, "has no session.json"),
        (
            cli(&["compose", path_arg(&session), "--red", "Keys"]),
            1,
            "lists no lane \"Keys\"; its lanes: Drums, Bass",
        ),
        (
            cli(&[
                "compose",
                path_arg(&session),
                "--red",
                "Drums",
                "--green",
                "Bass",
            ]),
            1,
            "differ in size (Drums 64×64, Bass 128×128)",
        ),
        (
            cli(&["compose", path_arg(&session)]),
            2,
            "give lanes with --red",
        ),
        (
            cli(&["compose", path_arg(&session), "--grid", "--red", "Drums"]),
            2,
            "cannot be used with",
        ),
        (
            cli(&[
                "compose",
                path_arg(&session),
                "--red",
                "Drums",
                "--out",
                path_arg(&session.join("Drums")),
            ]),
            3,
            "not a composite",
        ),
    ];
    for (output, exit_code, message) in cases {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(exit_code), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
    assert_eq!(common::files(&session.join("Drums")), drums_before);
    assert!(!session.join("compose-rgb").exists());
}
