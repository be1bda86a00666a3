//! Any thread: plain data about a take, shared by the floors that record it (`plugin`), carry it
//! (`handoff`) and write it (`export`): what a take records with ([`TakeSettings`], where it goes
//! ([`FolderSnapshot`]), one recorded frame ([`RecordedFrame`], [`FrameCapture`]) and where its
//! positions came from ([`PositionSource`]). Nothing here imports a floor above it.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::analysis::AnalysisSettings;
use crate::clock::FrameRate;
use crate::render::RenderSettings;

/// Where a take's frame positions came from (written in the manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PositionSource {
    /// The host's transport position (or the file's sample positions, for the CLI).
    Timeline,
    /// The host reported no position: samples counted from the take's start.
    SampleCount,
}

/// The automatable macro parameters ("Macro 1" to "Macro 8").
pub const NUM_MACROS: usize = 8;
/// MIDI note numbers and controller numbers each run 0..128.
pub const NUM_MIDI_KEYS: usize = 128;

/// The host's transport at a frame's first sample (DESIGN.md §13, `transport.csv`). `None`: the
/// host did not say.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FrameTransport {
    pub tempo_bpm: Option<f64>,
    /// Time signature: numerator, denominator.
    pub time_sig: Option<(i32, i32)>,
    /// Musical position in quarter notes (the host's, extrapolated inside the block by the tempo).
    pub beat: Option<f64>,
    /// The bar number, 0-based (the host's).
    pub bar: Option<i32>,
    /// The position inside the bar in the time signature's beats (eighths in 7/8).
    pub bar_beat: Option<f64>,
    pub is_playing: bool,
}

/// What the host said during one frame besides its audio, captured on the audio thread as the
/// frame's samples pass (`plugin::capture`) and written by the writer beside `spectrum.csv`.
/// Fixed size, so recycling a frame never allocates.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameCapture {
    pub transport: FrameTransport,
    /// Each macro's value (0..1) at the frame's first sample.
    pub macros: [f32; NUM_MACROS],
    /// Per MIDI note: the highest velocity (0..1) with which it sounds at any sample of the frame,
    /// 0 if silent.
    pub note_gates: [f32; NUM_MIDI_KEYS],
    /// Per MIDI CC: its value (0..1) at the frame's last sample, 0 before its first event.
    pub cc_values: [f32; NUM_MIDI_KEYS],
    /// Bit `n`: note `n` had an event since capture began (decides `midi.csv`'s columns).
    pub seen_notes: u128,
    /// Bit `n`: CC `n` had an event since capture began.
    pub seen_ccs: u128,
}

impl Default for FrameCapture {
    fn default() -> Self {
        Self {
            transport: FrameTransport::default(),
            macros: [0.0; NUM_MACROS],
            note_gates: [0.0; NUM_MIDI_KEYS],
            cc_values: [0.0; NUM_MIDI_KEYS],
            seen_notes: 0,
            seen_ccs: 0,
        }
    }
}

/// One recorded frame: a timeline frame index, its analyzed bins and what the host said during
/// it. Preallocated and recycled.
#[derive(Debug)]
pub struct RecordedFrame {
    /// The timeline frame index `k` (DESIGN.md §5).
    pub frame_idx: u64,
    /// The analyzer's output; only the first `num_bins` entries are valid.
    pub bins: Box<[f32]>,
    pub num_bins: usize,
    /// Transport, macros and MIDI during the frame; boxed so the queue's slots stay small.
    pub capture: Box<FrameCapture>,
}

impl RecordedFrame {
    /// An empty frame of `num_bins` bins. Allocates: never on the audio thread.
    pub fn new(num_bins: usize) -> Self {
        Self {
            frame_idx: 0,
            bins: vec![0.0; num_bins].into_boxed_slice(),
            num_bins,
            capture: Box::default(),
        }
    }

    pub fn bins(&self) -> &[f32] {
        &self.bins[..self.num_bins]
    }
}

/// What a take records with: snapshotted from the parameters by the audio thread when the take
/// starts (reading atomics only) and sent to the writer with the take's start event. Plain
/// data, so the writer never reads the plugin's parameters, and a setting changed during a take
/// applies from the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct TakeSettings {
    pub sample_rate: u32,
    pub fps: FrameRate,
    pub analysis: AnalysisSettings,
    /// How the writer draws the frames.
    pub render: RenderSettings,
    /// `false` writes only `spectrum.csv` and `manifest.json`.
    pub write_images: bool,
    /// Where the take goes (set by the recorder from its activation's snapshot; cloning the
    /// `Arc` on the audio thread only counts a reference).
    pub folder: Option<Arc<FolderSnapshot>>,
}

/// Where a take goes, taken at activation (main thread) from the persisted folder fields and
/// carried by each take's settings, so a take lands where the folder pointed when it started,
/// however far the writer lags. A change the editor makes while active bumps the generation; the
/// writer then takes a new snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderSnapshot {
    pub generation: u64,
    /// The folder the user chose; empty for the default ([`default_folder`]).
    pub folder: String,
    /// The host's track name, empty when it gave none.
    pub track: String,
    /// The plugin instance's id.
    pub instance_id: String,
}

impl FolderSnapshot {
    /// `<folder or ~/Spectral Diffusion>/<track name or instance id>/`: where this instance
    /// writes.
    pub fn out_dir(&self) -> PathBuf {
        let base = if self.folder.trim().is_empty() {
            default_folder()
        } else {
            PathBuf::from(&self.folder)
        };
        let track = sanitize_folder_name(&self.track);
        let leaf = if track.is_empty() {
            self.instance_name()
        } else {
            track
        };
        base.join(leaf)
    }

    /// The instance's id, as safe for a file name.
    pub fn instance_name(&self) -> String {
        sanitize_folder_name(&self.instance_id)
    }
}

/// `~/Spectral Diffusion/` (the current directory when no home is known): the user's profile
/// folder on Windows (`USERPROFILE`, not a `HOME` that Git Bash or MSYS may set), `HOME`
/// elsewhere, as `std::env::home_dir` reads them.
pub fn default_folder() -> PathBuf {
    std::env::home_dir()
        .unwrap_or_default()
        .join("Spectral Diffusion")
}

/// Keeps letters, digits, space, `-`, `_` and `.`; everything else becomes `_`, so a track named
/// `Drums/Bus` cannot escape the folder. The name is also one Windows can create: no leading
/// dots, no trailing dots or spaces, and no device name (`CON`, `NUL`, `COM1`, … with or without
/// an extension), which gets a `_` after it.
pub fn sanitize_folder_name(name: &str) -> String {
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned
        .trim_start_matches('.')
        .trim_end_matches(['.', ' '])
        .trim_start();
    if is_windows_device_name(cleaned) {
        let stem_len = cleaned.find('.').unwrap_or(cleaned.len());
        return format!("{}_{}", &cleaned[..stem_len], &cleaned[stem_len..]);
    }
    cleaned.to_owned()
}

/// Whether Windows reads `name` as a device, whatever follows its first dot.
fn is_windows_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => {
            let (prefix, digit) = upper.split_at(upper.len().min(3));
            matches!(prefix, "COM" | "LPT")
                && digit.len() == 1
                && digit
                    .chars()
                    .all(|c| c.is_ascii_digit() || "¹²³".contains(c))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A track name cannot escape the output folder.
    #[test]
    fn folder_names_are_sanitized() {
        assert_eq!(sanitize_folder_name("Drums/Bus"), "Drums_Bus");
        assert_eq!(sanitize_folder_name("../x"), "_x");
        assert_eq!(sanitize_folder_name("  Lead Vox "), "Lead Vox");
    }

    /// Names Windows cannot create as a folder, or creates as another.
    #[test]
    fn folder_names_are_valid_on_windows() {
        for (track, folder) in [
            ("CON", "CON_"),
            ("nul.txt", "nul_.txt"),
            ("com1", "com1_"),
            ("LPT9 ", "LPT9_"),
            ("Vox...", "Vox"),
            ("Bass. . ", "Bass"),
            ("a<b>c:d\"e|f?g*h", "a_b_c_d_e_f_g_h"),
            ("Console", "Console"),
            ("COM10", "COM10"),
        ] {
            assert_eq!(sanitize_folder_name(track), folder, "{track:?}");
        }
    }
}
