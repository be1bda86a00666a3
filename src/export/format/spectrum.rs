//! Any thread: `spectrum.csv`, one row of bins per frame, sorted by frame (DESIGN.md §7).
//!
//! ```text
//! full:  frame,time_s,<bin centre Hz>…     then  <frame>,<time_s>,<value>…   per frame
//! seed:  <value>…                                   per frame (the post's bare rows)
//! ```
//! Values are ryu's shortest text of an `f32`, so they read back as the same `f32`s. The rows
//! are exactly the frames the manifest lists, in order: a seed table's bare rows are those
//! frames, a full table's frame column must name them.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use super::FormatError;
use super::manifest::CsvFormat;

pub const SPECTRUM_NAME: &str = "spectrum.csv";
/// The longest line a table of ours holds: 4096 bins of at most 16 characters each.
const MAX_LINE_BYTES: usize = 1 << 17;

/// Writes the header of a `Full` table (nothing for `Seed`).
pub fn write_header(
    out: &mut impl Write,
    format: CsvFormat,
    bin_freqs_hz: &[f32],
) -> io::Result<()> {
    if format == CsvFormat::Full {
        write!(out, "frame,time_s")?;
        for freq_hz in bin_freqs_hz {
            write!(out, ",{freq_hz:.2}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Writes frame `frame_idx`'s row, which starts at `time_s`.
pub fn write_row(
    out: &mut impl Write,
    format: CsvFormat,
    frame_idx: u64,
    time_s: f64,
    values: impl IntoIterator<Item = f32>,
    float_text: &mut ryu::Buffer,
) -> io::Result<()> {
    if format == CsvFormat::Full {
        write!(out, "{frame_idx},{time_s:.6},")?;
    }
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        // The shortest text that reads back as the same f32; ryu is several times faster than
        // `{}`, and formatting is most of a CSV-only render's time.
        out.write_all(float_text.format_finite(value).as_bytes())?;
    }
    writeln!(out)
}

/// Streams `path`, a table of `num_bins` values per row in `format`, whose rows must be the
/// frames `listed` (ascending), calling `on_row` with each frame and its values. One row's
/// values at a time: an hour's table is 200 MB of text.
pub fn for_each_row<E: From<FormatError>>(
    path: &Path,
    format: CsvFormat,
    num_bins: usize,
    listed: impl IntoIterator<Item = u64>,
    mut on_row: impl FnMut(u64, &[f32]) -> Result<(), E>,
) -> Result<(), E> {
    let file = File::open(path).map_err(|source| FormatError::read(path, source))?;
    let line_error = |line_idx: usize, reason: String| FormatError::Line {
        path: path.to_owned(),
        line: line_idx + 1,
        reason,
    };
    let mut listed = listed.into_iter();
    let mut values = vec![0.0f32; num_bins];
    let mut reader = BufReader::new(file);
    let mut line: Vec<u8> = Vec::new();
    for line_idx in 0.. {
        line.clear();
        let len = io::Read::take(&mut reader, MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|source| FormatError::read(path, source))?;
        if len == 0 {
            break;
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(line_error(line_idx, "longer than any row of ours".into()).into());
        }
        let mut fields = line.trim_ascii_end().split(|&byte| byte == b',');
        if format == CsvFormat::Full && line_idx == 0 {
            if fields.count() != 2 + num_bins {
                let reason = format!("the header has not the manifest's {num_bins} bins");
                return Err(line_error(line_idx, reason).into());
            }
            continue;
        }
        let expected = listed.next();
        let frame_idx = match format {
            CsvFormat::Full => {
                let frame_idx = fields
                    .next()
                    .and_then(|field| std::str::from_utf8(field).ok()?.parse::<u64>().ok());
                // The time column.
                fields.next();
                frame_idx
            }
            CsvFormat::Seed => expected,
        };
        match (frame_idx, expected) {
            (Some(frame_idx), Some(expected)) if frame_idx == expected => {}
            (_, None) => {
                let reason = "a row past the frames manifest.json lists".to_owned();
                return Err(line_error(line_idx, reason).into());
            }
            (_, Some(expected)) => {
                let reason = format!(
                    "names no frame, or not frame {expected}, which manifest.json lists next"
                );
                return Err(line_error(line_idx, reason).into());
            }
        }
        let frame_idx = expected.unwrap_or_default();
        let mut num_values = 0;
        for (value, field) in values.iter_mut().zip(&mut fields) {
            // We write finite values only: NaN or infinity is damage, and must not reach a page.
            *value = parse_f32(field)
                .filter(|value| value.is_finite())
                .ok_or_else(|| {
                    let field = String::from_utf8_lossy(field);
                    line_error(line_idx, format!("{field:?} is not a finite number"))
                })?;
            num_values += 1;
        }
        if num_values != num_bins || fields.next().is_some() {
            let reason = format!("a row needs the manifest's {num_bins} values");
            return Err(line_error(line_idx, reason).into());
        }
        on_row(frame_idx, &values)?;
    }
    if let Some(missing) = listed.next() {
        return Err(FormatError::invalid(
            path,
            format!("ends before frame {missing}, which manifest.json lists"),
        )
        .into());
    }
    Ok(())
}

/// One CSV value. The table's values are ryu's shortest text of an `f32`, nearly always a plain
/// decimal of at most nine digits: that is parsed here (a correctly rounded `f64` division,
/// several times faster than `str::parse`, which is most of the time of a long song); anything
/// else goes to `str::parse`.
fn parse_f32(field: &[u8]) -> Option<f32> {
    /// Powers of ten that `f64` holds exactly.
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (is_negative, digits) = match field.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, field),
    };
    let mut mantissa = 0u64;
    let mut num_digits = 0usize;
    let mut num_fraction_digits = None;
    for &byte in digits {
        match byte {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                num_digits += 1;
                if let Some(count) = &mut num_fraction_digits {
                    *count += 1;
                }
            }
            b'.' if num_fraction_digits.is_none() => num_fraction_digits = Some(0),
            _ => return std::str::from_utf8(field).ok()?.parse().ok(),
        }
    }
    let num_fraction_digits = num_fraction_digits.unwrap_or(0);
    if num_digits == 0 || num_digits > 15 || num_fraction_digits >= POW10.len() {
        return std::str::from_utf8(field).ok()?.parse().ok();
    }
    let value = (mantissa as f64 / POW10[num_fraction_digits]) as f32;
    Some(if is_negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::parse_f32;

    /// The fast path reads ryu's text of an f32 back as that very f32, as `str::parse` does.
    #[test]
    fn csv_values_parse_exactly() {
        let mut text = ryu::Buffer::new();
        let mut seed = 0x9E37_79B9u32;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            // Magnitudes from 1e-6 to 1e4, as the default (0..1) and seed presets write them.
            let value = f32::from_bits(seed % 0x4700_0000 + 0x3500_0000);
            let field = text.format_finite(value);
            assert_eq!(parse_f32(field.as_bytes()), Some(value), "{field}");
        }
        for (field, wanted) in [("0", Some(0.0)), ("-2.5", Some(-2.5)), ("1e-7", Some(1e-7))] {
            assert_eq!(parse_f32(field.as_bytes()), wanted);
        }
        for field in ["", "-", ".", "1.2.3", "abc", "1,0"] {
            assert_eq!(parse_f32(field.as_bytes()), None, "{field:?}");
        }
    }
}
