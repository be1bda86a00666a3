//! Writer thread: drains the recorder queue, writes each frame, hands emptied frames back, and
//! publishes progress and errors in [`RecorderStatus`]. An error stops the recorder (the audio
//! thread sees `has_error`) while audio keeps flowing; the writer keeps emptying the queue so an
//! offline render never waits on it forever.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::analysis::AnalysisSettings;
use crate::clock::FrameRate;
use crate::handoff::{FrameConsumer, PositionSource, RecorderEvent, RecorderStatus, TakeState};

use super::frame_writer::{FrameWriter, JobInfo, TakeStats, WriterSettings};
use super::params::PluginParams;

/// What the writer needs besides the queue. Built at activation.
pub struct WriterConfig {
    pub params: Arc<PluginParams>,
    pub status: Arc<RecorderStatus>,
    pub analysis: AnalysisSettings,
    pub sample_rate: u32,
    pub fps: FrameRate,
    pub bin_freqs_hz: Vec<f32>,
    /// Test hook: sleep this long after each frame (a deliberately slow disk).
    pub delay_per_frame: Duration,
}

/// Starts the writer thread; it ends when the audio side drops its queue end and the queue is
/// empty.
pub fn spawn(consumer: FrameConsumer, config: WriterConfig) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("spectral-diffusion-writer".into())
        .spawn(move || run(consumer, config))
}

struct Take {
    position_source: PositionSource,
}

fn run(mut consumer: FrameConsumer, config: WriterConfig) {
    let status = Arc::clone(&config.status);
    let mut writer: Option<(PathBuf, FrameWriter)> = None;
    let mut take: Option<Take> = None;
    let mut is_failed = false;
    let mut num_dropped_total = 0u64;

    loop {
        let Some(event) = consumer.pop() else {
            if consumer.is_finished() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
            continue;
        };
        match event {
            RecorderEvent::TakeStart {
                position_source, ..
            } => {
                is_failed = false;
                take = Some(Take { position_source });
                let out_dir = config.params.out_dir();
                if let Ok(mut text) = status.out_dir.lock() {
                    *text = out_dir.display().to_string();
                }
                if writer.as_ref().is_none_or(|(dir, _)| *dir != out_dir) {
                    writer = None;
                    match FrameWriter::create(&writer_settings(&config, &out_dir), &job(&config)) {
                        Ok(w) => writer = Some((out_dir, w)),
                        Err(error) => {
                            status.set_error(format!("{}: {error}", out_dir.display()));
                            is_failed = true;
                        }
                    }
                }
            }
            RecorderEvent::Frame(frame) => {
                if !is_failed && let Some((_, w)) = writer.as_mut() {
                    match w.write_frame(frame.frame_idx, frame.bins()) {
                        Ok(()) => {
                            status.num_frames_written.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(error) => {
                            status.set_error(error.to_string());
                            is_failed = true;
                        }
                    }
                }
                consumer.recycle(frame);
                if !config.delay_per_frame.is_zero() {
                    std::thread::sleep(config.delay_per_frame);
                }
            }
            RecorderEvent::TakeEnd {
                num_frames_dropped, ..
            } => {
                num_dropped_total += num_frames_dropped;
                if let (Some((_, w)), Some(t)) = (writer.as_mut(), take.take()) {
                    let stats = TakeStats {
                        num_frames_dropped: num_dropped_total,
                        position_source: t.position_source,
                    };
                    // Even after a failed frame, try to save the rows written so far.
                    if let Err(error) = w.finish_take(&stats) {
                        status.set_error(error.to_string());
                        is_failed = true;
                    }
                }
                if !is_failed {
                    let _ = status.take_state.compare_exchange(
                        TakeState::Writing as u8,
                        TakeState::Idle as u8,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                }
            }
        }
    }
}

fn writer_settings(config: &WriterConfig, out_dir: &std::path::Path) -> WriterSettings {
    WriterSettings {
        out_dir: out_dir.to_path_buf(),
        write_images: false,
        image_size: config.params.image_size.value() as u32,
    }
}

fn job(config: &WriterConfig) -> JobInfo {
    JobInfo {
        analysis: config.analysis.clone(),
        sample_rate: config.sample_rate,
        fps: config.fps,
        bin_freqs_hz: config.bin_freqs_hz.clone(),
        track: config
            .params
            .track_name
            .read()
            .map(|s| s.clone())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handoff::FrameProducer;

    fn config(params: Arc<PluginParams>, status: Arc<RecorderStatus>) -> WriterConfig {
        WriterConfig {
            params,
            status,
            analysis: AnalysisSettings::default(),
            sample_rate: 48_000,
            fps: FrameRate::FPS_24,
            bin_freqs_hz: vec![100.0, 1000.0],
            delay_per_frame: Duration::ZERO,
        }
    }

    fn take(producer: &mut FrameProducer, frames: &[u64]) {
        producer
            .push(RecorderEvent::TakeStart {
                take_idx: 1,
                position_source: PositionSource::HostTransport,
                start_pos_samples: 0,
            })
            .unwrap();
        for &idx in frames {
            let mut frame = producer.take_free_frame().unwrap();
            frame.frame_idx = idx;
            frame.bins.fill(idx as f32);
            producer.push(RecorderEvent::Frame(frame)).unwrap();
        }
        producer
            .push(RecorderEvent::TakeEnd {
                take_idx: 1,
                num_frames_dropped: 0,
                end_pos_samples: 0,
            })
            .unwrap();
    }

    /// An unwritable folder becomes a readable error for the GUI; the queue is still emptied.
    #[test]
    fn unwritable_folder_sets_the_error_status() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"").unwrap();
        let params = Arc::new(PluginParams::default());
        *params.output_folder.write().unwrap() = blocker.display().to_string();
        let status = Arc::new(RecorderStatus::default());
        let (mut producer, consumer) = FrameProducer::new(4, 2);
        let handle = spawn(consumer, config(params, Arc::clone(&status))).unwrap();
        take(&mut producer, &[0, 1]);
        drop(producer);
        handle.join().unwrap();
        let error = status.error().expect("an error");
        assert!(error.contains("file"), "{error}");
        assert_eq!(status.take_state(), TakeState::Error);
        assert_eq!(status.num_frames_written.load(Ordering::Relaxed), 0);
    }

    /// A frame recorded twice is written once, with the last values.
    #[test]
    fn rerecorded_frames_keep_the_last_write() {
        let dir = tempfile::tempdir().unwrap();
        let params = Arc::new(PluginParams::default());
        *params.output_folder.write().unwrap() = dir.path().display().to_string();
        *params.track_name.write().unwrap() = "t".into();
        let status = Arc::new(RecorderStatus::default());
        let (mut producer, consumer) = FrameProducer::new(8, 2);
        let handle = spawn(consumer, config(params, Arc::clone(&status))).unwrap();
        take(&mut producer, &[0, 1, 2]);
        std::thread::sleep(Duration::from_millis(50));
        take(&mut producer, &[1]);
        drop(producer);
        handle.join().unwrap();
        let csv = std::fs::read_to_string(dir.path().join("t/spectrum.csv")).unwrap();
        let frames: Vec<&str> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(frames, ["0", "1", "2"]);
        assert!(status.error().is_none());
    }
}
