//! Audio thread (and main thread for activation): the nice-plug glue. Audio passes through
//! untouched; a mono tap feeds the recorder (while armed) and the live analyzer (while the editor
//! is open). See DESIGN.md §2, §5, §8.
//!
//! # Editor interface (agreed with `src/editor.rs`)
//!
//! This module sets `type Editor = crate::editor::PluginEditor;` and [`Plugin::editor`] is
//! ```ignore
//! fn editor(&mut self, _: AsyncExecutor<Self>) -> Option<Self::Editor> {
//!     crate::editor::create(self.params.clone(), self.editor_data.take()?)
//! }
//! ```
//! with, in `src/editor.rs`:
//! ```ignore
//! pub type PluginEditor = nice_plug_egui::EguiEditor<App>; // or any `nice_plug::prelude::Editor`
//! pub fn create(params: Arc<PluginParams>, data: EditorData) -> Option<PluginEditor>;
//! ```
//! [`EditorData`] (in `handoff`, so that neither module imports the other for it) carries the
//! GUI ends of the hand-offs. The editor reads parameters through
//! `params` (and sets them with its `ParamSetter`); it writes the persisted `output_folder`,
//! `track_name` (from `NiceEguiApp::track_info_changed`) and `editor_size` fields directly; its
//! open/closed state is `params.editor_state` (the audio thread runs the live analyzer only while
//! `editor_state.is_open()`).

pub mod monitor;
pub mod params;
pub mod preview;
pub mod recorder;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use nice_plug::prelude::*;

use crate::analysis::{AnalysisSettings, Analyzer, mix_to_mono};
use crate::clock::{FrameClock, FrameRate};
use crate::handoff::{EditorData, FrameProducer, RecorderStatus, SpectrumInput};

use self::monitor::{Monitor, MonitorSettings};
use self::params::PluginParams;
use self::preview::LivePreview;
use self::recorder::{QueueMode, Recorder, TransportInfo};
use crate::export::writer_thread::{self, WriterConfig};

/// Frames the recorder queue holds: about 22 minutes at 24 fps, 9 at 60 fps (32 MiB of spectra).
/// Enough for a "real-time" export that runs far faster than real time (Ardour 7, Bitwig) to lose
/// nothing while the writer catches up.
pub const DEFAULT_QUEUE_FRAMES: usize = 32_768;

/// Test and support hooks, read at activation (process-wide: tests that set them run serially).
pub const ENV_QUEUE_FRAMES: &str = "SPECTRAL_DIFFUSION_QUEUE_FRAMES";
pub const ENV_WRITER_DELAY_MS: &str = "SPECTRAL_DIFFUSION_WRITER_DELAY_MS";
pub const ENV_FORCE_MONITOR: &str = "SPECTRAL_DIFFUSION_FORCE_MONITOR";

pub struct SpectralDiffusion {
    params: Arc<PluginParams>,
    status: Arc<RecorderStatus>,
    /// The audio thread's ends of the GUI hand-offs; they outlive activations.
    spectrum_input: SpectrumInput,
    guide_input: SpectrumInput,
    /// Handed to the editor on its creation.
    editor_data: Option<EditorData>,
    /// Everything built at activation.
    engine: Option<Engine>,
    writer: Option<JoinHandle<()>>,
}

/// The audio thread's state for one activation.
struct Engine {
    recorder: Recorder,
    /// The Guide tab's frames outside takes (editor open only).
    preview: LivePreview,
    monitor: Monitor,
    /// The mono tap of one block (up to the host's maximum block size).
    mono: Vec<f32>,
    /// The guide settings the recorder was built with; a change asks the host for a restart.
    guide: (AnalysisSettings, FrameRate),
    has_requested_restart: bool,
    is_monitor_forced: bool,
}

impl Default for SpectralDiffusion {
    fn default() -> Self {
        let status = Arc::new(RecorderStatus::default());
        status.reset();
        let (spectrum_input, spectrum) = SpectrumInput::new();
        let (guide_input, guide) = SpectrumInput::new();
        Self {
            params: Arc::new(PluginParams::default()),
            editor_data: Some(EditorData {
                spectrum,
                guide,
                status: Arc::clone(&status),
            }),
            status,
            spectrum_input,
            guide_input,
            engine: None,
            writer: None,
        }
    }
}

impl SpectralDiffusion {
    pub fn params_arc(&self) -> Arc<PluginParams> {
        Arc::clone(&self.params)
    }

    pub fn status(&self) -> Arc<RecorderStatus> {
        Arc::clone(&self.status)
    }

    /// The GUI's ends of the hand-offs; `Some` once per instance (the editor takes them).
    pub fn take_editor_data(&mut self) -> Option<EditorData> {
        self.editor_data.take()
    }

    /// Builds the recorder, the monitor and the writer thread for `sample_rate`.
    fn build_engine(
        &mut self,
        sample_rate: u32,
        config: &BufferConfig,
        host: &str,
    ) -> Result<(), String> {
        let settings = self.params.guide_analysis_settings();
        let fps = self.params.frame_rate();
        let analyzer = Analyzer::new(&settings, sample_rate).map_err(|e| e.to_string())?;
        let clock = FrameClock::new(fps, sample_rate, analyzer.placement());
        let num_queue_frames = env_usize(ENV_QUEUE_FRAMES).unwrap_or(DEFAULT_QUEUE_FRAMES);
        let (producer, consumer) = FrameProducer::new(num_queue_frames.max(1), analyzer.num_bins());
        self.status.reset();
        let writer = writer_thread::spawn(
            consumer,
            WriterConfig {
                params: Arc::clone(&self.params),
                status: Arc::clone(&self.status),
                analysis: settings.clone(),
                sample_rate,
                fps,
                bin_freqs_hz: analyzer.bin_map().centre_freqs_hz.clone(),
                host: host.to_owned(),
                delay_per_frame: Duration::from_millis(
                    env_usize(ENV_WRITER_DELAY_MS).unwrap_or(0) as u64
                ),
            },
        )
        .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        let queue_mode = match config.process_mode {
            ProcessMode::Offline => QueueMode::Wait,
            ProcessMode::Realtime | ProcessMode::Buffered => QueueMode::Drop,
        };
        let max_block = config.max_buffer_size.max(1) as usize;
        let preview = LivePreview::new(&clock, max_block);
        let recorder = Recorder::new(
            clock,
            analyzer,
            producer,
            Arc::clone(&self.status),
            queue_mode,
            max_block,
        );
        let monitor = Monitor::new(sample_rate).map_err(|e| e.to_string())?;
        self.engine = Some(Engine {
            recorder,
            preview,
            monitor,
            mono: vec![0.0; max_block],
            guide: (settings, fps),
            has_requested_restart: false,
            is_monitor_forced: env_usize(ENV_FORCE_MONITOR).is_some_and(|v| v != 0),
        });
        self.writer = Some(writer);
        Ok(())
    }

    /// Ends a running take, stops the writer thread once it has written everything, and drops the
    /// engine. Main thread.
    fn shut_down(&mut self) {
        if let Some(mut engine) = self.engine.take() {
            engine.recorder.finish();
        }
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// Replaces every subnormal sample with a zero of the same sign; every other value (zeros, normal
/// numbers, infinities, NaN) keeps its bits. Branch-free, so the loop vectorizes.
fn flush_subnormals(samples: &mut [f32]) {
    const SIGN: u32 = 0x8000_0000;
    const EXPONENT: u32 = 0x7f80_0000;
    for x in samples {
        let bits = x.to_bits();
        let is_zero_exponent = bits & EXPONENT == 0;
        *x = f32::from_bits(if is_zero_exponent { bits & SIGN } else { bits });
    }
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.trim().parse().ok()
}

impl Drop for SpectralDiffusion {
    fn drop(&mut self) {
        self.shut_down();
    }
}

impl Plugin for SpectralDiffusion {
    const NAME: &'static str = "Spectral Diffusion";
    const VENDOR: &'static str = "Spectral Diffusion";
    const URL: &'static str = "https://github.com/spectral-diffusion/spectral-diffusion";
    const EMAIL: &'static str = "";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];

    type Editor = crate::editor::PluginEditor;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    /// The egui editor; the GUI ends of the hand-offs move into it once (see the module docs).
    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        crate::editor::create(self.params.clone(), self.editor_data.take()?)
    }

    fn activate(
        &mut self,
        _audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        // Hosts may activate again without deactivating (nice-plug does on state loads).
        self.shut_down();
        let sample_rate = buffer_config.sample_rate.round() as u32;
        let host = match context.plugin_api() {
            PluginApi::Clap => "CLAP host",
            PluginApi::Vst3 => "VST3 host",
            PluginApi::Standalone => "standalone",
        };
        // Never refuse an activation: a host offers the rates it has. Without an engine the
        // plugin passes audio through, and the editor's recorder panel says why.
        if let Err(error) = self.build_engine(sample_rate, buffer_config, host) {
            let message = format!("Recorder and analyzer off: {error}. Audio passes through.");
            nice_error!("{message}");
            self.status.reset();
            self.status.set_error(message);
        }
        context.set_latency_samples(0);
        true
    }

    fn reset(&mut self) {
        if let Some(engine) = self.engine.as_mut() {
            engine.monitor.reset();
        }
    }

    fn deactivate(&mut self) {
        self.shut_down();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let num_samples = buffer.samples();
        // The buffer is processed in place: leaving it alone is the bit-exact pass-through, but
        // for subnormals, which would cost the plugins after us dearly.
        let channels = buffer.as_slice();
        for channel in channels.iter_mut() {
            flush_subnormals(channel);
        }
        let Some(engine) = self.engine.as_mut() else {
            return ProcessStatus::Normal;
        };
        let params = &*self.params;
        if channels.is_empty() || num_samples == 0 {
            return ProcessStatus::Normal;
        }

        let is_armed = params.armed.value();
        let is_editor_open = params.editor_state.is_open();
        let is_recording = is_armed || engine.recorder.is_in_take();
        if is_recording || is_editor_open {
            let transport = context.transport();
            let pos_samples = transport.pos_samples();
            let is_playing = transport.playing;
            let chunk_len = engine.mono.len();
            let mut offset = 0;
            while offset < num_samples {
                let len = chunk_len.min(num_samples - offset);
                for (i, dst) in engine.mono[..len].iter_mut().enumerate() {
                    *dst = mix_to_mono(channels.iter().map(|c| c[offset + i]));
                }
                let mono = &engine.mono[..len];
                let pos_samples = pos_samples.map(|p| p + offset as i64);
                if is_recording {
                    let info = TransportInfo {
                        is_playing,
                        pos_samples,
                    };
                    let preview = is_editor_open.then_some(&mut self.guide_input);
                    engine.recorder.process_block(mono, info, is_armed, preview);
                }
                if is_editor_open {
                    // Outside takes the Guide tab shows the live input through the take's own
                    // analysis; during one, the recorder publishes its frames itself.
                    let output = (!engine.recorder.is_in_take()).then_some(&mut self.guide_input);
                    let (analyzer, clock) = engine.recorder.analysis_mut();
                    let position = pos_samples.filter(|_| is_playing);
                    engine
                        .preview
                        .process_block(mono, position, analyzer, clock, output);
                }
                offset += len;
            }
        }

        if !engine.recorder.is_in_take() && !engine.has_requested_restart {
            let current = (params.guide_analysis_settings(), params.frame_rate());
            if current != engine.guide {
                // The recorder's analyzer and clock are built at activation (they allocate).
                engine.has_requested_restart = true;
                context.request_restart();
            }
        }

        if (engine.is_monitor_forced || params.editor_state.is_open()) && !params.freeze.value() {
            let settings = MonitorSettings {
                fft_size: params.fft_size.value(),
                hop_fraction: params.overlap.value().hop_fraction(),
                window: params.window.value(),
                channel_mode: params.channel_mode.value(),
                slope_db_per_octave: params.slope.value().db_per_octave(),
                decay_ms: params.decay_ms.value(),
                is_peak_hold: params.peak_hold.value(),
                peak_fall_db_per_s: params.peak_fall_db_per_s.value(),
            };
            engine.monitor.process_block(
                channels,
                num_samples,
                &settings,
                &mut self.spectrum_input,
            );
        }
        ProcessStatus::Normal
    }
}

impl ClapPlugin for SpectralDiffusion {
    const CLAP_ID: &'static str = "art.spectral-diffusion.analyzer";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Records transport-synced spectrum guide frames for Stable Diffusion");
    const CLAP_MANUAL_URL: Option<&'static str> = Some(Self::URL);
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Analyzer,
        ClapFeature::Stereo,
        ClapFeature::Mono,
        ClapFeature::Utility,
    ];
}

impl Vst3Plugin for SpectralDiffusion {
    const VST3_CLASS_ID: [u8; 16] = *b"SpectrlDiffusion";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Analyzer];
}
