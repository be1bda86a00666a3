//! Any thread: pure. ComfyUI API-format workflows ("Save (API)" in ComfyUI) with named
//! placeholders filled per frame, and the built-in img2img workflow.
//!
//! A string value that is exactly `"{{name}}"` becomes the value itself, typed (`"{{seed}}"` →
//! `1234`, a JSON number); inside a longer string a text placeholder is spliced in
//! (`"a cat, {{prompt}}"`). The names: image, prompt, negative (text); seed, steps, cfg,
//! denoise (numbers).

use std::io;
use std::path::Path;

use serde_json::{Map, Value};

use super::FrameSettings;
use crate::export::format::{FormatError, read_bounded};

/// Every placeholder a workflow may hold.
const PLACEHOLDERS: [&str; 7] = [
    "image", "prompt", "negative", "seed", "steps", "cfg", "denoise",
];
/// The most a workflow file may hold: ComfyUI's API exports of large graphs are a few hundred KB.
const MAX_WORKFLOW_BYTES: u64 = 16 << 20;
/// The placeholders that stand for text and may sit inside a longer string.
const TEXT_PLACEHOLDERS: [&str; 3] = ["image", "prompt", "negative"];

/// Why a workflow cannot be used. Each message is one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkflowError {
    #[error("the workflow is not JSON: {0}")]
    NotJson(String),
    #[error(
        "the workflow is in ComfyUI's UI format; export it with \"Save (API)\" (enable the dev \
         mode options in ComfyUI's settings) and give that file"
    )]
    UiFormat,
    #[error("the workflow is not in ComfyUI's API format: node {0:?} has no class_type and inputs")]
    NotApiFormat(String),
    #[error(
        "the workflow has no \"{{{{image}}}}\" placeholder: set the image input of its LoadImage \
         node to \"{{{{image}}}}\" so each guide frame goes in"
    )]
    NoImage,
    #[error(
        "the workflow's placeholder \"{{{{{0}}}}}\" is unknown; use image, prompt, negative, seed, \
         steps, cfg or denoise"
    )]
    Unknown(String),
    #[error(
        "the workflow's placeholder \"{{{{{0}}}}}\" is a number and must be a whole string value"
    )]
    NumberInText(String),
}

/// A checked API-format workflow with its placeholders still in.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    nodes: Map<String, Value>,
}

impl Workflow {
    /// Reads the user's workflow file (bounded) and checks it as [`Workflow::parse`] does.
    pub fn read(path: &Path) -> Result<Self, FormatError> {
        let bytes = read_bounded(path, MAX_WORKFLOW_BYTES)?.ok_or_else(|| {
            FormatError::read(
                path,
                io::Error::new(io::ErrorKind::NotFound, "no such file"),
            )
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| FormatError::invalid(path, "the workflow is not UTF-8 text"))?;
        Self::parse(&text).map_err(|error| FormatError::invalid(path, error.to_string()))
    }

    /// Reads and checks a user's workflow: API format, only known placeholders, an image one.
    pub fn parse(json: &str) -> Result<Self, WorkflowError> {
        let value: Value = serde_json::from_str(json)
            .map_err(|error| WorkflowError::NotJson(error.to_string()))?;
        let Value::Object(nodes) = value else {
            return Err(WorkflowError::NotJson("not an object of nodes".to_owned()));
        };
        if nodes.contains_key("nodes") && nodes.contains_key("links") {
            return Err(WorkflowError::UiFormat);
        }
        for (id, node) in &nodes {
            if node
                .get("class_type")
                .is_none_or(|class| !class.is_string())
                || !node.get("inputs").is_some_and(Value::is_object)
            {
                return Err(WorkflowError::NotApiFormat(id.clone()));
            }
        }
        let workflow = Self { nodes };
        let mut has_image = false;
        let mut error = None;
        workflow.for_each_placeholder(&mut |name, is_whole| {
            if !PLACEHOLDERS.contains(&name) {
                error.get_or_insert(WorkflowError::Unknown(name.to_owned()));
            } else if !is_whole && !TEXT_PLACEHOLDERS.contains(&name) {
                error.get_or_insert(WorkflowError::NumberInText(name.to_owned()));
            }
            has_image |= name == "image";
        });
        match (error, has_image) {
            (Some(error), _) => Err(error),
            (None, false) => Err(WorkflowError::NoImage),
            (None, true) => Ok(workflow),
        }
    }

    /// The built-in img2img workflow: CheckpointLoaderSimple → CLIPTextEncode ×2, LoadImage →
    /// VAEEncode → KSampler (denoise) → VAEDecode → SaveImage.
    pub fn img2img(checkpoint: &str) -> Self {
        let value = serde_json::json!({
            "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
            "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}", "clip": ["1", 1]}},
            "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{negative}}", "clip": ["1", 1]}},
            "4": {"class_type": "LoadImage", "inputs": {"image": "{{image}}"}},
            "5": {"class_type": "VAEEncode", "inputs": {"pixels": ["4", 0], "vae": ["1", 2]}},
            "6": {"class_type": "KSampler", "inputs": {
                "seed": "{{seed}}", "steps": "{{steps}}", "cfg": "{{cfg}}",
                "sampler_name": "euler", "scheduler": "normal", "denoise": "{{denoise}}",
                "model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0],
                "latent_image": ["5", 0]
            }},
            "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["1", 2]}},
            "8": {"class_type": "SaveImage", "inputs": {
                "filename_prefix": "spectral-diffusion", "images": ["7", 0]
            }}
        });
        let Value::Object(nodes) = value else {
            unreachable!("a literal object")
        };
        Self { nodes }
    }

    /// The workflow for one frame: every placeholder replaced, `image` by `image_name` (a name
    /// under ComfyUI's `input/`).
    pub fn fill(&self, settings: &FrameSettings, image_name: &str) -> Value {
        let mut nodes = self.nodes.clone();
        for node in nodes.values_mut() {
            fill_value(node, settings, image_name);
        }
        Value::Object(nodes)
    }

    /// Calls `on_placeholder(name, is_whole_value)` for every `{{name}}` in a string value.
    fn for_each_placeholder(&self, on_placeholder: &mut impl FnMut(&str, bool)) {
        fn visit(value: &Value, on_placeholder: &mut impl FnMut(&str, bool)) {
            match value {
                Value::String(text) => {
                    let whole = whole_placeholder(text);
                    for name in placeholder_names(text) {
                        on_placeholder(name, whole.is_some());
                    }
                }
                Value::Array(items) => items.iter().for_each(|item| visit(item, on_placeholder)),
                Value::Object(map) => map.values().for_each(|item| visit(item, on_placeholder)),
                _ => {}
            }
        }
        self.nodes
            .values()
            .for_each(|node| visit(node, on_placeholder));
    }
}

/// The name in a string that is exactly `{{name}}`.
fn whole_placeholder(text: &str) -> Option<&str> {
    let name = text.strip_prefix("{{")?.strip_suffix("}}")?;
    (!name.contains("{{") && !name.contains("}}")).then_some(name.trim())
}

/// Every `{{name}}` in `text`, in order.
fn placeholder_names(text: &str) -> impl Iterator<Item = &str> {
    text.split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}").map(|(name, _)| name.trim()))
}

fn fill_value(value: &mut Value, settings: &FrameSettings, image_name: &str) {
    match value {
        Value::String(text) => {
            if let Some(name) = whole_placeholder(text) {
                *value = typed(name, settings, image_name);
            } else if text.contains("{{") {
                let mut filled = text.clone();
                for name in TEXT_PLACEHOLDERS {
                    let Value::String(replacement) = typed(name, settings, image_name) else {
                        unreachable!("text placeholders are strings")
                    };
                    filled = filled.replace(&format!("{{{{{name}}}}}"), &replacement);
                }
                *text = filled;
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| fill_value(item, settings, image_name)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|item| fill_value(item, settings, image_name)),
        _ => {}
    }
}

/// A placeholder's value, typed as ComfyUI's nodes take it. Names were checked by `parse`.
fn typed(name: &str, settings: &FrameSettings, image_name: &str) -> Value {
    match name {
        "image" => Value::from(image_name),
        "prompt" => Value::from(settings.prompt.as_str()),
        "negative" => Value::from(settings.negative.as_str()),
        "seed" => Value::from(settings.seed),
        "steps" => Value::from(settings.steps),
        "cfg" => Value::from(settings.cfg),
        "denoise" => Value::from(settings.denoise),
        _ => unreachable!("unknown placeholders are refused by Workflow::parse"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> FrameSettings {
        FrameSettings {
            prompt: "a lake".to_owned(),
            negative: "blur".to_owned(),
            steps: 12,
            cfg: 6.5,
            denoise: 0.45,
            seed: 1234,
        }
    }

    /// Whole-value placeholders become typed JSON values; text ones splice into strings.
    #[test]
    fn placeholders_are_filled_typed() {
        let workflow = Workflow::parse(
            r#"{"4": {"class_type": "LoadImage", "inputs": {"image": "{{image}}"}},
                "6": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}", "steps": "{{steps}}",
                      "cfg": "{{ cfg }}", "denoise": "{{denoise}}", "model": ["1", 0]}},
                "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "oil, {{prompt}}!"}}}"#,
        )
        .unwrap();
        let filled = workflow.fill(&settings(), "sub/000007.png");
        assert_eq!(filled["4"]["inputs"]["image"], "sub/000007.png");
        assert_eq!(filled["6"]["inputs"]["seed"], 1234);
        assert!(filled["6"]["inputs"]["seed"].is_u64());
        assert_eq!(filled["6"]["inputs"]["steps"], 12);
        assert_eq!(filled["6"]["inputs"]["cfg"], 6.5);
        assert_eq!(filled["6"]["inputs"]["denoise"], 0.45);
        assert_eq!(filled["6"]["inputs"]["model"], serde_json::json!(["1", 0]));
        assert_eq!(filled["2"]["inputs"]["text"], "oil, a lake!");
    }

    /// A workflow without the image placeholder, or with an unknown one, is refused by name.
    #[test]
    fn missing_or_unknown_placeholders_are_refused() {
        let no_image = r#"{"1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}}}"#;
        assert_eq!(Workflow::parse(no_image), Err(WorkflowError::NoImage));
        let unknown = r#"{"1": {"class_type": "LoadImage", "inputs": {"image": "{{image}}", "x": "{{strength}}"}}}"#;
        assert_eq!(
            Workflow::parse(unknown),
            Err(WorkflowError::Unknown("strength".to_owned()))
        );
        let ui = r#"{"nodes": [], "links": []}"#;
        assert_eq!(Workflow::parse(ui), Err(WorkflowError::UiFormat));
    }

    /// The built-in workflow fills every KSampler input and loads the frame.
    #[test]
    fn builtin_workflow_is_complete() {
        let filled = Workflow::img2img("v1-5.safetensors").fill(&settings(), "s/000000.png");
        assert_eq!(filled["1"]["inputs"]["ckpt_name"], "v1-5.safetensors");
        assert_eq!(filled["4"]["inputs"]["image"], "s/000000.png");
        assert_eq!(filled["6"]["inputs"]["denoise"], 0.45);
        assert_eq!(filled["3"]["inputs"]["text"], "blur");
        assert!(!filled.to_string().contains("{{"));
    }

    /// A workflow file is read bounded: missing is an I/O error, too large or not text is a
    /// file that says something wrong, and a good one reads as `parse` reads its text.
    #[test]
    fn workflow_files_are_read_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Workflow::read(&dir.path().join("missing.json")).unwrap_err();
        assert!(missing.is_io(), "{missing}");
        let huge = dir.path().join("huge.json");
        std::fs::write(&huge, vec![b' '; MAX_WORKFLOW_BYTES as usize + 1]).unwrap();
        let error = Workflow::read(&huge).unwrap_err();
        assert!(
            !error.is_io() && error.to_string().contains("larger than"),
            "{error}"
        );
        let binary = dir.path().join("binary.json");
        std::fs::write(&binary, [0xff, 0xfe, 0x7b]).unwrap();
        let error = Workflow::read(&binary).unwrap_err();
        assert!(
            !error.is_io() && error.to_string().contains("UTF-8"),
            "{error}"
        );
        let good = dir.path().join("workflow_api.json");
        let text = r#"{"1": {"class_type": "LoadImage", "inputs": {"image": "{{image}}"}}}"#;
        std::fs::write(&good, text).unwrap();
        assert_eq!(
            Workflow::read(&good).unwrap(),
            Workflow::parse(text).unwrap()
        );
    }
}
