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

/// Mid-grey: where a centred field sits when its amount is 0.
const MID_GREY: f32 = 128.0;
/// How far a centred field swings either side of mid-grey at amount 1: a texture img2img can
/// work with, not a pattern that outshouts the spectrum (it never moves).
const CENTRED_SWING: f32 = 64.0;

/// The darkest and brightest value of a centred field of `amount`.
pub(crate) fn centred_span(amount: f32) -> (u8, u8) {
    let swing = CENTRED_SWING * amount.clamp(0.0, 1.0);
    let edge = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    (edge(MID_GREY - swing), edge(MID_GREY + swing))
}

/// Fills `field` (`width` pixels a row, `channels` bytes a pixel) with uniform bytes drawn from
/// `seed` and blurs it. Then, as the post does, scales it by `amount` (0 = black, 1 = the blurred
/// noise as it is); or, when `is_centred`, stretches it to span mid-grey ± 64 at amount 1 and
/// scales that swing by `amount` (0 = flat grey). Blurring narrows uniform noise
/// to a few levels around 128, so the post's field is a near-flat dark grey whatever its amount.
pub(crate) fn render_noise(
    field: &mut Vec<u8>,
    width: usize,
    channels: usize,
    seed: u64,
    amount: f32,
    is_centred: bool,
    blur: &mut GaussianBlur,
) {
    if amount <= 0.0 {
        field.fill(if is_centred { MID_GREY as u8 } else { 0 });
        return;
    }
    let mut rng = SplitMix64 { state: seed };
    for chunk in field.chunks_mut(8) {
        let bytes = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    blur.apply(field, width, channels);
    let scale: [u8; 256] = if is_centred {
        let lo = f32::from(field.iter().copied().min().unwrap_or(0));
        let hi = f32::from(field.iter().copied().max().unwrap_or(255));
        let scale = 2.0 * CENTRED_SWING * amount / (hi - lo).max(1.0);
        let mid = (lo + hi) / 2.0;
        std::array::from_fn(|p| {
            (MID_GREY + (p as f32 - mid) * scale)
                .round()
                .clamp(0.0, 255.0) as u8
        })
    } else {
        std::array::from_fn(|p| (p as f32 * amount).round() as u8)
    };
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
        render_noise(&mut full, 16, 1, 7, 1.0, false, &mut blur);
        render_noise(&mut half, 16, 1, 7, 0.5, false, &mut blur);
        assert!(
            full.iter().any(|&p| p > 200),
            "uniform noise reaches the top of the range"
        );
        for (f, h) in full.iter().zip(&half) {
            assert!(u32::from(*h) * 2 <= u32::from(*f) + 1);
        }
    }
}
