//! The arrows of DESIGN.md §3 run one way: every `crate::` path in `src/` names a module on a
//! lower floor than the file's own, so no module imports one above it and no two modules import
//! each other. Modules on one floor do not know each other.

use std::fs;
use std::path::Path;

/// The floors, top to bottom. A module may use any module on a floor below its own.
const FLOORS: &[&[&str]] = &[
    &["cli"],
    &["plugin"],
    &["editor"],
    &["params"],
    &["page", "video", "diffuse"],
    &["schedule", "pipeline"],
    &["export"],
    &["export::format"],
    &["audio"],
    &["handoff"],
    &["take"],
    &["render"],
    &["clock"],
    &["analysis"],
];

/// The module a file of `src/` belongs to (`None` for the crate root and the binaries).
fn module_of(relative: &Path) -> Option<String> {
    let mut parts = relative.iter().map(|part| part.to_str().unwrap());
    let first = parts.next()?.trim_end_matches(".rs");
    if ["lib", "main", "bin"].contains(&first) {
        return None;
    }
    if first == "export" && parts.next() == Some("format") {
        return Some("export::format".to_owned());
    }
    Some(first.to_owned())
}

/// The module a `crate::` path leads into: its first segment, or `export::format`.
fn module_named(path: &str) -> String {
    let mut segments = path.split("::");
    let first = segments.next().unwrap_or_default();
    match (first, segments.next()) {
        ("export", Some("format")) => "export::format".to_owned(),
        _ => first.to_owned(),
    }
}

fn floor_of(module: &str) -> usize {
    FLOORS
        .iter()
        .position(|floor| floor.contains(&module))
        .unwrap_or_else(|| panic!("module {module} has no floor in FLOORS: give it one"))
}

/// Every `crate::…` path in the code of `text` (comments left out), as written.
fn crate_paths(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let end = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(after.len());
            paths.push(after[..end].trim_end_matches(':').to_owned());
            rest = &after[end..];
        }
        assert!(
            !line.contains("super::super"),
            "a path up two modules hides which module it reaches: {line}"
        );
    }
    paths
}

fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_module_uses_one_on_its_own_floor_or_above() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut upward = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let Some(module) = module_of(relative) else {
            continue;
        };
        let floor = floor_of(&module);
        for path in crate_paths(&fs::read_to_string(file).unwrap()) {
            let used = module_named(&path);
            if used != module && floor_of(&used) <= floor {
                upward.push(format!("{} uses crate::{path}", relative.display()));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that point up or sideways:\n{}",
        upward.join("\n")
    );
}

#[test]
fn every_module_has_its_floor() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("pub mod "))
        .map(|name| name.trim_end_matches(';'))
        .collect();
    assert!(declared.len() > 10, "{declared:?}");
    for module in declared {
        floor_of(module);
    }
}

/// The check itself finds an upward import, a sideways one and a comment that is none.
#[test]
fn the_check_sees_paths_and_skips_comments() {
    let text = "use crate::export::format::manifest::Manifest;\n\
                // crate::cli is only named here\n\
                let x = crate::page::write_page(dir, None);\n";
    let modules: Vec<String> = crate_paths(text).iter().map(|p| module_named(p)).collect();
    assert_eq!(modules, ["export::format", "page"]);
    assert!(floor_of("export::format") > floor_of("export"));
    assert_eq!(floor_of("video"), floor_of("diffuse"));
}
