//! Any thread: pure. Colours of the bins, and PIL's luma for grey images.

use super::Palette;

/// The post's bins per frame; `Palette::Post` maps other bin counts onto this scale.
const POST_NUM_BINS: f32 = 256.0;
/// A bin value of 1.0 in the post's p5.js units (`m = 90 * v`, so v = 1 sweeps 360°).
pub(crate) const POST_MAX_VALUE: f32 = 90.0;

/// `Palette::Level`'s colour stops (level, rgb), dark violet through magenta and orange to near
/// white; its luma rises with the level (34, 103, 163, 249), so grey frames keep the order. It
/// passes the guide look's mid-grey ground early (about a fifth up), so most of a shape is
/// brighter than the ground and only its quietest rim is darker.
const LEVEL_STOPS: [(f32, [f32; 3]); 4] = [
    (0.0, [40.0, 20.0, 90.0]),
    (0.25, [170.0, 60.0, 150.0]),
    (0.5, [245.0, 140.0, 70.0]),
    (1.0, [255.0, 250.0, 225.0]),
];

/// PIL's `convert('L')`: ITU-R 601 luma `R*299/1000 + G*587/1000 + B*114/1000`, in PIL's own
/// 16-bit fixed point with rounding so grey values match Pillow byte for byte.
pub(crate) fn luma(rgb: [u8; 3]) -> u8 {
    let [r, g, b] = rgb.map(u32::from);
    ((r * 19_595 + g * 38_470 + b * 7_471 + 0x8000) >> 16) as u8
}

/// The colour of bin `bin_idx` of `num_bins` with value `value` (0..=1).
pub(crate) fn bin_color(palette: Palette, bin_idx: usize, num_bins: usize, value: f32) -> [u8; 3] {
    match palette {
        Palette::Level => level_color(value),
        Palette::Rainbow => hsv_hue(bin_idx as f32 / num_bins as f32),
        Palette::Post => {
            let post_idx = bin_idx as f32 * POST_NUM_BINS / num_bins as f32;
            let m = value * POST_MAX_VALUE;
            [post_idx * 4.0, m * 2.0, 100.0].map(|c| c.round().min(255.0) as u8)
        }
        // White: the shape alone carries the spectrum, with the most contrast to the noise.
        Palette::Grey => [255; 3],
    }
}

/// `LEVEL_STOPS` interpolated linearly at `value` (0..=1).
fn level_color(value: f32) -> [u8; 3] {
    let upper = LEVEL_STOPS
        .iter()
        .position(|&(level, _)| level >= value)
        .unwrap_or(LEVEL_STOPS.len() - 1)
        .max(1);
    let ((lo, from), (hi, to)) = (LEVEL_STOPS[upper - 1], LEVEL_STOPS[upper]);
    let t = ((value - lo) / (hi - lo)).clamp(0.0, 1.0);
    std::array::from_fn(|c| (from[c] + (to[c] - from[c]) * t).round() as u8)
}

/// Python's `colorsys.hsv_to_rgb(hue, 1, 1)` scaled by `int(255 * c)`, as seed_pipeline.py.
fn hsv_hue(hue: f32) -> [u8; 3] {
    let sector = (hue * 6.0).floor();
    let rising = hue * 6.0 - sector;
    let falling = 1.0 - rising;
    let [r, g, b] = match sector as u32 % 6 {
        0 => [1.0, rising, 0.0],
        1 => [falling, 1.0, 0.0],
        2 => [0.0, 1.0, rising],
        3 => [0.0, falling, 1.0],
        4 => [rising, 0.0, 1.0],
        _ => [1.0, 0.0, falling],
    };
    [r, g, b].map(|c: f32| (255.0 * c) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pure primaries and white give PIL's luma values (76, 150, 29, 255).
    #[test]
    fn luma_matches_pil_for_primaries() {
        assert_eq!(luma([255, 0, 0]), 76);
        assert_eq!(luma([0, 255, 0]), 150);
        assert_eq!(luma([0, 0, 255]), 29);
        assert_eq!(luma([255, 255, 255]), 255);
        assert_eq!(luma([0, 0, 0]), 0);
    }

    /// The rainbow starts red, passes green at a third and blue at two thirds, as colorsys.
    #[test]
    fn rainbow_follows_colorsys() {
        assert_eq!(bin_color(Palette::Rainbow, 0, 6, 0.0), [255, 0, 0]);
        assert_eq!(bin_color(Palette::Rainbow, 2, 6, 0.0), [0, 255, 0]);
        assert_eq!(bin_color(Palette::Rainbow, 4, 6, 0.0), [0, 0, 255]);
        assert_eq!(bin_color(Palette::Rainbow, 1, 12, 0.0), [255, 127, 0]);
    }

    /// The level palette follows the value, not the bin: any bin at the same level has the same
    /// colour, and a louder bin is brighter in grey.
    #[test]
    fn level_colour_follows_the_value_and_brightens() {
        assert_eq!(bin_color(Palette::Level, 3, 256, 0.0), [40, 20, 90]);
        assert_eq!(bin_color(Palette::Level, 200, 256, 1.0), [255, 250, 225]);
        for value in [0.1, 0.55, 0.9] {
            assert_eq!(
                bin_color(Palette::Level, 0, 256, value),
                bin_color(Palette::Level, 255, 256, value)
            );
        }
        let lumas: Vec<u8> = (0..=20)
            .map(|i| luma(bin_color(Palette::Level, 0, 1, i as f32 / 20.0)))
            .collect();
        assert!(lumas.windows(2).all(|w| w[0] < w[1]), "{lumas:?}");
    }

    /// The post's colour at 256 bins: rgb(i*4, m*2, 100), clamped.
    #[test]
    fn post_colour_is_the_sketchs() {
        assert_eq!(bin_color(Palette::Post, 10, 256, 0.5), [40, 90, 100]);
        assert_eq!(bin_color(Palette::Post, 200, 256, 1.0), [255, 180, 100]);
        assert_eq!(bin_color(Palette::Post, 5, 128, 0.0), [40, 0, 100]);
    }
}
