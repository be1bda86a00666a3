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
//! when the line between the kept frames around it passes within `epsilon` of its value
//! ([`decimate`]). Values are rounded to [`DECIMALS`] places before that, so the strings hold
//! exactly the values that were checked.

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

/// The frames to keep so that linear interpolation between kept neighbours misses no dropped
/// frame by more than `epsilon`. The first and last frames are always kept.
///
/// Greedy in one pass: from the last kept frame `a`, every later frame `i` bounds the slopes a
/// line from `a` may take to pass within `epsilon` of it; a candidate `j` is fine while its own
/// slope from `a` lies within the bounds of every frame between. O(frames).
pub fn decimate(values: &[f64], epsilon: f64) -> Vec<usize> {
    let Some(last) = values.len().checked_sub(1) else {
        return Vec::new();
    };
    let mut kept = vec![0];
    let mut anchor = 0;
    let (mut slope_lo, mut slope_hi) = (f64::MIN, f64::MAX);
    let mut idx = 1;
    while idx <= last {
        let run = (idx - anchor) as f64;
        let slope = (values[idx] - values[anchor]) / run;
        if slope < slope_lo || slope > slope_hi {
            // The line to `idx` would miss a frame between: keep the frame before it.
            anchor = idx - 1;
            kept.push(anchor);
            (slope_lo, slope_hi) = (f64::MIN, f64::MAX);
            continue;
        }
        slope_lo = slope_lo.max((values[idx] - epsilon - values[anchor]) / run);
        slope_hi = slope_hi.min((values[idx] + epsilon - values[anchor]) / run);
        idx += 1;
    }
    if anchor != last {
        kept.push(last);
    }
    kept
}

/// Writes `item(frame, value)` for each kept keyframe, joined by `, `.
fn write_keyframes(
    out: &mut impl Write,
    values: &[f32],
    epsilon: f64,
    mut item: impl FnMut(&mut dyn Write, usize, f64) -> io::Result<()>,
) -> io::Result<()> {
    let rounded: Vec<f64> = values.iter().map(|&v| round(f64::from(v))).collect();
    for (idx, frame_idx) in decimate(&rounded, epsilon).into_iter().enumerate() {
        if idx > 0 {
            out.write_all(b", ")?;
        }
        item(out, frame_idx, rounded[frame_idx])?;
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

    /// Every dropped frame lies within epsilon of the line between the kept frames around it.
    #[test]
    fn decimation_stays_within_epsilon() {
        let values: Vec<f64> = (0..500)
            .map(|i| (i as f64 * 0.05).sin() + if i % 97 == 0 { 0.5 } else { 0.0 })
            .collect();
        for epsilon in [0.0, 0.001, 0.02, 0.3] {
            let kept = decimate(&values, epsilon);
            assert_eq!(kept[0], 0);
            assert_eq!(*kept.last().unwrap(), 499);
            for pair in kept.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                assert!(a < b);
                for i in a + 1..b {
                    let t = (i - a) as f64 / (b - a) as f64;
                    let line = values[a] + (values[b] - values[a]) * t;
                    assert!(
                        (line - values[i]).abs() <= epsilon + 1e-12,
                        "eps {epsilon} at {i}"
                    );
                }
            }
        }
        // A straight line needs only its ends; a single frame is kept alone.
        let line: Vec<f64> = (0..100).map(|i| i as f64 * 0.25).collect();
        assert_eq!(decimate(&line, 0.0), [0, 99]);
        assert_eq!(decimate(&[0.5], 0.0), [0]);
        assert!(decimate(&[], 0.0).is_empty());
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
