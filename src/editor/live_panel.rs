//! GUI thread: Live, img2img of the guide while the editor is open. [`LiveLink`] is the editor's
//! end of `diffuse::live`'s loop: it (re)starts the loop when the connection settings change,
//! offers each newly rendered guide, and stops the loop when Live is turned off or the editor
//! closes. The panel edits the settings (saved with the plugin's state); the Live tab shows the
//! guide and the newest picture side by side with the loop's numbers.
//!
//! A stopped loop finishes the requests it has in flight on its own threads and sends nothing
//! more; it is joined once it has finished (looked at every repaint), or when the editor is
//! dropped, so a slow server never holds up the GUI.

use std::time::{Duration, Instant};

use egui::{
    Color32, ColorImage, ComboBox, Grid, RichText, TextureHandle, TextureOptions, Ui, Vec2,
};

use crate::diffuse::BackendKind;
use crate::diffuse::FrameSettings;
use crate::diffuse::live::{LiveLoop, LiveSize, LiveStatus, MAX_IN_FLIGHT};
use crate::params::PluginParams;
use crate::render::Image;
use crate::take::NUM_MACROS;

use super::panels::ERROR_RED;

const FIELD_WIDTH: f32 = 170.0;

/// The editor's end of the Live loop.
#[derive(Default)]
pub struct LiveLink {
    running: Option<LiveLoop>,
    /// Stopped loops whose requests in flight are not answered yet.
    stopping: Vec<LiveLoop>,
    /// Which rendered image was offered last (its render count) and with what: each image is
    /// offered once.
    offered: Option<(u64, Offered)>,
}

/// The per-frame settings an image was offered with.
#[derive(Debug, Clone, PartialEq)]
struct Offered {
    settings: FrameSettings,
    min_interval: Duration,
}

/// The guide Live sends: the rendered image, its timeline frame, and how many images its view had
/// rendered (a new count is a new image).
#[derive(Debug, Clone, Copy)]
pub struct LiveGuide<'a> {
    pub image: &'a Image,
    pub frame_idx: u64,
    pub num_renders: u64,
}

impl LiveLink {
    /// The running loop's newest status; `None` while Live is off.
    pub fn status(&mut self) -> Option<&LiveStatus> {
        self.running.as_mut().map(LiveLoop::status)
    }

    /// After a repaint: starts, restarts or stops the loop to match `params.live`, and offers
    /// `guide` if it is new (or its settings are). Never waits on the network.
    pub fn update(&mut self, params: &PluginParams, guide: Option<LiveGuide<'_>>) {
        self.stopping.retain(|stopped| !stopped.is_finished());
        // Live off: nothing is copied or compared per repaint.
        let settings = match params.live.read() {
            Ok(settings) if settings.is_on => settings.clone(),
            _ => return self.stop_running(),
        };
        let config = settings.config(params.image_size.value() as u32);
        if self.running.as_ref().map(LiveLoop::config) != Some(&config) {
            self.stop_running();
            self.running = Some(LiveLoop::start(config));
        }
        let (Some(running), Some(guide)) = (&mut self.running, guide) else {
            return;
        };
        let offered = Offered {
            settings: settings.frame_settings(&params.macro_values()),
            min_interval: settings.min_interval(),
        };
        let is_new = self.offered.as_ref().is_none_or(|(num_renders, last)| {
            *num_renders != guide.num_renders || *last != offered
        });
        if is_new {
            running.offer(
                guide.frame_idx,
                guide.image,
                &offered.settings,
                offered.min_interval,
            );
            self.offered = Some((guide.num_renders, offered));
        }
    }

    /// The editor closed: the loop sends nothing more.
    pub fn close(&mut self) {
        self.stop_running();
    }

    fn stop_running(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop();
            self.stopping.push(running);
        }
        self.offered = None;
    }
}

/// The Live section of the side panel: every setting, edited in place in `params.live`.
pub fn live_settings(ui: &mut Ui, params: &PluginParams, status: Option<&LiveStatus>) {
    let Ok(mut settings) = params.live.read().map(|settings| settings.clone()) else {
        return;
    };
    let before = settings.clone();
    ui.checkbox(&mut settings.is_on, "Live: draw while the editor is open");
    Grid::new("live-settings")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            ui.label("Server");
            ComboBox::from_id_salt("live-backend")
                .selected_text(settings.backend.name())
                .width(FIELD_WIDTH)
                .show_ui(ui, |ui| {
                    for backend in [BackendKind::Comfyui, BackendKind::A1111] {
                        ui.selectable_value(&mut settings.backend, backend, backend.name());
                    }
                });
            ui.end_row();
            ui.label("URLs");
            ui.add(
                egui::TextEdit::singleline(&mut settings.servers)
                    .hint_text(settings.backend.default_server())
                    .desired_width(FIELD_WIDTH),
            )
            .on_hover_text("One or more server URLs, separated by spaces");
            ui.end_row();
            if settings.backend == BackendKind::Comfyui {
                text_row(ui, "Checkpoint", &mut settings.checkpoint, "v1-5-pruned-emaonly.safetensors");
                text_row(ui, "Workflow", &mut settings.workflow, "built-in img2img");
            }
            text_row(ui, "Prompt", &mut settings.prompt, "what to draw");
            text_row(ui, "Negative", &mut settings.negative, "what not to draw");
            ui.label("Denoise");
            ui.horizontal(|ui| {
                ui.add_enabled(
                    settings.denoise_macro.is_none(),
                    egui::DragValue::new(&mut settings.denoise)
                        .range(0.0..=1.0)
                        .speed(0.01)
                        .fixed_decimals(2),
                );
                ComboBox::from_id_salt("live-denoise-macro")
                    .selected_text(settings.denoise_macro.map_or("fixed".to_owned(), |n| format!("Macro {n}")))
                    .width(80.0)
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut settings.denoise_macro, None, "fixed");
                        for number in 1..=NUM_MACROS as u8 {
                            ui.selectable_value(
                                &mut settings.denoise_macro,
                                Some(number),
                                format!("Macro {number}"),
                            );
                        }
                    });
            });
            ui.end_row();
            ui.label("Seed");
            ui.add(egui::DragValue::new(&mut settings.seed));
            ui.end_row();
            ui.label("Steps");
            ui.add(egui::DragValue::new(&mut settings.steps).range(1..=150));
            ui.end_row();
            ui.label("CFG");
            ui.add(
                egui::DragValue::new(&mut settings.cfg)
                    .range(0.0..=30.0)
                    .speed(0.1)
                    .fixed_decimals(1),
            );
            ui.end_row();
            ui.label("Size");
            ComboBox::from_id_salt("live-size")
                .selected_text(settings.size.name())
                .width(FIELD_WIDTH)
                .show_ui(ui, |ui| {
                    for size in LiveSize::ALL {
                        ui.selectable_value(&mut settings.size, size, size.name());
                    }
                });
            ui.end_row();
            ui.label("Max rate");
            ui.add(
                egui::DragValue::new(&mut settings.max_fps)
                    .range(0.1..=60.0)
                    .speed(0.1)
                    .suffix(" fps"),
            );
            ui.end_row();
            ui.label("In flight");
            ui.add(egui::DragValue::new(&mut settings.in_flight).range(1..=MAX_IN_FLIGHT))
                .on_hover_text("Frames each server holds at once: 1 shows the freshest pictures, 2 keeps the server busy");
            ui.end_row();
        });
    if let Some(status) = status {
        status_lines(ui, status);
    }
    if settings != before
        && let Ok(mut saved) = params.live.write()
    {
        *saved = settings;
    }
}

fn text_row(ui: &mut Ui, label: &str, text: &mut String, hint: &str) {
    ui.label(label);
    ui.add(
        egui::TextEdit::singleline(text)
            .hint_text(hint)
            .desired_width(FIELD_WIDTH),
    );
    ui.end_row();
}

/// The loop's numbers and each server's error, as the panel and the Live tab show them.
pub fn status_lines(ui: &mut Ui, status: &LiveStatus) {
    ui.label(RichText::new(numbers_line(status)).monospace().small());
    ui.label(
        RichText::new(format!(
            "sent {} · drawn {} · skipped {} (stale guides)",
            status.num_sent, status.num_drawn, status.num_skipped
        ))
        .small()
        .weak(),
    );
    if let Some(error) = &status.setup_error {
        ui.colored_label(ERROR_RED, error);
    }
    let now = Instant::now();
    for server in &status.servers {
        if let Some(error) = &server.error {
            let retry = server
                .retry_at
                .map(|at| at.saturating_duration_since(now).as_secs_f32())
                .filter(|&s| s > 0.0)
                .map_or(String::new(), |s| format!(" (retrying in {s:.0} s)"));
            ui.colored_label(ERROR_RED, format!("{error}{retry}"));
        }
    }
}

/// "round trip 812 ms · queue 0 ms · server 640 ms · overhead 172 ms · 1.2 pictures/s".
pub fn numbers_line(status: &LiveStatus) -> String {
    let ms = |duration: Option<Duration>| {
        duration.map_or("–".to_owned(), |d| {
            format!("{:.0} ms", d.as_secs_f64() * 1000.0)
        })
    };
    let server = if status.reports_execution {
        let queue = status.queued.map_or(String::new(), |queued| {
            format!("queue {} · ", ms(Some(queued)))
        });
        format!(
            "{queue}server {} · overhead {}",
            ms(status.execution),
            ms(status.overhead())
        )
    } else {
        "server time: not reported by A1111".to_owned()
    };
    let rate = match status.pictures_per_s {
        rate if rate >= 1.0 => format!("{rate:.1} pictures/s"),
        rate if rate > 0.0 => format!("a picture every {:.1} s", 1.0 / rate),
        _ => "0 pictures/s".to_owned(),
    };
    format!("round trip {} · {server} · {rate}", ms(status.round_trip))
}

/// The newest picture's texture, uploaded when a new picture arrives.
#[derive(Default)]
pub struct PictureView {
    texture: Option<(u64, TextureHandle)>,
}

impl PictureView {
    pub fn update(&mut self, ctx: &egui::Context, status: Option<&LiveStatus>) {
        let Some(picture) = status.and_then(|status| status.picture.as_ref()) else {
            return;
        };
        if self
            .texture
            .as_ref()
            .is_some_and(|(index, _)| *index == picture.index)
        {
            return;
        }
        let image = ColorImage::from_rgb(
            [picture.width as usize, picture.height as usize],
            &picture.rgb,
        );
        match &mut self.texture {
            Some((index, texture)) => {
                texture.set(image, TextureOptions::LINEAR);
                *index = picture.index;
            }
            None => {
                let texture = ctx.load_texture("live-picture", image, TextureOptions::LINEAR);
                self.texture = Some((picture.index, texture));
            }
        }
    }

    /// The picture in a square of `side` points, or a note of what Live waits for.
    pub fn show(&self, ui: &mut Ui, side: f32, status: Option<&LiveStatus>) {
        match (&self.texture, status) {
            (Some((_, texture)), Some(_)) => {
                ui.add(egui::Image::new((texture.id(), Vec2::splat(side))));
            }
            (_, None) => {
                placeholder(ui, side, "Live is off: turn it on in the Live section");
            }
            (None, Some(_)) => {
                placeholder(ui, side, "Waiting for the server's first picture…");
            }
        }
    }
}

fn placeholder(ui: &mut Ui, side: f32, text: &str) {
    let (rect, _) = ui.allocate_exact_size(Vec2::splat(side), egui::Sense::hover());
    ui.painter().rect_filled(rect, 4.0, Color32::from_gray(24));
    ui.painter().text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        text,
        egui::FontId::proportional(13.0),
        Color32::from_gray(160),
    );
}
