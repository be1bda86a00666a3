//! Any thread: pure. PIL's `ImageOps` tone curves on interleaved 8-bit channels, per channel.

/// Counts of each byte value, one table per channel.
type Histograms = [[u32; 256]; 3];

/// `ImageOps.invert`: p → 255 − p.
pub(crate) fn invert(pixels: &mut [u8]) {
    for p in pixels {
        *p = 255 - *p;
    }
}

/// `ImageOps.autocontrast(cutoff)`: per channel, clip `cutoff_percent` of the pixels from each end
/// of the histogram, then stretch the remaining lo..=hi to 0..=255. A flat channel stays as it is.
pub(crate) fn autocontrast(pixels: &mut [u8], channels: usize, cutoff_percent: f32) {
    let histograms = histograms(pixels, channels);
    let luts: [[u8; 256]; 3] = std::array::from_fn(|c| {
        let mut counts = histograms[c];
        let num_px: u32 = counts.iter().sum();
        let cut = (f64::from(num_px) * f64::from(cutoff_percent) / 100.0).floor() as u32;
        clip(&mut counts, cut, 0..256);
        clip(&mut counts, cut, (0..256).rev());
        let lo = counts.iter().position(|&n| n > 0);
        let hi = counts.iter().rposition(|&n| n > 0);
        match (lo, hi) {
            (Some(lo), Some(hi)) => stretch_lut(lo as u8, hi as u8),
            _ => identity(),
        }
    });
    apply(pixels, channels, &luts);
}

/// Stretches `lo[c]..=hi[c]` of each channel to 0..=255, as autocontrast does with the range it
/// finds, but over a range given up front: the same curve for every frame of a take.
pub(crate) fn stretch(pixels: &mut [u8], channels: usize, lo: [u8; 3], hi: [u8; 3]) {
    let luts: [[u8; 256]; 3] = std::array::from_fn(|c| stretch_lut(lo[c], hi[c]));
    apply(pixels, channels, &luts);
}

/// The table mapping `lo..=hi` linearly onto 0..=255 (the identity when the range is empty).
fn stretch_lut(lo: u8, hi: u8) -> [u8; 256] {
    let (lo, hi) = (usize::from(lo), usize::from(hi));
    if hi <= lo {
        return identity();
    }
    // PIL computes int(p * scale + offset) in floats; exact integers truncate the same way
    // without landing one short of 255 at p = hi.
    std::array::from_fn(|p| ((p.clamp(lo, hi) - lo) * 255 / (hi - lo)) as u8)
}

/// Removes `cut` pixels from the histogram, walking the values in `order`.
fn clip(counts: &mut [u32; 256], mut cut: u32, order: impl Iterator<Item = usize>) {
    for value in order {
        if cut == 0 {
            break;
        }
        let removed = cut.min(counts[value]);
        counts[value] -= removed;
        cut -= removed;
    }
}

/// `ImageOps.equalize`: per channel, map values through the cumulative histogram so each output
/// level gets about the same number of pixels.
pub(crate) fn equalize(pixels: &mut [u8], channels: usize) {
    let histograms = histograms(pixels, channels);
    let luts: [[u8; 256]; 3] = std::array::from_fn(|c| {
        let counts = &histograms[c];
        let total: u32 = counts.iter().sum();
        let last = counts.iter().rev().find(|&&n| n > 0).copied().unwrap_or(0);
        let step = (total - last) / 255;
        if step == 0 {
            return identity();
        }
        let mut running = step / 2;
        std::array::from_fn(|p| {
            let level = (running / step).min(255) as u8;
            running += counts[p];
            level
        })
    });
    apply(pixels, channels, &luts);
}

fn identity() -> [u8; 256] {
    std::array::from_fn(|p| p as u8)
}

fn histograms(pixels: &[u8], channels: usize) -> Histograms {
    match channels {
        1 => histograms_of::<1>(pixels),
        _ => histograms_of::<3>(pixels),
    }
}

/// Counts into four tables in turn: neighbouring pixels often share a value, and incrementing
/// one counter back to back waits on the previous increment's store.
fn histograms_of<const CH: usize>(pixels: &[u8]) -> Histograms {
    const NUM_TABLES: usize = 4;
    let mut tables = [[[0u32; 256]; 3]; NUM_TABLES];
    let groups = pixels.chunks_exact(CH * NUM_TABLES);
    let rest = groups.remainder();
    for group in groups {
        for (histograms, px) in tables.iter_mut().zip(group.chunks_exact(CH)) {
            count::<CH>(histograms, px);
        }
    }
    for px in rest.chunks_exact(CH) {
        count::<CH>(&mut tables[0], px);
    }
    let [mut sum, others @ ..] = tables;
    for histograms in &others {
        for (total, histogram) in sum.iter_mut().zip(histograms) {
            for (t, &n) in total.iter_mut().zip(histogram) {
                *t += n;
            }
        }
    }
    sum
}

#[inline(always)]
fn count<const CH: usize>(histograms: &mut Histograms, px: &[u8]) {
    for (histogram, &p) in histograms.iter_mut().zip(px) {
        histogram[usize::from(p)] += 1;
    }
}

fn apply(pixels: &mut [u8], channels: usize, luts: &[[u8; 256]; 3]) {
    match channels {
        1 => apply_to::<1>(pixels, luts),
        _ => apply_to::<3>(pixels, luts),
    }
}

/// Const channel counts let the per-pixel loops unroll instead of looping over a runtime count.
fn apply_to<const CH: usize>(pixels: &mut [u8], luts: &[[u8; 256]; 3]) {
    for px in pixels.chunks_exact_mut(CH) {
        for (p, lut) in px.iter_mut().zip(luts) {
            *p = lut[usize::from(*p)];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ramp from 50 to 150 stretches to exactly 0..=255, linearly.
    #[test]
    fn autocontrast_stretches_to_full_range() {
        let mut pixels: Vec<u8> = (50..=150).collect();
        autocontrast(&mut pixels, 1, 0.0);
        assert_eq!(pixels[0], 0);
        assert_eq!(pixels[100], 255);
        assert_eq!(pixels[50], 127);
    }

    /// The cutoff ignores outliers: one dark and one bright pixel in 100 do not set the range.
    #[test]
    fn autocontrast_cutoff_ignores_outliers() {
        let mut pixels = vec![100u8; 98];
        pixels.extend([0, 255]);
        pixels[0] = 90;
        autocontrast(&mut pixels, 1, 1.0);
        assert_eq!(pixels[0], 0, "90 is the new black");
        assert_eq!(pixels[1], 255, "100 is the new white");
    }

    /// A flat channel is left alone, as PIL does.
    #[test]
    fn autocontrast_leaves_flat_channel() {
        let mut pixels = vec![10, 20, 30, 10, 20, 30];
        autocontrast(&mut pixels, 3, 0.0);
        assert_eq!(pixels, [10, 20, 30, 10, 20, 30]);
    }

    /// Equalizing a two-level image puts the levels at PIL's positions.
    #[test]
    fn equalize_matches_pil_for_two_levels() {
        // PIL: step = (1020 - 510) // 255 = 2; lut[10] = 1 // 2 = 0, lut[200] = 511 // 2 = 255.
        let mut pixels = vec![10u8; 510];
        pixels.extend(vec![200u8; 510]);
        equalize(&mut pixels, 1);
        assert_eq!(pixels[0], 0);
        assert_eq!(pixels[600], 255);
    }
}
