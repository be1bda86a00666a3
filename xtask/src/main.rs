//! `cargo xtask bundle spectral-diffusion --release` builds the `.clap` and `.vst3` bundles into
//! `target/bundled/` (nice-plug-xtask); `cargo xtask install` copies them to the per-user plugin
//! folders hosts scan: `~/.clap` and `~/.vst3` on Linux, `~/Library/Audio/Plug-Ins/{CLAP,VST3}`
//! on macOS, `%LOCALAPPDATA%\Programs\Common\{CLAP,VST3}` on Windows.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The bundle names `bundler.toml` gives the plugin, and the format's folder name on this system.
const BUNDLES: [(&str, &str); 2] = if cfg!(target_os = "linux") {
    [
        ("Spectral Diffusion.clap", ".clap"),
        ("Spectral Diffusion.vst3", ".vst3"),
    ]
} else {
    [
        ("Spectral Diffusion.clap", "CLAP"),
        ("Spectral Diffusion.vst3", "VST3"),
    ]
};

const USAGE: &str = "Usage:
  cargo xtask bundle spectral-diffusion [--release]  build target/bundled/Spectral Diffusion.{clap,vst3}
  cargo xtask install                                copy them to this user's plugin folders

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
    let plugin_root = user_plugin_root()?;
    for (bundle, folder) in BUNDLES {
        let from = bundled.join(bundle);
        if !from.exists() {
            return Err(format!(
                "{} is missing: run `cargo xtask bundle spectral-diffusion --release` first",
                from.display()
            ));
        }
        let to_dir = plugin_root.join(folder);
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

/// The folder this user's CLAP and VST3 folders are in: where hosts look without admin rights.
fn user_plugin_root() -> Result<PathBuf, String> {
    if cfg!(windows) {
        let local = std::env::var_os("LOCALAPPDATA").ok_or("no %LOCALAPPDATA% to install into")?;
        return Ok(PathBuf::from(local).join("Programs").join("Common"));
    }
    let home = std::env::home_dir().ok_or("no home folder ($HOME) to install into")?;
    Ok(if cfg!(target_os = "macos") {
        home.join("Library").join("Audio").join("Plug-Ins")
    } else {
        home
    })
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
