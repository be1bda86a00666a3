//! Snapshot tests: each editor view drawn headlessly over a fixed synthetic spectrum, rasterized
//! on the CPU and compared with the PNGs under `tests/snapshots/` (`UPDATE_SNAPSHOTS=1` rewrites).

mod editor_support;

use egui::{Pos2, vec2};
use spectral_diffusion::editor::analyzer_view::{
    AnalyzerViewModel, BandWidth, CurveStyle, ReferenceView, TraceView, analyzer_view,
};
use spectral_diffusion::editor::axis::{DbAxis, FreqAxis};

use editor_support::{Headless, assert_snapshot, synthetic_spectrum};

const FULL_RANGE: FreqAxis = FreqAxis {
    min_hz: 20.0,
    max_hz: 20_000.0,
};
const DB_RANGE: DbAxis = DbAxis {
    min_db: -90.0,
    max_db: 0.0,
};

/// What a snapshot of the analyzer view shows besides the first trace.
#[derive(Clone, Copy)]
struct Extras {
    /// A second trace (as L + R draws), a copy of the first tilted and shifted.
    has_second_trace: bool,
    /// A captured reference curve 9 dB below the first trace.
    has_reference: bool,
}

const PLAIN: Extras = Extras {
    has_second_trace: false,
    has_reference: false,
};

fn snapshot_analyzer(
    name: &str,
    style: CurveStyle,
    pixels_per_point: f32,
    pointer: Option<Pos2>,
    extras: Extras,
) {
    let (freqs_hz, levels_db) = synthetic_spectrum(256);
    let peak_db: Vec<f32> = levels_db.iter().map(|level| level + 6.0).collect();
    let second_db: Vec<f32> = levels_db
        .iter()
        .zip(&freqs_hz)
        .map(|(level, freq)| level - 10.0 + 4.0 * (freq / 1000.0).log2())
        .collect();
    let second_peak_db: Vec<f32> = second_db.iter().map(|level| level + 4.0).collect();
    let reference_db: Vec<f32> = levels_db.iter().map(|level| level - 9.0).collect();
    let mut traces = vec![TraceView {
        name: "Left",
        levels_db: &levels_db,
        peak_db: &peak_db,
    }];
    if extras.has_second_trace {
        traces.push(TraceView {
            name: "Right",
            levels_db: &second_db,
            peak_db: &second_peak_db,
        });
    }
    let model = AnalyzerViewModel {
        freqs_hz: &freqs_hz,
        traces: &traces,
        reference: extras.has_reference.then_some(ReferenceView {
            freqs_hz: &freqs_hz,
            levels_db: &reference_db,
        }),
        freq_axis: FULL_RANGE,
        db_axis: DB_RANGE,
        style,
    };
    let mut headless = Headless::new();
    let frame = headless.render(vec2(640.0, 360.0), pixels_per_point, pointer, &mut |ui| {
        analyzer_view(ui, &model);
    });
    assert!(frame.num_colors() > 50, "{name} looks blank");
    assert_snapshot(name, &frame);
}

/// The filled curve with peak trace, grids and labels.
#[test]
fn analyzer_filled_matches_snapshot() {
    snapshot_analyzer("analyzer_filled", CurveStyle::Filled, 1.0, None, PLAIN);
}

/// Third-octave bars with outlines, at scale 2: the same layout with twice the pixels, lines
/// still one pixel crisp.
#[test]
fn analyzer_bands_at_scale_2_matches_snapshot() {
    snapshot_analyzer(
        "analyzer_bands_x2",
        CurveStyle::Bands(BandWidth::Third),
        2.0,
        None,
        PLAIN,
    );
}

/// Hovering shows the crosshair and the frequency / note / level readout.
#[test]
fn analyzer_hover_readout_matches_snapshot() {
    snapshot_analyzer(
        "analyzer_hover",
        CurveStyle::Filled,
        1.0,
        Some(Pos2::new(320.0, 180.0)),
        PLAIN,
    );
}

const TWO_TRACES: Extras = Extras {
    has_second_trace: true,
    has_reference: false,
};
const WITH_REFERENCE: Extras = Extras {
    has_second_trace: false,
    has_reference: true,
};

/// L + R: two filled traces in their own colours, each with its peak line, and a legend.
#[test]
fn analyzer_two_traces_match_snapshot() {
    snapshot_analyzer(
        "analyzer_two_traces",
        CurveStyle::Filled,
        1.0,
        None,
        TWO_TRACES,
    );
    snapshot_analyzer(
        "analyzer_two_traces_x2",
        CurveStyle::Filled,
        2.0,
        None,
        TWO_TRACES,
    );
}

/// Two traces as octave bars share each band side by side.
#[test]
fn analyzer_two_traces_as_octave_bands_match_snapshot() {
    snapshot_analyzer(
        "analyzer_two_traces_octaves",
        CurveStyle::Bands(BandWidth::Octave),
        1.0,
        None,
        TWO_TRACES,
    );
}

/// A captured reference: a dimmed curve behind the live trace, named in the legend.
#[test]
fn analyzer_reference_matches_snapshot() {
    snapshot_analyzer(
        "analyzer_reference",
        CurveStyle::Filled,
        1.0,
        None,
        WITH_REFERENCE,
    );
    snapshot_analyzer(
        "analyzer_reference_x2",
        CurveStyle::Filled,
        2.0,
        None,
        WITH_REFERENCE,
    );
}

use spectral_diffusion::analysis::Preset;
use spectral_diffusion::editor::guide::unit_bins_from_db;
use spectral_diffusion::editor::meters::Meters;
use spectral_diffusion::editor::session_view::{SessionContents, SessionListing};
use spectral_diffusion::editor::{EditorState, GuideFrame, LiveTrace, Section, SpectraIn, Tab};
use spectral_diffusion::export::format::session::{Lane, SessionIndex};
use spectral_diffusion::handoff::RecorderStatus;
use spectral_diffusion::params::PluginParams;
use spectral_diffusion::params::Trace;

/// The whole editor at its default 900×600 on `tab`, fed the synthetic spectrum at the plugin's
/// monitor resolution, with a take rolling so the recorder panel shows numbers, or stopped on
/// `error`.
fn snapshot_editor(name: &str, tab: Tab, pixels_per_point: f32, error: Option<&str>) {
    snapshot_editor_with(name, tab, Section::Recorder, pixels_per_point, error, None);
}

/// The meter strip's readings after 3 s of a 997 Hz sine at −20 dBFS left and −26 dBFS right.
fn meter_readings() -> spectral_diffusion::editor::meters::MeterReadings {
    let left: Vec<f32> = (0..144_000)
        .map(|i| 0.1 * (2.0 * std::f32::consts::PI * 997.0 * i as f32 / 48_000.0).sin())
        .collect();
    let right: Vec<f32> = left.iter().map(|x| x * 0.5).collect();
    let mut meters = Meters::new(48_000, 2).unwrap();
    meters.process(&left, &right);
    meters.readings()
}

fn snapshot_editor_with(
    name: &str,
    tab: Tab,
    section: Section,
    pixels_per_point: f32,
    error: Option<&str>,
    live: Option<&LiveStatus>,
) {
    let params = PluginParams::default();
    if live.is_some() {
        *params.live.write().unwrap() = live_settings();
    }
    // The folder line shows these; fixed so the snapshot does not depend on $HOME or the clock.
    "/tmp/takes".clone_into(&mut params.output_folder.write().unwrap());
    "Drums".clone_into(&mut params.track_name.write().unwrap());
    "instance-drums".clone_into(&mut params.instance_id.write().unwrap());
    let status = RecorderStatus::default();
    status.set_take_state(spectral_diffusion::handoff::TakeState::Rolling);
    status
        .frame_idx
        .store(1234, std::sync::atomic::Ordering::Relaxed);
    status
        .num_frames_written
        .store(1200, std::sync::atomic::Ordering::Relaxed);
    status
        .num_frames_queued
        .store(1235, std::sync::atomic::Ordering::Relaxed);
    if let Some(error) = error {
        status.set_error(error.to_owned());
    }
    let (freqs_hz, levels_db) = synthetic_spectrum(512);
    // The live preview's frame 0, drawn from the same spectrum.
    let mut guide_values = Vec::new();
    unit_bins_from_db(&levels_db, 256, -90.0, &mut guide_values);
    let traces = [LiveTrace {
        trace: Trace::Sum,
        levels_db: &levels_db,
    }];
    let input = SpectraIn {
        freqs_hz: &freqs_hz,
        traces: &traces,
        meters: Some(meter_readings()),
        guide: Some(GuideFrame {
            frame_idx: 0,
            preset: Preset::Default,
            values: &guide_values,
            is_recorded: false,
        }),
        live,
    };
    let gui_context = editor_support::direct_gui_context();
    let setter = gui_context.param_setter();
    let mut state = EditorState::default();
    state.tab = tab;
    state.section = Some(section);
    state.session = Some(session_listing());
    let mut headless = Headless::new();
    let frame = headless.render(vec2(900.0, 600.0), pixels_per_point, None, &mut |ui| {
        state.ui(ui, &params, &setter, &status, &input);
    });
    assert!(frame.num_colors() > 50, "{name} looks blank");
    assert_snapshot(name, &frame);
}

/// The session the recorder panel lists: this instance's lane (Drums) and two others', one
/// without frames yet.
fn session_listing() -> SessionListing {
    let lane = |name: &str, instance_id: &str, frames: Option<(u64, u64)>| Lane {
        name: name.to_owned(),
        track: name.to_owned(),
        instance_id: instance_id.to_owned(),
        settings: serde_json::json!({}),
        first_frame: frames.map(|(first, _)| first),
        last_frame: frames.map(|(_, last)| last),
        frames_written: frames.map_or(0, |(first, last)| last - first + 1),
    };
    SessionListing {
        root: "/tmp/takes".into(),
        contents: SessionContents::Index(SessionIndex {
            format: 1,
            fps: spectral_diffusion::clock::FrameRate::FPS_24,
            lanes: vec![
                lane("Drums", "instance-drums", Some((0, 1199))),
                lane("Bass", "instance-bass", Some((0, 1234))),
                lane("Vocals", "instance-vocals", None),
            ],
        }),
    }
}

#[test]
fn editor_analyzer_matches_snapshot() {
    snapshot_editor("editor_analyzer", Tab::Analyzer, 1.0, None);
}

/// The scale-2 rendering must be the scale-1 layout with crisp doubled detail, not a blurry zoom.
#[test]
fn editor_analyzer_at_scale_2_matches_snapshot() {
    snapshot_editor("editor_analyzer_x2", Tab::Analyzer, 2.0, None);
}

/// At the default 900×600 with the Analyzer section open, every analyzer control is on screen;
/// the toolbar (channels, style, freeze, capture) and the meter strip are always there.
#[test]
fn editor_analyzer_section_fits_the_default_size() {
    snapshot_editor_with(
        "editor_analyzer_section",
        Tab::Analyzer,
        Section::Analyzer,
        1.0,
        None,
        None,
    );
    snapshot_editor_with(
        "editor_guide_section",
        Tab::Guide,
        Section::Guide,
        1.0,
        None,
        None,
    );
}

#[test]
fn editor_pie_matches_snapshot() {
    snapshot_editor("editor_pie", Tab::Pie, 1.0, None);
}

#[test]
fn editor_polar_matches_snapshot() {
    snapshot_editor("editor_polar", Tab::Polar, 1.0, None);
}

/// The guide tab, with the recorder stopped on a write error shown in red with its cause.
#[test]
fn editor_guide_with_error_matches_snapshot() {
    snapshot_editor(
        "editor_guide_error",
        Tab::Guide,
        1.0,
        Some(
            "cannot write /tmp/takes/Drums/frames/000123.png: No space left on device (os error 28)",
        ),
    );
}

use spectral_diffusion::diffuse::BackendKind;
use spectral_diffusion::diffuse::live::{LiveSettings, LiveStatus, Picture, ServerStatus};

/// Live's settings as a user fills them in.
fn live_settings() -> LiveSettings {
    LiveSettings {
        is_on: true,
        backend: BackendKind::Comfyui,
        servers: "http://gpu1:8188 http://gpu2:8188".into(),
        checkpoint: "v1-5-pruned-emaonly.safetensors".into(),
        prompt: "stained glass, cathedral light".into(),
        negative: "text, watermark".into(),
        denoise: 0.55,
        steps: 8,
        ..LiveSettings::default()
    }
}

/// A running loop's status: a picture (a smooth colour field), its numbers, and a second server
/// that is down.
fn live_status() -> LiveStatus {
    let side = 128u32;
    let rgb = (0..side * side)
        .flat_map(|idx| {
            let (x, y) = (idx % side, idx / side);
            [(x * 2) as u8, (y * 2) as u8, 160 - (x + y) as u8 / 2]
        })
        .collect();
    LiveStatus {
        picture: Some(std::sync::Arc::new(Picture {
            index: 118,
            frame_idx: 1234,
            width: side,
            height: side,
            rgb,
        })),
        round_trip: Some(std::time::Duration::from_millis(814)),
        execution: Some(std::time::Duration::from_millis(640)),
        queued: Some(std::time::Duration::from_millis(2)),
        reports_execution: true,
        pictures_per_s: 1.2,
        num_sent: 120,
        num_drawn: 118,
        num_skipped: 431,
        setup_error: None,
        servers: vec![
            ServerStatus {
                url: "http://gpu1:8188".into(),
                num_in_flight: 1,
                error: None,
                retry_at: None,
            },
            ServerStatus {
                url: "http://gpu2:8188".into(),
                num_in_flight: 0,
                error: Some(
                    "http://gpu2:8188 is unreachable (connection refused): is the server running?"
                        .into(),
                ),
                retry_at: None,
            },
        ],
    }
}

/// The Live tab (guide beside the picture, the numbers, a server's error) with the Live section
/// open, at scale 1 and 2.
#[test]
fn editor_live_matches_snapshot() {
    let status = live_status();
    for (name, pixels_per_point) in [("editor_live", 1.0), ("editor_live_x2", 2.0)] {
        snapshot_editor_with(
            name,
            Tab::Live,
            Section::Live,
            pixels_per_point,
            None,
            Some(&status),
        );
    }
}
