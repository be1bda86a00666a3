//! Headless egui for the editor's tests and benchmark: runs UI code in a bare `egui::Context` and
//! rasterizes the tessellated meshes on the CPU.
//!
//! There is no GPU here and wgpu's software adapter is not available, so the snapshots go through
//! egui's own tessellator (the very triangles the OpenGL backend would draw) and this small
//! triangle rasterizer: per-vertex colour, bilinear texture sampling, premultiplied-alpha blending
//! in gamma space as egui_glow does, and clip rectangles.

#![allow(dead_code)] // Each test binary and the benchmark use a different part of it.

use std::collections::HashMap;
use std::path::PathBuf;

use egui::epaint::{ClippedPrimitive, Primitive, Vertex};
use egui::{
    Color32, ColorImage, Context, Event, ImageData, Pos2, RawInput, Rect, TextureId, Ui,
    ViewportId, vec2,
};

/// A reusable headless egui context with the textures it has uploaded so far.
pub struct Headless {
    pub ctx: Context,
    textures: HashMap<TextureId, ColorImage>,
}

/// One rendered frame, RGBA8, rows top to bottom.
pub struct Frame {
    pub width: usize,
    pub height: usize,
    pub rgba: Vec<u8>,
}

impl Default for Headless {
    fn default() -> Self {
        Self::new()
    }
}

impl Headless {
    pub fn new() -> Self {
        let ctx = Context::default();
        ctx.set_visuals(egui::Visuals::dark());
        Self {
            ctx,
            textures: HashMap::new(),
        }
    }

    /// Runs one pass of `ui_fn` over a `size_pts` screen at `pixels_per_point`, with the pointer
    /// at `pointer` (in points) if given, and returns the tessellated output.
    pub fn run(
        &mut self,
        size_pts: egui::Vec2,
        pixels_per_point: f32,
        pointer: Option<Pos2>,
        time_s: f64,
        ui_fn: &mut dyn FnMut(&mut Ui),
    ) -> Vec<ClippedPrimitive> {
        let mut input = RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, size_pts)),
            time: Some(time_s),
            ..RawInput::default()
        };
        input
            .viewports
            .entry(ViewportId::ROOT)
            .or_default()
            .native_pixels_per_point = Some(pixels_per_point);
        if let Some(pos) = pointer {
            input.events.push(Event::PointerMoved(pos));
        }
        let mut output = self.ctx.run_ui(input, |ui| ui_fn(ui));
        for (id, deltas) in std::mem::take(&mut output.textures_delta.set) {
            for delta in deltas {
                let ImageData::Color(image) = delta.image;
                match delta.pos {
                    None => {
                        self.textures.insert(id, (*image).clone());
                    }
                    Some([x0, y0]) => {
                        let texture = self
                            .textures
                            .get_mut(&id)
                            .expect("patch of a known texture");
                        for y in 0..image.size[1] {
                            let row = (y0 + y) * texture.size[0];
                            for x in 0..image.size[0] {
                                texture.pixels[row + x0 + x] = image.pixels[y * image.size[0] + x];
                            }
                        }
                    }
                }
            }
        }
        for id in std::mem::take(&mut output.textures_delta.free) {
            self.textures.remove(&id);
        }
        self.ctx.tessellate(output.shapes, output.pixels_per_point)
    }

    /// Runs `ui_fn` twice (egui lays out some widgets in a first pass) and rasterizes the second.
    pub fn render(
        &mut self,
        size_pts: egui::Vec2,
        pixels_per_point: f32,
        pointer: Option<Pos2>,
        ui_fn: &mut dyn FnMut(&mut Ui),
    ) -> Frame {
        let _ = self.run(size_pts, pixels_per_point, pointer, 0.0, ui_fn);
        let primitives = self.run(size_pts, pixels_per_point, pointer, 1.0 / 60.0, ui_fn);
        let width = (size_pts.x * pixels_per_point).round() as usize;
        let height = (size_pts.y * pixels_per_point).round() as usize;
        let mut frame = Frame {
            width,
            height,
            rgba: [0, 0, 0, 255].repeat(width * height),
        };
        for primitive in &primitives {
            let Primitive::Mesh(mesh) = &primitive.primitive else {
                continue;
            };
            let texture = &self.textures[&mesh.texture_id];
            let clip = primitive.clip_rect * pixels_per_point;
            for triangle in mesh.indices.chunks_exact(3) {
                let [a, b, c] = [0, 1, 2].map(|k| &mesh.vertices[triangle[k] as usize]);
                frame.fill_triangle(a, b, c, pixels_per_point, clip, texture);
            }
        }
        frame
    }
}

/// Twice the signed area of (a, b, p); positive when p is on the right of a → b with y down.
fn edge(a: Pos2, b: Pos2, p: Pos2) -> f32 {
    (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
}

/// Whether a pixel centre exactly on edge a → b belongs to this triangle. Two triangles sharing an
/// edge walk it in opposite directions, so exactly one of them takes the pixel: no double blend.
fn owns_edge(a: Pos2, b: Pos2) -> bool {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    dy > 0.0 || (dy == 0.0 && dx < 0.0)
}

fn sample_bilinear(texture: &ColorImage, uv: Pos2) -> [f32; 4] {
    let [w, h] = texture.size;
    let x = (uv.x * w as f32 - 0.5).clamp(0.0, (w - 1) as f32);
    let y = (uv.y * h as f32 - 0.5).clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let texel = |x: usize, y: usize| texture.pixels[y * w + x].to_array().map(f32::from);
    let (t00, t10, t01, t11) = (texel(x0, y0), texel(x1, y0), texel(x0, y1), texel(x1, y1));
    std::array::from_fn(|k| {
        let top = t00[k] + (t10[k] - t00[k]) * fx;
        let bottom = t01[k] + (t11[k] - t01[k]) * fx;
        top + (bottom - top) * fy
    })
}

impl Frame {
    fn fill_triangle(
        &mut self,
        a: &Vertex,
        b: &Vertex,
        c: &Vertex,
        pixels_per_point: f32,
        clip: Rect,
        texture: &ColorImage,
    ) {
        let (mut v0, mut v1, v2) = (a, b, c);
        let mut p =
            [v0.pos, v1.pos, v2.pos].map(|pos| (pos.to_vec2() * pixels_per_point).to_pos2());
        let mut area = edge(p[0], p[1], p[2]);
        if area.abs() < 1e-6 {
            return;
        }
        if area < 0.0 {
            std::mem::swap(&mut v0, &mut v1);
            p.swap(0, 1);
            area = -area;
        }
        let bounds = Rect::from_points(&p)
            .intersect(clip)
            .intersect(Rect::from_min_size(
                Pos2::ZERO,
                vec2(self.width as f32, self.height as f32),
            ));
        if bounds.is_negative() {
            return;
        }
        let colors = [v0, v1, v2].map(|v| v.color.to_array().map(f32::from));
        let owns = [
            owns_edge(p[1], p[2]),
            owns_edge(p[2], p[0]),
            owns_edge(p[0], p[1]),
        ];
        for y in bounds.top().floor() as usize..bounds.bottom().ceil() as usize {
            for x in bounds.left().floor() as usize..bounds.right().ceil() as usize {
                let centre = Pos2::new(x as f32 + 0.5, y as f32 + 0.5);
                if !clip.contains(centre) {
                    continue;
                }
                let w = [
                    edge(p[1], p[2], centre),
                    edge(p[2], p[0], centre),
                    edge(p[0], p[1], centre),
                ];
                if (0..3).any(|k| w[k] < 0.0 || (w[k] == 0.0 && !owns[k])) {
                    continue;
                }
                let l = w.map(|w| w / area);
                let uv = Pos2::new(
                    l[0] * v0.uv.x + l[1] * v1.uv.x + l[2] * v2.uv.x,
                    l[0] * v0.uv.y + l[1] * v1.uv.y + l[2] * v2.uv.y,
                );
                let texel = sample_bilinear(texture, uv);
                let src: [f32; 4] = std::array::from_fn(|k| {
                    let vertex = l[0] * colors[0][k] + l[1] * colors[1][k] + l[2] * colors[2][k];
                    vertex * texel[k] / 255.0
                });
                let idx = (y * self.width + x) * 4;
                let dst = &mut self.rgba[idx..idx + 4];
                for k in 0..4 {
                    let blended = src[k] + f32::from(dst[k]) * (1.0 - src[3] / 255.0);
                    dst[k] = blended.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }

    /// Counts pixels that differ from `other` by more than `channel_tolerance` in any channel.
    pub fn num_pixels_differing(&self, other: &Frame, channel_tolerance: u8) -> usize {
        assert_eq!((self.width, self.height), (other.width, other.height));
        self.rgba
            .chunks_exact(4)
            .zip(other.rgba.chunks_exact(4))
            .filter(|(a, b)| {
                a.iter()
                    .zip(*b)
                    .any(|(x, y)| x.abs_diff(*y) > channel_tolerance)
            })
            .count()
    }

    /// The number of distinct colours; a blank or near-blank frame has very few.
    pub fn num_colors(&self) -> usize {
        let mut colors: Vec<[u8; 4]> = self
            .rgba
            .chunks_exact(4)
            .map(|px| [px[0], px[1], px[2], px[3]])
            .collect();
        colors.sort_unstable();
        colors.dedup();
        colors.len()
    }

    pub fn pixel(&self, x: usize, y: usize) -> Color32 {
        let idx = (y * self.width + x) * 4;
        Color32::from_rgba_premultiplied(
            self.rgba[idx],
            self.rgba[idx + 1],
            self.rgba[idx + 2],
            self.rgba[idx + 3],
        )
    }

    pub fn write_png(&self, path: &std::path::Path) {
        image::save_buffer(
            path,
            &self.rgba,
            self.width as u32,
            self.height as u32,
            image::ColorType::Rgba8,
        )
        .expect("write snapshot");
    }

    pub fn read_png(path: &std::path::Path) -> Option<Frame> {
        let image = image::open(path).ok()?.into_rgba8();
        Some(Frame {
            width: image.width() as usize,
            height: image.height() as usize,
            rgba: image.into_raw(),
        })
    }
}

/// Compares `frame` with `tests/snapshots/<name>.png`: at most 0.5 % of the pixels may differ by
/// more than 24 levels in a channel (font hinting and float rounding move edges by a pixel).
/// `UPDATE_SNAPSHOTS=1` rewrites the reference; a missing reference is written and the test fails
/// so that a new snapshot is always looked at before it is committed.
pub fn assert_snapshot(name: &str, frame: &Frame) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let path = dir.join(format!("{name}.png"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        frame.write_png(&path);
        return;
    }
    let Some(reference) = Frame::read_png(&path) else {
        frame.write_png(&path);
        panic!(
            "no reference for {name}; wrote {}: look at it, then commit it",
            path.display()
        );
    };
    let actual_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.actual.png"));
    if (reference.width, reference.height) != (frame.width, frame.height) {
        frame.write_png(&actual_path);
        panic!(
            "{name}: size changed; actual frame in {}",
            actual_path.display()
        );
    }
    let num_differing = frame.num_pixels_differing(&reference, 24);
    let max_differing = frame.width * frame.height / 200;
    if num_differing > max_differing {
        frame.write_png(&actual_path);
        panic!(
            "{name}: {num_differing} pixels differ (at most {max_differing} may); actual frame in {}",
            actual_path.display()
        );
    }
}

/// A fixed, music-like spectrum over `num_bins` log-spaced bands from 20 Hz to 20 kHz: a falling
/// pink-ish slope with a bass note at 110 Hz, a snare body around 1 kHz, hats near 8 kHz and a
/// deterministic ripple. Returns (centre frequencies in Hz, levels in dB).
pub fn synthetic_spectrum(num_bins: usize) -> (Vec<f32>, Vec<f32>) {
    let freqs_hz: Vec<f32> = (0..num_bins)
        .map(|i| 20.0 * 1000f32.powf((i as f32 + 0.5) / num_bins as f32))
        .collect();
    let levels_db = freqs_hz
        .iter()
        .enumerate()
        .map(|(i, &freq_hz)| {
            let octaves = (freq_hz / 1000.0).log2();
            let bump = |centre_hz: f32, width_oct: f32, gain_db: f32| {
                let d = (freq_hz / centre_hz).log2() / width_oct;
                gain_db * (-d * d).exp()
            };
            let ripple = 3.0 * (i as f32 * 0.7).sin() * (i as f32 * 0.13).cos();
            -38.0 - 4.0 * octaves
                + bump(110.0, 0.15, 26.0)
                + bump(1000.0, 0.6, 12.0)
                + bump(8000.0, 0.4, 10.0)
                + ripple
        })
        .collect();
    (freqs_hz, levels_db)
}

/// A host context that accepts parameter changes and applies them to the parameter directly,
/// so that the editor's panels can run (and be clicked) without a plugin wrapper.
pub struct DirectHost;

impl nice_plug::context::gui::GuiContextInner for DirectHost {
    fn plugin_api(&self) -> nice_plug::context::PluginApi {
        nice_plug::context::PluginApi::Clap
    }

    unsafe fn raw_begin_set_parameter(&self, _param: nice_plug::params::internals::ParamPtr) {}

    unsafe fn raw_set_parameter_normalized(
        &self,
        param: nice_plug::params::internals::ParamPtr,
        normalized: f32,
    ) {
        // SAFETY: the pointer comes from a parameter of a `PluginParams` the test keeps alive for
        // the whole pass.
        unsafe { param._internal_set_normalized_value(normalized) };
    }

    unsafe fn raw_end_set_parameter(&self, _param: nice_plug::params::internals::ParamPtr) {}

    fn get_state(&self) -> nice_plug::plugin::PluginState {
        unreachable!("the editor never saves state")
    }

    fn set_state(&self, _state: nice_plug::plugin::PluginState) {
        unreachable!("the editor never loads state")
    }

    fn request_restart(&self) {}
}

/// The GUI context of a [`DirectHost`].
pub fn direct_gui_context() -> nice_plug::context::gui::GuiContext {
    nice_plug::context::gui::GuiContext::new(std::sync::Arc::new(DirectHost))
}

impl Headless {
    /// The textures uploaded so far besides egui's font atlas (which is the default id).
    pub fn user_textures(&self) -> Vec<&ColorImage> {
        self.textures
            .iter()
            .filter(|(id, _)| **id != TextureId::default())
            .map(|(_, image)| image)
            .collect()
    }
}
