//! `diffuse`'s own side: how many frames a second our client feeds servers that draw in no time,
//! and the CPU it spends per frame. `cargo bench --bench diffuse`.
//!
//! The real binary runs against the instant in-process fake ComfyUI and A1111 servers of the tests
//! (tests/fake_servers), with default settings (two frames in flight per server), over 960 guide
//! frames of 512 px, to 1, 2 and 8 servers. "client" is the CPU time of the `diffuse` process
//! (user + system, from the kernel's accounting of the child); "fakes" is this process's, the fake
//! servers': they share the machine's cores with the client, as a local server would, so where
//! the two together fill the cores the fakes bound the rate. Issue 21's goal: at least 200
//! frames/s to 8 instant servers on a 2-core machine, at most 5 ms of our CPU per frame.

#[path = "../tests/fake_servers/mod.rs"]
mod fake_servers;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fake_servers::{Fake, comfy, start_a1111, start_comfy};

const BINARY: &str = env!("CARGO_BIN_EXE_spectral-diffusion");
/// The demo song (16 s) at 60 fps.
const NUM_FRAMES: u64 = 960;

fn main() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = dir.path().join("out");
    run(Command::new(BINARY)
        .args([
            "render", "--demo", "--fps", "60", "--size", "512", "--quiet", "--out",
        ])
        .arg(&out));
    println!("diffuse: {NUM_FRAMES} guide frames of 512 px, instant servers, default settings");
    println!(
        "{:<8} {:>7} {:>9} {:>24}",
        "backend", "servers", "frames/s", "CPU ms/frame client fakes"
    );
    for (backend, start) in [
        ("comfyui", (|| start_comfy(comfy(0))) as fn() -> Fake),
        ("a1111", || start_a1111(None, Duration::ZERO)),
    ] {
        for num_servers in [1, 2, 8] {
            let servers: Vec<Fake> = (0..num_servers).map(|_| start()).collect();
            let fakes_before = cpu_time(Whose::This);
            let (wall, client) = diffuse(&out, backend, &servers);
            let fakes = since(fakes_before, Whose::This);
            let per_frame = |cpu: Option<Duration>| {
                cpu.map_or("n/a".to_owned(), |cpu| {
                    format!("{:.2}", cpu.as_secs_f64() * 1000.0 / NUM_FRAMES as f64)
                })
            };
            println!(
                "{backend:<8} {num_servers:>7} {:>9.0} {:>17} {:>6}",
                NUM_FRAMES as f64 / wall.as_secs_f64(),
                per_frame(client),
                per_frame(fakes)
            );
        }
    }
}

/// Draws every frame of `out` afresh on `servers`: the wall time and the child's CPU time.
fn diffuse(out: &Path, backend: &str, servers: &[Fake]) -> (Duration, Option<Duration>) {
    // A fresh diffused/ each time, or the ledger would skip every frame.
    let _ = std::fs::remove_dir_all(out.join("diffused"));
    let mut command = Command::new(BINARY);
    command
        .arg("diffuse")
        .arg(out)
        .args(["--quiet", "--backend", backend]);
    if backend == "comfyui" {
        command.args(["--checkpoint", fake_servers::CHECKPOINT]);
    }
    for server in servers {
        command.args(["--server", &server.url]);
    }
    let cpu_before = cpu_time(Whose::Children);
    let start = Instant::now();
    run(&mut command);
    let wall = start.elapsed();
    (wall, since(cpu_before, Whose::Children))
}

fn run(command: &mut Command) {
    let output = command.output().expect("the binary runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Whose CPU time the kernel is asked for.
#[derive(Clone, Copy)]
enum Whose {
    /// This process: the fake servers.
    This,
    /// Every child waited for so far: the `diffuse` runs.
    Children,
}

/// The CPU time used since `before`.
fn since(before: Option<Duration>, whose: Whose) -> Option<Duration> {
    Some(cpu_time(whose)? - before?)
}

/// User + system time, from getrusage.
#[cfg(unix)]
fn cpu_time(whose: Whose) -> Option<Duration> {
    let who = match whose {
        Whose::This => libc::RUSAGE_SELF,
        Whose::Children => libc::RUSAGE_CHILDREN,
    };
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    let status = unsafe { libc::getrusage(who, &mut usage) };
    assert_eq!(status, 0, "getrusage failed");
    let seconds =
        |time: libc::timeval| Duration::new(time.tv_sec as u64, time.tv_usec as u32 * 1000);
    Some(seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

/// Elsewhere the kernel's accounting is not read: no CPU figures.
#[cfg(not(unix))]
fn cpu_time(_: Whose) -> Option<Duration> {
    None
}
