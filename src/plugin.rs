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
//! [`EditorData`] carries the GUI ends of the hand-offs. The editor reads parameters through
//! `params` (and sets them with its `ParamSetter`); it writes the persisted `output_folder`,
//! `track_name` (from `NiceEguiApp::track_info_changed`) and `editor_size` fields directly; its
//! open/closed state is `params.editor_state` (the audio thread runs the live analyzer only while
//! `editor_state.is_open()`).

pub mod monitor;
pub mod params;
pub mod recorder;
pub mod session;
mod writer;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nice_plug::prelude::*;

use crate::analysis::mix_to_mono;
use crate::handoff::{FrameProducer, RecorderStatus, SpectrumInput, SpectrumOutput};

use self::monitor::{Monitor, MonitorSettings};
use self::params::PluginParams;
use self::recorder::{GuideKit, QueueMode, Recorder, RecorderNeeds, TransportInfo};
use self::session::{AudioLink, Lent, Session};

/// How long an activation waits for the writer thread to make the frame pool of an armed
/// recorder, so that a bounce right after it records from its first block. Past that, the audio
/// thread picks the pool up when it arrives (the recorder says "preparing" meanwhile).
const POOL_WAIT: Duration = Duration::from_millis(500);

/// The GUI's ends of the audio thread's hand-offs, moved into the editor once.
pub struct EditorData {
    /// The live analyzer's latest spectrum (dB; see `handoff::SpectrumKind::MonitorDb`).
    pub spectrum: SpectrumOutput,
    /// The recorder's latest frame, exactly as queued for the writer (for the guide preview).
    pub guide: SpectrumOutput,
    /// Take state, frame index, frames written / queued / dropped, last error.
    pub status: Arc<RecorderStatus>,
}

pub struct SpectralDiffusion {
    params: Arc<PluginParams>,
    /// The audio thread's ends of the GUI hand-offs; they outlive activations.
    spectrum_input: SpectrumInput,
    guide_input: SpectrumInput,
    /// Handed to the editor on its creation.
    editor_data: Option<EditorData>,
    /// Everything built at activation.
    engine: Option<Engine>,
    /// The audio thread's ends of the session's hand-offs; outlive activations.
    link: AudioLink,
    /// The armed recorder's frame pool between activations, so that the next activation carries
    /// on with the same queue while the writer drains it.
    parked_pool: Option<FrameProducer>,
    /// The writer thread and the folder state; outlives activations. Declared last: it is
    /// dropped after everything that feeds its queue, and then waits for the writer.
    session: Session,
}

/// The audio thread's state for one activation.
struct Engine {
    recorder: Recorder,
    /// The live analyzer, lent by the session while the editor is open.
    monitor: Option<Box<Monitor>>,
    /// The mono tap of one block (up to the host's maximum block size).
    mono: Vec<f32>,
    sample_rate: u32,
}

impl Default for SpectralDiffusion {
    fn default() -> Self {
        let params = Arc::new(PluginParams::default());
        let status = Arc::new(RecorderStatus::default());
        status.reset();
        let (session, link) = Session::new(Arc::clone(&status), params.folder_fields());
        let (spectrum_input, spectrum) = SpectrumInput::new();
        let (guide_input, guide) = SpectrumInput::new();
        Self {
            params,
            editor_data: Some(EditorData {
                spectrum,
                guide,
                status,
            }),
            spectrum_input,
            guide_input,
            engine: None,
            link,
            parked_pool: None,
            session,
        }
    }
}

impl SpectralDiffusion {
    pub fn params_arc(&self) -> Arc<PluginParams> {
        Arc::clone(&self.params)
    }

    pub fn status(&self) -> Arc<RecorderStatus> {
        Arc::clone(self.session.status())
    }

    /// The GUI's ends of the hand-offs; `Some` once per instance (the editor takes them).
    pub fn take_editor_data(&mut self) -> Option<EditorData> {
        self.editor_data.take()
    }

    fn queue_frames(&self) -> usize {
        self.params.queue_frames.value().max(1) as usize
    }

    /// Builds the engine for `sample_rate`. What an armed recorder and an open editor need is
    /// made here, on the main thread; an armed recorder carries on with the parked pool, or gets
    /// a new one from the writer (waiting at most [`POOL_WAIT`]). An idle instance allocates
    /// nothing but the mono tap.
    fn build_engine(&mut self, sample_rate: u32, config: &BufferConfig) -> Result<(), String> {
        let queue_mode = match config.process_mode {
            ProcessMode::Offline => QueueMode::Wait,
            ProcessMode::Realtime | ProcessMode::Buffered => QueueMode::Drop,
        };
        let max_block = config.max_buffer_size.max(1) as usize;
        let is_armed = self.params.armed.value();
        let mut pool = self.parked_pool.take().filter(|_| is_armed);
        let mut kit = None;
        if is_armed {
            kit = Some(Box::new(
                GuideKit::new(sample_rate, max_block).map_err(|e| e.to_string())?,
            ));
            if pool.is_none() && self.link.is_available() {
                let needs = RecorderNeeds {
                    guide_kit: false,
                    pool: true,
                };
                self.link
                    .request_recorder(needs, sample_rate, max_block, self.queue_frames());
                let deadline = Instant::now() + POOL_WAIT;
                while pool.is_none() && Instant::now() < deadline {
                    pool = self.link.receive_pool();
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        let recorder = Recorder::new(
            sample_rate,
            max_block,
            kit,
            pool,
            Arc::clone(self.session.status()),
            queue_mode,
        );
        let monitor = if self.params.editor_state.is_open() {
            Some(Box::new(
                Monitor::new(sample_rate).map_err(|e| e.to_string())?,
            ))
        } else {
            None
        };
        self.engine = Some(Engine {
            recorder,
            monitor,
            mono: vec![0.0; max_block],
            sample_rate,
        });
        Ok(())
    }

    /// Ends a running take and parks the frame pool for the next activation (or lets it go, if
    /// disarmed). Returns at once: the writer finishes the queue in the background. Main thread.
    fn shut_down(&mut self) {
        if let Some(mut engine) = self.engine.take() {
            engine.recorder.finish();
            self.parked_pool = engine
                .recorder
                .take_pool()
                .filter(|_| self.params.armed.value());
        }
    }
}

impl Drop for SpectralDiffusion {
    fn drop(&mut self) {
        self.shut_down();
        self.parked_pool = None;
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
        self.session.set_host(match context.plugin_api() {
            PluginApi::Clap => "CLAP host",
            PluginApi::Vst3 => "VST3 host",
            PluginApi::Standalone => "standalone",
        });
        match self.build_engine(sample_rate, buffer_config) {
            Ok(()) => {
                context.set_latency_samples(0);
                true
            }
            Err(error) => {
                nice_error!("Spectral Diffusion cannot start: {error}");
                false
            }
        }
    }

    fn reset(&mut self) {
        if let Some(monitor) = self.engine.as_mut().and_then(|e| e.monitor.as_mut()) {
            monitor.reset();
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
        let Some(engine) = self.engine.as_mut() else {
            return ProcessStatus::Normal;
        };
        let params = &*self.params;
        let num_samples = buffer.samples();
        // The buffer is processed in place: leaving it alone is the bit-exact pass-through.
        let channels = buffer.as_slice();
        if channels.is_empty() || num_samples == 0 {
            return ProcessStatus::Normal;
        }

        let is_armed = params.armed.value();
        engine.recorder.update_memory(
            &mut self.link,
            is_armed,
            params.queue_frames.value().max(1) as usize,
        );
        if is_armed || engine.recorder.is_in_take() {
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
                let info = TransportInfo {
                    is_playing,
                    pos_samples: pos_samples.map(|p| p + offset as i64),
                };
                let preview = params
                    .editor_state
                    .is_open()
                    .then_some(&mut self.guide_input);
                let sample_rate = engine.sample_rate;
                engine.recorder.process_block(
                    &engine.mono[..len],
                    info,
                    is_armed,
                    preview,
                    &|| params.take_settings(sample_rate),
                );
                offset += len;
            }
        }

        let is_editor_open = params.editor_state.is_open();
        if is_editor_open && engine.monitor.is_none() {
            match self.link.receive_monitor() {
                Some(monitor) if monitor.sample_rate() == engine.sample_rate => {
                    engine.monitor = Some(monitor);
                }
                Some(stale) => self.link.give_back(Lent::Monitor(stale)),
                None => self.link.request_monitor(engine.sample_rate),
            }
        } else if !is_editor_open && let Some(monitor) = engine.monitor.take() {
            self.link.give_back(Lent::Monitor(monitor));
        }
        if let Some(monitor) = engine.monitor.as_mut()
            && !params.freeze.value()
        {
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
            monitor.process_block(channels, num_samples, &settings, &mut self.spectrum_input);
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
