//! Any thread: pure. The classic analyzer: one bar per bin, left to right, rising from the bottom.
//!
//! The bins are already log-spaced in frequency, so equal widths make a log frequency axis; the
//! values are already level on a dB scale mapped to 0..=1, so the height is the value. Edges are
//! anti-aliased exactly: a pixel takes each bar's share of its area.

/// Draws bars for `values` (0..=1) in `colors` over `pixels` (`size_px` square, `CH` bytes a pixel).
pub(crate) fn render_bars<const CH: usize>(
    pixels: &mut [u8],
    size_px: usize,
    values: &[f32],
    colors: &[[u8; 3]],
) {
    let num_bins = values.len();
    if num_bins == 0 {
        return;
    }
    let size = size_px as f32;
    let bar_px = size / num_bins as f32;
    for x in 0..size_px {
        let bars = x * num_bins / size_px..((x + 1) * num_bins).div_ceil(size_px).min(num_bins);
        let (left, right) = (x as f32, x as f32 + 1.0);
        let top_of = |bin: usize| size * (1.0 - values[bin]);
        let highest = bars.clone().map(top_of).fold(size, f32::min);
        // Below every bar's top edge each row of this column is the same: compute it once.
        let lowest = bars.clone().map(top_of).fold(0.0, f32::max).ceil() as usize;
        let mut settled = None;
        for y in highest.floor() as usize..size_px {
            let (cover, mix) = match settled {
                Some(pixel) => pixel,
                None => {
                    let mut cover = 0.0;
                    let mut mix = [0.0f32; 3];
                    for bin in bars.clone() {
                        let bin_left = bin as f32 * bar_px;
                        let width = (right.min(bin_left + bar_px) - left.max(bin_left)).max(0.0);
                        let height = (y as f32 + 1.0 - top_of(bin)).clamp(0.0, 1.0);
                        let share = width * height;
                        cover += share;
                        for (m, &c) in mix.iter_mut().zip(&colors[bin]) {
                            *m += share * f32::from(c);
                        }
                    }
                    if y >= lowest {
                        settled = Some((cover, mix));
                    }
                    (cover, mix)
                }
            };
            let px = (y * size_px + x) * CH;
            for (p, m) in pixels[px..px + CH].iter_mut().zip(mix) {
                *p = (f32::from(*p) * (1.0 - cover) + m)
                    .round()
                    .clamp(0.0, 255.0) as u8;
            }
        }
    }
}
