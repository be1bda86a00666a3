//! CLI: audio source → frame clock → analyzer → output folder, on every core.
//!
//! One thread decodes and analyzes (cheap, and sequential by nature); worker threads render and
//! encode the PNGs (the expensive part), each with its own [`FrameEncoder`]. Spectra reach the
//! workers through a bounded channel, so memory stays flat however long the input.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use crossbeam_channel::bounded;

use super::decode::{DecodeError, MonoSource};
use crate::analysis::{AnalysisError, AnalysisSettings, Analyzer};
use crate::clock::{FrameClock, FrameRate};
use crate::export::{
    ExportError, ExportSettings, FrameEncoder, FrameWriter, JobInfo, PositionSource, Source,
    TakeStats,
};
use crate::render::RenderSettings;

/// Spectra waiting for a worker, per worker: enough to ride out a slow file write.
const QUEUED_FRAMES_PER_WORKER: usize = 16;

/// One offline render, fully described.
#[derive(Debug, Clone)]
pub struct RenderJob {
    pub source: Source,
    pub fps: FrameRate,
    pub analysis: AnalysisSettings,
    pub render: RenderSettings,
    pub export: ExportSettings,
    /// Threads that render and encode PNGs (at least one).
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

/// Renders every frame of `source` into the job's output folder; returns the number of frames.
/// `on_frame` is called after each frame is analyzed, for progress display.
pub fn render(
    source: &mut dyn MonoSource,
    job: &RenderJob,
    on_frame: &(dyn Fn(u64) + Sync),
) -> Result<u64, PipelineError> {
    let sample_rate = source.info().sample_rate;
    let mut analyzer = Analyzer::new(&job.analysis, sample_rate)?;
    let clock = FrameClock::new(job.fps, sample_rate, analyzer.placement());
    let job_info = JobInfo {
        source: job.source.clone(),
        sample_rate,
        fps: job.fps,
        analysis: job.analysis.clone(),
        render: job.render.clone(),
        bin_freqs_hz: analyzer.bin_map().centre_freqs_hz.clone(),
    };
    let mut writer = FrameWriter::create(&job.export, job_info)?;
    let encoders = if job.export.write_images {
        (0..job.num_workers.max(1))
            .map(|_| FrameEncoder::new(writer.job(), &job.export.out_dir))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };

    let (frame_tx, frame_rx) =
        bounded::<(u64, Vec<f32>)>(QUEUED_FRAMES_PER_WORKER * encoders.len().max(1));
    let has_failed = AtomicBool::new(false);
    let num_frames = thread::scope(|scope| {
        let workers: Vec<_> = encoders
            .into_iter()
            .map(|mut encoder| {
                let (frame_rx, has_failed) = (frame_rx.clone(), &has_failed);
                scope.spawn(move || {
                    for (frame_idx, bins) in frame_rx {
                        if let Err(error) = encoder.write_frame(frame_idx, &bins) {
                            has_failed.store(true, Ordering::Relaxed);
                            return Err(error);
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        drop(frame_rx);
        let num_bins = analyzer.num_bins();
        let analyzed = cut_frames(source, &clock, |frame_idx, window| {
            let mut bins = vec![0.0; num_bins];
            analyzer.analyze(window, &mut bins);
            writer.record_spectrum(frame_idx, &bins)?;
            on_frame(frame_idx);
            // A send fails only when every worker has stopped, and then with an error to report.
            if !workers.is_empty()
                && (has_failed.load(Ordering::Relaxed) || frame_tx.send((frame_idx, bins)).is_err())
            {
                return Err(PipelineError::Export(ExportError::io(
                    &job.export.out_dir,
                    std::io::Error::other("a frame writer stopped"),
                )));
            }
            Ok(())
        });
        drop(frame_tx);
        // A worker's own error says more than the producer's "a writer stopped".
        for worker in workers {
            worker.join().expect("frame workers do not panic")?;
        }
        analyzed
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
