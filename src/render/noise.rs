//! Any thread: pure. The background: a seeded uniform noise field, blurred, scaled by an amount.

use super::blur::GaussianBlur;

/// SplitMix64 (Steele, Lea & Flood 2014): five lines, and its output mixing decorrelates the
/// consecutive seeds `seed + frame_idx` of per-frame noise. Written here rather than taken from a
/// crate so the bytes of a take can never change with a dependency update.
struct SplitMix64 {
    /// The Weyl sequence position; each draw advances it by the golden-ratio increment.
    state: u64,
}

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Fills `field` (`width` pixels a row, `channels` bytes a pixel) with uniform bytes drawn from
/// `seed`, blurs it, and scales it by `amount` (0 = black, 1 = full-range noise).
pub(crate) fn render_noise(
    field: &mut Vec<u8>,
    width: usize,
    channels: usize,
    seed: u64,
    amount: f32,
    blur: &mut GaussianBlur,
) {
    if amount <= 0.0 {
        field.fill(0);
        return;
    }
    let mut rng = SplitMix64 { state: seed };
    for chunk in field.chunks_mut(8) {
        let bytes = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    blur.apply(field, width, channels);
    let scale: [u8; 256] = std::array::from_fn(|p| (p as f32 * amount).round() as u8);
    for p in field.iter_mut() {
        *p = scale[usize::from(*p)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published SplitMix64 reference values for seed 1234567, so the noise is the algorithm.
    #[test]
    fn splitmix_matches_reference_sequence() {
        let mut rng = SplitMix64 { state: 1_234_567 };
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            first,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423
            ]
        );
    }

    /// Amount scales the field: half the amount never exceeds half the full field (plus rounding).
    #[test]
    fn amount_scales_the_field() {
        let mut blur = GaussianBlur::new(0.0);
        let (mut full, mut half) = (vec![0u8; 256], vec![0u8; 256]);
        render_noise(&mut full, 16, 1, 7, 1.0, &mut blur);
        render_noise(&mut half, 16, 1, 7, 0.5, &mut blur);
        assert!(
            full.iter().any(|&p| p > 200),
            "uniform noise reaches the top of the range"
        );
        for (f, h) in full.iter().zip(&half) {
            assert!(u32::from(*h) * 2 <= u32::from(*f) + 1);
        }
    }
}
