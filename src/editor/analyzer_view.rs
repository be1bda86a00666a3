//! GUI thread: the analyzer view, a pure function of the spectra and their axes. Log-frequency grid
//! along the bottom, dB grid along the left, one or two traces as filled curves or octave-band
//! bars, each trace's peak-hold line, a captured reference curve, a legend, and a hover readout of
//! frequency, nearest note and level.

use egui::{Align2, Color32, FontId, Mesh, Pos2, Rect, Sense, Shape, Stroke, Ui, pos2, vec2};

use super::axis::{DbAxis, FreqAxis, Note, format_freq};

/// How the spectrum itself is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CurveStyle {
    /// A line over a translucent fill down to the floor.
    #[default]
    Filled,
    /// Outlined bars, one per fractional-octave band (see [`BandWidth`]).
    Bands(BandWidth),
}

/// The bands of the bar style: IEC 61260-1 fractional-octave bands, base 10 (the octave ratio is
/// G = 10^(3/10) ≈ 1.9953, midbands exact powers of G around 1 kHz, as the standard recommends),
/// 1/1, 1/3 and 1/6 octave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandWidth {
    Octave,
    Third,
    Sixth,
}

impl BandWidth {
    /// The bandwidth designator `b` of 1/b octave.
    pub fn fraction(self) -> u32 {
        match self {
            Self::Octave => 1,
            Self::Third => 3,
            Self::Sixth => 6,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Octave => "1/1",
            Self::Third => "1/3",
            Self::Sixth => "1/6",
        }
    }

    /// The bands (lower edge, midband, upper edge in Hz) that reach into `min_hz..max_hz`,
    /// per IEC 61260-1:2014 §5.2–5.4 (base 10, reference 1 kHz): midband
    /// `1000·G^(x/b)` for odd b, `1000·G^((2x+1)/(2b))` for even b; edges `midband·G^(∓1/(2b))`.
    pub fn bands(self, min_hz: f32, max_hz: f32) -> Vec<[f32; 3]> {
        let b = f64::from(self.fraction());
        let g = 10f64.powf(0.3);
        let midband = |x: i32| {
            let exponent = if self.fraction() % 2 == 1 {
                f64::from(x) / b
            } else {
                f64::from(2 * x + 1) / (2.0 * b)
            };
            1000.0 * g.powf(exponent)
        };
        let half = g.powf(1.0 / (2.0 * b));
        (-60..60)
            .map(midband)
            .map(|f| [(f / half) as f32, f as f32, (f * half) as f32])
            .filter(|&[lower, _, upper]| upper > min_hz && lower < max_hz)
            .collect()
    }
}

/// One trace to draw.
#[derive(Debug, Clone, Copy)]
pub struct TraceView<'a> {
    /// The legend's name.
    pub name: &'a str,
    /// Displayed level of each band (averaged, slope applied), in dB, over the model's
    /// `freqs_hz`.
    pub levels_db: &'a [f32],
    /// Peak-hold level of each band, in dB; empty draws no peak line.
    pub peak_db: &'a [f32],
}

/// A captured curve drawn dimmed behind the live traces.
#[derive(Debug, Clone, Copy)]
pub struct ReferenceView<'a> {
    pub freqs_hz: &'a [f32],
    pub levels_db: &'a [f32],
}

/// Everything the analyzer view draws, as plain data; the editor owns the smoothing and slope.
#[derive(Debug, Clone, Copy)]
pub struct AnalyzerViewModel<'a> {
    /// Centre frequency of each band, ascending, in Hz.
    pub freqs_hz: &'a [f32],
    /// One trace, or two (L + R, M + S), in drawing order.
    pub traces: &'a [TraceView<'a>],
    pub reference: Option<ReferenceView<'a>>,
    /// The visible frequency range.
    pub freq_axis: FreqAxis,
    /// The visible level range.
    pub db_axis: DbAxis,
    pub style: CurveStyle,
}

/// What the pointer is over: the frequency under it, its nearest note, and the first trace's
/// level there.
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
/// Each trace's colour, in drawing order.
pub const TRACE_COLORS: [Color32; 2] = [
    Color32::from_rgb(96, 196, 255),
    Color32::from_rgb(255, 112, 168),
];
/// The peak line of a single trace; two traces draw theirs in their own colours.
const PEAK: Color32 = Color32::from_rgb(255, 176, 64);
const REFERENCE: Color32 = Color32::from_rgb(190, 190, 190);
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
    if let Some(reference) = model.reference {
        let points = curve_points(plot, model, reference.freqs_hz, reference.levels_db);
        plot_painter.add(Shape::line(
            points,
            Stroke::new(1.5, REFERENCE.gamma_multiply(0.55)),
        ));
    }
    let num_traces = model.traces.len();
    for (idx, (trace, color)) in model.traces.iter().zip(TRACE_COLORS).enumerate() {
        match model.style {
            CurveStyle::Filled => draw_filled(&plot_painter, plot, model, trace, color, num_traces),
            CurveStyle::Bands(width) => {
                draw_bands(
                    &plot_painter,
                    plot,
                    model,
                    trace,
                    color,
                    width,
                    (idx, num_traces),
                );
            }
        }
    }
    for (trace, color) in model.traces.iter().zip(TRACE_COLORS) {
        if !trace.peak_db.is_empty() {
            let peak_color = if num_traces == 1 {
                PEAK
            } else {
                color.gamma_multiply(0.7)
            };
            let points = curve_points(plot, model, model.freqs_hz, trace.peak_db);
            plot_painter.add(Shape::line(points, Stroke::new(1.0, peak_color)));
        }
    }
    if num_traces > 1 || model.reference.is_some() {
        draw_legend(&painter, plot, model);
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
        level_db: model
            .traces
            .first()
            .and_then(|trace| level_at(model.freqs_hz, trace.levels_db, freq_hz)),
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

/// The legend in the plot's top-left corner: a swatch and a name per trace, then the reference.
fn draw_legend(painter: &egui::Painter, plot: Rect, model: &AnalyzerViewModel<'_>) {
    let font = FontId::proportional(LABEL_FONT_SIZE + 1.0);
    let entries = model
        .traces
        .iter()
        .zip(TRACE_COLORS)
        .map(|(trace, color)| (trace.name, color))
        .chain(
            model
                .reference
                .map(|_| ("Reference", REFERENCE.gamma_multiply(0.55))),
        );
    let mut pos = plot.left_top() + vec2(8.0, 8.0);
    for (name, color) in entries {
        let galley = painter.layout_no_wrap(name.to_owned(), font.clone(), LABEL);
        let row = Rect::from_min_size(pos, vec2(18.0 + galley.size().x, galley.size().y));
        painter.rect_filled(row.expand(2.0), 2.0, BACKGROUND.gamma_multiply(0.85));
        painter.hline(
            pos.x..=pos.x + 12.0,
            painter.round_to_pixel_center(row.center().y),
            Stroke::new(3.0, color),
        );
        painter.galley(pos + vec2(18.0, 0.0), galley, LABEL);
        pos.y += row.height() + 4.0;
    }
}

/// Screen points of `levels_db` over `freqs_hz`, y clamped to the plot so a floor of silence
/// stays visible along the bottom edge.
fn curve_points(
    plot: Rect,
    model: &AnalyzerViewModel<'_>,
    freqs_hz: &[f32],
    levels_db: &[f32],
) -> Vec<Pos2> {
    freqs_hz
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

fn draw_filled(
    painter: &egui::Painter,
    plot: Rect,
    model: &AnalyzerViewModel<'_>,
    trace: &TraceView<'_>,
    color: Color32,
    num_traces: usize,
) {
    let points = curve_points(plot, model, model.freqs_hz, trace.levels_db);
    if points.len() < 2 {
        return;
    }
    // The area under a spectrum is not convex, so it is a strip of quads down to the floor rather
    // than a filled path (egui fills convex paths only). Two traces fill fainter, so both read.
    let strength = if num_traces > 1 { 0.5 } else { 1.0 };
    let mut fill = Mesh::default();
    fill.reserve_vertices(points.len() * 2);
    fill.reserve_triangles((points.len() - 1) * 2);
    let top_color = color.gamma_multiply(0.45 * strength);
    let bottom_color = color.gamma_multiply(0.08 * strength);
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
    painter.add(Shape::line(points, Stroke::new(1.5, color)));
}

/// The level of each band: the highest the trace reaches between the band's edges (a peak-reading
/// band display: a tone reads its level in its band, as on the curve), or the curve's level at
/// the midband when no analysis band falls inside. Returns `(lower, upper, level)` per band.
pub fn band_levels(
    freqs_hz: &[f32],
    levels_db: &[f32],
    width: BandWidth,
    freq_axis: FreqAxis,
) -> Vec<(f32, f32, f32)> {
    width
        .bands(freq_axis.min_hz, freq_axis.max_hz)
        .into_iter()
        .filter_map(|[lower, midband, upper]| {
            let inside = freqs_hz
                .iter()
                .zip(levels_db)
                .filter(|(f, _)| (lower..upper).contains(*f))
                .map(|(_, &level)| level)
                .reduce(f32::max);
            inside
                .or_else(|| level_at(freqs_hz, levels_db, midband))
                .map(|level| (lower, upper, level))
        })
        .collect()
}

/// Outlined bars, one per band; two traces share each band side by side (`slot` = which of how
/// many).
fn draw_bands(
    painter: &egui::Painter,
    plot: Rect,
    model: &AnalyzerViewModel<'_>,
    trace: &TraceView<'_>,
    color: Color32,
    width: BandWidth,
    (slot_idx, num_slots): (usize, usize),
) {
    let mut fill = Mesh::default();
    let mut outlines = Vec::new();
    for (lower, upper, level_db) in
        band_levels(model.freqs_hz, trace.levels_db, width, model.freq_axis)
    {
        let x = |f: f32| plot.left() + model.freq_axis.fraction_of(f) * plot.width();
        let (left, right) = (x(lower), x(upper));
        let slot_width = (right - left) / num_slots as f32;
        let gap = (slot_width * 0.12).min(3.0);
        let left = left + slot_width * slot_idx as f32 + gap / 2.0;
        let right = left + slot_width - gap;
        let top = plot.top() + model.db_axis.fraction_of(level_db).clamp(0.0, 1.0) * plot.height();
        let bar = Rect::from_min_max(pos2(left, top), pos2(right, plot.bottom()));
        fill.add_colored_rect(bar, color.gamma_multiply(0.35));
        outlines.push(Shape::rect_stroke(
            bar,
            0.0,
            Stroke::new(1.0, color),
            egui::StrokeKind::Inside,
        ));
    }
    painter.add(fill);
    painter.extend(outlines);
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
        let traces = [TraceView {
            name: "Sum",
            levels_db: &[-60.0, 0.0],
            peak_db: &[],
        }];
        let model = AnalyzerViewModel {
            freqs_hz: &[20.0, 20_000.0],
            traces: &traces,
            reference: None,
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

    /// The base-10 bands of IEC 61260-1: the exact midbands round to the nominal ones of its
    /// Annex E (16, 1000, 16 000 Hz octaves; 20, 20 000 Hz thirds), an octave's edges are
    /// G^(±1/2) around its midband, 1/6-octave midbands sit between the thirds, and a band is
    /// drawn when it reaches into the visible range.
    #[test]
    fn bands_follow_iec_61260_base_10() {
        let octaves = BandWidth::Octave.bands(20.0, 20_000.0);
        let midbands: Vec<f32> = octaves.iter().map(|band| band[1]).collect();
        assert_eq!(midbands.len(), 11, "{midbands:?}");
        assert!((midbands[0] - 15.849).abs() < 0.01, "{midbands:?}");
        assert!((midbands[6] - 1000.0).abs() < 1e-3);
        assert!((midbands[10] - 15_849.0).abs() < 1.0);
        let [lower, midband, upper] = octaves[6];
        assert!((lower - 707.95).abs() < 0.01 && (upper - 1412.5).abs() < 0.1);
        assert!((upper / lower - 10f32.powf(0.3)).abs() < 1e-4 && midband == 1000.0);
        let thirds = BandWidth::Third.bands(20.0, 20_000.0);
        assert_eq!(thirds.len(), 31);
        assert!((thirds[0][1] - 19.953).abs() < 0.01 && (thirds[30][1] - 19_953.0).abs() < 1.0);
        let sixths = BandWidth::Sixth.bands(900.0, 1200.0);
        let sixth_midbands: Vec<f32> = sixths.iter().map(|band| band[1]).collect();
        assert_eq!(sixth_midbands.len(), 3, "{sixth_midbands:?}");
        assert!((sixth_midbands[0] - 944.06).abs() < 0.01);
        assert!((sixth_midbands[1] - 1059.25).abs() < 0.01);
        assert!(
            (sixths[0][2] - 1000.0).abs() < 0.01,
            "1/6 edges meet at 1 kHz"
        );
    }

    /// A band reads the highest level inside its edges: a tone shows at its own level.
    #[test]
    fn band_reads_the_loudest_level_inside_it() {
        let freqs_hz = [900.0, 1000.0, 1100.0, 2000.0];
        let levels_db = [-40.0, -6.0, -30.0, -50.0];
        let axis = FreqAxis {
            min_hz: 710.0,
            max_hz: 2100.0,
        };
        let bands = band_levels(&freqs_hz, &levels_db, BandWidth::Octave, axis);
        assert_eq!(bands.len(), 2);
        assert_eq!(bands[0].2, -6.0);
        assert_eq!(bands[1].2, -50.0);
    }
}
