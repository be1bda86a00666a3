//! Any thread: pure. Parseq's rendered frames, named as Deforum's Parseq adapter reads them
//! (DESIGN.md §12; Deforum's `scripts/deforum_helpers/parseq_adapter.py`, Parseq's
//! `src/parseq-renderer.ts`).
//!
//! - A schedule's field is the one the adapter asks for: `cfg_scale_schedule` is `scale`,
//!   `steps_schedule` keeps its suffix, the anti-blur schedules are `antiblur_kernel|sigma|amount|
//!   threshold`, the guided-images ones `guided_…`, `image_strength_schedule` shares `strength`;
//!   any other name loses its `_schedule` and `_series` suffixes, as the adapter strips them.
//! - Each field comes with Parseq's `<field>_delta`, the change since the previous frame (`zoom`
//!   multiplies, so its delta is `1 + z_f - z_{f-1}`; frame 0's delta is the value itself), and
//!   `<field>_pc`, `value / max|value| * 100` (the value itself when every value is 0).
//!   `rendered_frames_meta` holds `min`, `max` = max |value| and `isFlat` = (min == max), as
//!   Parseq's renderer writes them.
//! - Deforum's "Use delta values" (on by default) reads `<field>_delta` for the motion fields
//!   (angle, zoom, translation, 3D rotation, perspective flip), the plain field otherwise.
//! - One key per field: two schedules that would write the same key are refused.

use std::collections::HashMap;
use std::io::{self, Write};

use super::ScheduleError;
use super::emit::{Schedule, round, write_decimal};

/// Deforum's schedules whose Parseq field is not their name without `_schedule`.
const RENAMED: [(&str, &str); 11] = [
    ("cfg_scale_schedule", "scale"),
    ("steps_schedule", "steps_schedule"),
    ("kernel_schedule", "antiblur_kernel"),
    ("sigma_schedule", "antiblur_sigma"),
    ("amount_schedule", "antiblur_amount"),
    ("threshold_schedule", "antiblur_threshold"),
    ("image_strength_schedule", "strength"),
    ("blendFactorMax", "guided_blendFactorMax"),
    ("blendFactorSlope", "guided_blendFactorSlope"),
    ("tweening_frames_schedule", "guided_tweening_frames"),
    ("color_correction_factor", "guided_color_correction_factor"),
];

/// The keys Parseq writes beside a field.
const SUFFIXES: [&str; 3] = ["", "_delta", "_pc"];

/// The Parseq field Deforum reads for the schedule `name`.
pub fn field_name(name: &str) -> String {
    if let Some(&(_, field)) = RENAMED.iter().find(|(schedule, _)| *schedule == name) {
        return field.to_owned();
    }
    let mut field = name;
    while let Some(stripped) = ["_series", "_schedule"]
        .iter()
        .find_map(|suffix| field.strip_suffix(suffix))
    {
        field = stripped;
    }
    field.to_owned()
}

/// The Parseq fields of `names` (schedule names, in order), one per schedule. Fails when two
/// schedules would write one key (`strength_schedule` and `strength`; `zoom` and `zoom_delta`),
/// or one would write the frame number's.
pub fn field_names<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, ScheduleError> {
    let mut owners: HashMap<String, &str> = HashMap::from([("frame".to_owned(), "frame")]);
    let mut fields = Vec::new();
    for name in names {
        let field = field_name(name);
        for suffix in SUFFIXES {
            let key = format!("{field}{suffix}");
            if let Some(owner) = owners.insert(key.clone(), name) {
                return Err(ScheduleError::SameParseqField {
                    first: owner.to_owned(),
                    second: name.to_owned(),
                    key,
                });
            }
        }
        fields.push(field);
    }
    Ok(fields)
}

/// Parseq's rendered-frames JSON, frame by frame (a song's frames are never held as JSON
/// values). `fields` are [`field_names`] of the schedules.
pub fn write_parseq(
    out: &mut impl Write,
    schedules: &[Schedule],
    fields: &[String],
    fps: f64,
    num_frames: usize,
) -> io::Result<()> {
    let series: Vec<(&str, Vec<f64>)> = fields
        .iter()
        .zip(schedules)
        .map(|(field, schedule)| {
            let rounded = schedule
                .values
                .iter()
                .map(|&v| round(f64::from(v)))
                .collect();
            (field.as_str(), rounded)
        })
        .collect();
    // Parseq's meta: the least value, and the largest magnitude (which `_pc` divides by).
    let metas: Vec<(f64, f64)> = series
        .iter()
        .map(|(_, values)| {
            values
                .iter()
                .fold((f64::MAX, 0.0f64), |(min, max_abs), &v| {
                    (min.min(v), max_abs.max(v.abs()))
                })
        })
        .collect();
    write!(
        out,
        "{{\"options\":{{\"output_fps\":{fps}}},\"rendered_frames\":["
    )?;
    for frame_idx in 0..num_frames {
        if frame_idx > 0 {
            out.write_all(b",")?;
        }
        write!(out, "\n{{\"frame\":{frame_idx}")?;
        for ((field, values), &(_, max_abs)) in series.iter().zip(&metas) {
            let value = values[frame_idx];
            let delta = match frame_idx {
                0 => value,
                _ if *field == "zoom" => 1.0 + value - values[frame_idx - 1],
                _ => value - values[frame_idx - 1],
            };
            let percent = if max_abs != 0.0 {
                value / max_abs * 100.0
            } else {
                value
            };
            write!(out, ",\"{field}\":")?;
            write_decimal(out, value)?;
            write!(out, ",\"{field}_delta\":")?;
            write_decimal(out, round(delta))?;
            write!(out, ",\"{field}_pc\":")?;
            write_decimal(out, round(percent))?;
        }
        out.write_all(b"}")?;
    }
    out.write_all(b"\n],\"rendered_frames_meta\":{")?;
    for (idx, ((field, _), &(min, max_abs))) in series.iter().zip(&metas).enumerate() {
        if idx > 0 {
            out.write_all(b",")?;
        }
        write!(out, "\"{field}\":{{\"min\":")?;
        write_decimal(out, min)?;
        out.write_all(b",\"max\":")?;
        write_decimal(out, max_abs)?;
        write!(out, ",\"isFlat\":{}}}", min == max_abs)?;
    }
    out.write_all(b"}}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names Deforum's adapter asks `parseq_to_series` for, from its schedule names.
    #[test]
    fn fields_are_the_adapters_names() {
        for (schedule, field) in [
            ("cfg_scale_schedule", "scale"),
            ("steps_schedule", "steps_schedule"),
            ("kernel_schedule", "antiblur_kernel"),
            ("sigma_schedule", "antiblur_sigma"),
            ("amount_schedule", "antiblur_amount"),
            ("threshold_schedule", "antiblur_threshold"),
            ("strength_schedule", "strength"),
            ("noise_schedule", "noise"),
            ("contrast_schedule", "contrast"),
            ("zoom", "zoom"),
            ("zoom_schedule", "zoom"),
            ("translation_x", "translation_x"),
            ("rotation_3d_y", "rotation_3d_y"),
            ("cn_1_weight", "cn_1_weight"),
            ("fov_schedule", "fov"),
            ("subseed_strength_schedule", "subseed_strength"),
            ("tweening_frames_schedule", "guided_tweening_frames"),
            ("kick", "kick"),
        ] {
            assert_eq!(field_name(schedule), field, "{schedule}");
        }
    }

    /// Two schedules on one key are refused, naming both and the key.
    #[test]
    fn one_key_per_field() {
        for (names, key) in [
            (["strength_schedule", "strength"], "strength"),
            (["zoom", "zoom_delta"], "zoom_delta"),
            (["cfg_scale_schedule", "scale"], "scale"),
            (["strength_schedule", "image_strength_schedule"], "strength"),
        ] {
            let error = field_names(names).unwrap_err();
            assert_eq!(
                error,
                ScheduleError::SameParseqField {
                    first: names[0].to_owned(),
                    second: names[1].to_owned(),
                    key: key.to_owned(),
                }
            );
        }
        assert!(field_names(["frame_schedule"]).is_err());
        assert_eq!(
            field_names(["cfg_scale_schedule", "steps_schedule"]).unwrap(),
            ["scale", "steps_schedule"]
        );
    }

    /// `_delta`, `_pc` and the meta as Parseq's renderer computes them.
    #[test]
    fn deltas_and_percentages_are_parseqs() {
        let mut out = Vec::new();
        let schedules = [
            Schedule {
                name: "zoom",
                values: &[1.0, 1.02, 1.01],
            },
            Schedule {
                name: "angle",
                values: &[-2.0, 1.0, 0.5],
            },
        ];
        let fields = field_names(schedules.iter().map(|s| s.name)).unwrap();
        write_parseq(&mut out, &schedules, &fields, 24.0, 3).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let frames = json["rendered_frames"].as_array().unwrap();
        let column = |key: &str| -> Vec<f64> {
            frames
                .iter()
                .map(|frame| frame[key].as_f64().unwrap())
                .collect()
        };
        assert_eq!(column("zoom_delta"), [1.0, 1.02, 0.99]);
        assert_eq!(column("angle_delta"), [-2.0, 3.0, -0.5]);
        assert_eq!(column("angle_pc"), [-100.0, 50.0, 25.0]);
        assert_eq!(column("zoom_pc"), [98.0392, 100.0, 99.0196]);
        let meta = &json["rendered_frames_meta"]["angle"];
        assert_eq!(
            (meta["min"].as_f64(), meta["max"].as_f64()),
            (Some(-2.0), Some(2.0))
        );
        assert_eq!(meta["isFlat"], false);
        assert_eq!(json["options"]["output_fps"], 24.0);
    }
}
