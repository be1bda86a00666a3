//! GUI thread: the meter strip under the analyzer, a function of the meters' readings: sample
//! peak, true peak and RMS per channel with live bars, loudness (momentary, short-term,
//! integrated) with its Reset, and stereo correlation.

use egui::{Color32, Rect, RichText, Sense, Stroke, Ui, pos2, vec2};

use super::analyzer_view::BACKGROUND;
use super::meters::MeterReadings;

/// The strip's height in points (two rows).
pub const HEIGHT: f32 = 46.0;
/// The level bars span this range, in dBFS.
const BAR_MIN_DB: f32 = -60.0;
const BAR_WIDTH: f32 = 60.0;
const BAR_GREEN: Color32 = Color32::from_rgb(80, 200, 120);
const BAR_AMBER: Color32 = Color32::from_rgb(240, 190, 60);
const BAR_RED: Color32 = Color32::from_rgb(255, 80, 80);

/// `-20.0`, `-inf` for silence, `–` for no reading.
pub fn format_db(value: Option<f32>) -> String {
    match value {
        Some(db) if db.is_finite() => format!("{db:.1}"),
        Some(_) => "-inf".to_owned(),
        None => "–".to_owned(),
    }
}

/// Draws the strip; returns whether Reset was clicked. Without readings (no stream yet) it says
/// it is waiting.
pub fn meter_strip(ui: &mut Ui, readings: Option<&MeterReadings>) -> bool {
    let Some(readings) = readings else {
        ui.label(RichText::new("Meters wait for audio").weak());
        return false;
    };
    let channels: &[(usize, &str)] = if readings.num_channels == 1 {
        &[(0, "M")]
    } else {
        &[(0, "L"), (1, "R")]
    };
    let mut is_reset = false;
    egui::Grid::new("meter-strip")
        .num_columns(4)
        .spacing([8.0, 2.0])
        .show(ui, |ui| {
            for (row_idx, &(ch, name)) in channels.iter().enumerate() {
                level_bar(ui, name, readings.live_peak_db[ch], readings.rms_db[ch]);
                ui.monospace(format!(
                    "Peak {:>5} TP {:>5} RMS {:>5}",
                    format_db(Some(readings.sample_peak_db[ch])),
                    format_db(Some(readings.true_peak_db[ch])),
                    format_db(Some(readings.rms_db[ch])),
                ))
                .on_hover_text(
                    "Highest sample peak and true peak (4× oversampled, BS.1770-4) since Reset, \
                     dBFS; RMS over 300 ms (a full-scale sine reads -3.0)",
                );
                if row_idx == 0 {
                    ui.monospace(format!(
                        "M {:>5}  S {:>5}",
                        format_db(readings.momentary_lufs),
                        format_db(readings.short_term_lufs),
                    ))
                    .on_hover_text("Loudness, LUFS (EBU R128): momentary 400 ms, short-term 3 s");
                    ui.horizontal(|ui| {
                        ui.monospace(match readings.correlation {
                            // `+.2` would print a tiny negative value as "-0.00".
                            Some(correlation) if correlation.abs() < 0.005 => {
                                "Corr +0.00".to_owned()
                            }
                            Some(correlation) => format!("Corr {correlation:+.2}"),
                            None => "Corr   –  ".to_owned(),
                        })
                        .on_hover_text(
                            "Stereo correlation over 300 ms: +1 mono, 0 unrelated, -1 out of phase",
                        );
                        correlation_bar(ui, readings.correlation);
                    });
                } else {
                    ui.monospace(format!("I {:>5} LUFS", format_db(readings.integrated_lufs)))
                        .on_hover_text("Integrated (gated) loudness since Reset");
                    is_reset = reset_button(ui);
                }
                ui.end_row();
            }
            if channels.len() == 1 {
                ui.label("");
                ui.label("");
                ui.monospace(format!("I {:>5} LUFS", format_db(readings.integrated_lufs)))
                    .on_hover_text("Integrated (gated) loudness since Reset");
                is_reset = reset_button(ui);
                ui.end_row();
            }
        });
    is_reset
}

fn reset_button(ui: &mut Ui) -> bool {
    ui.small_button("Reset")
        .on_hover_text("Restart the peaks and the integrated loudness")
        .clicked()
}

/// One channel's bar: RMS filled, the live peak as a bright tick, -60..0 dBFS.
fn level_bar(ui: &mut Ui, name: &str, peak_db: f32, rms_db: f32) {
    ui.horizontal(|ui| {
        ui.monospace(name);
        let (rect, _) = ui.allocate_exact_size(vec2(BAR_WIDTH, 10.0), Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 1.0, BACKGROUND);
        let x = |db: f32| {
            let fraction = ((db - BAR_MIN_DB) / -BAR_MIN_DB).clamp(0.0, 1.0);
            rect.left() + fraction * rect.width()
        };
        let color = if peak_db >= -0.1 {
            BAR_RED
        } else if peak_db >= -6.0 {
            BAR_AMBER
        } else {
            BAR_GREEN
        };
        if rms_db.is_finite() {
            painter.rect_filled(
                Rect::from_min_max(rect.left_top(), pos2(x(rms_db), rect.bottom())),
                1.0,
                color.gamma_multiply(0.7),
            );
        }
        if peak_db.is_finite() && peak_db > BAR_MIN_DB {
            painter.vline(x(peak_db), rect.y_range(), Stroke::new(2.0, color));
        }
    });
}

/// −1..+1 with the centre marked; the reading is a tick, red below zero.
fn correlation_bar(ui: &mut Ui, correlation: Option<f32>) {
    let (rect, _) = ui.allocate_exact_size(vec2(BAR_WIDTH * 0.6, 10.0), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 1.0, BACKGROUND);
    painter.vline(
        rect.center().x,
        rect.y_range(),
        Stroke::new(1.0, Color32::GRAY),
    );
    if let Some(correlation) = correlation {
        let x = rect.center().x + correlation * rect.width() / 2.0;
        let color = if correlation < 0.0 {
            BAR_RED
        } else {
            BAR_GREEN
        };
        painter.vline(x, rect.y_range(), Stroke::new(3.0, color));
    }
}
