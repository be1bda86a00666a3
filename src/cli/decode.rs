//! STUB (uncommitted) — replaced by branch decode.
use std::path::{Path, PathBuf};
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AudioInfo {
    pub sample_rate: u32,
    pub num_channels: usize,
    pub num_samples: Option<u64>,
    pub codec: String,
}
pub trait MonoSource {
    fn info(&self) -> &AudioInfo;
    fn read_mono(&mut self, out: &mut Vec<f32>) -> Result<bool, DecodeError>;
}
pub struct FileSource {
    info: AudioInfo,
}
impl FileSource {
    pub fn open(path: &Path) -> Result<Self, DecodeError> {
        Err(DecodeError::NotFound(path.to_owned()))
    }
}
impl MonoSource for FileSource {
    fn info(&self) -> &AudioInfo {
        &self.info
    }
    fn read_mono(&mut self, _out: &mut Vec<f32>) -> Result<bool, DecodeError> {
        Ok(false)
    }
}
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{} does not exist", .0.display())]
    NotFound(PathBuf),
}
impl DecodeError {
    pub fn is_io(&self) -> bool {
        false
    }
}
