//! Writer thread: an interim writer for `spectrum.csv` and `manifest.json`, standing in for
//! `export::FrameWriter` until that lands (same method shapes, so the swap is mechanical).
//! Rows are kept in a map: last write wins for a re-recorded frame, and the CSV comes out sorted.
//! Files are written to a temporary name and renamed.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::analysis::AnalysisSettings;
use crate::clock::{FrameClock, FrameRate};
use crate::handoff::PositionSource;

pub struct WriterSettings {
    pub out_dir: PathBuf,
    pub write_images: bool,
    pub image_size: u32,
}

pub struct JobInfo {
    pub analysis: AnalysisSettings,
    pub sample_rate: u32,
    pub fps: FrameRate,
    pub bin_freqs_hz: Vec<f32>,
    pub track: String,
}

pub struct TakeStats {
    pub num_frames_dropped: u64,
    pub position_source: PositionSource,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot create the output folder {0}: {1}")]
    CreateDir(PathBuf, std::io::Error),
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, std::io::Error),
}

pub struct FrameWriter {
    settings: WriterSettings,
    job: JobInfo,
    rows: BTreeMap<u64, Vec<f32>>,
    num_takes: u32,
}

impl FrameWriter {
    pub fn create(settings: &WriterSettings, job: &JobInfo) -> Result<Self, WriteError> {
        let dir = &settings.out_dir;
        fs::create_dir_all(dir).map_err(|e| WriteError::CreateDir(dir.clone(), e))?;
        // Probe: a folder that exists but is read-only fails here, not at the end of the take.
        let probe = dir.join(".spectral-diffusion-probe");
        fs::write(&probe, b"").map_err(|e| WriteError::Write(probe.clone(), e))?;
        let _ = fs::remove_file(&probe);
        Ok(Self {
            settings: WriterSettings {
                out_dir: dir.clone(),
                write_images: settings.write_images,
                image_size: settings.image_size,
            },
            job: JobInfo {
                analysis: job.analysis.clone(),
                sample_rate: job.sample_rate,
                fps: job.fps,
                bin_freqs_hz: job.bin_freqs_hz.clone(),
                track: job.track.clone(),
            },
            rows: BTreeMap::new(),
            num_takes: 0,
        })
    }

    pub fn write_frame(&mut self, frame_idx: u64, bins: &[f32]) -> Result<(), WriteError> {
        match self.rows.get_mut(&frame_idx) {
            Some(row) => row.copy_from_slice(bins),
            None => {
                self.rows.insert(frame_idx, bins.to_vec());
            }
        }
        Ok(())
    }

    pub fn finish_take(&mut self, stats: &TakeStats) -> Result<(), WriteError> {
        self.num_takes += 1;
        let clock = FrameClock::new(
            self.job.fps,
            self.job.sample_rate,
            crate::analysis::WindowPlacement::FrameStart { max_len: 1 },
        );
        let mut csv = String::with_capacity(self.rows.len() * 2600 + 4096);
        csv.push_str("frame,time_s");
        for freq in &self.job.bin_freqs_hz {
            csv.push(',');
            csv.push_str(&freq.to_string());
        }
        csv.push('\n');
        for (&frame_idx, row) in &self.rows {
            csv.push_str(&frame_idx.to_string());
            csv.push(',');
            csv.push_str(&format!("{:.6}", clock.frame_time_s(frame_idx as i64)));
            for value in row {
                csv.push(',');
                csv.push_str(&value.to_string());
            }
            csv.push('\n');
        }
        write_atomically(&self.settings.out_dir.join("spectrum.csv"), csv.as_bytes())?;

        let manifest = serde_json::json!({
            "format_version": 1,
            "tool": "spectral-diffusion",
            "tool_version": env!("CARGO_PKG_VERSION"),
            "source": { "host": "plugin", "track": self.job.track },
            "sample_rate": self.job.sample_rate,
            "fps": { "num": self.job.fps.num, "den": self.job.fps.den },
            "analysis": self.job.analysis,
            "bin_freqs_hz": self.job.bin_freqs_hz,
            "image_size": self.settings.image_size,
            "first_frame": self.rows.keys().next(),
            "last_frame": self.rows.keys().next_back(),
            "frames_written": self.rows.len(),
            "frames_dropped": stats.num_frames_dropped,
            "takes": self.num_takes,
            "position_source": stats.position_source,
            "warnings": if stats.num_frames_dropped > 0 {
                vec![format!("{} frames dropped: the writer could not keep up", stats.num_frames_dropped)]
            } else {
                Vec::new()
            },
        });
        let text = serde_json::to_string_pretty(&manifest).expect("JSON values serialize");
        write_atomically(
            &self.settings.out_dir.join("manifest.json"),
            text.as_bytes(),
        )
    }
}

/// Writes `path` through a temporary file in the same folder and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let tmp = path.with_extension("tmp");
    let result = fs::File::create(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        WriteError::Write(path.to_path_buf(), e)
    })
}
