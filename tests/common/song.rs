//! The test song every integration test feeds: the CLI's files and the plugin's host alike.

/// A deterministic 20 s-ish "song": chords, a kick and noise, stereo, different in L and R.
pub fn song(sample_rate: u32, seconds: f64) -> Vec<Vec<f32>> {
    let n = (seconds * f64::from(sample_rate)) as usize;
    let sr = f64::from(sample_rate);
    let mut seed = 0x1234_5678u32;
    let mut left = Vec::with_capacity(n);
    let mut right = Vec::with_capacity(n);
    for i in 0..n {
        let t = i as f64 / sr;
        let bar = (t / 2.0) as usize;
        let root = [110.0, 146.83, 130.81, 98.0][bar % 4];
        let chord: f64 = [1.0, 1.26, 1.5]
            .iter()
            .map(|r| (2.0 * std::f64::consts::PI * root * r * t).sin())
            .sum::<f64>()
            * 0.15;
        let beat_t = t % 0.5;
        let kick = (2.0 * std::f64::consts::PI * (50.0 + 100.0 * (-beat_t * 30.0).exp()) * beat_t)
            .sin()
            * (-beat_t * 8.0).exp()
            * 0.5;
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed as f64 / u32::MAX as f64 - 0.5) * 0.05 * (1.0 + (t * 0.7).sin());
        let hat =
            (2.0 * std::f64::consts::PI * 8000.0 * t).sin() * 0.05 * (-(t % 0.25) * 40.0).exp();
        left.push((chord + kick + noise) as f32);
        right.push((chord * 0.8 + kick + hat - noise) as f32);
    }
    vec![left, right]
}
