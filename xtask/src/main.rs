//! `cargo xtask bundle spectral-diffusion --release` builds the `.clap` and `.vst3` bundles into
//! `target/bundled/` (nice-plug-xtask); `cargo xtask install` copies them to `~/.clap` and `~/.vst3`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The bundle names `bundler.toml` gives the plugin.
const BUNDLES: [(&str, &str); 2] = [
    ("Spectral Diffusion.clap", ".clap"),
    ("Spectral Diffusion.vst3", ".vst3"),
];

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let result = if args.peek().map(String::as_str) == Some("install") {
        install().map_err(|e| e.to_string())
    } else {
        nice_plug_xtask::main().map_err(|e| format!("{e:#}"))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Copies the bundles from `target/bundled/` into the per-user plugin folders.
fn install() -> Result<(), String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("xtask lives inside the workspace")?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let bundled = target.join("bundled");
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .ok_or("no home folder ($HOME) to install into")?;
    for (bundle, folder) in BUNDLES {
        let from = bundled.join(bundle);
        if !from.exists() {
            return Err(format!(
                "{} is missing: run `cargo xtask bundle spectral-diffusion --release` first",
                from.display()
            ));
        }
        let to_dir = home.join(folder);
        std::fs::create_dir_all(&to_dir)
            .map_err(|e| format!("cannot create {}: {e}", to_dir.display()))?;
        let to = to_dir.join(bundle);
        if to.is_dir() {
            std::fs::remove_dir_all(&to)
                .map_err(|e| format!("cannot replace {}: {e}", to.display()))?;
        }
        copy_recursively(&from, &to)
            .map_err(|e| format!("cannot copy to {}: {e}", to.display()))?;
        println!("installed {}", to.display());
    }
    Ok(())
}

fn copy_recursively(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_recursively(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}
