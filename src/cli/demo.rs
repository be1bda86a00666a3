//! STUB (uncommitted) — replaced by branch decode.
use super::decode::{AudioInfo, DecodeError, MonoSource};
pub struct DemoSource {
    info: AudioInfo,
    pos: u64,
}
impl DemoSource {
    pub fn new(sample_rate: u32) -> Self {
        Self {
            info: AudioInfo {
                sample_rate,
                num_channels: 2,
                num_samples: Some(u64::from(sample_rate) * 16),
                codec: "demo".into(),
            },
            pos: 0,
        }
    }
}
impl MonoSource for DemoSource {
    fn info(&self) -> &AudioInfo {
        &self.info
    }
    fn read_mono(&mut self, out: &mut Vec<f32>) -> Result<bool, DecodeError> {
        let total = self.info.num_samples.unwrap();
        if self.pos >= total {
            return Ok(false);
        }
        let n = 4096.min(total - self.pos);
        for i in 0..n {
            let t = (self.pos + i) as f32 / self.info.sample_rate as f32;
            out.push((t * 440.0 * std::f32::consts::TAU).sin() * 0.5);
        }
        self.pos += n;
        Ok(true)
    }
}
