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
use crate::plugin::params::PluginParams;
use crate::render::RenderSettings;

use super::{CsvFormat, ExportSettings, FrameWriter, JobInfo, OpenMode, Source, TakeStats};

/// What the writer needs besides the queue. Built at activation.
pub struct WriterConfig {
    /// Read at each take start (locks, allowed here): folder, track name, look of the frames.
    pub params: Arc<PluginParams>,
    pub status: Arc<RecorderStatus>,
    /// The analysis the recorder runs (fixed for the activation).
    pub analysis: AnalysisSettings,
    pub sample_rate: u32,
    pub fps: FrameRate,
    pub bin_freqs_hz: Vec<f32>,
    /// The plugin format the host loaded (`CLAP`, `VST3`), for the manifest.
    pub host: String,
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

/// What a [`FrameWriter`] was made for; a take with other settings gets a new writer.
#[derive(PartialEq)]
struct WriterKey {
    out_dir: PathBuf,
    write_images: bool,
    render: RenderSettings,
    track: String,
}

fn run(mut consumer: FrameConsumer, config: WriterConfig) {
    let status = Arc::clone(&config.status);
    let mut writer: Option<(WriterKey, FrameWriter)> = None;
    let mut position_source = PositionSource::HostTransport;
    let mut is_in_take = false;
    let mut is_failed = false;

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
                position_source: source,
                ..
            } => {
                is_failed = false;
                is_in_take = true;
                position_source = source;
                let key = writer_key(&config.params);
                if let Ok(mut text) = status.out_dir.lock() {
                    *text = key.out_dir.display().to_string();
                }
                if writer.as_ref().is_none_or(|(current, _)| *current != key) {
                    writer = None;
                    match create_writer(&config, &key) {
                        Ok(w) => writer = Some((key, w)),
                        Err(error) => {
                            status.set_error(error.to_string());
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
                if let (Some((_, w)), true) = (writer.as_mut(), is_in_take) {
                    let stats = take_stats(num_frames_dropped, position_source);
                    // Even after a failed frame, save the rows written so far (atomically: the
                    // previous CSV stays whole if this fails too).
                    if let Err(error) = w.finish_take(&stats) {
                        status.set_error(error.to_string());
                        is_failed = true;
                    }
                }
                is_in_take = false;
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

fn writer_key(params: &PluginParams) -> WriterKey {
    WriterKey {
        out_dir: params.out_dir(),
        write_images: params.write_images.value(),
        render: params.render_settings(),
        track: params
            .track_name
            .read()
            .map(|s| s.clone())
            .unwrap_or_default(),
    }
}

fn create_writer(
    config: &WriterConfig,
    key: &WriterKey,
) -> Result<FrameWriter, super::ExportError> {
    let settings = ExportSettings {
        out_dir: key.out_dir.clone(),
        csv: CsvFormat::Full,
        write_images: key.write_images,
        is_forced: false,
    };
    let job = JobInfo {
        source: Source::Host {
            host: config.host.clone(),
            track: key.track.clone(),
        },
        sample_rate: config.sample_rate,
        fps: config.fps,
        analysis: config.analysis.clone(),
        render: key.render.clone(),
        bin_freqs_hz: config.bin_freqs_hz.clone(),
    };
    FrameWriter::open(&settings, job, OpenMode::Continue)
}

fn take_stats(num_frames_dropped: u64, position_source: PositionSource) -> TakeStats {
    let mut warnings = Vec::new();
    if num_frames_dropped > 0 {
        warnings.push(format!(
            "{num_frames_dropped} frames dropped: the host ran in real-time mode faster than the \
             writer could write; bounce offline to keep every frame"
        ));
    }
    if position_source == PositionSource::SampleCount {
        warnings.push(
            "the host reported no transport position: frames counted from the take's start".into(),
        );
    }
    TakeStats {
        frames_dropped: num_frames_dropped,
        position_source: match position_source {
            PositionSource::HostTransport => super::PositionSource::Timeline,
            PositionSource::SampleCount => super::PositionSource::SampleCount,
        },
        warnings,
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
            host: "test".into(),
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
        assert!(params.write_images.value());
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
