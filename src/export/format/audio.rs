//! CLI thread: the audio a folder's frames were made from, as the manifest's `audio` records it
//! (relative to the folder where it can be), and the demo's `demo.wav`, saved in the folder by
//! `render --demo`, which `video` and the preview page play.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{FormatError, write_atomically};

/// The demo's audio, saved beside its frames; the manifest's `audio` names it.
pub const DEMO_AUDIO_NAME: &str = "demo.wav";

/// Writes `track` to `path` as a 16-bit stereo PCM WAV file (what every browser and ffmpeg
/// play), under a temporary name renamed into place.
pub fn write_demo_wav(
    path: &Path,
    track: &[[f32; 2]],
    sample_rate: u32,
) -> Result<(), FormatError> {
    const NUM_CHANNELS: u16 = 2;
    const BYTES_PER_SAMPLE: u16 = 2;
    let block_align = NUM_CHANNELS * BYTES_PER_SAMPLE;
    let data_len = track.len() as u64 * u64::from(block_align);
    // RIFF sizes are 32-bit; the demo is 16 s, so this only guards against misuse.
    let data_len = u32::try_from(data_len)
        .ok()
        .filter(|&len| len <= u32::MAX - 36)
        .ok_or_else(|| FormatError::invalid(path, "too long for a WAV file"))?;
    let mut bytes = Vec::with_capacity(44 + data_len as usize);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    // Format 1: integer PCM.
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&NUM_CHANNELS.to_le_bytes());
    bytes.extend_from_slice(&sample_rate.to_le_bytes());
    bytes.extend_from_slice(&(sample_rate * u32::from(block_align)).to_le_bytes());
    bytes.extend_from_slice(&block_align.to_le_bytes());
    bytes.extend_from_slice(&(BYTES_PER_SAMPLE * 8).to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    for &sample in track.iter().flatten() {
        let value = (sample * 32767.0).round().clamp(-32768.0, 32767.0) as i16;
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    write_atomically(path, |file| file.write_all(&bytes))
}

/// How the manifest records the audio at `audio` for the folder `dir` (which need not exist
/// yet): relative to the folder when the audio lies inside it (`demo.wav`) or beside it
/// (`../song.flac`), so the two can move together; else absolute, so the folder can be read
/// from any working directory.
pub fn path_for_manifest(dir: &Path, audio: &Path) -> PathBuf {
    let (Some(dir), Some(audio)) = (resolved(dir), resolved(audio)) else {
        return audio.to_owned();
    };
    if let Ok(inside) = audio.strip_prefix(&dir) {
        return inside.to_owned();
    }
    match (dir.parent(), audio.parent(), audio.file_name()) {
        (Some(dir_parent), Some(audio_parent), Some(name)) if dir_parent == audio_parent => {
            Path::new("..").join(name)
        }
        _ => audio,
    }
}

/// `path` with symbolic links resolved as far as it exists, the rest appended: the same place
/// spelled one way, even before the folder is made.
fn resolved(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    let mut existing = absolute.as_path();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if let Ok(mut path) = existing.canonicalize() {
            for part in rest.iter().rev() {
                match part.to_str() {
                    Some("..") => {
                        path.pop();
                    }
                    Some(".") => {}
                    _ => path.push(part),
                }
            }
            return Some(path);
        }
        rest.push(existing.components().next_back()?.as_os_str().to_owned());
        existing = existing.parent()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Audio inside the folder or beside it is recorded relative to it, anything else absolute.
    #[test]
    fn audio_paths_travel_with_the_folder() {
        let root = tempfile::tempdir().unwrap();
        let root_path = root.path().canonicalize().unwrap();
        let out = root_path.join("out");
        std::fs::create_dir_all(out.join("song")).unwrap();
        for name in ["out/song/demo.wav", "out/song.flac", "elsewhere.flac"] {
            std::fs::write(root_path.join(name), b"").unwrap();
        }
        let dir = out.join("song");
        assert_eq!(
            path_for_manifest(&dir, &dir.join("demo.wav")),
            Path::new("demo.wav")
        );
        assert_eq!(
            path_for_manifest(&dir, &out.join("song.flac")),
            Path::new("../song.flac")
        );
        assert_eq!(
            path_for_manifest(&dir, &root_path.join("elsewhere.flac")),
            root_path.join("elsewhere.flac")
        );
        // A folder that does not exist yet, given with `..` in it.
        let unborn = out.join("new/../later");
        assert_eq!(
            path_for_manifest(&unborn, &out.join("song.flac")),
            Path::new("../song.flac")
        );
    }
}
