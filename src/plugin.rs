//! Audio thread (and main thread for activation): the nice-plug glue. Audio passes through
//! untouched; a mono tap feeds the recorder (while armed) and the guide preview, and the raw
//! samples go to the GUI thread's live analyzer and meters (while the editor is open). See
//! DESIGN.md §2, §5, §8.
//!
//! # Editor interface (agreed with `src/editor.rs`)
//!
//! This module sets `type Editor = SettledEditor<crate::editor::PluginEditor, Self>;` (a
//! workaround for a nice-plug race, see [`settled_editor`]) and [`Plugin::editor`] wraps
//! ```ignore
//! crate::editor::create(self.params.clone(), self.editor_data.take()?)
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
//! open/closed state is `params.editor_state` (the audio thread feeds the tap and the guide
//! preview only while `editor_state.is_open()`).

pub mod capture;
pub mod lending;
pub mod preview;
pub mod recorder;
pub mod settled_editor;
pub mod writer;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nice_plug::midi::Key;
use nice_plug::prelude::*;

use crate::analysis::{AnalysisSettings, mix_to_mono};
use crate::handoff::{EditorData, FrameProducer, RecorderStatus, SpectrumInput, TapInput};

use self::capture::{HostBlock, HostTransport, MidiEvent, MidiKind};
use self::lending::AudioLink;
use self::recorder::{GuideKit, QueueMode, Recorder, RecorderNeeds, TransportInfo};
use self::settled_editor::{SettledEditor, WorkerMark};
use self::writer::WriterThread;
use crate::params::PluginParams;

/// How long an activation waits for the writer thread to make the frame pool of an armed
/// recorder, so that a bounce right after it records from its first block. Past that, the audio
/// thread picks the pool up when it arrives (the recorder says "preparing" meanwhile).
const POOL_WAIT: Duration = Duration::from_millis(500);

/// The MIDI events one block keeps for the capture; a flood beyond it is not recorded (a note or
/// CC every 4 samples of a 4096-sample block).
const MAX_BLOCK_EVENTS: usize = 1024;

pub struct SpectralDiffusion {
    params: Arc<PluginParams>,
    /// The audio thread's ends of the GUI hand-offs; they outlive activations.
    tap: TapInput,
    guide_input: SpectrumInput,
    /// Handed to the editor on its creation.
    editor_data: Option<EditorData>,
    /// Everything built at activation.
    engine: Option<Engine>,
    /// The audio thread's ends of the writer thread's hand-offs; outlive activations.
    link: AudioLink,
    /// The armed recorder's frame pool between activations, so that the next activation carries
    /// on with the same queue while the writer drains it.
    parked_pool: Option<FrameProducer>,
    /// The writer thread and the folder state; outlives activations. Declared last: it is
    /// dropped after everything that feeds its queue, and then waits for the writer.
    writer: WriterThread,
}

/// The audio thread's state for one activation.
struct Engine {
    recorder: Recorder,
    /// The mono tap of one block (up to the host's maximum block size).
    mono: Vec<f32>,
    /// The block's MIDI events for the capture, in timing order (capacity
    /// [`MAX_BLOCK_EVENTS`], never exceeded).
    events: Vec<MidiEvent>,
    /// The last block's position as the host reported it, and where the block ended.
    last_pos: Option<(i64, i64)>,
    sample_rate: u32,
}

impl Engine {
    /// The block's position. nice-plug splits a host's block at automation points and moves the
    /// position on for each part only when the host gave a tempo; without one, every part repeats
    /// the block's start. A rolling transport never reports one position twice, so a repeat is
    /// such a part, and continues where the last one ended.
    fn split_block_pos(&mut self, transport: &Transport, num_samples: usize) -> Option<i64> {
        let Some(reported) = transport.pos_samples() else {
            self.last_pos = None;
            return None;
        };
        let pos = match self.last_pos {
            Some((last, last_end))
                if reported == last && transport.playing && transport.tempo.is_none() =>
            {
                last_end
            }
            _ => reported,
        };
        self.last_pos = Some((reported, pos + num_samples as i64));
        Some(pos)
    }
}

impl Default for SpectralDiffusion {
    fn default() -> Self {
        let params = Arc::new(PluginParams::default());
        let status = Arc::new(RecorderStatus::default());
        status.reset();
        let (writer, link) = WriterThread::new(Arc::clone(&status), params.folder_fields());
        let (tap, tap_output) = TapInput::new();
        let (guide_input, guide) = SpectrumInput::new();
        Self {
            params,
            editor_data: Some(EditorData {
                tap: tap_output,
                guide,
                status,
                writer: writer.control(),
            }),
            tap,
            guide_input,
            engine: None,
            link,
            parked_pool: None,
            writer,
        }
    }
}

impl SpectralDiffusion {
    pub fn params_arc(&self) -> Arc<PluginParams> {
        Arc::clone(&self.params)
    }

    pub fn status(&self) -> Arc<RecorderStatus> {
        Arc::clone(self.writer.status())
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
        // Outside the rates the analysis supports, no engine: audio passes through.
        AnalysisSettings::default()
            .validate(sample_rate)
            .map_err(|e| e.to_string())?;
        let queue_mode = match config.process_mode {
            ProcessMode::Offline => QueueMode::Wait,
            ProcessMode::Realtime | ProcessMode::Buffered => QueueMode::Drop,
        };
        let max_block = config.max_buffer_size.max(1) as usize;
        let is_armed = self.params.armed.value();
        let is_editor_open = self.params.editor_state.is_open();
        let mut pool = self.parked_pool.take().filter(|_| is_armed);
        let mut kit = None;
        if is_armed || is_editor_open {
            kit = Some(Box::new(
                GuideKit::new(sample_rate, max_block).map_err(|e| e.to_string())?,
            ));
        }
        if is_armed && pool.is_none() && self.link.is_available() {
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
        let recorder = Recorder::new(
            sample_rate,
            max_block,
            kit,
            pool,
            Arc::clone(self.writer.status()),
            queue_mode,
            Some(Arc::new(self.params.folder_fields().snapshot())),
        );
        self.engine = Some(Engine {
            recorder,
            mono: vec![0.0; max_block],
            events: Vec::with_capacity(MAX_BLOCK_EVENTS),
            last_pos: None,
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

/// The capture's view of a MIDI event; `None` for what it does not record.
fn midi_event(event: &NoteEvent<()>) -> Option<MidiEvent> {
    let kind = match *event {
        NoteEvent::NoteOn { key, velocity, .. } => match key {
            Key::Number(key) => MidiKind::NoteOn { key, velocity },
            Key::Wildcard => return None,
        },
        NoteEvent::NoteOff { key, .. } | NoteEvent::Choke { key, .. } => MidiKind::NoteOff {
            key: match key {
                Key::Number(key) => Some(key),
                Key::Wildcard => None,
            },
        },
        NoteEvent::MidiCC { cc, value, .. } => MidiKind::Cc { cc, value },
        _ => return None,
    };
    Some(MidiEvent {
        timing: event.timing(),
        kind,
    })
}

/// The host's transport fields the capture reads, as the host gave them (nice-plug derives
/// nothing here).
fn host_transport(transport: &Transport) -> HostTransport {
    HostTransport {
        tempo_bpm: transport.tempo,
        time_sig: transport
            .time_sig_numerator
            .zip(transport.time_sig_denominator),
        pos_beats: transport.pos_beats,
        bar_start_beats: transport.bar_start_pos_beats,
        bar_number: transport.bar_number,
        is_playing: transport.playing,
    }
}

/// Replaces every subnormal sample with a zero of the same sign; every other value (zeros, normal
/// numbers, infinities, NaN) keeps its bits. Most blocks hold no subnormal: a branch-free read
/// (it vectorizes) finds out, and only then is the block written.
fn flush_subnormals(samples: &mut [f32]) {
    const SIGN: u32 = 0x8000_0000;
    const EXPONENT: u32 = 0x7f80_0000;
    let is_subnormal = |bits: u32| bits & EXPONENT == 0 && bits & !SIGN != 0;
    let has_subnormal = samples
        .iter()
        .fold(false, |found, x| found | is_subnormal(x.to_bits()));
    if !has_subnormal {
        return;
    }
    for x in samples {
        let bits = x.to_bits();
        if is_subnormal(bits) {
            *x = f32::from_bits(bits & SIGN);
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

    /// Notes and CCs for `midi.csv`; the plugin stays an audio effect.
    const MIDI_INPUT: MidiConfig = MidiConfig::MidiCCs;
    /// Host automation splits the block at its sample offset, so each macro's value at a frame's
    /// first sample is exact (`macros.csv`).
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type Editor = SettledEditor<crate::editor::PluginEditor, Self>;
    type SysExMessage = ();
    /// The plugin's only background task: the editor's marker on nice-plug's worker.
    type BackgroundTask = WorkerMark;

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn task_executor(&mut self) -> TaskExecutor<Self> {
        Box::new(WorkerMark::reached)
    }

    /// The egui editor; the GUI ends of the hand-offs move into it once (see the module docs).
    fn editor(&mut self, async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        let editor = crate::editor::create(self.params.clone(), self.editor_data.take()?)?;
        Some(SettledEditor::new(
            editor,
            async_executor,
            Arc::clone(&self.params.editor_state),
        ))
    }

    fn activate(
        &mut self,
        audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        // Hosts may activate again without deactivating (nice-plug does on state loads).
        self.shut_down();
        let sample_rate = buffer_config.sample_rate.round() as u32;
        let num_channels = audio_io_layout
            .main_input_channels
            .map_or(2, NonZeroU32::get);
        self.tap.start_stream(sample_rate, num_channels);
        self.writer.control().set_host(match context.plugin_api() {
            PluginApi::Clap => "CLAP host",
            PluginApi::Vst3 => "VST3 host",
            PluginApi::Standalone => "standalone",
        });
        // Never refuse an activation: a host offers the rates it has. Without an engine the
        // plugin passes audio through, and the editor's recorder panel says why.
        if let Err(error) = self.build_engine(sample_rate, buffer_config) {
            let message = format!("Recorder and analyzer off: {error}. Audio passes through.");
            nice_error!("{message}");
            let status = self.writer.status();
            status.reset();
            status.set_error(message);
        }
        context.set_latency_samples(0);
        true
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
        engine.recorder.update_memory(
            &mut self.link,
            is_armed,
            is_editor_open,
            params.queue_frames.value().max(1) as usize,
        );
        let is_recording = is_armed || engine.recorder.is_in_take();
        engine.events.clear();
        while let Some(event) = context.next_event() {
            if is_recording
                && engine.events.len() < MAX_BLOCK_EVENTS
                && let Some(event) = midi_event(&event)
            {
                engine.events.push(event);
            }
        }
        if is_recording || is_editor_open {
            let transport = context.transport();
            let is_playing = transport.playing;
            let pos_samples = engine.split_block_pos(transport, num_samples);
            let mut host_transport = host_transport(transport);
            let macros = params.macro_values();
            let beats_per_sample = host_transport
                .tempo_bpm
                .map(|tempo| tempo / 60.0 / f64::from(engine.sample_rate));
            let chunk_len = engine.mono.len();
            let mut offset = 0;
            while offset < num_samples {
                let len = chunk_len.min(num_samples - offset);
                for (i, dst) in engine.mono[..len].iter_mut().enumerate() {
                    *dst = mix_to_mono(channels.iter().map(|c| c[offset + i]));
                }
                let mono = &engine.mono[..len];
                let pos_samples = pos_samples.map(|p| p + offset as i64);
                let sample_rate = engine.sample_rate;
                if is_recording {
                    let info = TransportInfo {
                        is_playing,
                        pos_samples,
                    };
                    // This chunk's events, timed from its start (blocks longer than the
                    // host's maximum come in chunks).
                    let num_events = engine
                        .events
                        .partition_point(|e| (e.timing as usize) < offset + len);
                    let events = &mut engine.events[..num_events];
                    for event in events.iter_mut() {
                        event.timing = event.timing.saturating_sub(offset as u32);
                    }
                    let host = HostBlock {
                        transport: host_transport,
                        macros,
                        events,
                    };
                    let preview = is_editor_open.then_some(&mut self.guide_input);
                    engine
                        .recorder
                        .process_block(mono, &host, info, is_armed, preview, &|| {
                            params.take_settings(sample_rate)
                        });
                    engine.events.drain(..num_events);
                    host_transport.pos_beats = host_transport
                        .pos_beats
                        .zip(beats_per_sample)
                        .map(|(beat, per_sample)| beat + len as f64 * per_sample);
                }
                if is_editor_open {
                    // Outside takes the Guide tab shows the live input through the next take's
                    // analysis; during one, the recorder publishes its frames itself.
                    let output = (!engine.recorder.is_in_take()).then_some(&mut self.guide_input);
                    engine.recorder.process_preview(
                        mono,
                        pos_samples.filter(|_| is_playing),
                        &params.take_settings(sample_rate),
                        output,
                    );
                }
                offset += len;
            }
        }

        if is_editor_open {
            self.tap.push(channels, num_samples);
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
