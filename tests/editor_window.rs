//! A real window: the standalone app under Xvfb, fed a sine through a JACK server running its dummy
//! driver, screenshotted, and checked to show a spectrum with a peak. Needs `Xvfb`, `jackd` (with
//! its `jack_simple_client` example), `jack_connect` and ImageMagick's `import`, so it is ignored
//! by default:
//! `cargo test --features standalone --test editor_window -- --ignored`.
#![cfg(feature = "standalone")]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

/// Kills its child when dropped, so a failing assertion leaves no server behind.
struct Spawned(Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(program: &str, args: &[&str], display: &str) -> Spawned {
    Spawned(
        Command::new(program)
            .args(args)
            .env("DISPLAY", display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {program}: {err}")),
    )
}

/// The analyzer's first trace and peak-hold colours (`analyzer_view::TRACE_COLORS[0]`, `PEAK`).
const CURVE: [u8; 3] = [96, 196, 255];
const PEAK: [u8; 3] = [255, 176, 64];

#[test]
#[ignore = "needs Xvfb, jackd and ImageMagick"]
fn standalone_window_shows_a_live_spectrum() {
    let display = ":97";
    let _xvfb = spawn("Xvfb", &[display, "-screen", "0", "1024x700x24"], display);
    let _jackd = spawn(
        "jackd",
        &[
            "-n",
            "sd-window-test",
            "-d",
            "dummy",
            "-r",
            "48000",
            "-p",
            "1024",
        ],
        display,
    );
    sleep(Duration::from_secs(2));
    let jack_env = [("JACK_DEFAULT_SERVER", "sd-window-test")];
    let mut app = Command::new(env!("CARGO_BIN_EXE_spectral-diffusion-standalone"));
    app.args(["--backend", "jack"])
        .env("DISPLAY", display)
        .envs(jack_env);
    let _app = Spawned(
        app.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The example client plays sines at sample_rate / 200 (240 Hz) and 3 × that (720 Hz).
    let mut sine = Command::new("jack_simple_client");
    sine.envs(jack_env)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _sine = Spawned(sine.spawn().unwrap());
    sleep(Duration::from_secs(4));
    for (src, dst) in [("output1", "input_1"), ("output2", "input_2")] {
        let status = Command::new("jack_connect")
            .envs(jack_env)
            .arg(format!("jack_simple_client:{src}"))
            .arg(format!("spectral_diffusion:{dst}"))
            .status()
            .unwrap();
        assert!(status.success(), "jack_connect {src} {dst}");
    }
    sleep(Duration::from_secs(2));

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("standalone-window.png");
    let status = Command::new("import")
        .args(["-window", "root"])
        .arg(&shot)
        .env("DISPLAY", display)
        .status()
        .unwrap();
    assert!(status.success(), "screenshot");
    let image = image::open(&shot).unwrap().into_rgb8();

    // The plot is the left part of the 900×600 window; find the highest trace-coloured pixel (the
    // peak-hold line is drawn over the curve's tip).
    let is_near = |px: &image::Rgb<u8>, color: [u8; 3]| {
        px.0.iter().zip(color).all(|(a, b)| a.abs_diff(b) < 40)
    };
    let trace_rows: Vec<u32> = (40..580)
        .flat_map(|y| (50..600).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let px = image.get_pixel(x, y);
            is_near(px, CURVE) || is_near(px, PEAK)
        })
        .map(|(_, y)| y)
        .collect();
    assert!(
        trace_rows.len() > 200,
        "no spectrum drawn (see {})",
        shot.display()
    );
    let top = *trace_rows.iter().min().unwrap();
    // The sines are far above the -90 dB floor: the peak reaches the upper half of the plot.
    assert!(
        top < 300,
        "no peak: the curve's top is at y = {top} (see {})",
        shot.display()
    );
}
