//! CLI: audio source → frame clock → analyzer → output folder, on every core.
//!
//! One thread decodes and cuts each frame's window (sequential by nature); worker threads analyze,
//! render and encode (the expensive part), each with its own [`Analyzer`] and [`FrameEncoder`].
//! Windows reach the workers through a bounded channel and come back for reuse, so memory stays
//! flat however long the input.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use crossbeam_channel::{bounded, unbounded};

use super::decode::{DecodeError, MonoSource};
use crate::analysis::{AnalysisError, AnalysisSettings, Analyzer};
use crate::clock::{FrameClock, FrameRate};
use crate::export::{
    ExportError, ExportSettings, FrameEncoder, FrameWriter, JobInfo, OpenMode, PositionSource,
    Source, TakeStats,
};
use crate::render::RenderSettings;

/// Windows waiting for a worker, per worker: enough to ride out a slow file write.
const QUEUED_FRAMES_PER_WORKER: usize = 16;

/// One offline render, fully described.
#[derive(Debug, Clone)]
pub struct RenderJob {
    pub source: Source,
    pub fps: FrameRate,
    pub analysis: AnalysisSettings,
    pub render: RenderSettings,
    pub export: ExportSettings,
    /// Threads that analyze and render frames (at least one).
    pub num_workers: usize,
}

/// Why a render stopped.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("the audio has no samples, so there is nothing to render")]
    NoAudio,
}

/// What one worker thread owns: its own FFT plan and scratch, renderer and PNG buffer.
struct FrameWorker {
    analyzer: Analyzer,
    /// `None` when writing the CSV only.
    encoder: Option<FrameEncoder>,
    bins: Vec<f32>,
}

impl FrameWorker {
    fn process(
        &mut self,
        frame_idx: u64,
        window: &[f32],
        writer: &Mutex<FrameWriter>,
    ) -> Result<(), ExportError> {
        self.analyzer.analyze(window, &mut self.bins);
        // The PNG first, so the table never lists a frame whose PNG failed.
        if let Some(encoder) = &mut self.encoder {
            encoder.write_frame(frame_idx, &self.bins)?;
        }
        writer
            .lock()
            .expect("a worker that panicked aborts the render")
            .record_spectrum(frame_idx, &self.bins)
    }
}

/// Renders every frame of `source` into the job's output folder; returns the number of frames.
/// `on_frame` is called after each frame is written, for progress display.
pub fn render(
    source: &mut dyn MonoSource,
    job: &RenderJob,
    on_frame: &(dyn Fn(u64) + Sync),
) -> Result<u64, PipelineError> {
    let sample_rate = source.info().sample_rate;
    let analyzer = Analyzer::new(&job.analysis, sample_rate)?;
    let clock = FrameClock::new(job.fps, sample_rate, analyzer.placement());
    let job_info = JobInfo {
        source: job.source.clone(),
        sample_rate,
        fps: job.fps,
        analysis: job.analysis.clone(),
        render: job.render.clone(),
        bin_freqs_hz: analyzer.bin_map().centre_freqs_hz.clone(),
    };
    let writer = FrameWriter::open(&job.export, job_info, OpenMode::Replace)?;
    let workers = (0..job.num_workers.max(1))
        .map(|_| {
            Ok(FrameWorker {
                analyzer: Analyzer::new(&job.analysis, sample_rate)?,
                encoder: job
                    .export
                    .write_images
                    .then(|| FrameEncoder::new(writer.job(), &job.export.out_dir))
                    .transpose()?,
                bins: vec![0.0; analyzer.num_bins()],
            })
        })
        .collect::<Result<Vec<_>, PipelineError>>()?;

    let writer = Mutex::new(writer);
    let (window_tx, window_rx) =
        bounded::<(u64, Vec<f32>)>(QUEUED_FRAMES_PER_WORKER * workers.len());
    let (spare_tx, spare_rx) = unbounded::<Vec<f32>>();
    let has_failed = AtomicBool::new(false);
    let num_frames = thread::scope(|scope| {
        let handles: Vec<_> = workers
            .into_iter()
            .map(|mut worker| {
                let (window_rx, spare_tx, writer, has_failed) =
                    (window_rx.clone(), spare_tx.clone(), &writer, &has_failed);
                scope.spawn(move || {
                    for (frame_idx, window) in window_rx {
                        if let Err(error) = worker.process(frame_idx, &window, writer) {
                            has_failed.store(true, Ordering::Relaxed);
                            return Err(error);
                        }
                        on_frame(frame_idx);
                        let _ = spare_tx.send(window);
                    }
                    Ok(())
                })
            })
            .collect();
        drop(window_rx);
        let cut = cut_frames(source, &clock, |frame_idx, samples| {
            let mut window = spare_rx.try_recv().unwrap_or_default();
            window.clear();
            window.extend_from_slice(samples);
            // A send fails only when every worker has stopped, and then with an error to report.
            if has_failed.load(Ordering::Relaxed) || window_tx.send((frame_idx, window)).is_err() {
                return Err(PipelineError::Export(ExportError::io(
                    &job.export.out_dir,
                    std::io::Error::other("a frame writer stopped"),
                )));
            }
            Ok(())
        });
        drop(window_tx);
        // A worker's own error says more than the producer's "a writer stopped".
        for handle in handles {
            handle.join().expect("frame workers do not panic")?;
        }
        cut
    })?;
    if num_frames == 0 {
        return Err(PipelineError::NoAudio);
    }
    let warnings = match source.num_skipped_packets() {
        0 => Vec::new(),
        skipped => vec![format!(
            "{skipped} damaged audio packets could not be decoded and were rendered as silence"
        )],
    };
    let mut writer = writer.into_inner().expect("workers have finished");
    writer.finish_take(&TakeStats {
        frames_dropped: 0,
        position_source: PositionSource::Timeline,
        warnings,
    })?;
    Ok(num_frames)
}

/// Streams `source` and calls `on_window(k, samples)` with frame k's analysis window, for every
/// frame that starts inside the audio (DESIGN.md §4: `ceil(samples * fps / sr)` frames). Samples
/// before the start or past the end are zeros. Returns the number of frames.
pub fn cut_frames(
    source: &mut dyn MonoSource,
    clock: &FrameClock,
    mut on_window: impl FnMut(u64, &[f32]) -> Result<(), PipelineError>,
) -> Result<u64, PipelineError> {
    let mut samples: Vec<f32> = Vec::new();
    // Timeline position of `samples[0]`.
    let mut buffer_start: i64 = 0;
    let mut window = vec![0.0f32; clock.max_window_len()];
    let mut next_frame: i64 = 0;
    loop {
        let is_done = !source.read_mono(&mut samples)?;
        let buffer_end = buffer_start + samples.len() as i64;
        loop {
            let span = clock.window(next_frame);
            let is_ready = if is_done {
                clock.frame_start(next_frame) < buffer_end
            } else {
                span.end() <= buffer_end
            };
            if !is_ready {
                break;
            }
            let window = &mut window[..span.len];
            window.fill(0.0);
            // Copy the part of the span that overlaps the buffered audio; the rest stays silent.
            let from = span.start.max(buffer_start);
            let to = span.end().min(buffer_end);
            if from < to {
                let src = (from - buffer_start) as usize..(to - buffer_start) as usize;
                let dst = (from - span.start) as usize;
                window[dst..dst + src.len()].copy_from_slice(&samples[src]);
            }
            on_window(next_frame as u64, window)?;
            next_frame += 1;
        }
        if is_done {
            return Ok(next_frame as u64);
        }
        // Keep only what later frames can still read, trimming in large steps to copy rarely.
        let still_needed = clock.window(next_frame).start - buffer_start;
        if still_needed > 1 << 16 {
            samples.drain(..still_needed as usize);
            buffer_start += still_needed;
        }
    }
}
