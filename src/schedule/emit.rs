//! Any thread: pure. Schedules in each consumer's grammar (DESIGN.md §12), written to any `Write`.
//!
//! - Deforum keyframe strings: `0:(0.52), 12:(0.61)`: integer frames ascending from 0, plain
//!   decimals without exponent, items joined by `, `, no trailing comma.
//! - AnimateDiff-Evolved value schedules: `0 = 0.52, 12 = 0.61`.
//! - Comfyroll's `CR Simple Value Scheduler`: one `frame, value` line per frame. It holds a value
//!   until the next line's frame instead of interpolating, so every frame is written.
//! - Parseq rendered frames: see [`super::parseq`].
//! - A plain CSV, `frame,<lane>…`, every frame.
//!
//! The string formats keep only the keyframes linear interpolation needs: a frame is dropped
//! when the line between the kept frames around it passes within `epsilon` of its exact value
//! ([`decimate`]). The kept values are rounded to [`DECIMALS`] places, and the lines are drawn
//! between the rounded values, so the bound holds for what the consumer interpolates; a kept
//! frame itself is off by its rounding, at most half a unit of the last place.

use std::io::{self, Write};

/// Decimal places in the keyframe strings and Parseq values.
pub const DECIMALS: i32 = 4;

/// One schedule to write: a consumer field and its value on every frame.
pub struct Schedule<'a> {
    pub name: &'a str,
    pub values: &'a [f32],
}

/// `value` rounded to [`DECIMALS`] places.
pub fn round(value: f64) -> f64 {
    let scale = 10f64.powi(DECIMALS);
    (value * scale).round() / scale
}

/// A rounded value as a plain decimal: no exponent, no trailing zeros, no `-0`.
pub fn write_decimal<W: Write + ?Sized>(out: &mut W, value: f64) -> io::Result<()> {
    // Integer arithmetic on the value's ten-thousandths: `{:.4}` formatting is slow, and a
    // song's Parseq file holds millions of values.
    let scale = 10i64.pow(DECIMALS as u32);
    let units = (value * scale as f64).round() as i64;
    let sign = if units < 0 { "-" } else { "" };
    let (whole, mut fraction) = (units.abs() / scale, units.abs() % scale);
    if fraction == 0 {
        return write!(out, "{sign}{whole}");
    }
    let mut width = DECIMALS as usize;
    while fraction % 10 == 0 {
        fraction /= 10;
        width -= 1;
    }
    write!(out, "{sign}{whole}.{fraction:0width$}")
}

/// The frames to keep so that linear interpolation between the kept frames' `written` values
/// misses no dropped frame's `exact` value by more than `epsilon`. The first and last frames
/// are always kept.
///
/// Greedy in one pass: from the last kept frame `a`, every later frame `i` bounds the slopes a
/// line from `written[a]` may take to pass within `epsilon` of `exact[i]`; a candidate `j` is
/// fine while the slope to `written[j]` lies within the bounds of every frame between.
/// O(frames).
pub fn decimate(exact: &[f64], written: &[f64], epsilon: f64) -> Vec<usize> {
    let Some(last) = written.len().checked_sub(1) else {
        return Vec::new();
    };
    let mut kept = vec![0];
    let mut anchor = 0;
    let (mut slope_lo, mut slope_hi) = (f64::MIN, f64::MAX);
    let mut idx = 1;
    while idx <= last {
        let run = (idx - anchor) as f64;
        let slope = (written[idx] - written[anchor]) / run;
        if slope < slope_lo || slope > slope_hi {
            // The line to `idx` would miss a frame between: keep the frame before it.
            anchor = idx - 1;
            kept.push(anchor);
            (slope_lo, slope_hi) = (f64::MIN, f64::MAX);
            continue;
        }
        slope_lo = slope_lo.max((exact[idx] - epsilon - written[anchor]) / run);
        slope_hi = slope_hi.min((exact[idx] + epsilon - written[anchor]) / run);
        idx += 1;
    }
    if anchor != last {
        kept.push(last);
    }
    kept
}

/// The keyframes of a string: each kept frame and its rounded value (see [`decimate`]).
pub fn keyframes(values: &[f32], epsilon: f64) -> Vec<(usize, f64)> {
    let exact: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    let written: Vec<f64> = exact.iter().map(|&v| round(v)).collect();
    decimate(&exact, &written, epsilon)
        .into_iter()
        .map(|frame_idx| (frame_idx, written[frame_idx]))
        .collect()
}

/// Writes `item(frame, value)` for each kept keyframe, joined by `, `.
fn write_keyframes(
    out: &mut impl Write,
    values: &[f32],
    epsilon: f64,
    mut item: impl FnMut(&mut dyn Write, usize, f64) -> io::Result<()>,
) -> io::Result<()> {
    for (idx, (frame_idx, value)) in keyframes(values, epsilon).into_iter().enumerate() {
        if idx > 0 {
            out.write_all(b", ")?;
        }
        item(out, frame_idx, value)?;
    }
    Ok(())
}

/// One Deforum keyframe string: `0:(0.52), 12:(0.61)`.
pub fn write_deforum(out: &mut impl Write, values: &[f32], epsilon: f64) -> io::Result<()> {
    write_keyframes(out, values, epsilon, |out, frame_idx, value| {
        write!(out, "{frame_idx}:(")?;
        write_decimal(out, value)?;
        out.write_all(b")")
    })
}

/// One AnimateDiff-Evolved value schedule: `0 = 0.52, 12 = 0.61`.
pub fn write_animatediff(out: &mut impl Write, values: &[f32], epsilon: f64) -> io::Result<()> {
    write_keyframes(out, values, epsilon, |out, frame_idx, value| {
        write!(out, "{frame_idx} = ")?;
        write_decimal(out, value)
    })
}

/// A text file of keyframe strings: per schedule a `# name` line, the string, a blank line.
pub fn write_strings(
    out: &mut impl Write,
    schedules: &[Schedule],
    epsilon: f64,
    write_string: fn(&mut Vec<u8>, &[f32], f64) -> io::Result<()>,
) -> io::Result<()> {
    let mut line = Vec::new();
    for schedule in schedules {
        line.clear();
        write_string(&mut line, schedule.values, epsilon)?;
        writeln!(out, "# {}", schedule.name)?;
        out.write_all(&line)?;
        out.write_all(b"\n\n")?;
    }
    Ok(())
}

/// Comfyroll's schedule text: per schedule a `# name` line, one `frame, value` line per frame
/// (Comfyroll holds a value until the next line, so every frame is written), a blank line.
pub fn write_comfyroll(out: &mut impl Write, schedules: &[Schedule]) -> io::Result<()> {
    for schedule in schedules {
        writeln!(out, "# {}", schedule.name)?;
        for (frame_idx, &value) in schedule.values.iter().enumerate() {
            write!(out, "{frame_idx}, ")?;
            write_decimal(out, round(f64::from(value)))?;
            out.write_all(b"\n")?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// `frame,<name>…` then one row per frame, values in ryu's shortest round-trip form.
pub fn write_csv(
    out: &mut impl Write,
    schedules: &[Schedule],
    num_frames: usize,
) -> io::Result<()> {
    out.write_all(b"frame")?;
    for schedule in schedules {
        write!(out, ",{}", schedule.name)?;
    }
    out.write_all(b"\n")?;
    let mut text = ryu::Buffer::new();
    for frame_idx in 0..num_frames {
        write!(out, "{frame_idx}")?;
        for schedule in schedules {
            out.write_all(b",")?;
            out.write_all(text.format_finite(schedule.values[frame_idx]).as_bytes())?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Interpolated between the written keyframes, every dropped frame lies within epsilon of
    /// its exact value, and a kept frame within its rounding.
    #[test]
    fn keyframes_stay_within_epsilon_of_the_exact_values() {
        let values: Vec<f32> = (0..2000)
            .map(|i| (i as f32 * 0.013).sin() * 0.37 + if i % 97 == 0 { 0.5 } else { 0.0 })
            .collect();
        for epsilon in [0.0, 0.00002, 0.0001, 0.001, 0.02, 0.3] {
            let kept = keyframes(&values, epsilon);
            assert_eq!(kept[0].0, 0);
            assert_eq!(kept.last().unwrap().0, 1999);
            for &(frame_idx, value) in &kept {
                let exact = f64::from(values[frame_idx]);
                assert!(
                    (value - exact).abs() <= 0.5e-4 + 1e-12,
                    "rounding at {frame_idx}"
                );
            }
            for pair in kept.windows(2) {
                let ((a, va), (b, vb)) = (pair[0], pair[1]);
                assert!(a < b);
                for (i, &value) in values.iter().enumerate().take(b).skip(a + 1) {
                    let line = va + (vb - va) * (i - a) as f64 / (b - a) as f64;
                    let miss = (line - f64::from(value)).abs();
                    assert!(miss <= epsilon + 1e-12, "eps {epsilon} at {i}: {miss}");
                }
            }
        }
        // A straight line needs only its ends; a single frame is kept alone.
        let line: Vec<f32> = (0..100).map(|i| i as f32 * 0.25).collect();
        assert_eq!(keyframes(&line, 0.0), [(0, 0.0), (99, 24.75)]);
        assert_eq!(keyframes(&[0.5], 0.0), [(0, 0.5)]);
        assert!(keyframes(&[], 0.0).is_empty());
    }

    /// Comfyroll's text: a `# name` line, then `frame, value` on every frame, plain decimals.
    #[test]
    fn comfyroll_lines_hold_every_frame() {
        let mut out = Vec::new();
        let schedules = [Schedule {
            name: "strength_schedule",
            values: &[0.52, 0.52, 1.0, -0.000_01],
        }];
        write_comfyroll(&mut out, &schedules).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# strength_schedule\n0, 0.52\n1, 0.52\n2, 1\n3, 0\n\n"
        );
    }

    #[test]
    fn decimals_are_plain() {
        let text = |value: f32| {
            let mut out = Vec::new();
            write_decimal(&mut out, round(f64::from(value))).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text(0.52), "0.52");
        assert_eq!(text(1.0), "1");
        assert_eq!(text(1e-7), "0");
        assert_eq!(text(-1e-7), "0");
        assert_eq!(text(-2.5), "-2.5");
        assert_eq!(text(1e9), "1000000000");
        assert_eq!(text(0.123_456), "0.1235");
    }
}
