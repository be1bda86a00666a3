//! Every plugin parameter's value → text → value → text is stable over its whole range, the way a
//! host converts it (clap-validator's `param-conversions`, pluginval's and DAWs' text entry): the
//! text a value shows must parse back to a value that shows the same text. The parameters are
//! enumerated through nice-plug's `Params` API, so a new parameter is covered without touching
//! this test.

use std::collections::BTreeMap;

use nice_plug::prelude::Params;
use spectral_diffusion::params::PluginParams;

/// Normalized steps walked per parameter (plus both ends), and a second, coprime walk so that
/// points between the first walk's steps are covered too (clap-validator samples `i / (n - 1)`).
const WALKS: [usize; 2] = [4096, 997];

/// `-0`, `-0.0`, `-0.00 dB`, …: a negative zero, which reads back as a different text.
fn is_negative_zero(text: &str) -> bool {
    let number = text.trim_start();
    number.starts_with('-')
        && number[1..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .all(|c| c == '0' || c == '.')
}

#[test]
fn every_parameter_round_trips_through_its_text() {
    let params = PluginParams::default();
    let param_map = params.param_map();
    assert!(
        param_map.len() > 40,
        "the plugin's parameters were not enumerated"
    );
    // Per parameter: how many conversions failed, and the first one.
    let mut failures: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut fail = |id: &str, failure: String| {
        failures.entry(id.to_owned()).or_insert((0, failure)).0 += 1;
    };
    for (id, param, _group) in &param_map {
        // SAFETY: `param` points into `params`, which outlives this loop.
        let (name, step_count) = unsafe { (param.name().to_owned(), param.step_count()) };
        for steps in WALKS {
            for i in 0..=steps {
                let normalized = i as f32 / steps as f32;
                // Hosts ask with the unit (CLAP) and without it (VST3's `getParamStringByValue`).
                for include_unit in [true, false] {
                    let to_text = |normalized: f32| unsafe {
                        param.normalized_value_to_string(normalized, include_unit)
                    };
                    let to_value = |text: &str| unsafe { param.string_to_normalized_value(text) };
                    let text = to_text(normalized);
                    let Some(value) = to_value(&text) else {
                        fail(
                            id,
                            format!("'{name}': {normalized} -> '{text}' does not parse"),
                        );
                        continue;
                    };
                    let again = to_text(value);
                    if again != text || is_negative_zero(&text) {
                        fail(
                            id,
                            format!("'{name}': {normalized} -> '{text}' -> {value} -> '{again}'"),
                        );
                    }
                    if to_value(&again) != Some(value) {
                        fail(id, format!("'{name}': '{again}' reads back differently"));
                    }
                    // Stepped parameters: the text reads back to a step (CLAP hosts see
                    // `normalized * step_count`; nice-plug's f32 normalized values put it
                    // within a few ulps of the step).
                    if let Some(step_count) = step_count {
                        let step = value * step_count as f32;
                        let tolerance = (step_count as f32 * f32::EPSILON * 4.0).max(1e-4);
                        if (step - step.round()).abs() > tolerance {
                            fail(id, format!("'{name}': '{text}' is between steps ({step})"));
                        }
                    }
                }
            }
        }
    }
    let report: Vec<String> = failures
        .iter()
        .map(|(id, (count, first))| format!("{id}: {count} unstable, first {first}"))
        .collect();
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn negative_zero_is_recognised() {
    assert!(is_negative_zero("-0.0 dB"));
    assert!(is_negative_zero("-0"));
    assert!(!is_negative_zero("-0.1 dB"));
    assert!(!is_negative_zero("0.0 dB"));
    assert!(!is_negative_zero("-10.0"));
}
