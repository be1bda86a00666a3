//! GUI thread: the guide preview and the live pie / polar views. All of them draw through
//! [`crate::render::Renderer`], the writer's own code, and show its [`Image`] as an egui texture,
//! so the preview is byte for byte the frame the writer would write.

use egui::{Color32, ColorImage, TextureHandle, TextureOptions, Ui, Vec2};

use crate::analysis::MAX_BINS;
use crate::render::{ColorType, Image, RenderError, RenderSettings, Renderer};

/// A renderer kept across repaints (rebuilt only when its settings change) and the texture its
/// last image was uploaded to.
#[derive(Default)]
pub struct RenderedView {
    /// Made on first use and whenever the settings differ from its own.
    renderer: Option<Renderer>,
    /// The last uploaded image; egui frees it when the handle drops.
    texture: Option<TextureHandle>,
    /// Why the last settings could not be rendered, shown instead of the image.
    error: Option<String>,
    /// The frame index and bins of the uploaded image: the same input is not rendered twice.
    last_frame_idx: u64,
    last_bins: Vec<f32>,
    /// Counts the images rendered: Live offers an image once.
    num_renders: u64,
}

impl RenderedView {
    /// Renders `unit_bins` with `settings` and uploads the image, unless that exact input is
    /// already on screen (a frozen or silent spectrum costs nothing per repaint). Settings the
    /// renderer refuses leave an error for [`Self::show`].
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        name: &str,
        settings: &RenderSettings,
        frame_idx: u64,
        unit_bins: &[f32],
    ) {
        let is_same_settings = self.renderer.as_ref().map(Renderer::settings) == Some(settings);
        if is_same_settings
            && self.texture.is_some()
            && self.last_frame_idx == frame_idx
            && self.last_bins == unit_bins
        {
            return;
        }
        if !is_same_settings {
            match Renderer::new(settings) {
                Ok(renderer) => {
                    self.renderer = Some(renderer);
                    self.error = None;
                }
                Err(err) => {
                    self.renderer = None;
                    self.error = Some(render_error_text(&err));
                    return;
                }
            }
        }
        let Some(renderer) = self.renderer.as_mut() else {
            return;
        };
        let color_image = to_color_image(renderer.render(frame_idx, unit_bins));
        self.num_renders += 1;
        self.last_frame_idx = frame_idx;
        self.last_bins.clear();
        self.last_bins.extend_from_slice(unit_bins);
        match &mut self.texture {
            Some(texture) => texture.set(color_image, TextureOptions::LINEAR),
            None => {
                self.texture = Some(ctx.load_texture(name, color_image, TextureOptions::LINEAR));
            }
        }
    }

    /// The last image rendered, its frame index and how many images were rendered before it and
    /// it; `None` before the first or when the settings cannot be rendered.
    pub fn image(&self) -> Option<(&Image, u64, u64)> {
        let renderer = self.renderer.as_ref().filter(|_| self.texture.is_some())?;
        Some((renderer.image(), self.last_frame_idx, self.num_renders))
    }

    /// Draws the last image centred in the space left, as large as fits without distortion.
    pub fn show(&self, ui: &mut Ui) {
        if let Some(error) = &self.error {
            ui.colored_label(Color32::from_rgb(255, 96, 96), error);
            return;
        }
        let Some(texture) = &self.texture else {
            return;
        };
        let available = ui.available_size();
        let side = available.x.min(available.y).max(1.0);
        ui.centered_and_justified(|ui| {
            ui.add(egui::Image::new((texture.id(), Vec2::splat(side))));
        });
    }
}

fn render_error_text(err: &RenderError) -> String {
    format!("Cannot render with these settings: {err}")
}

/// The renderer's grey or RGB bytes as an egui image (opaque).
pub fn to_color_image(image: &Image) -> ColorImage {
    let size = [image.width as usize, image.height as usize];
    match image.color {
        ColorType::Grey => ColorImage::from_gray(size, &image.pixels),
        ColorType::Rgb => ColorImage::from_rgb(size, &image.pixels),
    }
}

/// Reduces the monitor's dB bands to `num_bins` guide values in 0..1 the way the `Default` preset
/// maps levels: each guide bin takes the loudest monitor band it covers (both sets are log-spaced
/// over the same range), and `floor_db..0 dB` maps to `0..1`.
pub fn unit_bins_from_db(levels_db: &[f32], num_bins: usize, floor_db: f32, out: &mut Vec<f32>) {
    out.clear();
    let num_bins = num_bins.min(MAX_BINS);
    if levels_db.is_empty() || num_bins == 0 {
        return;
    }
    out.extend((0..num_bins).map(|i| {
        let start = i * levels_db.len() / num_bins;
        let end = ((i + 1) * levels_db.len() / num_bins).max(start + 1);
        let level_db = levels_db[start..end.min(levels_db.len())]
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        ((level_db - floor_db) / -floor_db).clamp(0.0, 1.0)
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two monitor bands per guide bin: the louder one wins, and the floor..0 dB span maps to 0..1.
    #[test]
    fn monitor_levels_reduce_to_unit_bins() {
        let levels_db = [-90.0, -45.0, 0.0, -120.0, 10.0, -60.0];
        let mut out = Vec::new();
        unit_bins_from_db(&levels_db, 3, -90.0, &mut out);
        assert_eq!(out, [0.5, 1.0, 1.0]);
        unit_bins_from_db(&levels_db, 6, -90.0, &mut out);
        assert_eq!(out, [0.0, 0.5, 1.0, 0.0, 1.0, 1.0 / 3.0]);
        unit_bins_from_db(&[], 256, -90.0, &mut out);
        assert!(out.is_empty());
    }
}
