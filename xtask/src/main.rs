//! `cargo xtask bundle spectral-diffusion --release` builds the `.clap` and `.vst3` bundles into
//! `target/bundled/` (nice-plug-xtask); `cargo xtask install` copies them to `~/.clap` and `~/.vst3`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The bundle names `bundler.toml` gives the plugin.
const BUNDLES: [(&str, &str); 2] = [
    ("Spectral Diffusion.clap", ".clap"),
    ("Spectral Diffusion.vst3", ".vst3"),
];

const USAGE: &str = "Usage:
  cargo xtask bundle spectral-diffusion [--release]  build target/bundled/Spectral Diffusion.{clap,vst3}
  cargo xtask install                                copy them to ~/.clap and ~/.vst3

  `bundle` passes any other `cargo build` option on (`--target`, `--profile`, ...).";

fn main() -> ExitCode {
    let command = std::env::args().nth(1);
    let result = match command.as_deref() {
        Some("install") => install(),
        Some("bundle" | "bundle-universal") => {
            nice_plug_xtask::main().map_err(|e| format!("{e:#}"))
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command '{other}'\n\n{USAGE}")),
        None => Err(format!("missing command\n\n{USAGE}")),
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
