//! GUI thread: the side panels. Analyzer controls, guide-frame settings and the recorder panel,
//! each a function of the parameters (read directly, written through the host's `ParamSetter` so
//! automation and undo see every change) and, for the recorder, its shared status.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use egui::{Color32, ComboBox, Grid, RichText, Ui};
use nice_plug::prelude::{BoolParam, Enum, EnumParam, Param, ParamSetter};
use nice_plug_egui::widgets::ParamSlider;

use crate::clock::timecode;
use crate::handoff::{RecorderStatus, TakeState};
use crate::params::PluginParams;

use super::analyzer_view::{BandWidth, CurveStyle};

/// The red of errors; readable on the dark theme.
pub const ERROR_RED: Color32 = Color32::from_rgb(255, 96, 96);
const SLIDER_WIDTH: f32 = 120.0;

/// Editor-only analyzer settings: they change how the live view looks, never what is analysed
/// or recorded, so they are not host parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewSettings {
    /// Filled curve or octave-band bars.
    pub style: CurveStyle,
    /// How long a new peak stays before it starts to fall, in seconds.
    pub peak_hold_s: f32,
}

impl Default for ViewSettings {
    fn default() -> Self {
        Self {
            style: CurveStyle::Filled,
            peak_hold_s: 1.0,
        }
    }
}

/// A combo box over an enum parameter's variants.
pub fn param_combo<T: Enum + PartialEq + 'static>(
    ui: &mut Ui,
    setter: &ParamSetter,
    param: &EnumParam<T>,
) {
    let current = param.value().to_index();
    ComboBox::from_id_salt(param.name())
        .selected_text(T::variants()[current])
        .width(SLIDER_WIDTH)
        .show_ui(ui, |ui| {
            for (idx, name) in T::variants().iter().enumerate() {
                if ui.selectable_label(idx == current, *name).clicked() && idx != current {
                    setter.begin_set_parameter(param);
                    setter.set_parameter(param, T::from_index(idx));
                    setter.end_set_parameter(param);
                }
            }
        });
}

/// A checkbox over a boolean parameter, labelled with the parameter's name.
pub fn param_toggle(ui: &mut Ui, setter: &ParamSetter, param: &BoolParam) {
    let mut value = param.value();
    if ui.checkbox(&mut value, param.name()).changed() {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, value);
        setter.end_set_parameter(param);
    }
}

fn param_slider<P: Param>(ui: &mut Ui, setter: &ParamSetter, param: &P) {
    ui.add(ParamSlider::for_param(param, setter).with_width(SLIDER_WIDTH));
}

/// One labelled row of a settings grid.
fn row(ui: &mut Ui, label: &str, add: impl FnOnce(&mut Ui)) {
    ui.label(label);
    add(ui);
    ui.end_row();
}

/// The analyzer's styles: the curve, or 1/1, 1/3 or 1/6-octave band bars.
pub fn style_buttons(ui: &mut Ui, style: &mut CurveStyle) {
    ui.selectable_value(style, CurveStyle::Filled, "Curve")
        .on_hover_text("The spectrum as a filled curve");
    for width in [BandWidth::Octave, BandWidth::Third, BandWidth::Sixth] {
        ui.selectable_value(style, CurveStyle::Bands(width), width.label())
            .on_hover_text(format!(
                "Bars of {} octave (IEC 61260-1 bands, base 10), each at the highest level in its band",
                width.label()
            ));
    }
}

/// FFT size, overlap, window, averaging, slope, peak hold, ranges. (Channels, style and freeze
/// sit in the analyzer's toolbar.)
pub fn analyzer_controls(
    ui: &mut Ui,
    params: &PluginParams,
    setter: &ParamSetter,
    view: &mut ViewSettings,
) {
    Grid::new("analyzer-controls")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            row(ui, "FFT size", |ui| {
                param_combo(ui, setter, &params.fft_size)
            });
            row(ui, "Overlap", |ui| param_combo(ui, setter, &params.overlap));
            row(ui, "Window", |ui| param_combo(ui, setter, &params.window));
            row(ui, "Averaging", |ui| {
                param_slider(ui, setter, &params.decay_ms)
            });
            row(ui, "Slope", |ui| param_combo(ui, setter, &params.slope));
            row(ui, "Peaks", |ui| {
                param_toggle(ui, setter, &params.peak_hold)
            });
            row(ui, "Peak hold", |ui| {
                ui.add(
                    egui::Slider::new(&mut view.peak_hold_s, 0.0..=10.0)
                        .suffix(" s")
                        .max_decimals(1),
                );
            });
            row(ui, "Peak fall", |ui| {
                param_slider(ui, setter, &params.peak_fall_db_per_s)
            });
            row(ui, "Low", |ui| {
                param_slider(ui, setter, &params.min_freq_hz)
            });
            row(ui, "High", |ui| {
                param_slider(ui, setter, &params.max_freq_hz)
            });
            row(ui, "Floor", |ui| param_slider(ui, setter, &params.min_db));
            row(ui, "Ceiling", |ui| param_slider(ui, setter, &params.max_db));
        });
}

/// View, image size, noise, the post chain: everything that decides a written frame's bytes.
pub fn guide_settings(ui: &mut Ui, params: &PluginParams, setter: &ParamSetter) {
    Grid::new("guide-settings")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            row(ui, "View", |ui| param_combo(ui, setter, &params.view));
            row(ui, "Palette", |ui| param_combo(ui, setter, &params.palette));
            row(ui, "Preset", |ui| param_combo(ui, setter, &params.preset));
            row(ui, "Frame rate", |ui| param_combo(ui, setter, &params.fps));
            row(ui, "Image size", |ui| {
                param_slider(ui, setter, &params.image_size)
            });
            row(ui, "Noise", |ui| {
                param_slider(ui, setter, &params.noise_amount)
            });
            row(ui, "Noise seed", |ui| {
                param_slider(ui, setter, &params.noise_seed)
            });
            row(ui, "", |ui| {
                param_toggle(ui, setter, &params.noise_per_frame)
            });
            row(ui, "", |ui| param_toggle(ui, setter, &params.blur));
            row(ui, "Blur σ", |ui| {
                param_slider(ui, setter, &params.blur_sigma)
            });
            row(ui, "", |ui| param_toggle(ui, setter, &params.desaturate));
            row(ui, "", |ui| param_toggle(ui, setter, &params.invert));
            row(ui, "", |ui| param_toggle(ui, setter, &params.autocontrast));
            row(ui, "Cutoff", |ui| {
                param_slider(ui, setter, &params.autocontrast_cutoff_pct)
            });
            row(ui, "", |ui| param_toggle(ui, setter, &params.equalize));
        });
}

/// Folder, armed, take state, frame index and time code, counters, and the last error.
/// `folder_text` is the text field's buffer; it is written to the persisted folder as it changes.
/// Returns whether "Clear" was clicked (offered only between takes). `opener` is the file
/// manager "Reveal" starts (see [`file_opener`]); without one, Reveal is greyed out.
pub fn recorder_panel(
    ui: &mut Ui,
    params: &PluginParams,
    setter: &ParamSetter,
    status: &RecorderStatus,
    folder_text: &mut String,
    opener: Option<&Path>,
) -> bool {
    let take_state = status.take_state();
    let mut is_clear_clicked = false;
    ui.horizontal(|ui| {
        ui.label("Folder");
        let response = ui.add(
            egui::TextEdit::singleline(folder_text)
                .hint_text(crate::take::default_folder().display().to_string())
                .desired_width(ui.available_width() - 110.0),
        );
        if response.changed()
            && let Ok(mut folder) = params.output_folder.write()
        {
            folder.clone_from(folder_text);
            params.folder_generation.fetch_add(1, Ordering::Release);
        }
        if ui
            .add_enabled(opener.is_some(), egui::Button::new("Reveal"))
            .on_hover_text("Open the folder this instance writes into")
            .on_disabled_hover_text(format!(
                "No file manager to open it with: `{OPENER}` is not on the PATH"
            ))
            .clicked()
            && let Some(opener) = opener
        {
            reveal(
                opener,
                &last_dir(status).unwrap_or_else(|| params.out_dir()),
            );
        }
        let is_between_takes = !matches!(take_state, TakeState::Rolling | TakeState::Writing);
        is_clear_clicked = ui
            .add_enabled(is_between_takes, egui::Button::new("Clear"))
            .on_hover_text("Remove this instance's frames, CSV and manifest; other files stay")
            .on_disabled_hover_text("Not while a take is recording")
            .clicked();
    });
    ui.label(
        RichText::new(format!("Writes to {}", params.out_dir().display()))
            .small()
            .weak(),
    );
    if let Some(dir) = last_dir(status).filter(|dir| *dir != params.out_dir()) {
        ui.label(
            RichText::new(format!("Last take went to {}", dir.display()))
                .small()
                .weak(),
        );
    }
    let notice = status
        .folder_notice
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    if !notice.is_empty() {
        ui.label(RichText::new(notice).small().color(Color32::YELLOW));
    }

    ui.horizontal(|ui| {
        param_toggle(ui, setter, &params.armed);
        let (text, color) = match take_state {
            TakeState::Idle if params.armed.value() => ("armed, waiting for play", Color32::YELLOW),
            TakeState::Idle => ("idle", Color32::GRAY),
            TakeState::Rolling => ("rolling", Color32::from_rgb(255, 80, 80)),
            TakeState::Writing => ("writing", Color32::from_rgb(120, 200, 255)),
            TakeState::Error => ("stopped", ERROR_RED),
            TakeState::Preparing => (
                "preparing the recorder's memory: not recording yet",
                Color32::YELLOW,
            ),
        };
        ui.label(RichText::new(text).color(color).strong());
    });

    let frame_idx = status.frame_idx.load(Ordering::Relaxed);
    Grid::new("recorder-status")
        .num_columns(2)
        .spacing([8.0, 2.0])
        .show(ui, |ui| {
            row(ui, "Take", |ui| {
                ui.monospace(status.take_idx.load(Ordering::Relaxed).to_string());
            });
            row(ui, "Frame", |ui| {
                let text = match u64::try_from(frame_idx) {
                    Ok(idx) => format!("{idx}  {}", timecode(idx, params.frame_rate())),
                    Err(_) => "–".to_owned(),
                };
                ui.monospace(text);
            });
            row(ui, "Written", |ui| {
                ui.monospace(
                    status
                        .num_frames_written
                        .load(Ordering::Relaxed)
                        .to_string(),
                );
            });
            row(ui, "Queued", |ui| {
                ui.monospace(status.num_frames_queued.load(Ordering::Relaxed).to_string());
            });
            row(ui, "Dropped", |ui| {
                let num_dropped = status.num_frames_dropped.load(Ordering::Relaxed);
                let text = RichText::new(num_dropped.to_string()).monospace();
                ui.label(if num_dropped > 0 {
                    text.color(ERROR_RED)
                } else {
                    text
                });
            });
        });
    if let Some(error) = status.error() {
        ui.label(RichText::new(error).color(ERROR_RED));
    }
    is_clear_clicked
}

/// The folder the writer last opened (a numbered one when another instance holds the folder or
/// the guide settings changed), if any.
fn last_dir(status: &RecorderStatus) -> Option<PathBuf> {
    let dir = status.out_dir.lock().map(|s| s.clone()).unwrap_or_default();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// The program that opens a folder in the system's file manager.
const OPENER: &str = if cfg!(target_os = "macos") {
    "open"
} else if cfg!(target_os = "windows") {
    "explorer.exe"
} else {
    "xdg-open"
};

/// The file opener's path, if it is on the PATH; looked up once per process.
pub fn file_opener() -> Option<&'static Path> {
    static OPENER_PATH: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    OPENER_PATH
        .get_or_init(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|dir| dir.join(OPENER))
                .find(|candidate| candidate.is_file())
        })
        .as_deref()
}

/// Opens the system file manager at `dir`, or at its nearest existing parent. Best effort: the
/// opener was found, and a failure to start it is not worth an error dialog.
fn reveal(opener: &Path, dir: &Path) {
    let existing: PathBuf = dir
        .ancestors()
        .find(|path| path.is_dir())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    // Spawned and left running: the file manager outlives this click.
    let _ = std::process::Command::new(opener).arg(existing).spawn();
}
