//! Any thread: the plugin's parameters (DESIGN.md §8). Ids are stable: never rename one, hosts
//! store automation and presets by id.
//!
//! Three groups: the guide (what the recorder writes: preset, fps, analysis, image, post chain,
//! noise), the analyzer (what the GUI's live view shows: FFT size, overlap, window, averaging,
//! slope, peak hold, ranges, channel mode, freeze) and the recorder (armed, output folder).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use nice_plug::prelude::*;
use nice_plug_egui::EguiEditorState;

use crate::analysis::{AnalysisSettings, Preset, WindowKind};
use crate::clock::FrameRate;
use crate::diffuse::live::LiveSettings;
use crate::render::{Look, NoiseSettings, Palette, PieShape, PostChain, RenderSettings, View};
use crate::take::{FolderSnapshot, NUM_MACROS, TakeSettings};

/// Bins per guide frame (the post's 256).
pub const GUIDE_BINS: usize = 256;
/// The recorder queue's default length: about 22 minutes at 24 fps, 9 at 60 fps (32 MiB of
/// spectra). Enough for a "real-time" export that runs far faster than real time (Ardour 7,
/// Bitwig) to lose nothing while the writer catches up.
pub const DEFAULT_QUEUE_FRAMES: i32 = 32_768;
/// The editor's default logical size.
pub const DEFAULT_EDITOR_SIZE: [u32; 2] = [900, 600];

#[derive(Params)]
pub struct PluginParams {
    // ---- guide (recorder) ----
    /// How a frame is drawn.
    #[id = "view"]
    pub view: EnumParam<ViewParam>,
    /// Colours before the post chain (desaturate makes them grey levels).
    #[id = "palette"]
    pub palette: EnumParam<PaletteParam>,
    /// `false` writes only `spectrum.csv` and `manifest.json` (the CLI's `--csv-only`).
    #[id = "write-images"]
    pub write_images: BoolParam,
    /// The analysis recipe of the recorded frames (DESIGN.md §4).
    #[id = "preset"]
    pub preset: EnumParam<PresetParam>,
    /// Video frames per second of the recording.
    #[id = "fps"]
    pub fps: EnumParam<FpsParam>,
    /// FFT length of the recorded frames (`Default` preset); `Auto` scales 4096 with the rate.
    #[id = "guide-fft"]
    pub guide_fft_size: EnumParam<FftSizeParam>,
    /// The level that maps to 0 in the recorded frames (`Default` preset).
    #[id = "floor-db"]
    pub floor_db: FloatParam,
    /// Spectral tilt of the recorded frames around 1 kHz, dB per octave (`Default` preset).
    #[id = "tilt"]
    pub tilt_db_per_octave: FloatParam,
    /// Square image size in pixels.
    #[id = "image-size"]
    pub image_size: IntParam,
    /// Post chain, in order: blur, desaturate, invert, autocontrast, equalize (DESIGN.md §6).
    #[id = "blur"]
    pub blur: BoolParam,
    #[id = "blur-sigma"]
    pub blur_sigma: FloatParam,
    #[id = "desaturate"]
    pub desaturate: BoolParam,
    #[id = "invert"]
    pub invert: BoolParam,
    #[id = "autocontrast"]
    pub autocontrast: BoolParam,
    /// Autocontrast cutoff, in percent of pixels clipped at each end.
    #[id = "autocontrast-cutoff"]
    pub autocontrast_cutoff_pct: FloatParam,
    #[id = "equalize"]
    pub equalize: BoolParam,
    /// Strength of the background noise field, 0..1.
    #[id = "noise-amount"]
    pub noise_amount: FloatParam,
    #[id = "noise-seed"]
    pub noise_seed: IntParam,
    /// A new noise field every frame instead of one per take.
    #[id = "noise-per-frame"]
    pub noise_per_frame: BoolParam,

    // ---- recorder ----
    /// Record frames while the transport rolls.
    #[id = "armed"]
    pub armed: BoolParam,
    /// How many frames the recorder may hold for the writer (about 1 KB each, allocated while
    /// armed). A real-time export that outruns the writer by more drops frames (counted).
    /// Applies when the recorder is next armed.
    #[id = "queue-frames"]
    pub queue_frames: IntParam,

    // ---- session lanes (DESIGN.md §13) ----
    /// "Macro 1" to "Macro 8": free 0..1 curves the user draws in the host's automation lanes,
    /// recorded per frame into `macros.csv`. Unsmoothed: the host's automation arrives sample
    /// accurately (`SAMPLE_ACCURATE_AUTOMATION`), and the value at a frame's first sample is what
    /// counts.
    #[id = "macro1"]
    pub macro1: FloatParam,
    #[id = "macro2"]
    pub macro2: FloatParam,
    #[id = "macro3"]
    pub macro3: FloatParam,
    #[id = "macro4"]
    pub macro4: FloatParam,
    #[id = "macro5"]
    pub macro5: FloatParam,
    #[id = "macro6"]
    pub macro6: FloatParam,
    #[id = "macro7"]
    pub macro7: FloatParam,
    #[id = "macro8"]
    pub macro8: FloatParam,

    // ---- analyzer (live view only; never changes what is recorded) ----
    #[id = "fft"]
    pub fft_size: EnumParam<FftSizeParam>,
    #[id = "overlap"]
    pub overlap: EnumParam<OverlapParam>,
    #[id = "window"]
    pub window: EnumParam<WindowParam>,
    /// Averaging: how fast a level falls back, in ms (0 = no averaging).
    #[id = "decay-ms"]
    pub decay_ms: FloatParam,
    #[id = "slope"]
    pub slope: EnumParam<SlopeParam>,
    #[id = "peak-hold"]
    pub peak_hold: BoolParam,
    /// How fast held peaks fall, dB per second.
    #[id = "peak-fall"]
    pub peak_fall_db_per_s: FloatParam,
    /// Display range (the editor applies it; the analysis always covers 20 Hz..20 kHz).
    #[id = "min-freq"]
    pub min_freq_hz: FloatParam,
    #[id = "max-freq"]
    pub max_freq_hz: FloatParam,
    #[id = "min-db"]
    pub min_db: FloatParam,
    #[id = "max-db"]
    pub max_db: FloatParam,
    #[id = "channel"]
    pub channel_mode: EnumParam<ChannelModeParam>,
    /// Stop updating the live view.
    #[id = "freeze"]
    pub freeze: BoolParam,

    // ---- persisted, not automatable ----
    /// The folder chosen by the user; empty means `~/Spectral Diffusion/`. Written by the GUI,
    /// read by the writer thread at each take start (shared with it, see [`FolderFields`]).
    #[persist = "output-folder"]
    pub output_folder: Arc<RwLock<String>>,
    /// The host's track name, when the editor learned it (`track_info_changed`); names the
    /// per-instance subfolder. Written by the GUI.
    #[persist = "track-name"]
    pub track_name: Arc<RwLock<String>>,
    /// Made once per new instance and kept in the state, so an instance keeps its folder.
    #[persist = "instance-id"]
    pub instance_id: Arc<RwLock<String>>,
    /// The editor's logical size, for the editor to restore (nice-plug-egui 0.6's state has no
    /// serde support). Written by the GUI.
    #[persist = "editor-size"]
    pub editor_size: RwLock<[u32; 2]>,
    /// The Live panel's settings (img2img of the guide while the editor is open). Written by
    /// the GUI, read by it when it (re)starts the Live loop.
    #[persist = "live"]
    pub live: RwLock<LiveSettings>,
    /// Open/closed and size of the editor window; the audio thread reads `is_open()`.
    pub editor_state: Arc<EguiEditorState>,
    /// Bumped by the editor after it changes `output_folder` or `track_name` (see
    /// [`FolderSnapshot`]).
    pub folder_generation: Arc<AtomicU64>,
}

/// `param` moving in steps of `step`, shown with `digits` decimals and never as "-0.0": that text
/// reads back as 0.0, which shows as "0.0", and hosts check that a value's text reads back to
/// the same text (clap-validator's `param-conversions`).
fn stepped(param: FloatParam, step: f32, digits: usize) -> FloatParam {
    param
        .with_step_size(step)
        .with_value_to_string(formatters::v2s_f32_rounded(digits))
}

/// "Macro `number`": 0..1, default 0, unsmoothed.
fn macro_param(number: usize) -> FloatParam {
    FloatParam::new(
        format!("Macro {number}"),
        0.0,
        FloatRange::Linear { min: 0.0, max: 1.0 },
    )
}

impl Default for PluginParams {
    fn default() -> Self {
        let db = |name: &str, default: f32, min: f32, max: f32| {
            stepped(
                FloatParam::new(name, default, FloatRange::Linear { min, max }).with_unit(" dB"),
                0.1,
                1,
            )
        };
        Self {
            view: EnumParam::new("View", ViewParam::Pie),
            palette: EnumParam::new("Palette", PaletteParam::Auto),
            write_images: BoolParam::new("Write Images", true).non_automatable(),
            preset: EnumParam::new("Preset", PresetParam::Default),
            fps: EnumParam::new("Frame Rate", FpsParam::Fps24),
            guide_fft_size: EnumParam::new("Guide FFT Size", FftSizeParam::Auto),
            floor_db: db("Guide Floor", -90.0, -150.0, -30.0),
            tilt_db_per_octave: stepped(
                FloatParam::new(
                    "Guide Tilt",
                    0.0,
                    FloatRange::Linear {
                        min: -6.0,
                        max: 6.0,
                    },
                )
                .with_unit(" dB/oct"),
                0.1,
                1,
            ),
            image_size: IntParam::new("Image Size", 512, IntRange::Linear { min: 64, max: 2048 })
                .with_unit(" px"),
            blur: BoolParam::new("Blur", true),
            blur_sigma: FloatParam::new(
                "Blur Sigma",
                2.0,
                FloatRange::Linear {
                    min: 0.0,
                    max: 20.0,
                },
            )
            .with_unit(" px")
            .with_step_size(0.1),
            desaturate: BoolParam::new("Desaturate", true),
            invert: BoolParam::new("Invert", false),
            autocontrast: BoolParam::new("Autocontrast", true),
            autocontrast_cutoff_pct: FloatParam::new(
                "Autocontrast Cutoff",
                0.0,
                FloatRange::Linear {
                    min: 0.0,
                    max: 20.0,
                },
            )
            .with_unit(" %")
            .with_step_size(0.1),
            equalize: BoolParam::new("Equalize", false),
            noise_amount: FloatParam::new(
                "Noise Amount",
                0.5,
                FloatRange::Linear { min: 0.0, max: 1.0 },
            )
            .with_step_size(0.01),
            noise_seed: IntParam::new(
                "Noise Seed",
                0,
                IntRange::Linear {
                    min: 0,
                    max: 999_999,
                },
            ),
            noise_per_frame: BoolParam::new("Noise Per Frame", false),
            armed: BoolParam::new("Record Armed", false),
            queue_frames: IntParam::new(
                "Recorder Queue",
                DEFAULT_QUEUE_FRAMES,
                IntRange::Linear {
                    min: 16,
                    max: 131_072,
                },
            )
            .with_unit(" frames")
            .non_automatable(),
            macro1: macro_param(1),
            macro2: macro_param(2),
            macro3: macro_param(3),
            macro4: macro_param(4),
            macro5: macro_param(5),
            macro6: macro_param(6),
            macro7: macro_param(7),
            macro8: macro_param(8),
            fft_size: EnumParam::new("FFT Size", FftSizeParam::Auto),
            overlap: EnumParam::new("Overlap", OverlapParam::Half),
            window: EnumParam::new("Window", WindowParam::Hann),
            decay_ms: FloatParam::new(
                "Averaging",
                300.0,
                FloatRange::Skewed {
                    min: 0.0,
                    max: 5000.0,
                    factor: FloatRange::skew_factor(-2.0),
                },
            )
            .with_unit(" ms")
            .with_step_size(1.0),
            slope: EnumParam::new("Slope", SlopeParam::Db4_5),
            peak_hold: BoolParam::new("Peak Hold", true),
            peak_fall_db_per_s: FloatParam::new(
                "Peak Fall",
                12.0,
                FloatRange::Linear {
                    min: 0.5,
                    max: 120.0,
                },
            )
            .with_unit(" dB/s")
            .with_step_size(0.5),
            min_freq_hz: FloatParam::new(
                "Min Frequency",
                20.0,
                FloatRange::Skewed {
                    min: 10.0,
                    max: 2000.0,
                    factor: FloatRange::skew_factor(-2.0),
                },
            )
            .with_value_to_string(formatters::v2s_f32_hz_then_khz(1))
            .with_string_to_value(formatters::s2v_f32_hz_then_khz()),
            max_freq_hz: FloatParam::new(
                "Max Frequency",
                20_000.0,
                FloatRange::Skewed {
                    min: 1000.0,
                    max: 24_000.0,
                    factor: FloatRange::skew_factor(-1.0),
                },
            )
            .with_value_to_string(formatters::v2s_f32_hz_then_khz(1))
            .with_string_to_value(formatters::s2v_f32_hz_then_khz()),
            min_db: db("Min Level", -90.0, -150.0, -30.0),
            max_db: db("Max Level", 0.0, -40.0, 12.0),
            channel_mode: EnumParam::new("Channels", ChannelModeParam::Sum),
            freeze: BoolParam::new("Freeze", false),
            output_folder: Arc::new(RwLock::new(String::new())),
            track_name: Arc::new(RwLock::new(String::new())),
            instance_id: Arc::new(RwLock::new(new_instance_id())),
            editor_size: RwLock::new(DEFAULT_EDITOR_SIZE),
            live: RwLock::new(LiveSettings::default()),
            folder_generation: Arc::new(AtomicU64::new(0)),
            editor_state: EguiEditorState::from_size(
                nice_plug::editor::dpi::LogicalSize::new(
                    DEFAULT_EDITOR_SIZE[0] as f32,
                    DEFAULT_EDITOR_SIZE[1] as f32,
                ),
                1.0,
            ),
        }
    }
}

impl PluginParams {
    /// The recorder's analysis settings from the guide parameters.
    pub fn guide_analysis_settings(&self) -> AnalysisSettings {
        let base = match self.preset.value() {
            PresetParam::Default => AnalysisSettings::default(),
            PresetParam::Seed => AnalysisSettings::seed(),
        };
        AnalysisSettings {
            num_bins: GUIDE_BINS,
            fft_size: self.guide_fft_size.value().samples(),
            floor_db: self.floor_db.value(),
            tilt_db_per_octave: self.tilt_db_per_octave.value(),
            ..base
        }
    }

    /// How the writer draws frames, from the guide parameters. The defaults are the CLI's: the
    /// look follows the preset (the post's for `seed`, the guide look otherwise).
    pub fn render_settings(&self) -> RenderSettings {
        let look = Look::for_preset(self.preset.value().preset());
        let (view, pie_shape) = self.view.value().view(look);
        let defaults = RenderSettings::for_look(look);
        RenderSettings {
            look,
            view,
            pie_shape,
            palette: self.palette.value().palette(look),
            size: self.image_size.value() as u32,
            noise: NoiseSettings {
                amount: self.noise_amount.value(),
                seed: self.noise_seed.value() as u64,
                per_frame: self.noise_per_frame.value(),
                ..defaults.noise
            },
            post: PostChain {
                blur_sigma: if self.blur.value() {
                    self.blur_sigma.value()
                } else {
                    0.0
                },
                desaturate: self.desaturate.value(),
                invert: self.invert.value(),
                autocontrast: self.autocontrast.value(),
                autocontrast_cutoff_percent: self.autocontrast_cutoff_pct.value(),
                equalize: self.equalize.value(),
            },
        }
    }

    pub fn frame_rate(&self) -> FrameRate {
        self.fps.value().rate()
    }

    /// The macros' current values, Macro 1 first. Reads atomics only (audio thread).
    pub fn macro_values(&self) -> [f32; NUM_MACROS] {
        [
            &self.macro1,
            &self.macro2,
            &self.macro3,
            &self.macro4,
            &self.macro5,
            &self.macro6,
            &self.macro7,
            &self.macro8,
        ]
        .map(|param| param.value())
    }

    /// The snapshot a take starts with (DESIGN.md §8). Reads atomics only: the audio thread calls
    /// it at a take's start.
    pub fn take_settings(&self, sample_rate: u32) -> TakeSettings {
        TakeSettings {
            sample_rate,
            fps: self.frame_rate(),
            analysis: self.guide_analysis_settings(),
            render: self.render_settings(),
            write_images: self.write_images.value(),
            folder: None,
        }
    }

    /// The persisted fields that name this instance's folder, shared with the writer thread.
    pub fn folder_fields(&self) -> FolderFields {
        FolderFields {
            output_folder: Arc::clone(&self.output_folder),
            track_name: Arc::clone(&self.track_name),
            instance_id: Arc::clone(&self.instance_id),
            generation: Arc::clone(&self.folder_generation),
        }
    }

    /// The folder this instance writes into, before any suffix (see [`FolderFields::out_dir`]).
    /// Locks: never call it on the audio thread.
    pub fn out_dir(&self) -> PathBuf {
        self.folder_fields().out_dir()
    }
}

/// The persisted fields the output folder is made of. The GUI writes them; the writer thread
/// reads them at each take's start.
#[derive(Debug, Clone)]
pub struct FolderFields {
    pub output_folder: Arc<RwLock<String>>,
    pub track_name: Arc<RwLock<String>>,
    pub instance_id: Arc<RwLock<String>>,
    pub generation: Arc<AtomicU64>,
}

impl FolderFields {
    /// The folder now. Locks: never on the audio thread.
    pub fn snapshot(&self) -> FolderSnapshot {
        FolderSnapshot {
            generation: self.generation.load(Ordering::Acquire),
            folder: read_string(&self.output_folder),
            track: read_string(&self.track_name),
            instance_id: read_string(&self.instance_id),
        }
    }

    /// Where this instance writes ([`FolderSnapshot::out_dir`]). Locks: never call it on the
    /// audio thread.
    pub fn out_dir(&self) -> PathBuf {
        self.snapshot().out_dir()
    }

    /// This instance's id, as safe for a file name.
    pub fn instance_id(&self) -> String {
        self.snapshot().instance_name()
    }
}

fn read_string(lock: &RwLock<String>) -> String {
    lock.read().map(|s| s.clone()).unwrap_or_default()
}

/// `instance-<time><counter>` in hex: unique per process and, by the clock, across sessions.
fn new_instance_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "instance-{:012x}{:02x}",
        (nanos ^ u64::from(std::process::id()) << 40) & 0xffff_ffff_ffff,
        count & 0xff
    )
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewParam {
    /// The look's pie: the full circle, or the post's half with the `seed` preset.
    #[id = "pie"]
    #[name = "Pie"]
    Pie,
    #[id = "pie-half"]
    #[name = "Pie (half)"]
    PieHalf,
    #[id = "pie-full"]
    #[name = "Pie (full)"]
    PieFull,
    #[id = "polar"]
    #[name = "Polar"]
    Polar,
    #[id = "bars"]
    #[name = "Bars"]
    Bars,
}

impl ViewParam {
    /// The view, and the pie's shape (the look's for `Pie`; unused by the other views).
    pub fn view(self, look: Look) -> (View, PieShape) {
        match self {
            Self::Pie => (View::Pie, look.pie_shape()),
            Self::PieHalf => (View::Pie, PieShape::Half),
            Self::PieFull => (View::Pie, PieShape::Full),
            Self::Polar => (View::Polar, look.pie_shape()),
            Self::Bars => (View::Bars, look.pie_shape()),
        }
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaletteParam {
    /// The look's palette: level, or the post's rainbow with the `seed` preset.
    #[id = "auto"]
    #[name = "Auto"]
    Auto,
    #[id = "level"]
    #[name = "Level"]
    Level,
    #[id = "rainbow"]
    #[name = "Rainbow"]
    Rainbow,
    /// The post's p5.js colours.
    #[id = "post"]
    #[name = "Post"]
    Post,
    #[id = "grey"]
    #[name = "Grey"]
    Grey,
}

impl PaletteParam {
    pub fn palette(self, look: Look) -> Palette {
        match self {
            Self::Auto => look.palette(),
            Self::Level => Palette::Level,
            Self::Rainbow => Palette::Rainbow,
            Self::Post => Palette::Post,
            Self::Grey => Palette::Grey,
        }
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresetParam {
    #[id = "default"]
    #[name = "Default"]
    Default,
    #[id = "seed"]
    #[name = "Seed (the post)"]
    Seed,
}

impl PresetParam {
    pub fn preset(self) -> Preset {
        match self {
            Self::Default => Preset::Default,
            Self::Seed => Preset::Seed,
        }
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FpsParam {
    #[id = "12"]
    #[name = "12"]
    Fps12,
    #[id = "15"]
    #[name = "15"]
    Fps15,
    #[id = "23.976"]
    #[name = "23.976"]
    Fps23_976,
    #[id = "24"]
    #[name = "24"]
    Fps24,
    #[id = "25"]
    #[name = "25"]
    Fps25,
    #[id = "29.97"]
    #[name = "29.97"]
    Fps29_97,
    #[id = "30"]
    #[name = "30"]
    Fps30,
    #[id = "50"]
    #[name = "50"]
    Fps50,
    #[id = "59.94"]
    #[name = "59.94"]
    Fps59_94,
    #[id = "60"]
    #[name = "60"]
    Fps60,
}

impl FpsParam {
    pub fn rate(self) -> FrameRate {
        FrameRate::SUPPORTED[self as usize]
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FftSizeParam {
    /// 4096 at 44.1/48 kHz, scaled with the sample rate.
    #[id = "auto"]
    #[name = "Auto"]
    Auto,
    #[id = "1024"]
    #[name = "1024"]
    S1024,
    #[id = "2048"]
    #[name = "2048"]
    S2048,
    #[id = "4096"]
    #[name = "4096"]
    S4096,
    #[id = "8192"]
    #[name = "8192"]
    S8192,
    #[id = "16384"]
    #[name = "16384"]
    S16384,
}

impl FftSizeParam {
    pub const ALL: [Self; 6] = [
        Self::Auto,
        Self::S1024,
        Self::S2048,
        Self::S4096,
        Self::S8192,
        Self::S16384,
    ];

    /// The explicit length, `None` for `Auto`.
    pub fn samples(self) -> Option<usize> {
        match self {
            Self::Auto => None,
            other => Some(512 << (other as usize)),
        }
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlapParam {
    #[id = "0"]
    #[name = "None"]
    None,
    #[id = "50"]
    #[name = "50 %"]
    Half,
    #[id = "75"]
    #[name = "75 %"]
    ThreeQuarters,
    #[id = "87.5"]
    #[name = "87.5 %"]
    SevenEighths,
}

impl OverlapParam {
    /// The hop between analyses as a fraction of the FFT length.
    pub fn hop_fraction(self) -> f64 {
        match self {
            Self::None => 1.0,
            Self::Half => 0.5,
            Self::ThreeQuarters => 0.25,
            Self::SevenEighths => 0.125,
        }
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowParam {
    #[id = "hann"]
    #[name = "Hann"]
    Hann,
    #[id = "blackman-harris"]
    #[name = "Blackman-Harris"]
    BlackmanHarris,
    #[id = "flat-top"]
    #[name = "Flat-top"]
    FlatTop,
}

impl WindowParam {
    pub const ALL: [Self; 3] = [Self::Hann, Self::BlackmanHarris, Self::FlatTop];

    pub fn kind(self) -> WindowKind {
        match self {
            Self::Hann => WindowKind::Hann,
            Self::BlackmanHarris => WindowKind::BlackmanHarris,
            Self::FlatTop => WindowKind::FlatTop,
        }
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlopeParam {
    #[id = "0"]
    #[name = "0 dB/oct"]
    Flat,
    #[id = "3"]
    #[name = "3 dB/oct"]
    Db3,
    #[id = "4.5"]
    #[name = "4.5 dB/oct"]
    Db4_5,
}

impl SlopeParam {
    pub fn db_per_octave(self) -> f32 {
        match self {
            Self::Flat => 0.0,
            Self::Db3 => 3.0,
            Self::Db4_5 => 4.5,
        }
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelModeParam {
    /// (L+R)/2.
    #[id = "sum"]
    #[name = "Sum"]
    Sum,
    #[id = "left"]
    #[name = "Left"]
    Left,
    #[id = "right"]
    #[name = "Right"]
    Right,
    /// (L+R)/2, labelled for M/S work.
    #[id = "mid"]
    #[name = "Mid"]
    Mid,
    /// (L-R)/2.
    #[id = "side"]
    #[name = "Side"]
    Side,
    /// Two traces: left and right.
    #[id = "left-right"]
    #[name = "L + R"]
    LeftRight,
    /// Two traces: mid and side.
    #[id = "mid-side"]
    #[name = "M + S"]
    MidSide,
}

impl ChannelModeParam {
    /// The traces the analyzer draws in this mode, in drawing order.
    pub fn traces(self) -> &'static [Trace] {
        match self {
            Self::Sum => &[Trace::Sum],
            Self::Left => &[Trace::Left],
            Self::Right => &[Trace::Right],
            Self::Mid => &[Trace::Mid],
            Self::Side => &[Trace::Side],
            Self::LeftRight => &[Trace::Left, Trace::Right],
            Self::MidSide => &[Trace::Mid, Trace::Side],
        }
    }
}

/// One analyzer trace: a mix of the left and right channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trace {
    Sum,
    Left,
    Right,
    Mid,
    Side,
}

impl Trace {
    /// This trace's sample from a left and a right one.
    pub fn mix(self, left: f32, right: f32) -> f32 {
        match self {
            Self::Sum | Self::Mid => (left + right) * 0.5,
            Self::Left => left,
            Self::Right => right,
            Self::Side => (left - right) * 0.5,
        }
    }

    /// The legend's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sum => "Sum",
            Self::Left => "Left",
            Self::Right => "Right",
            Self::Mid => "Mid",
            Self::Side => "Side",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fps_params_map_to_supported_rates() {
        assert_eq!(FpsParam::Fps24.rate(), FrameRate::FPS_24);
        assert_eq!(FpsParam::Fps23_976.rate(), FrameRate::new(24_000, 1001));
        assert_eq!(FpsParam::Fps60.rate(), FrameRate::new(60, 1));
    }

    #[test]
    fn fft_sizes_are_powers_of_two() {
        assert_eq!(FftSizeParam::S1024.samples(), Some(1024));
        assert_eq!(FftSizeParam::S16384.samples(), Some(16384));
        assert_eq!(FftSizeParam::Auto.samples(), None);
    }

    /// Default guide settings are the CLI's defaults, so a bounce matches `render`.
    #[test]
    fn default_guide_settings_match_the_cli() {
        let params = PluginParams::default();
        assert_eq!(
            params.guide_analysis_settings(),
            AnalysisSettings::default()
        );
    }
}
