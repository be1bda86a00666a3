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
