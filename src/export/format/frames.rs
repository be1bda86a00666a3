//! Any thread: the guide frames, `frames/%06d.png` (DESIGN.md §7): one 8-bit PNG per timeline
//! frame, grey or RGB, named by its index zero-padded to six digits (ffmpeg's `%06d.png`).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use super::FormatError;
use crate::render::{ColorType, Image, luma};

/// The frames' folder inside an output folder.
pub const FRAMES_DIR: &str = "frames";
/// ffmpeg's input pattern for them, relative to the output folder.
pub const FRAMES_PATTERN: &str = "frames/%06d.png";

/// `<out>/frames/000042.png`.
pub fn frame_path(out_dir: &Path, frame_idx: u64) -> PathBuf {
    out_dir.join(FRAMES_DIR).join(frame_file_name(frame_idx))
}

/// `000042.png`.
pub fn frame_file_name(frame_idx: u64) -> String {
    format!("{frame_idx:06}.png")
}

/// The frame index a file in `frames/` is named after, if we would have named it so.
pub fn frame_idx_of(file_name: &str) -> Option<u64> {
    let digits = file_name.strip_suffix(".png")?;
    let frame_idx = digits.parse::<u64>().ok()?;
    (digits.len() >= 6 && format!("{frame_idx:06}") == digits).then_some(frame_idx)
}

/// PNG with the `png` crate's `Fast` deflate (fdeflate) and the Paeth filter on every row.
/// Encoding is the costliest step after the blur: `Fast` is several times quicker than zlib's
/// default level (`cargo bench --bench engine`), and on guide frames Paeth alone compresses as
/// well as trying all five filters per row (6 721 508 vs 6 721 417 bytes for 96 frames) at 8 %
/// fewer instructions per frame (callgrind); `Up` saves 4 % more but grows files by 7 %.
pub fn encode_png(image: &Image, out: &mut Vec<u8>) -> Result<(), png::EncodingError> {
    out.clear();
    let mut encoder = png::Encoder::new(&mut *out, image.width, image.height);
    encoder.set_color(match image.color {
        ColorType::Grey => png::ColorType::Grayscale,
        ColorType::Rgb => png::ColorType::Rgb,
    });
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::Filter::Paeth);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&image.pixels)?;
    writer.finish()
}

/// The 8-bit grey pixels of the frame at `path`, which must be `width`×`height`: a colour frame
/// becomes its luma (as Desaturate makes it), alpha is dropped.
pub fn read_grey(path: &Path, (width, height): (u32, u32)) -> Result<Vec<u8>, FormatError> {
    let bytes = std::fs::read(path).map_err(|source| FormatError::read(path, source))?;
    let invalid = |reason: String| FormatError::invalid(path, reason);
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder
        .read_info()
        .map_err(|error| invalid(error.to_string()))?;
    let info = reader.info();
    if (info.width, info.height) != (width, height) {
        return Err(invalid(format!(
            "{}×{} pixels, where its manifest says {width}×{height}",
            info.width, info.height
        )));
    }
    let mut pixels = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader
        .next_frame(&mut pixels)
        .map_err(|error| invalid(error.to_string()))?;
    pixels.truncate(info.buffer_size());
    match info.color_type {
        png::ColorType::Grayscale => Ok(pixels),
        png::ColorType::GrayscaleAlpha => Ok(pixels.chunks_exact(2).map(|p| p[0]).collect()),
        png::ColorType::Rgb => Ok(pixels
            .chunks_exact(3)
            .map(|p| luma([p[0], p[1], p[2]]))
            .collect()),
        png::ColorType::Rgba => Ok(pixels
            .chunks_exact(4)
            .map(|p| luma([p[0], p[1], p[2]]))
            .collect()),
        png::ColorType::Indexed => Err(invalid("an indexed PNG that was not expanded".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_paths_are_six_digit_numbered() {
        assert_eq!(
            frame_path(Path::new("out"), 42),
            Path::new("out/frames/000042.png")
        );
        assert_eq!(
            frame_path(Path::new("out"), 1_234_567),
            Path::new("out/frames/1234567.png")
        );
    }
}
