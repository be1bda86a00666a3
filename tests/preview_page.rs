//! The preview page, `index.html`, in headless Chromium from `file://`: it loads with no console
//! message or script error, plays the folder's audio, draws the lane plot and the sketch, and the
//! frame it shows follows the audio's position (`#t=` seeks the audio element).

// Each test crate uses its own part of the shared helpers.
#[allow(dead_code, unused_imports)]
mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{cli, path_arg};
use tempfile::TempDir;

/// What the page reports about itself, read from `<body>`'s attributes and the frame image.
#[derive(Debug)]
struct PageState {
    frame: Option<u64>,
    time_s: Option<f64>,
    audio: String,
    plot: String,
    sketch: String,
    errors: String,
    image_src: Option<String>,
    /// The legend's text (lane names).
    legend: String,
    /// Console messages and uncaught errors Chromium logged for the page.
    console: Vec<String>,
}

/// Debian's `chromium`, or nothing (the test then says why it skips).
fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|program| {
            Command::new(program)
                .arg("--version")
                .output()
                .is_ok_and(|output| output.status.success())
        });
    if found.is_none() {
        // CI installs it: there, a missing tool fails the test instead of skipping it.
        assert!(
            std::env::var_os("SPECTRAL_DIFFUSION_REQUIRE_TOOLS").is_none(),
            "chromium not on PATH (apt-get install chromium; .ci/run does)"
        );
        eprintln!("skipped: chromium not on PATH (apt-get install chromium; .ci/run does)");
    }
    found
}

/// Opens `page#fragment` headless, lets it run 3 s of virtual time, and reads the DOM it leaves.
fn open(browser: &str, page: &Path, fragment: &str) -> PageState {
    let profile = TempDir::new().unwrap();
    let url = format!(
        "file://{}{fragment}",
        page.canonicalize().unwrap().display()
    );
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(&url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(dom.contains("<body"), "no DOM for {url}: {stderr}");
    let body = &dom[dom.find("<body").unwrap()..];
    let body_tag = &body[..body.find('>').unwrap()];
    let attribute = |tag: &str, name: &str| {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(tag[start..start + tag[start..].find('"')?].to_owned())
    };
    let image_tag = dom
        .find("id=\"frame\"")
        .map(|idx| {
            let start = dom[..idx].rfind('<').unwrap();
            &dom[start..start + dom[start..].find('>').unwrap()]
        })
        .unwrap_or("");
    let legend = dom
        .find("id=\"legend\"")
        .map(|idx| {
            let end = idx + dom[idx..].find("</div>").unwrap();
            dom[idx..end].to_owned()
        })
        .unwrap_or_default();
    PageState {
        frame: attribute(body_tag, "data-frame").and_then(|v| v.parse().ok()),
        time_s: attribute(body_tag, "data-time").and_then(|v| v.parse().ok()),
        audio: attribute(body_tag, "data-audio").unwrap_or_default(),
        plot: attribute(body_tag, "data-plot").unwrap_or_default(),
        sketch: attribute(body_tag, "data-sketch").unwrap_or_default(),
        errors: attribute(body_tag, "data-errors").unwrap_or_default(),
        image_src: attribute(image_tag, "src"),
        legend,
        console: stderr
            .lines()
            .filter(|line| line.contains(":CONSOLE"))
            .map(str::to_owned)
            .collect(),
    }
}

fn render(args: &[&str]) {
    let output = cli(args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The page ran without a console message or script error, loaded the demo's 16 s of audio, drew
/// the lane plot and the sketch, and shows frame `frame`.
fn assert_played(state: &PageState, frame: u64) {
    assert!(state.console.is_empty(), "{:?}", state.console);
    assert_eq!(state.errors, "0", "{state:?}");
    assert!(state.audio.starts_with("loaded 16.0"), "{state:?}");
    assert_eq!(state.plot, "drawn", "{state:?}");
    assert_eq!(state.sketch, "drawn", "{state:?}");
    assert_eq!(state.frame, Some(frame), "{state:?}");
}

/// The demo's page from `file://`: no console output or error, the demo's audio loaded (16 s),
/// lane plot and sketch drawn, and the frame shown is the audio position's frame: 0 at the start,
/// 300 (= 12.5 s × 24) after seeking the audio to 12.5 s, with that frame's PNG in the image.
#[test]
fn demo_page_plays_frames_in_step_with_the_audio() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("demo");
    render(&[
        "render",
        "--demo",
        "--size",
        "64",
        "--out",
        path_arg(&out),
        "--quiet",
    ]);
    let page = out.join("index.html");
    for (fragment, frame, time_s) in [("", 0, 0.0), ("#t=12.5", 300, 12.5)] {
        let state = open(browser, &page, fragment);
        assert_played(&state, frame);
        assert_eq!(state.time_s, Some(time_s), "{state:?}");
        assert_eq!(
            state.image_src.as_deref(),
            Some(format!("frames/{frame:06}.png").as_str()),
            "{state:?}"
        );
        assert!(state.legend.contains("loudness dB"), "{state:?}");
    }
}

/// At 29.97 fps the page uses the exact rate: 12.5 s is frame floor(12.5 × 30000/1001) = 374. A
/// folder's `schedule.csv` lanes replace the loudness lane, and `page --audio` points the page at
/// the song beside the folder.
#[test]
fn page_plots_schedule_lanes_at_the_exact_rate() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("demo");
    render(&[
        "render",
        "--demo",
        "--fps",
        "29.97",
        "--csv-only",
        "--out",
        path_arg(&out),
        "--quiet",
    ]);
    let num_frames = (16.0f64 * 30_000.0 / 1001.0).ceil() as usize;
    let mut schedule = String::from("frame,kick,strength_schedule\n");
    for k in 0..num_frames {
        // A tiny value in exponent form, as a release tail leaves it: the legend shows 0.0000.
        let kick = match k {
            0 => "1.852e-15".to_owned(),
            _ => ((k % 15) as f64 / 15.0).to_string(),
        };
        schedule.push_str(&format!("{k},{kick},{}\n", 0.65));
    }
    fs::write(out.join("schedule.csv"), schedule).unwrap();
    let song = dir.path().join("my song.wav");
    fs::rename(out.join("demo.wav"), &song).unwrap();
    render(&["page", path_arg(&out), "--audio", path_arg(&song)]);

    let state = open(browser, &out.join("index.html"), "#t=12.5");
    assert_played(&state, 374);
    assert!(state.legend.contains("kick"), "{state:?}");
    assert!(state.legend.contains("kick (0.0000 … 0.9333)"), "{state:?}");
    assert!(
        state.legend.contains("strength_schedule (0.6500 … 0.6500)"),
        "{state:?}"
    );
    assert!(!state.legend.contains("loudness"), "{state:?}");
    // A CSV-only folder has no frame images to show.
    assert_eq!(state.image_src, None, "{state:?}");
}

/// A user's own `index.html` is never overwritten: `render --force` keeps it with a warning and
/// `page` refuses it; our own page is replaced by the next render.
#[test]
fn a_users_index_html_is_kept() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("site");
    fs::create_dir(&out).unwrap();
    let theirs = "<html><body>my page</body></html>";
    fs::write(out.join("index.html"), theirs).unwrap();
    let output = cli(&[
        "render",
        "--demo",
        "--csv-only",
        "--force",
        "--out",
        path_arg(&out),
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("index.html is not a preview page of ours"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(out.join("index.html")).unwrap(), theirs);
    let output = cli(&["page", path_arg(&out)]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(fs::read_to_string(out.join("index.html")).unwrap(), theirs);

    // Our page, in a folder of ours, is rewritten by the next render.
    let ours = dir.path().join("ours");
    render(&[
        "render",
        "--demo",
        "--csv-only",
        "--out",
        path_arg(&ours),
        "--quiet",
    ]);
    let first = fs::read(ours.join("index.html")).unwrap();
    render(&[
        "render",
        "--demo",
        "--csv-only",
        "--fps",
        "30",
        "--out",
        path_arg(&ours),
        "--quiet",
    ]);
    let second = fs::read(ours.join("index.html")).unwrap();
    assert_ne!(first, second, "the page follows the new render");
}
