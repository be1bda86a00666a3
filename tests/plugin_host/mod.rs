//! A minimal CLAP host (clack-host) that drives the plugin binary `cargo test` built, the way a
//! DAW does: load, set state, choose the render mode, activate, process blocks with a transport.
//! See /work/shared/HOST-TESTING.md for the checked facts this relies on.
#![allow(dead_code)]

#[path = "../common/song.rs"]
mod song;
pub use song::song;

use std::ffi::CString;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use clack_extensions::audio_ports_config::PluginAudioPortsConfig;
use clack_extensions::render::{PluginRender, RenderMode};
use clack_extensions::state::PluginState;
use clack_host::events::event_types::{
    MidiEvent, NoteOffEvent, NoteOnEvent, ParamValueEvent, TransportEvent, TransportFlags,
};
use clack_host::events::{EventFlags, EventHeader, Match, Pckn};
use clack_host::prelude::*;
use clack_host::utils::FixedPoint;

pub struct TestHost;

#[derive(Default)]
pub struct TestShared {
    pub restart_requested: AtomicBool,
    pub process_requested: AtomicBool,
    pub callback_requested: AtomicBool,
}

impl SharedHandler<'_> for TestShared {
    fn request_restart(&self) {
        self.restart_requested.store(true, Ordering::SeqCst);
    }
    fn request_process(&self) {
        self.process_requested.store(true, Ordering::SeqCst);
    }
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::SeqCst);
    }
}

impl HostHandlers for TestHost {
    type Shared<'a> = TestShared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();
}

/// The plugin library `cargo test` built: `target/<profile>/deps/` next to the test binary
/// (cargo refreshes that copy on every build; the uplifted `target/<profile>/` one may be stale).
pub fn plugin_path() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps_dir = exe.parent().expect("target/<profile>/deps");
    let name = if cfg!(target_os = "macos") {
        "libspectral_diffusion.dylib"
    } else if cfg!(windows) {
        "spectral_diffusion.dll"
    } else {
        "libspectral_diffusion.so"
    };
    [
        deps_dir.join(name),
        deps_dir.parent().unwrap_or(deps_dir).join(name),
    ]
    .into_iter()
    .find(|path| path.exists())
    .expect("the plugin library next to the test binary")
}

fn entry() -> &'static PluginEntry {
    static ENTRY: OnceLock<PluginEntry> = OnceLock::new();
    ENTRY.get_or_init(|| {
        // SAFETY: the library is our own plugin, built by this very `cargo test` run.
        unsafe { PluginEntry::load(plugin_path()) }.expect("load the plugin library")
    })
}

/// One block's transport as the host reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transport {
    /// No transport information at all.
    None,
    /// Playing flag and, optionally, the position in samples (seconds timeline).
    At {
        playing: bool,
        pos_samples: Option<i64>,
    },
    /// Playing at `pos_samples` (seconds timeline) with the whole beat grid: tempo, time
    /// signature, beats timeline and bar, as a DAW reports them.
    Musical { pos_samples: i64, grid: BeatGrid },
}

/// The beat grid at a block's first sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeatGrid {
    pub tempo_bpm: f64,
    pub time_sig: (u16, u16),
    /// Position in quarter notes.
    pub pos_beats: f64,
    /// The start of the bar holding the position, in quarter notes, and its 0-based number.
    pub bar_start_beats: f64,
    pub bar_number: i32,
}

/// An event the host sends inside a block, `time` samples after its start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HostEvent {
    /// A parameter change, in nice-plug's CLAP value (see [`TestPlugin::process_with_params`]).
    Param {
        time: u32,
        id: &'static str,
        value: f64,
    },
    NoteOn {
        time: u32,
        key: u16,
        velocity: f64,
    },
    NoteOff {
        time: u32,
        key: u16,
    },
    /// A MIDI 1.0 control change on channel 1 (7-bit value).
    Cc {
        time: u32,
        cc: u8,
        value: u8,
    },
}

impl HostEvent {
    pub fn time(&self) -> u32 {
        match *self {
            Self::Param { time, .. }
            | Self::NoteOn { time, .. }
            | Self::NoteOff { time, .. }
            | Self::Cc { time, .. } => time,
        }
    }

    fn push_into(&self, events: &mut EventBuffer) {
        let note = |key: u16| Pckn::new(0u16, 0u16, key, Match::All);
        match *self {
            Self::Param { time, id, value } => events.push(&ParamValueEvent::new(
                time,
                ClapId::new(param_hash(id)),
                Pckn::match_all(),
                value,
            )),
            Self::NoteOn {
                time,
                key,
                velocity,
            } => events.push(&NoteOnEvent::new(time, note(key), velocity)),
            Self::NoteOff { time, key } => events.push(&NoteOffEvent::new(time, note(key), 0.0)),
            Self::Cc { time, cc, value } => {
                events.push(&MidiEvent::new(time, 0, [0xb0, cc, value]))
            }
        }
    }
}

impl Transport {
    pub fn playing_at(pos: i64) -> Self {
        Self::At {
            playing: true,
            pos_samples: Some(pos),
        }
    }
    pub fn stopped_at(pos: i64) -> Self {
        Self::At {
            playing: false,
            pos_samples: Some(pos),
        }
    }

    fn event(self, sample_rate: f64) -> Option<TransportEvent> {
        let (playing, pos_samples, grid) = match self {
            Self::None => return None,
            Self::At {
                playing,
                pos_samples,
            } => (playing, pos_samples, None),
            Self::Musical { pos_samples, grid } => (true, Some(pos_samples), Some(grid)),
        };
        let mut flags = TransportFlags::empty();
        if playing {
            flags |= TransportFlags::IS_PLAYING;
        }
        let mut seconds = FixedPoint::from_bits(0);
        if let Some(pos) = pos_samples {
            flags |= TransportFlags::HAS_SECONDS_TIMELINE;
            seconds = FixedPoint::from_float(pos as f64 / sample_rate);
        }
        let mut event = TransportEvent {
            header: EventHeader::new_core(0, EventFlags::empty()),
            flags,
            song_pos_beats: FixedPoint::from_bits(0),
            song_pos_seconds: seconds,
            tempo: 120.0,
            tempo_inc: 0.0,
            loop_start_beats: FixedPoint::from_bits(0),
            loop_end_beats: FixedPoint::from_bits(0),
            loop_start_seconds: FixedPoint::from_bits(0),
            loop_end_seconds: FixedPoint::from_bits(0),
            bar_start: FixedPoint::from_bits(0),
            bar_number: 0,
            time_signature_numerator: 4,
            time_signature_denominator: 4,
        };
        if let Some(grid) = grid {
            event.flags |= TransportFlags::HAS_TEMPO
                | TransportFlags::HAS_BEATS_TIMELINE
                | TransportFlags::HAS_TIME_SIGNATURE;
            event.tempo = grid.tempo_bpm;
            event.song_pos_beats = FixedPoint::from_float(grid.pos_beats);
            event.bar_start = FixedPoint::from_float(grid.bar_start_beats);
            event.bar_number = grid.bar_number;
            (
                event.time_signature_numerator,
                event.time_signature_denominator,
            ) = grid.time_sig;
        }
        Some(event)
    }
}

pub struct TestPlugin {
    instance: PluginInstance<TestHost>,
    processor: Option<StartedPluginAudioProcessor<TestHost>>,
    sample_rate: f64,
    max_block: usize,
    num_channels: usize,
    /// Reused across blocks, as a host does: the process benchmark measures the plugin, not
    /// these allocations.
    in_ports: AudioPorts,
    out_ports: AudioPorts,
}

impl TestPlugin {
    pub fn new() -> Self {
        let entry = entry();
        let factory = entry.get_plugin_factory().expect("plugin factory");
        let id = factory
            .plugin_descriptors()
            .next()
            .and_then(|d| d.id().map(CString::from))
            .expect("one plugin");
        let host_info = HostInfo::new("spectral-diffusion tests", "tests", "", "0.1").unwrap();
        let instance = PluginInstance::<TestHost>::new(
            |_| TestShared::default(),
            |_| (),
            entry,
            &id,
            &host_info,
        )
        .expect("instantiate the plugin");
        Self {
            instance,
            processor: None,
            sample_rate: 48_000.0,
            max_block: 4096,
            num_channels: 2,
            in_ports: AudioPorts::with_capacity(2, 1),
            out_ports: AudioPorts::with_capacity(2, 1),
        }
    }

    /// The plugin's state as nice-plug's JSON.
    pub fn save_state(&mut self) -> serde_json::Value {
        let ext: PluginState = self
            .instance
            .plugin_handle()
            .get_extension()
            .expect("state extension");
        let mut bytes = Vec::new();
        ext.save(&self.instance.plugin_handle(), &mut bytes)
            .expect("save state");
        // nice-plug prefixes the JSON with its length (u64, little endian).
        serde_json::from_slice(&bytes[8..]).expect("state is JSON")
    }

    pub fn load_state(&mut self, state: &serde_json::Value) {
        let ext: PluginState = self
            .instance
            .plugin_handle()
            .get_extension()
            .expect("state extension");
        let json = serde_json::to_vec(state).unwrap();
        let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
        bytes.extend(json);
        ext.load(&self.instance.plugin_handle(), &mut Cursor::new(bytes))
            .expect("load state");
    }

    /// Sets parameters (`{"armed": {"bool": true}}`-style values) and persisted fields.
    pub fn configure(&mut self, params: &[(&str, serde_json::Value)], fields: &[(&str, &str)]) {
        let mut state = self.save_state();
        for (id, value) in params {
            state["params"][*id] = value.clone();
        }
        for (key, value) in fields {
            state["fields"][*key] =
                serde_json::Value::String(serde_json::to_string(value).unwrap());
        }
        self.load_state(&state);
    }

    /// Arms the recorder and points it at `folder` (the plugin writes into `folder/<track>/`),
    /// CSV and manifest only (images are switched on where a test compares them).
    pub fn arm_into(&mut self, folder: &Path, track: &str) {
        self.configure(
            &[
                ("armed", serde_json::json!({"bool": true})),
                ("write-images", serde_json::json!({"bool": false})),
            ],
            &[
                ("output-folder", folder.to_str().unwrap()),
                ("track-name", track),
            ],
        );
    }

    pub fn set_offline(&mut self, offline: bool) {
        let ext: PluginRender = self
            .instance
            .plugin_handle()
            .get_extension()
            .expect("render extension");
        let mode = if offline {
            RenderMode::Offline
        } else {
            RenderMode::Realtime
        };
        ext.set(&self.instance.plugin_handle(), mode)
            .expect("set render mode");
    }

    pub fn restart_requested(&mut self) -> bool {
        self.instance
            .access_shared_handler(|s| s.restart_requested.swap(false, Ordering::SeqCst))
    }

    pub fn activate(&mut self, sample_rate: f64, max_block: usize, num_channels: usize) {
        assert!(self.processor.is_none(), "already active");
        // nice-plug lists the layouts as port configurations: 0 = stereo, 1 = mono.
        let layout: PluginAudioPortsConfig = self
            .instance
            .plugin_handle()
            .get_extension()
            .expect("audio-ports-config extension");
        let config_id = if num_channels == 1 { 1 } else { 0 };
        layout
            .select(&self.instance.plugin_handle(), ClapId::new(config_id))
            .expect("select the port layout");
        let processor = self
            .instance
            .activate(
                |_, _| (),
                PluginAudioConfiguration {
                    sample_rate,
                    min_frames_count: 1,
                    max_frames_count: max_block as u32,
                },
            )
            .expect("activate");
        self.processor = Some(processor.start_processing().expect("start processing"));
        self.sample_rate = sample_rate;
        self.max_block = max_block;
        self.num_channels = num_channels;
    }

    pub fn deactivate(&mut self) {
        if let Some(processor) = self.processor.take() {
            let stopped = processor.stop_processing();
            self.instance.deactivate(stopped);
        }
    }

    /// Processes one block: `input[c]` in, returns the output channels. The outputs start at
    /// zero, so a plugin that wrote nothing cannot pass for a pass-through.
    pub fn process(&mut self, input: &[&[f32]], transport: Transport) -> Vec<Vec<f32>> {
        self.process_with_params(input, transport, &[])
    }

    /// [`TestPlugin::process`] with parameter changes at the block's start, as host automation
    /// sends them: `(id, value)` in nice-plug's CLAP values (a stepped parameter's step index, a
    /// continuous one's normalized 0..1 value).
    pub fn process_with_params(
        &mut self,
        input: &[&[f32]],
        transport: Transport,
        params: &[(&'static str, f64)],
    ) -> Vec<Vec<f32>> {
        let events: Vec<HostEvent> = params
            .iter()
            .map(|&(id, value)| HostEvent::Param { time: 0, id, value })
            .collect();
        self.process_with_events(input, transport, &events)
    }

    /// [`TestPlugin::process`] with `events` inside the block (sorted by time).
    pub fn process_with_events(
        &mut self,
        input: &[&[f32]],
        transport: Transport,
        events: &[HostEvent],
    ) -> Vec<Vec<f32>> {
        let num_samples = input[0].len();
        assert!(num_samples <= self.max_block);
        let mut inputs: Vec<Vec<f32>> = input.iter().map(|c| c.to_vec()).collect();
        let mut outputs = vec![vec![0.0; num_samples]; input.len()];
        let mut buffer = EventBuffer::with_capacity(events.len());
        for event in events {
            assert!((event.time() as usize) < num_samples.max(1));
            event.push_into(&mut buffer);
        }
        self.run_block(&mut inputs, &mut outputs, num_samples, transport, &buffer);
        outputs
    }

    /// Processes `buffers[c][..num_samples]` in place through the plugin (inputs copied from and
    /// outputs written back to `buffers`), reusing `scratch`: no per-block allocation, for benches.
    pub fn process_in_place(
        &mut self,
        buffers: &mut [Vec<f32>],
        scratch: &mut [Vec<f32>],
        num_samples: usize,
        transport: Transport,
    ) {
        for (s, b) in scratch.iter_mut().zip(buffers.iter()) {
            s[..num_samples].copy_from_slice(&b[..num_samples]);
        }
        self.run_block(
            scratch,
            buffers,
            num_samples,
            transport,
            &EventBuffer::new(),
        );
    }

    /// One `process()` call: `inputs[c][..num_samples]` in, `outputs[c][..num_samples]` out.
    fn run_block(
        &mut self,
        inputs: &mut [Vec<f32>],
        outputs: &mut [Vec<f32>],
        num_samples: usize,
        transport: Transport,
        events: &EventBuffer,
    ) {
        let processor = self.processor.as_mut().expect("active");
        let in_audio = self.in_ports.with_input_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_input_only(
                inputs
                    .iter_mut()
                    .map(|b| InputChannel::variable(&mut b[..num_samples])),
            ),
        }]);
        let mut out_audio = self.out_ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(
                outputs.iter_mut().map(|b| &mut b[..num_samples]),
            ),
        }]);
        let event = transport.event(self.sample_rate);
        processor
            .process(
                &in_audio,
                &mut out_audio,
                &events.as_input(),
                &mut OutputEvents::void(),
                None,
                event.as_ref(),
            )
            .expect("process");
    }

    /// Plays `audio` (channels) from timeline position `start_pos` in blocks of `block_sizes`
    /// (cycled), with `transport(pos)` per block; returns the output.
    pub fn play(
        &mut self,
        audio: &[Vec<f32>],
        block_sizes: &mut dyn FnMut() -> usize,
        transport: &mut dyn FnMut(usize) -> Transport,
    ) -> Vec<Vec<f32>> {
        let total = audio[0].len();
        let mut out: Vec<Vec<f32>> = vec![Vec::with_capacity(total); audio.len()];
        let mut offset = 0;
        while offset < total {
            let len = block_sizes().clamp(1, self.max_block).min(total - offset);
            let block: Vec<&[f32]> = audio.iter().map(|c| &c[offset..offset + len]).collect();
            let result = self.process(&block, transport(offset));
            for (o, r) in out.iter_mut().zip(result) {
                o.extend_from_slice(&r);
            }
            offset += len;
        }
        out
    }
}

/// Dropping the plugin destroys the instance, which waits for its writer thread to write
/// everything queued (for up to `SHUTDOWN_WAIT`): read the output folder after the drop.
impl Drop for TestPlugin {
    fn drop(&mut self) {
        self.deactivate();
    }
}

/// nice-plug's CLAP id for the parameter `id` (its `hash_param_id`: a Rabin hash with the top bit
/// cleared).
fn param_hash(id: &str) -> u32 {
    let hash = id.bytes().fold(0u32, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u32::from(byte))
    });
    hash & !(1 << 31)
}

/// `spectrum.csv` parsed: (frame, values) rows in file order, plus the header.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<(u64, Vec<f32>)>) {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows = lines
        .map(|line| {
            let mut cells = line.split(',');
            let frame = cells.next().unwrap().parse().unwrap();
            let _time = cells.next();
            (frame, cells.map(|c| c.parse().unwrap()).collect())
        })
        .collect();
    (header, rows)
}

/// What `spectral-diffusion render` computes for `audio` (DESIGN.md §4): every frame whose start
/// is inside the audio, its window read from the mono mix with zeros outside the audio.
pub fn reference_frames(
    audio: &[Vec<f32>],
    sample_rate: u32,
    settings: &spectral_diffusion::analysis::AnalysisSettings,
    fps: spectral_diffusion::clock::FrameRate,
) -> Vec<Vec<f32>> {
    use spectral_diffusion::analysis::{Analyzer, mix_to_mono};
    use spectral_diffusion::clock::FrameClock;
    let mono: Vec<f32> = (0..audio[0].len())
        .map(|i| mix_to_mono(audio.iter().map(|c| c[i])))
        .collect();
    let mut analyzer = Analyzer::new(settings, sample_rate).unwrap();
    let clock = FrameClock::new(fps, sample_rate, analyzer.placement());
    let mut window = vec![0.0f32; clock.max_window_len()];
    (0..clock.num_frames(mono.len() as u64) as i64)
        .map(|k| {
            let span = clock.window(k);
            for (i, dst) in window[..span.len].iter_mut().enumerate() {
                let t = span.start + i as i64;
                *dst = if t >= 0 && (t as usize) < mono.len() {
                    mono[t as usize]
                } else {
                    0.0
                };
            }
            let mut bins = vec![0.0; analyzer.num_bins()];
            analyzer.analyze(&window[..span.len], &mut bins);
            bins
        })
        .collect()
}

/// Writes `audio` as a 32-bit float WAV, which the CLI decodes bit for bit.
pub fn write_wav(path: &Path, audio: &[Vec<f32>], sample_rate: u32) {
    let spec = hound::WavSpec {
        channels: audio.len() as u16,
        sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..audio[0].len() {
        for channel in audio {
            writer.write_sample(channel[i]).unwrap();
        }
    }
    writer.finalize().unwrap();
}

/// Runs `spectral-diffusion render` (the CLI this `cargo test` built) and asserts success.
pub fn run_cli_render(args: &[&str]) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_spectral-diffusion"))
        .arg("render")
        .args(args)
        .arg("--quiet")
        .output()
        .expect("run the CLI");
    assert!(
        output.status.success(),
        "render {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Asserts that the plugin's folder `plugin_out` holds the very `spectrum.csv` and PNG files (by
/// name and by byte) that the CLI's render wrote into `cli_out`.
pub fn assert_same_files_as_cli(plugin_out: &Path, cli_out: &Path, what: &str) {
    let read = |dir: &Path, name: &Path| {
        std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{what}: {}: {e}", name.display()))
    };
    assert!(
        read(plugin_out, Path::new("spectrum.csv")) == read(cli_out, Path::new("spectrum.csv")),
        "{what}: spectrum.csv differs"
    );
    let frame_names = |dir: &Path| {
        let mut names: Vec<_> = std::fs::read_dir(dir.join("frames"))
            .unwrap()
            .map(|e| Path::new("frames").join(e.unwrap().file_name()))
            .collect();
        names.sort();
        names
    };
    let names = frame_names(cli_out);
    assert_eq!(frame_names(plugin_out), names, "{what}: same frame files");
    for name in &names {
        assert!(
            read(plugin_out, name) == read(cli_out, name),
            "{what}: {} differs",
            name.display()
        );
    }
}

/// A small xorshift for random block sizes.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
