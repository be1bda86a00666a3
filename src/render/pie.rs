//! Any thread: pure. The post's pie: one wedge per bin, radius growing with the bin's value.
//!
//! Instead of filling N paths, a table made once per image size holds each pixel's angle and
//! distance from the centre; a frame is then one pass over the pixels: the angle picks the
//! wedge, and the wedge's radius against the distance gives an anti-aliased coverage.

use super::{PieShape, blend};

/// Fixed-point steps per pixel of the tabulated distances (1/16 px is far below visible).
const DIST_STEPS_PER_PX: f32 = 16.0;
/// Fixed-point steps of the tabulated angle over the half turn from 12 o'clock to 6 o'clock.
const ANGLE_STEPS: u32 = 1 << 16;

/// The post's smallest wedge radius (a value of 0), as a fraction of the image size
/// (seed_pipeline.py); the guide look starts at 0, so silence draws nothing.
pub(crate) const POST_MIN_RADIUS_FRAC: f32 = 0.05;
/// The largest wedge radius (a value of 1), as a fraction of the image size (seed_pipeline.py).
const MAX_RADIUS_FRAC: f32 = 0.48;

/// Where every pixel of the top-right quadrant sits relative to the centre; the other quadrants
/// are its mirror images.
#[derive(Debug, Clone)]
pub(crate) struct PieTable {
    /// Image width and height in pixels.
    size_px: usize,
    /// First column right of the vertical axis (pixel centre strictly right of the centre).
    first_col: usize,
    /// Rows `0..num_rows` of the top half (the middle row included for odd sizes), each with
    /// columns `first_col..size_px`: angle steps clockwise from 12 o'clock in the high 16 bits,
    /// distance in 1/16 px in the low 16 bits.
    cells: Vec<u32>,
    /// Per-frame wedge radii in 1/16 px, reused.
    radii: Vec<i32>,
}

impl PieTable {
    pub(crate) fn new(size_px: usize) -> Self {
        let first_col = size_px.div_ceil(2);
        let num_rows = size_px.div_ceil(2);
        let centre = size_px as f64 / 2.0;
        let mut cells = Vec::with_capacity(num_rows * (size_px - first_col));
        for y in 0..num_rows {
            let dy = y as f64 + 0.5 - centre;
            for x in first_col..size_px {
                let dx = x as f64 + 0.5 - centre;
                // PIL's angles run clockwise from 3 o'clock with y down; wedge 0 starts at -90°.
                let turn = (dy.atan2(dx) / std::f64::consts::PI + 0.5) * f64::from(ANGLE_STEPS);
                let angle = (turn as u32).min(ANGLE_STEPS - 1);
                let dist = (dx.hypot(dy) * f64::from(DIST_STEPS_PER_PX)).round() as u32;
                cells.push((angle << 16) | dist);
            }
        }
        Self {
            size_px,
            first_col,
            cells,
            radii: Vec::new(),
        }
    }

    /// Draws wedges for `values` (0..=1) in `colors` over `pixels` (`CH` bytes a pixel); a value
    /// of 0 has a radius of `min_radius_frac` of the image size.
    pub(crate) fn render_pie<const CH: usize>(
        &mut self,
        pixels: &mut [u8],
        shape: PieShape,
        min_radius_frac: f32,
        values: &[f32],
        colors: &[[u8; 3]],
    ) {
        let num_bins = values.len() as u64;
        if num_bins == 0 {
            return;
        }
        let size = self.size_px as f32;
        let (r_min, r_max) = (min_radius_frac * size, MAX_RADIUS_FRAC * size);
        self.radii.clear();
        self.radii.extend(
            values
                .iter()
                .map(|v| ((r_min + (r_max - r_min) * v) * DIST_STEPS_PER_PX).round() as i32),
        );
        // Past this distance no wedge covers anything: rows stop there.
        let reach = self.radii.iter().copied().max().unwrap_or(0) + DIST_STEPS_PER_PX as i32;
        let row_len = self.size_px - self.first_col;
        let num_rows = self.cells.len() / row_len.max(1);
        for (y, row) in pixels.chunks_exact_mut(self.size_px * CH).enumerate() {
            // Bottom rows mirror top rows, the angle measured back from 6 o'clock.
            let (table_y, is_mirrored) = if y < num_rows {
                (y, false)
            } else {
                (self.size_px - 1 - y, true)
            };
            let cells = &self.cells[table_y * row_len..(table_y + 1) * row_len];
            for (i, &cell) in cells.iter().enumerate() {
                let dist = (cell & 0xFFFF) as i32;
                if dist > reach {
                    break;
                }
                let angle = if is_mirrored {
                    ANGLE_STEPS - 1 - (cell >> 16)
                } else {
                    cell >> 16
                };
                let wedge = ((u64::from(angle) * num_bins) >> 16) as usize;
                // Radial anti-aliasing: clamp(r - d + 0.5, 0, 1) in 1/256 steps.
                let cover = ((self.radii[wedge] - dist + 8) * 16).clamp(0, 256) as u32;
                if cover == 0 {
                    continue;
                }
                let x = self.first_col + i;
                blend::<CH>(&mut row[x * CH..(x + 1) * CH], &colors[wedge], cover);
                if shape == PieShape::Full {
                    let mirror_x = self.size_px - 1 - x;
                    blend::<CH>(
                        &mut row[mirror_x * CH..(mirror_x + 1) * CH],
                        &colors[wedge],
                        cover,
                    );
                }
            }
        }
    }
}
