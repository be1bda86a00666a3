//! Any thread: pure. The post's p5.js circles: bin i is a wobbling ring of dots whose sweep grows
//! with the bin's value.
//!
//! The sketch (angles in degrees): for t in 0..m*4, theta = t - 90, rho = i*2 + sin(8t)*4, a dot of
//! diameter size/N at (rho cos theta, rho sin theta) and its mirror at 180 - theta; m = 90 v. Its
//! rings run off a 512 px canvas past bin 127, so here they are spaced to fit inside the image.
//! Dots are stamped from pre-rendered anti-aliased sprites, one per quarter-pixel offset.

use super::{blend, palette::POST_MAX_VALUE};

/// Degrees of `t` a bin of value 1 sweeps (`m * 4` with m = 90).
const MAX_SWEEP_DEG: usize = (POST_MAX_VALUE * 4.0) as usize;
/// The sketch's canvas size; its wobble amplitude is in these units.
const POST_SIZE_PX: f32 = 512.0;
/// The sketch's ring wobble amplitude, in its 512 px units.
const POST_WOBBLE_PX: f32 = 4.0;
/// Sub-pixel positions per axis the dot sprites are rendered at.
const SUBPIXEL_STEPS: usize = 4;
/// The smallest dot diameter: thinner dots would flicker between pixels.
const MIN_DOT_DIAMETER_PX: f32 = 1.5;
/// The largest dot diameter as a fraction of the image, for few bins (bounds the sprites' memory).
const MAX_DOT_DIAMETER_FRAC: f32 = 1.0 / 16.0;

/// Anti-aliased discs of one diameter at every sub-pixel offset.
#[derive(Debug, Clone)]
struct DotSprites {
    /// Pixels either side of the sprite's anchor pixel.
    half_px: isize,
    /// Width and height of one sprite, `2 * half_px + 1`.
    side_px: usize,
    /// Coverage in 1/256 for each (y offset, x offset, row, column).
    cover: Vec<u16>,
}

impl DotSprites {
    fn new(diameter_px: f32) -> Self {
        let radius = diameter_px / 2.0;
        // A dot at anchor + f (0 <= f < 1) touches pixels whose centre is nearer than radius + 0.5:
        // offsets strictly between -(radius + 1) and radius + 1 from the anchor.
        let half_px = radius.ceil() as isize;
        let side_px = 2 * half_px as usize + 1;
        let mut cover = Vec::with_capacity(SUBPIXEL_STEPS * SUBPIXEL_STEPS * side_px * side_px);
        let offset = |step: usize| (step as f32 + 0.5) / SUBPIXEL_STEPS as f32;
        for sub_y in 0..SUBPIXEL_STEPS {
            for sub_x in 0..SUBPIXEL_STEPS {
                for row in 0..side_px {
                    for col in 0..side_px {
                        // Pixel centre relative to the dot centre at anchor + offset.
                        let dx = col as f32 - half_px as f32 + 0.5 - offset(sub_x);
                        let dy = row as f32 - half_px as f32 + 0.5 - offset(sub_y);
                        let c = (radius - dx.hypot(dy) + 0.5).clamp(0.0, 1.0);
                        cover.push((c * 256.0).round() as u16);
                    }
                }
            }
        }
        Self {
            half_px,
            side_px,
            cover,
        }
    }
}

/// The sketch's trigonometry and the dot sprites for one image size.
#[derive(Debug, Clone)]
pub(crate) struct PolarStamper {
    /// Image width and height in pixels.
    size_px: usize,
    /// cos and sin of theta = t - 90°, and the wobble sin(8t), for t = 0..360 whole degrees.
    trig: Vec<[f32; 3]>,
    /// Bin count the sprites and ring spacing were made for; they are remade when it changes.
    num_bins: usize,
    /// Distance between neighbouring rings in pixels.
    ring_px: f32,
    /// The dots for `num_bins`.
    sprites: DotSprites,
}

impl PolarStamper {
    pub(crate) fn new(size_px: usize) -> Self {
        let trig = (0..MAX_SWEEP_DEG)
            .map(|t| {
                let theta = (t as f64 - 90.0).to_radians();
                let wobble = (8.0 * t as f64).to_radians().sin();
                [theta.cos() as f32, theta.sin() as f32, wobble as f32]
            })
            .collect();
        let mut stamper = Self {
            size_px,
            trig,
            num_bins: 0,
            ring_px: 0.0,
            sprites: DotSprites::new(MIN_DOT_DIAMETER_PX),
        };
        stamper.update_bins(1);
        stamper
    }

    /// Dot size and ring spacing for `num_bins` rings, keeping the outermost inside the image.
    fn update_bins(&mut self, num_bins: usize) {
        let size = self.size_px as f32;
        let diameter =
            (size / num_bins as f32).clamp(MIN_DOT_DIAMETER_PX, size * MAX_DOT_DIAMETER_FRAC);
        let room = size / 2.0 - self.wobble_px() - diameter / 2.0 - 1.0;
        self.ring_px = room / num_bins.saturating_sub(1).max(1) as f32;
        self.sprites = DotSprites::new(diameter);
        self.num_bins = num_bins;
    }

    fn wobble_px(&self) -> f32 {
        POST_WOBBLE_PX * self.size_px as f32 / POST_SIZE_PX
    }

    /// Stamps the rings for `values` (0..=1) in `colors` over `pixels` (`CH` bytes a pixel).
    /// Allocates only when the bin count differs from the previous frame's.
    pub(crate) fn render_polar<const CH: usize>(
        &mut self,
        pixels: &mut [u8],
        values: &[f32],
        colors: &[[u8; 3]],
    ) {
        if values.is_empty() {
            return;
        }
        if values.len() != self.num_bins {
            self.update_bins(values.len());
        }
        let centre = self.size_px as f32 / 2.0;
        let wobble_px = self.wobble_px();
        for (bin_idx, (&value, color)) in values.iter().zip(colors).enumerate() {
            let num_steps = ((value * MAX_SWEEP_DEG as f32).ceil() as usize).min(MAX_SWEEP_DEG);
            let ring = bin_idx as f32 * self.ring_px;
            for &[cos, sin, wobble] in &self.trig[..num_steps] {
                let rho = ring + wobble * wobble_px;
                let y = centre + rho * sin;
                // The sketch's mirror at 180° - theta.
                for x in [centre + rho * cos, centre - rho * cos] {
                    self.stamp::<CH>(pixels, self.anchor(x, y), color);
                }
            }
        }
    }

    /// The pixel and sub-pixel step a dot centred at (x, y) is stamped from.
    /// Rings stay inside the image, so x and y are non-negative and truncation is floor (a libm
    /// call saved per dot).
    fn anchor(&self, x: f32, y: f32) -> [isize; 4] {
        let steps = SUBPIXEL_STEPS as f32;
        let (x, y) = (x.max(0.0), y.max(0.0));
        let (ix, iy) = (x as isize, y as isize);
        let sub = |f: f32| ((f * steps) as usize).min(SUBPIXEL_STEPS - 1) as isize;
        [ix, iy, sub(x - ix as f32), sub(y - iy as f32)]
    }

    /// Blends one sprite into the image, clipped to its edges.
    fn stamp<const CH: usize>(&self, pixels: &mut [u8], anchor: [isize; 4], color: &[u8; 3]) {
        let [ax, ay, sub_x, sub_y] = anchor;
        let DotSprites {
            half_px,
            side_px,
            ref cover,
        } = self.sprites;
        let size = self.size_px as isize;
        let (left, top) = (ax - half_px, ay - half_px);
        let cols = (-left).max(0) as usize..((size - left).min(side_px as isize)).max(0) as usize;
        let rows = (-top).max(0) as usize..((size - top).min(side_px as isize)).max(0) as usize;
        let sprite = (sub_y as usize * SUBPIXEL_STEPS + sub_x as usize) * side_px * side_px;
        // Image columns of the clipped sprite; slicing once per row keeps the pixel loop free of
        // bounds checks (a frame stamps about 10^5 dots).
        let (x0, x1) = (
            (left + cols.start as isize) as usize,
            (left + cols.end as isize) as usize,
        );
        for row in rows {
            let y = (top + row as isize) as usize;
            let sprite_row = &cover[sprite + row * side_px..sprite + (row + 1) * side_px];
            let image_row = &mut pixels[(y * self.size_px + x0) * CH..(y * self.size_px + x1) * CH];
            for (px, &c) in image_row
                .chunks_exact_mut(CH)
                .zip(&sprite_row[cols.clone()])
            {
                if c > 0 {
                    blend::<CH>(px, color, u32::from(c));
                }
            }
        }
    }
}
