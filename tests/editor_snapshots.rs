//! Snapshot tests: each editor view drawn headlessly over a fixed synthetic spectrum, rasterized
//! on the CPU and compared with the PNGs under `tests/snapshots/` (`UPDATE_SNAPSHOTS=1` rewrites).

mod editor_support;

use egui::{Pos2, vec2};
use spectral_diffusion::editor::analyzer_view::{AnalyzerViewModel, CurveStyle, analyzer_view};
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

fn snapshot_analyzer(name: &str, style: CurveStyle, pixels_per_point: f32, pointer: Option<Pos2>) {
    let (freqs_hz, levels_db) = synthetic_spectrum(256);
    let peak_db: Vec<f32> = levels_db.iter().map(|level| level + 6.0).collect();
    let model = AnalyzerViewModel {
        freqs_hz: &freqs_hz,
        levels_db: &levels_db,
        peak_db: &peak_db,
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
    snapshot_analyzer("analyzer_filled", CurveStyle::Filled, 1.0, None);
}

/// The bar style, at scale 2: the same layout with twice the pixels, lines still one pixel crisp.
#[test]
fn analyzer_bars_at_scale_2_matches_snapshot() {
    snapshot_analyzer("analyzer_bars_x2", CurveStyle::Bars, 2.0, None);
}

/// Hovering shows the crosshair and the frequency / note / level readout.
#[test]
fn analyzer_hover_readout_matches_snapshot() {
    snapshot_analyzer(
        "analyzer_hover",
        CurveStyle::Filled,
        1.0,
        Some(Pos2::new(320.0, 180.0)),
    );
}

use spectral_diffusion::analysis::Preset;
use spectral_diffusion::editor::guide::unit_bins_from_db;
use spectral_diffusion::editor::{EditorState, GuideFrame, SpectraIn, Tab};
use spectral_diffusion::handoff::RecorderStatus;
use spectral_diffusion::plugin::params::PluginParams;

/// The whole editor at its default 900×600 on `tab`, fed the synthetic spectrum at the plugin's
/// monitor resolution, with a take rolling so the recorder panel shows numbers, or stopped on
/// `error`.
fn snapshot_editor(name: &str, tab: Tab, pixels_per_point: f32, error: Option<&str>) {
    let params = PluginParams::default();
    // The folder line shows these; fixed so the snapshot does not depend on $HOME or the clock.
    "/tmp/takes".clone_into(&mut params.output_folder.write().unwrap());
    "Drums".clone_into(&mut params.track_name.write().unwrap());
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
    let input = SpectraIn {
        freqs_hz: &freqs_hz,
        levels_db: Some(&levels_db),
        guide: Some(GuideFrame {
            frame_idx: 0,
            preset: Preset::Default,
            values: &guide_values,
            is_recorded: false,
        }),
    };
    let gui_context = editor_support::direct_gui_context();
    let setter = gui_context.param_setter();
    let mut state = EditorState::default();
    state.tab = tab;
    let mut headless = Headless::new();
    let frame = headless.render(vec2(900.0, 600.0), pixels_per_point, None, &mut |ui| {
        state.ui(ui, &params, &setter, &status, &input);
    });
    assert!(frame.num_colors() > 50, "{name} looks blank");
    assert_snapshot(name, &frame);
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
