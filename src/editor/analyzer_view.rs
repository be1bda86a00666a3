//! GUI thread: the analyzer view, a pure function of a spectrum and its axes. Log-frequency grid
//! along the bottom, dB grid along the left, the spectrum as a filled curve or bars, the peak-hold
//! trace, and a hover readout of frequency, nearest note and level.

use egui::{Align2, Color32, FontId, Mesh, Pos2, Rect, Sense, Shape, Stroke, Ui, pos2, vec2};

use super::axis::{DbAxis, FreqAxis, Note, format_freq};

/// How the spectrum itself is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CurveStyle {
    /// A line over a translucent fill down to the floor.
    #[default]
    Filled,
    /// One bar per bin, as wide as the bin's share of the axis.
    Bars,
}

/// Everything the analyzer view draws, as plain data; the editor owns the smoothing and slope.
#[derive(Debug, Clone, Copy)]
pub struct AnalyzerViewModel<'a> {
    /// Centre frequency of each bin, ascending, in Hz.
    pub freqs_hz: &'a [f32],
    /// Displayed level of each bin (averaged, slope applied), in dB.
    pub levels_db: &'a [f32],
    /// Peak-hold level of each bin, in dB; empty draws no peak trace.
    pub peak_db: &'a [f32],
    /// The visible frequency range.
    pub freq_axis: FreqAxis,
    /// The visible level range.
    pub db_axis: DbAxis,
    pub style: CurveStyle,
}

/// What the pointer is over: the frequency under it, its nearest note, and the curve's level there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Readout {
    pub freq_hz: f32,
    pub note: Option<Note>,
    pub level_db: Option<f32>,
}

impl Readout {
    /// `1.00 kHz  B5 +21 ct  -12.3 dB`
    pub fn text(&self) -> String {
        let mut text = format_freq(self.freq_hz);
        if let Some(note) = self.note {
            text += &format!("  {note}");
        }
        if let Some(level_db) = self.level_db {
            text += &format!("  {level_db:.1} dB");
        }
        text
    }
}

/// Space kept left of the plot for the dB labels, in points.
const LEFT_MARGIN: f32 = 34.0;
/// Space kept below the plot for the frequency labels, in points.
const BOTTOM_MARGIN: f32 = 16.0;
const LABEL_FONT_SIZE: f32 = 11.0;

pub const BACKGROUND: Color32 = Color32::from_rgb(18, 20, 24);
const GRID_MAJOR: Color32 = Color32::from_rgb(58, 62, 70);
const GRID_MINOR: Color32 = Color32::from_rgb(34, 37, 43);
const LABEL: Color32 = Color32::from_rgb(150, 156, 166);
const CURVE: Color32 = Color32::from_rgb(96, 196, 255);
const PEAK: Color32 = Color32::from_rgb(255, 176, 64);
const CROSSHAIR: Color32 = Color32::from_rgb(200, 200, 200);

/// Draws the analyzer into all the space `ui` has left; returns the readout while hovered.
pub fn analyzer_view(ui: &mut Ui, model: &AnalyzerViewModel<'_>) -> Option<Readout> {
    let (rect, response) = ui.allocate_exact_size(ui.available_size(), Sense::hover());
    let plot = plot_rect(rect);
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, BACKGROUND);
    if plot.width() < 1.0 || plot.height() < 1.0 {
        return None;
    }

    draw_grid(&painter, plot, model);
    let plot_painter = painter.with_clip_rect(plot);
    match model.style {
        CurveStyle::Filled => draw_filled(&plot_painter, plot, model),
        CurveStyle::Bars => draw_bars(&plot_painter, plot, model),
    }
    if !model.peak_db.is_empty() {
        let points = curve_points(plot, model, model.peak_db);
        plot_painter.add(Shape::line(points, Stroke::new(1.0, PEAK)));
    }

    let pointer = response.hover_pos().filter(|pos| plot.contains(*pos))?;
    let readout = readout_at(model, (pointer.x - plot.left()) / plot.width());
    let x = painter.round_to_pixel_center(pointer.x);
    plot_painter.vline(
        x,
        plot.y_range(),
        Stroke::new(1.0, CROSSHAIR.gamma_multiply(0.6)),
    );
    let font = FontId::monospace(LABEL_FONT_SIZE + 1.0);
    let galley = painter.layout_no_wrap(readout.text(), font, Color32::WHITE);
    let text_rect =
        Align2::RIGHT_TOP.anchor_size(plot.right_top() + vec2(-6.0, 6.0), galley.size());
    painter.rect_filled(text_rect.expand(3.0), 3.0, BACKGROUND.gamma_multiply(0.9));
    painter.galley(text_rect.min, galley, Color32::WHITE);
    Some(readout)
}

/// The plot area inside `rect`, leaving room for the axis labels.
pub fn plot_rect(rect: Rect) -> Rect {
    Rect::from_min_max(
        pos2(rect.left() + LEFT_MARGIN, rect.top() + 4.0),
        pos2(rect.right() - 6.0, rect.bottom() - BOTTOM_MARGIN),
    )
}

/// The readout at `fraction` across the plot (0 = left edge).
pub fn readout_at(model: &AnalyzerViewModel<'_>, fraction: f32) -> Readout {
    let freq_hz = model.freq_axis.freq_at(fraction);
    Readout {
        freq_hz,
        note: Note::nearest(freq_hz),
        level_db: level_at(model.freqs_hz, model.levels_db, freq_hz),
    }
}

/// The curve's level at `freq_hz`: linear in log frequency between the two nearest bins, the end
/// bins' level beyond them, `None` without bins.
pub fn level_at(freqs_hz: &[f32], levels_db: &[f32], freq_hz: f32) -> Option<f32> {
    let len = freqs_hz.len().min(levels_db.len());
    let (freqs_hz, levels_db) = (&freqs_hz[..len], &levels_db[..len]);
    let above = freqs_hz.partition_point(|&f| f < freq_hz);
    match above {
        _ if len == 0 => None,
        0 => Some(levels_db[0]),
        _ if above == len => Some(levels_db[len - 1]),
        _ => {
            let (f0, f1) = (freqs_hz[above - 1], freqs_hz[above]);
            let t = (freq_hz / f0).ln() / (f1 / f0).ln();
            Some(levels_db[above - 1] + t * (levels_db[above] - levels_db[above - 1]))
        }
    }
}

fn draw_grid(painter: &egui::Painter, plot: Rect, model: &AnalyzerViewModel<'_>) {
    let font = FontId::proportional(LABEL_FONT_SIZE);
    for tick in model.freq_axis.ticks() {
        let x = painter.round_to_pixel_center(
            plot.left() + model.freq_axis.fraction_of(tick.value) * plot.width(),
        );
        let color = if tick.label.is_some() {
            GRID_MAJOR
        } else {
            GRID_MINOR
        };
        painter.vline(x, plot.y_range(), Stroke::new(1.0, color));
        if let Some(label) = tick.label {
            // Keep the end labels inside the plot's width instead of centring them off the edge.
            let anchor = if x <= plot.left() + 8.0 {
                Align2::LEFT_TOP
            } else if x >= plot.right() - 8.0 {
                Align2::RIGHT_TOP
            } else {
                Align2::CENTER_TOP
            };
            painter.text(
                pos2(x, plot.bottom() + 2.0),
                anchor,
                label,
                font.clone(),
                LABEL,
            );
        }
    }
    let max_num_lines = (plot.height() / 28.0).floor() as usize;
    for tick in model.db_axis.ticks(max_num_lines) {
        let y = painter.round_to_pixel_center(
            plot.top() + model.db_axis.fraction_of(tick.value) * plot.height(),
        );
        painter.hline(plot.x_range(), y, Stroke::new(1.0, GRID_MAJOR));
        if let Some(label) = tick.label {
            let anchor = if y <= plot.top() + 6.0 {
                Align2::RIGHT_TOP
            } else if y >= plot.bottom() - 6.0 {
                Align2::RIGHT_BOTTOM
            } else {
                Align2::RIGHT_CENTER
            };
            painter.text(
                pos2(plot.left() - 4.0, y),
                anchor,
                label,
                font.clone(),
                LABEL,
            );
        }
    }
    painter.rect_stroke(
        plot,
        0.0,
        Stroke::new(1.0, GRID_MAJOR),
        egui::StrokeKind::Inside,
    );
}

/// Screen points of `levels_db` over the bins, y clamped to the plot so a floor of silence stays
/// visible along the bottom edge.
fn curve_points(plot: Rect, model: &AnalyzerViewModel<'_>, levels_db: &[f32]) -> Vec<Pos2> {
    model
        .freqs_hz
        .iter()
        .zip(levels_db)
        .filter(|(freq_hz, level_db)| **freq_hz > 0.0 && level_db.is_finite())
        .map(|(&freq_hz, &level_db)| {
            let x = plot.left() + model.freq_axis.fraction_of(freq_hz) * plot.width();
            let y =
                plot.top() + model.db_axis.fraction_of(level_db).clamp(0.0, 1.0) * plot.height();
            pos2(x, y)
        })
        .collect()
}

fn draw_filled(painter: &egui::Painter, plot: Rect, model: &AnalyzerViewModel<'_>) {
    let points = curve_points(plot, model, model.levels_db);
    if points.len() < 2 {
        return;
    }
    // The area under a spectrum is not convex, so it is a strip of quads down to the floor rather
    // than a filled path (egui fills convex paths only).
    let mut fill = Mesh::default();
    fill.reserve_vertices(points.len() * 2);
    fill.reserve_triangles((points.len() - 1) * 2);
    let top_color = CURVE.gamma_multiply(0.45);
    let bottom_color = CURVE.gamma_multiply(0.08);
    for (i, point) in points.iter().enumerate() {
        fill.colored_vertex(*point, top_color);
        fill.colored_vertex(pos2(point.x, plot.bottom()), bottom_color);
        if i > 0 {
            let base = (i as u32 - 1) * 2;
            fill.add_triangle(base, base + 1, base + 2);
            fill.add_triangle(base + 1, base + 3, base + 2);
        }
    }
    painter.add(fill);
    painter.add(Shape::line(points, Stroke::new(1.5, CURVE)));
}

fn draw_bars(painter: &egui::Painter, plot: Rect, model: &AnalyzerViewModel<'_>) {
    let points = curve_points(plot, model, model.levels_db);
    let mut bars = Mesh::default();
    for (i, point) in points.iter().enumerate() {
        // Each bar spans halfway to its neighbours (geometric midpoints on the log axis).
        let left = if i > 0 {
            (points[i - 1].x + point.x) / 2.0
        } else {
            point.x - 1.0
        };
        let right = match points.get(i + 1) {
            Some(next) => (point.x + next.x) / 2.0,
            None => point.x + 1.0,
        };
        let gap = if right - left > 4.0 { 1.0 } else { 0.0 };
        let bar = Rect::from_min_max(pos2(left, point.y), pos2(right - gap, plot.bottom()));
        bars.add_colored_rect(bar, CURVE.gamma_multiply(0.8));
    }
    painter.add(bars);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Between two bins the level is interpolated in log frequency; beyond them it is the end bin's.
    #[test]
    fn level_interpolates_on_log_axis() {
        let freqs_hz = [100.0, 400.0, 1600.0];
        let levels_db = [-40.0, -20.0, -60.0];
        assert_eq!(level_at(&freqs_hz, &levels_db, 50.0), Some(-40.0));
        assert_eq!(level_at(&freqs_hz, &levels_db, 100.0), Some(-40.0));
        assert!((level_at(&freqs_hz, &levels_db, 200.0).unwrap() + 30.0).abs() < 1e-4);
        assert!((level_at(&freqs_hz, &levels_db, 800.0).unwrap() + 40.0).abs() < 1e-4);
        assert_eq!(level_at(&freqs_hz, &levels_db, 20_000.0), Some(-60.0));
        assert_eq!(level_at(&[], &[], 1000.0), None);
    }

    /// The readout at the middle of a 20 Hz–20 kHz plot names 632 Hz, D#5, and the level there.
    #[test]
    fn readout_at_plot_centre() {
        let model = AnalyzerViewModel {
            freqs_hz: &[20.0, 20_000.0],
            levels_db: &[-60.0, 0.0],
            peak_db: &[],
            freq_axis: FreqAxis {
                min_hz: 20.0,
                max_hz: 20_000.0,
            },
            db_axis: DbAxis {
                min_db: -90.0,
                max_db: 0.0,
            },
            style: CurveStyle::Filled,
        };
        let readout = readout_at(&model, 0.5);
        assert!((readout.freq_hz - 632.46).abs() < 0.01);
        assert_eq!(readout.note.unwrap().name(), "D#5");
        assert!((readout.level_db.unwrap() + 30.0).abs() < 1e-3);
        assert_eq!(readout.text(), "632 Hz  D#5 +28 ct  -30.0 dB");
    }
}
