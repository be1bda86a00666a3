//! Any thread: pure. Turns one frame's spectrum bins into a guide image (DESIGN.md §6).
//!
//! A frame is: the background (a seeded, blurred noise field) → the view (pie, polar or bars) →
//! the post chain (blur → desaturate → invert → autocontrast → equalize, each optional). A
//! [`Renderer`] owns its image, scratch buffers, noise field and lookup tables, all made in
//! [`Renderer::new`]; [`Renderer::render`] then allocates nothing in steady state and gives the
//! same bytes for the same frame index, bins and settings.
//!
//! Rasterizer: hand-written coverage per pixel, not tiny-skia. The pie is one pass over a
//! per-size table of each pixel's angle and distance (no paths, no per-wedge setup), polar dots
//! are pre-rendered sprites, bars are axis-aligned boxes; all three get exact radial or area
//! anti-aliasing, on grey or RGB bytes directly, with no premultiplied RGBA to convert back.
//!
//! When the chain desaturates, everything is drawn in grey from the start: luma and the blur are
//! both linear, so blurring grey equals the grey of the blurred colours (up to rounding) at a
//! third of the cost.

mod bars;
mod blur;
mod noise;
mod palette;
mod pie;
mod polar;
mod tone;

use serde::{Deserialize, Serialize};

use crate::analysis::Preset;
use blur::GaussianBlur;
/// Desaturate's grey of a colour, for readers of colour frames (`compose`).
pub(crate) use palette::luma;
use pie::PieTable;
use polar::PolarStamper;

/// The smallest, largest and default image side in pixels (SD 1.5 works at 512).
pub const MIN_SIZE_PX: u32 = 64;
pub const MAX_SIZE_PX: u32 = 2048;
pub const DEFAULT_SIZE_PX: u32 = 512;
/// The largest blur sigma accepted, in pixels; beyond it every frame is a flat wash.
pub const MAX_SIGMA_PX: f32 = 100.0;

/// How the spectrum is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// The post's pie: one wedge per bin, radius growing with the value.
    Pie,
    /// The post's p5.js circles: one ring of dots per bin, sweep growing with the value.
    Polar,
    /// A classic analyzer: one bar per bin, height growing with the value.
    Bars,
}

/// Which part of the circle the pie covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PieShape {
    /// The post's half pie, 12 o'clock clockwise to 6 o'clock (the right half).
    Half,
    /// The half pie and its mirror image about the vertical axis.
    Full,
}

/// How bins are coloured (before any desaturation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Palette {
    /// Colour and brightness follow the bin's level, dark violet through orange to near white:
    /// a loud band is bright wherever it is drawn, so no angle or column is bright or dark for
    /// good (the guide look's palette).
    Level,
    /// Hue by bin index at full saturation, as the post's code colours them.
    Rainbow,
    /// The post's polar colour rgb(i*4, m*2, 100) in its 256-bin, m = 90 v units, clamped.
    Post,
    /// White bins: the shape alone carries the spectrum.
    Grey,
}

/// Which family of defaults frames follow: the post's, or the guide look tuned on music for
/// img2img (`bench/guide_quality.sh`, README "Guide quality").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Look {
    /// The post's: values drawn as they come, pie wedges starting at 5 % of the size, noise from
    /// black up to the amount. What the `seed` preset draws, pixel for pixel as before.
    Post,
    /// Each view maps its own window of the `default` preset's level scale onto its full size,
    /// a silent bin draws nothing, and the noise field swings around mid-grey, so the frame
    /// averages near grey and the shape is what changes.
    // The windows are `View::guide_levels`; this text is `render --help`'s.
    Guide,
}

impl Look {
    /// The look a preset draws by default: the post's for `seed`, the guide look otherwise.
    pub fn for_preset(preset: Preset) -> Self {
        match preset {
            Preset::Seed => Self::Post,
            Preset::Default => Self::Guide,
        }
    }

    /// The palette this look uses unless one is chosen.
    pub fn palette(self) -> Palette {
        match self {
            Self::Post => Palette::Rainbow,
            Self::Guide => Palette::Level,
        }
    }

    /// The pie shape this look uses unless one is chosen: the guide fills the frame.
    pub fn pie_shape(self) -> PieShape {
        match self {
            Self::Post => PieShape::Half,
            Self::Guide => PieShape::Full,
        }
    }
}

impl View {
    /// The guide look's level window: the part of the `default` preset's 0..=1 level scale (0 at
    /// the -90 dB floor, 1 at 0 dBFS) that spans the view from nothing to full size. Chosen on
    /// the held-out music of `bench/guide_quality.sh` so that music moves every view by at
    /// least 4/255 a frame and the shape covers at least 15 % of the frame.
    pub fn guide_levels(self) -> (f32, f32) {
        match self {
            Self::Pie => (0.15, 0.65),
            Self::Polar => (0.15, 0.8),
            Self::Bars => (0.1, 0.7),
        }
    }
}

/// The background noise field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseSettings {
    /// Noise strength 0..=1; 0 is a black background.
    pub amount: f32,
    /// PRNG seed; per-frame fields use `seed + frame_idx`.
    pub seed: u64,
    /// New noise every frame; false keeps one field for the whole take (temporal coherence).
    pub per_frame: bool,
    /// Gaussian blur of the raw noise in pixels (seed_pipeline.py uses 4).
    pub blur_sigma: f32,
}

impl Default for NoiseSettings {
    fn default() -> Self {
        Self {
            amount: 0.5,
            seed: 0,
            per_frame: false,
            blur_sigma: 4.0,
        }
    }
}

/// The post chain, applied in field order; each step optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostChain {
    /// Gaussian blur sigma in pixels, 0 = off; 2 is the post's PIL `GaussianBlur(2)`.
    pub blur_sigma: f32,
    /// Convert to 8-bit grey with PIL's ITU-R 601 luma (`convert('L')`); the image is then `Grey`.
    pub desaturate: bool,
    /// p → 255 − p (`ImageOps.invert`).
    pub invert: bool,
    /// Stretch min..max to 0..255 per channel (`ImageOps.autocontrast`).
    pub autocontrast: bool,
    /// Percent of pixels ignored at each end of the histogram by autocontrast, 0..=100.
    pub autocontrast_cutoff_percent: f32,
    /// Flatten the histogram (`ImageOps.equalize`).
    pub equalize: bool,
}

impl Default for PostChain {
    /// The post's chain: blur 2 → desaturate → autocontrast.
    fn default() -> Self {
        Self {
            blur_sigma: 2.0,
            desaturate: true,
            invert: false,
            autocontrast: true,
            autocontrast_cutoff_percent: 0.0,
            equalize: false,
        }
    }
}

/// Everything that decides a frame's bytes besides its index and bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderSettings {
    /// The post's look or the guide look: how levels become sizes and where the noise sits.
    pub look: Look,
    /// How the spectrum is drawn.
    pub view: View,
    /// Half or full circle, for `View::Pie`.
    pub pie_shape: PieShape,
    /// Bin colours.
    pub palette: Palette,
    /// Image width and height in pixels, `MIN_SIZE_PX..=MAX_SIZE_PX`.
    pub size: u32,
    /// The background.
    pub noise: NoiseSettings,
    /// What happens after drawing.
    pub post: PostChain,
}

impl Default for RenderSettings {
    /// The `default` preset's look: the guide look.
    fn default() -> Self {
        Self::for_look(Look::Guide)
    }
}

impl RenderSettings {
    /// A `look`'s defaults: a pie (full for the guide, the post's half circle otherwise) in the
    /// look's palette on blurred noise, blurred, grey, autocontrasted.
    pub fn for_look(look: Look) -> Self {
        Self {
            look,
            view: View::Pie,
            pie_shape: look.pie_shape(),
            palette: look.palette(),
            size: DEFAULT_SIZE_PX,
            noise: NoiseSettings::default(),
            post: PostChain::default(),
        }
    }

    /// Grey when the post chain desaturates, else RGB: what the PNGs and the manifest say.
    pub fn color_type(&self) -> ColorType {
        if self.post.desaturate {
            ColorType::Grey
        } else {
            ColorType::Rgb
        }
    }
}

/// Settings a [`Renderer`] refuses.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("image size {0} is outside 64..=2048 pixels")]
    Size(u32),
    #[error("noise amount {0} is outside 0..=1")]
    NoiseAmount(f32),
    #[error("blur sigma {0} is outside 0..=100 pixels")]
    BlurSigma(f32),
    #[error("autocontrast cutoff {0} is outside 0..=100 percent")]
    AutocontrastCutoff(f32),
}

/// Bytes per pixel of an [`Image`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorType {
    /// One byte of luma per pixel.
    Grey,
    /// Three bytes per pixel, red, green, blue.
    Rgb,
}

impl ColorType {
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            Self::Grey => 1,
            Self::Rgb => 3,
        }
    }
}

/// A rendered frame, ready for a PNG encoder or a texture upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Grey when the post chain desaturates, else RGB.
    pub color: ColorType,
    /// Row-major, top row first, `color.bytes_per_pixel()` bytes a pixel, no padding.
    pub pixels: Vec<u8>,
}

/// The per-view drawing state made once per size.
#[derive(Debug, Clone)]
enum ViewRaster {
    Pie(PieTable),
    Polar(PolarStamper),
    Bars,
}

/// Draws frames for one [`RenderSettings`]; build a new one when the settings change.
#[derive(Debug, Clone)]
pub struct Renderer {
    /// What this renderer draws; fixed for its lifetime.
    settings: RenderSettings,
    /// The frame being drawn and, after `render`, the finished frame.
    image: Image,
    /// The noise field scaled by its amount: every frame starts as a copy of it.
    background: Vec<u8>,
    /// The frame whose per-frame noise `background` holds (`None` before the first frame).
    background_frame_idx: Option<u64>,
    /// Blurs the raw noise field.
    noise_blur: GaussianBlur,
    /// The post chain's blur, `None` when off.
    post_blur: Option<GaussianBlur>,
    /// This frame's bins, made finite and clamped to 0..=1.
    values: Vec<f32>,
    /// This frame's bin colours; for grey images all three bytes hold the luma.
    colors: Vec<[u8; 3]>,
    /// The view's tables.
    raster: ViewRaster,
    /// The guide look's autocontrast range per channel (see [`take_tone_range`]); `None` for the
    /// post's per-frame autocontrast.
    take_range: Option<([u8; 3], [u8; 3])>,
}

impl Renderer {
    /// Checks the settings and builds every table and buffer, including the take's noise field.
    pub fn new(settings: &RenderSettings) -> Result<Self, RenderError> {
        validate(settings)?;
        let size_px = settings.size as usize;
        let color = settings.color_type();
        let num_bytes = size_px * size_px * color.bytes_per_pixel();
        let raster = match settings.view {
            View::Pie => ViewRaster::Pie(PieTable::new(size_px)),
            View::Polar => ViewRaster::Polar(PolarStamper::new(size_px)),
            View::Bars => ViewRaster::Bars,
        };
        let post_blur =
            (settings.post.blur_sigma > 0.0).then(|| GaussianBlur::new(settings.post.blur_sigma));
        let mut renderer = Self {
            settings: settings.clone(),
            image: Image {
                width: settings.size,
                height: settings.size,
                color,
                pixels: vec![0; num_bytes],
            },
            background: vec![0; num_bytes],
            background_frame_idx: None,
            noise_blur: GaussianBlur::new(settings.noise.blur_sigma),
            post_blur,
            values: Vec::new(),
            colors: Vec::new(),
            raster,
            take_range: (settings.look == Look::Guide).then(|| take_tone_range(settings)),
        };
        renderer.update_background(0);
        Ok(renderer)
    }

    pub fn settings(&self) -> &RenderSettings {
        &self.settings
    }

    /// The frame the last [`Self::render`] drew (blank before the first).
    pub fn image(&self) -> &Image {
        &self.image
    }

    /// Draws frame `frame_idx` from `unit_bins` (N values in 0..=1, any N; non-finite values count
    /// as 0, values outside are clamped; no bins draws the background alone). The guide look
    /// first stretches the view's level window to 0..=1. Deterministic: the
    /// same (frame_idx, bins, settings) give the same bytes; `frame_idx` only matters for
    /// per-frame noise. Allocates only when a frame has more bins than any before it.
    pub fn render(&mut self, frame_idx: u64, unit_bins: &[f32]) -> &Image {
        if self.settings.noise.per_frame {
            self.update_background(frame_idx);
        }
        self.image.pixels.copy_from_slice(&self.background);
        let (bottom, top) = match self.settings.look {
            Look::Post => (0.0, 1.0),
            Look::Guide => self.settings.view.guide_levels(),
        };
        self.values.clear();
        self.values.extend(unit_bins.iter().map(|&v| {
            if v.is_finite() {
                ((v - bottom) / (top - bottom)).clamp(0.0, 1.0)
            } else {
                0.0
            }
        }));
        self.update_colors();
        match self.image.color {
            ColorType::Grey => self.render_view::<1>(),
            ColorType::Rgb => self.render_view::<3>(),
        }
        self.render_post();
        &self.image
    }

    /// Makes the noise field of `frame_idx` (seeded `seed + frame_idx`) unless it is already there.
    fn update_background(&mut self, frame_idx: u64) {
        if self.background_frame_idx == Some(frame_idx) {
            return;
        }
        let noise = &self.settings.noise;
        noise::render_noise(
            &mut self.background,
            self.image.width as usize,
            self.image.color.bytes_per_pixel(),
            noise.seed.wrapping_add(frame_idx),
            noise.amount,
            self.settings.look == Look::Guide,
            &mut self.noise_blur,
        );
        self.background_frame_idx = Some(frame_idx);
    }

    fn update_colors(&mut self) {
        let (palette, num_bins) = (self.settings.palette, self.values.len());
        let is_grey = self.image.color == ColorType::Grey;
        self.colors.clear();
        self.colors
            .extend(self.values.iter().enumerate().map(|(bin_idx, &value)| {
                let rgb = palette::bin_color(palette, bin_idx, num_bins, value);
                if is_grey {
                    [palette::luma(rgb); 3]
                } else {
                    rgb
                }
            }));
    }

    fn render_view<const CH: usize>(&mut self) {
        let pixels = &mut self.image.pixels;
        match &mut self.raster {
            ViewRaster::Pie(table) => {
                let min_radius_frac = match self.settings.look {
                    Look::Post => pie::POST_MIN_RADIUS_FRAC,
                    Look::Guide => 0.0,
                };
                table.render_pie::<CH>(
                    pixels,
                    self.settings.pie_shape,
                    min_radius_frac,
                    &self.values,
                    &self.colors,
                )
            }
            ViewRaster::Polar(stamper) => {
                stamper.render_polar::<CH>(pixels, &self.values, &self.colors)
            }
            ViewRaster::Bars => bars::render_bars::<CH>(
                pixels,
                self.settings.size as usize,
                &self.values,
                &self.colors,
            ),
        }
    }

    /// The post chain; desaturation already happened by drawing in grey.
    fn render_post(&mut self) {
        let post = &self.settings.post;
        let channels = self.image.color.bytes_per_pixel();
        let pixels = &mut self.image.pixels;
        if let Some(blur) = &mut self.post_blur {
            blur.apply(pixels, self.image.width as usize, channels);
        }
        if post.invert {
            tone::invert(pixels);
        }
        if post.autocontrast {
            match self.take_range {
                Some((lo, hi)) => tone::stretch(pixels, channels, lo, hi),
                None => tone::autocontrast(pixels, channels, post.autocontrast_cutoff_percent),
            }
        }
        if post.equalize {
            tone::equalize(pixels, channels);
        }
    }
}

/// The guide look's autocontrast range: per channel, the darkest and brightest value any frame of
/// the take can hold (the noise field's span and the palette's colours at 256 bins × 17 levels,
/// after any invert; the blur only mixes them). PIL's autocontrast stretches each frame's own
/// range, so a frame whose loudest bin is quiet had its background pushed to white and the ground
/// pumped with the music; stretching the take's range keeps a level's brightness fixed.
fn take_tone_range(settings: &RenderSettings) -> ([u8; 3], [u8; 3]) {
    let is_grey = settings.color_type() == ColorType::Grey;
    let noise_span = noise::centred_span(settings.noise.amount);
    let mut lo = [noise_span.0; 3];
    let mut hi = [noise_span.1; 3];
    for bin_idx in 0..256 {
        for step in 0..=16 {
            let rgb = palette::bin_color(settings.palette, bin_idx, 256, step as f32 / 16.0);
            let color = if is_grey {
                [palette::luma(rgb); 3]
            } else {
                rgb
            };
            for c in 0..3 {
                lo[c] = lo[c].min(color[c]);
                hi[c] = hi[c].max(color[c]);
            }
        }
    }
    if settings.post.invert {
        (hi.map(|v| 255 - v), lo.map(|v| 255 - v))
    } else {
        (lo, hi)
    }
}

fn validate(settings: &RenderSettings) -> Result<(), RenderError> {
    if !(MIN_SIZE_PX..=MAX_SIZE_PX).contains(&settings.size) {
        return Err(RenderError::Size(settings.size));
    }
    let amount = settings.noise.amount;
    if !(0.0..=1.0).contains(&amount) {
        return Err(RenderError::NoiseAmount(amount));
    }
    for sigma in [settings.noise.blur_sigma, settings.post.blur_sigma] {
        if !(0.0..=MAX_SIGMA_PX).contains(&sigma) {
            return Err(RenderError::BlurSigma(sigma));
        }
    }
    let cutoff = settings.post.autocontrast_cutoff_percent;
    if !(0.0..=100.0).contains(&cutoff) {
        return Err(RenderError::AutocontrastCutoff(cutoff));
    }
    Ok(())
}

/// Mixes `color` over the first `CH` bytes of `px` with coverage `cover` in 1/256 (256 = opaque).
#[inline(always)]
fn blend<const CH: usize>(px: &mut [u8], color: &[u8; 3], cover: u32) {
    for (p, &c) in px[..CH].iter_mut().zip(color) {
        *p = ((u32::from(*p) * (256 - cover) + u32::from(c) * cover + 128) >> 8) as u8;
    }
}
