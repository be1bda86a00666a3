//! CLI: audio source → frame clock → analyzer → output folder, on every core.
//!
//! One thread decodes and cuts each frame's window (sequential by nature); worker threads analyze,
//! render and encode (the expensive part), each with its own [`Analyzer`] and [`FrameEncoder`].
//! Windows reach the workers through a bounded channel and come back for reuse, so memory stays
//! flat however long the input.
//!
//! A stop request (the CLI's SIGINT/SIGTERM flag) ends the render between frames: no new window
//! is cut or started, the frames being written finish, and the folder is left listing exactly
//! those with `"complete": false`, for `render --resume` to finish.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

use crossbeam_channel::{bounded, unbounded};

use crate::analysis::{AnalysisError, AnalysisSettings, Analyzer};
use crate::audio::decode::{DecodeError, MonoSource};
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
    /// The source's audio as the manifest records it (see `Manifest::audio`).
    pub audio: Option<PathBuf>,
    pub fps: FrameRate,
    pub analysis: AnalysisSettings,
    pub render: RenderSettings,
    pub export: ExportSettings,
    /// `Replace` an earlier render in the folder, or `Continue` an interrupted one (`--resume`).
    pub mode: OpenMode,
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
    /// Stopped on request; the folder lists the frames written and says it is incomplete.
    #[error(
        "interrupted with {num_frames} frames written to {}; the same command with --resume \
         finishes the render",
        out_dir.display()
    )]
    Interrupted { num_frames: u64, out_dir: PathBuf },
}

/// What a finished render did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderSummary {
    /// Frames of the audio, all now in the folder.
    pub num_frames: u64,
    /// Of those, the frames this run rendered; the others were kept from an interrupted run.
    pub num_rendered: u64,
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

/// Renders every frame of `source` into the job's output folder, skipping frames a continued
/// folder already holds. `on_frame` is called after each frame is written (or found written), for
/// progress display. Once `stop` is set, the render ends with [`PipelineError::Interrupted`].
/// A failed render leaves no temporary file: an unusable input removes what it wrote, a failed
/// write leaves the frames written so far listed as incomplete, or, when the disk does not allow
/// even that, removes them.
pub fn render(
    source: &mut dyn MonoSource,
    job: &RenderJob,
    stop: &AtomicBool,
    on_frame: &(dyn Fn(u64) + Sync),
) -> Result<RenderSummary, PipelineError> {
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
        audio: job.audio.clone(),
        frames_expected: source
            .info()
            .num_samples
            .map(|num_samples| job.fps.num_frames(num_samples, sample_rate)),
    };
    let writer = FrameWriter::open(&job.export, job_info, job.mode)?;
    let has_kept_frames = writer.num_frames() > 0;
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
    let num_rendered = AtomicU64::new(0);
    let cut = thread::scope(|scope| {
        let handles: Vec<_> = workers
            .into_iter()
            .map(|mut worker| {
                let (window_rx, spare_tx, writer, has_failed, num_rendered) = (
                    window_rx.clone(),
                    spare_tx.clone(),
                    &writer,
                    &has_failed,
                    &num_rendered,
                );
                scope.spawn(move || {
                    for (frame_idx, window) in window_rx {
                        // Stopped: drain the queue without starting its frames.
                        if stop.load(Ordering::Relaxed) {
                            continue;
                        }
                        if let Err(error) = worker.process(frame_idx, &window, writer) {
                            has_failed.store(true, Ordering::Relaxed);
                            return Err(error);
                        }
                        num_rendered.fetch_add(1, Ordering::Relaxed);
                        on_frame(frame_idx);
                        let _ = spare_tx.send(window);
                    }
                    Ok(())
                })
            })
            .collect();
        drop(window_rx);
        let cut = cut_frames(source, &clock, |frame_idx, samples| {
            if stop.load(Ordering::Relaxed) {
                return Ok(ControlFlow::Break(()));
            }
            let is_kept = has_kept_frames
                && writer
                    .lock()
                    .expect("a worker that panicked aborts the render")
                    .has_frame(frame_idx);
            if is_kept {
                on_frame(frame_idx);
                return Ok(ControlFlow::Continue(()));
            }
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
            Ok(ControlFlow::Continue(()))
        });
        drop(window_tx);
        // A worker's own error says more than the producer's "a writer stopped".
        for handle in handles {
            handle.join().expect("frame workers do not panic")?;
        }
        cut
    });
    let mut writer = writer.into_inner().expect("workers have finished");
    let stats = TakeStats {
        frames_dropped: 0,
        position_source: PositionSource::Timeline,
        warnings: source
            .damage()
            .iter()
            .map(|damage| damage.describe(sample_rate))
            .collect(),
    };
    let num_frames = match cut {
        // Every frame is in the folder unless the stop came while the last ones were queued.
        Ok(Some(num_frames)) if writer.num_frames() == num_frames => num_frames,
        Ok(_) => {
            writer.finish_interrupted(&stats)?;
            return Err(PipelineError::Interrupted {
                num_frames: writer.num_frames(),
                out_dir: job.export.out_dir.clone(),
            });
        }
        Err(error @ PipelineError::Export(_)) => {
            // List what was written, for --resume; when even that fails (a full disk), remove it
            // all rather than leave PNGs that no listing names.
            if writer.finish_interrupted(&stats).is_err() {
                let _ = writer.discard();
            }
            return Err(error);
        }
        Err(error) => {
            let _ = writer.discard();
            return Err(error);
        }
    };
    if num_frames == 0 {
        let _ = writer.discard();
        return Err(PipelineError::NoAudio);
    }
    writer.finish_take(&stats)?;
    Ok(RenderSummary {
        num_frames,
        num_rendered: num_rendered.into_inner(),
    })
}

/// Streams `source` and calls `on_window(k, samples)` with frame k's analysis window, for every
/// frame that starts inside the audio (DESIGN.md §4: `ceil(samples * fps / sr)` frames). Samples
/// before the start or past the end are zeros. Returns the number of frames, or `None` when
/// `on_window` asked to stop.
pub fn cut_frames(
    source: &mut dyn MonoSource,
    clock: &FrameClock,
    mut on_window: impl FnMut(u64, &[f32]) -> Result<ControlFlow<()>, PipelineError>,
) -> Result<Option<u64>, PipelineError> {
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
            if on_window(next_frame as u64, window)?.is_break() {
                return Ok(None);
            }
            next_frame += 1;
        }
        if is_done {
            return Ok(Some(next_frame as u64));
        }
        // Drop what no later frame reads, trimming in large steps to copy rarely. When frames are
        // longer than their windows, the next window may start past the end of the buffered
        // audio: then all of it goes.
        let unneeded = (clock.window(next_frame).start - buffer_start).min(samples.len() as i64);
        if unneeded > 1 << 16 {
            samples.drain(..unneeded as usize);
            buffer_start += unneeded;
        }
    }
}
