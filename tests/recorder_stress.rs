//! The recorder's protocol under random use: arm and disarm, transport jumps and stops,
//! deactivation and activation, guide settings changed between and during takes, and a writer
//! slowed by real images. After every step that leaves the recorder quiet (no take running and the
//! writer done), every folder it wrote must tell the truth: `frames/`, `spectrum.csv` and
//! `manifest.json` list the same frames, and every frame the recorder queued reached the disk.
//!
//! `recorder_protocol_holds` is the CI-sized run (seconds); the long one runs in release:
//! `cargo test --release --test recorder_stress -- --ignored`.

#[path = "common/song.rs"]
mod song;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use spectral_diffusion::analysis::mix_to_mono;
use spectral_diffusion::handoff::{RecorderStatus, TakeState};
use spectral_diffusion::params::{FpsParam, PluginParams, PresetParam};
use spectral_diffusion::plugin::capture::HostBlock;
use spectral_diffusion::plugin::lending::AudioLink;
use spectral_diffusion::plugin::recorder::{GuideKit, QueueMode, Recorder, TransportInfo};
use spectral_diffusion::plugin::writer::WriterThread;
use spectral_diffusion::take::TakeSettings;

const SAMPLE_RATE: u32 = 48_000;
const BLOCK: usize = 512;

/// A small xorshift, seeded per run so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The host, the audio thread and the main thread of one plugin instance, played by one test.
struct Harness {
    status: Arc<RecorderStatus>,
    writer: Option<WriterThread>,
    link: AudioLink,
    recorder: Option<Recorder>,
    audio: Vec<f32>,
    pos: i64,
    is_armed: bool,
    settings: TakeSettings,
}

impl Harness {
    fn new(folder: &Path) -> Self {
        let params = PluginParams::default();
        *params.output_folder.write().unwrap() = folder.display().to_string();
        *params.track_name.write().unwrap() = "Stress".into();
        let status = Arc::new(RecorderStatus::default());
        status.reset();
        let (writer, link) = WriterThread::new(Arc::clone(&status), params.folder_fields());
        let audio = song::song(SAMPLE_RATE, 8.0);
        let audio = (0..audio[0].len())
            .map(|i| mix_to_mono([audio[0][i], audio[1][i]]))
            .collect();
        let mut harness = Self {
            status,
            writer: Some(writer),
            link,
            recorder: None,
            audio,
            pos: 0,
            is_armed: false,
            settings: params.take_settings(SAMPLE_RATE),
        };
        harness.activate(None);
        harness
    }

    fn activate(&mut self, pool: Option<spectral_diffusion::handoff::FrameProducer>) {
        let kit = self
            .is_armed
            .then(|| Box::new(GuideKit::new(SAMPLE_RATE, BLOCK).unwrap()));
        self.recorder = Some(Recorder::new(
            SAMPLE_RATE,
            BLOCK,
            kit,
            pool,
            Arc::clone(&self.status),
            QueueMode::Wait,
            None,
        ));
    }

    /// `deactivate` then `activate`, as a host does when the render mode changes.
    fn reactivate(&mut self) {
        let mut recorder = self.recorder.take().unwrap();
        recorder.finish();
        let pool = recorder.take_pool().filter(|_| self.is_armed);
        drop(recorder);
        self.activate(pool);
    }

    /// One block at the current position, rolling or not.
    fn block(&mut self, is_playing: bool) {
        let recorder = self.recorder.as_mut().unwrap();
        recorder.update_memory(&mut self.link, self.is_armed, false, 64);
        let start = self.pos.rem_euclid(self.audio.len() as i64 - BLOCK as i64) as usize;
        let settings = self.settings.clone();
        recorder.process_block(
            &self.audio[start..start + BLOCK],
            &HostBlock::EMPTY,
            TransportInfo {
                is_playing,
                pos_samples: Some(self.pos),
            },
            self.is_armed,
            None,
            &|| settings.clone(),
        );
        if is_playing {
            self.pos += BLOCK as i64;
        }
    }

    fn stop(&mut self) {
        self.block(false);
        self.block(false);
    }

    fn is_in_take(&self) -> bool {
        self.recorder.as_ref().unwrap().is_in_take()
    }

    /// Waits until the writer has written everything queued.
    fn wait_for_writer(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while matches!(
            self.status.take_state(),
            TakeState::Writing | TakeState::Rolling
        ) || self.status.num_frames_written.load(Ordering::Relaxed)
            < self.status.num_frames_queued.load(Ordering::Relaxed)
        {
            assert!(Instant::now() < deadline, "the writer never finished");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Every folder under `base`: the CSV's frames, the PNGs and the manifest agree; and
/// `session.json` lists exactly the folders at the session's frame rate, each with the frames
/// its manifest lists (lanes of a session share one rate).
fn check_folders(base: &Path, step: &str) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    let index: Option<serde_json::Value> = std::fs::read(base.join("session.json"))
        .ok()
        .map(|bytes| serde_json::from_slice(&bytes).unwrap());
    let mut num_lanes = 0;
    for entry in entries {
        let dir = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) else {
            continue;
        };
        let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
        let index = index
            .as_ref()
            .expect("a folder with a manifest is in a session");
        let name = dir.file_name().unwrap().to_str().unwrap();
        let lane = index["lanes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|lane| lane["name"] == name);
        let fps = &manifest["fps"];
        let is_session_rate =
            index["fps"]["num"] == fps["num"] && index["fps"]["den"] == fps["den"];
        assert_eq!(
            lane.is_some(),
            is_session_rate,
            "{step}: {name} listed?\n{index}"
        );
        if let Some(lane) = lane {
            num_lanes += 1;
            for field in ["first_frame", "last_frame", "frames_written"] {
                assert_eq!(lane[field], manifest[field], "{step}: {name}: {field}");
            }
        }
        let csv = std::fs::read_to_string(dir.join("spectrum.csv")).unwrap();
        let rows: Vec<u64> = csv
            .lines()
            .skip(1)
            .map(|line| line.split(',').next().unwrap().parse().unwrap())
            .collect();
        let set: BTreeSet<u64> = rows.iter().copied().collect();
        assert_eq!(
            set.len(),
            rows.len(),
            "{step}: {dir:?}: a frame twice in the CSV"
        );
        assert!(rows.is_sorted(), "{step}: {dir:?}: CSV not sorted");
        assert_eq!(
            manifest["frames_written"].as_u64().unwrap(),
            rows.len() as u64,
            "{step}: {dir:?}: manifest vs CSV"
        );
        assert_eq!(
            manifest["first_frame"].as_u64(),
            rows.first().copied(),
            "{step}"
        );
        assert_eq!(
            manifest["last_frame"].as_u64(),
            rows.last().copied(),
            "{step}"
        );
        if manifest["frames"].is_object() {
            let pngs: BTreeSet<u64> = std::fs::read_dir(dir.join("frames"))
                .unwrap()
                .filter_map(|e| {
                    let name = e.unwrap().file_name();
                    name.to_str()?.strip_suffix(".png")?.parse().ok()
                })
                .collect();
            assert_eq!(pngs, set, "{step}: {dir:?}: frames/ vs CSV");
        }
    }
    if let Some(index) = index {
        assert_eq!(
            index["lanes"].as_array().unwrap().len(),
            num_lanes,
            "{step}: {index}"
        );
    }
}

fn run(seed: u64, num_steps: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(seed);
    let mut h = Harness::new(dir.path());
    for step_idx in 0..num_steps {
        let step = match rng.below(7) {
            0 => {
                h.is_armed = !h.is_armed;
                h.block(h.is_in_take());
                "arm/disarm"
            }
            1 => {
                // Play one to 40 blocks (a second at most).
                for _ in 0..1 + rng.below(40) {
                    h.block(true);
                }
                "play"
            }
            2 => {
                h.pos = (rng.below(20 * 24) * 2000) as i64;
                h.block(true);
                "jump"
            }
            3 => {
                h.stop();
                "stop"
            }
            4 => {
                h.reactivate();
                "deactivate/activate"
            }
            5 => {
                // A guide setting changes; it applies from the next take.
                let fps = [FpsParam::Fps24, FpsParam::Fps30, FpsParam::Fps23_976];
                h.settings.fps = fps[rng.below(3) as usize].rate();
                h.settings.analysis.preset =
                    [PresetParam::Default, PresetParam::Seed][rng.below(2) as usize].preset();
                h.settings.analysis.floor_db = -60.0 - rng.below(60) as f32;
                "settings"
            }
            _ => {
                // A slow writer: images, sometimes large.
                h.settings.write_images = rng.below(2) == 0;
                h.settings.render.size = [64, 256, 512][rng.below(3) as usize];
                "images"
            }
        };
        if !h.is_in_take() {
            h.wait_for_writer();
            check_folders(dir.path(), &format!("seed {seed} step {step_idx} ({step})"));
            assert!(h.status.error().is_none(), "{:?}", h.status.error());
        }
    }
    h.stop();
    h.reactivate();
    h.wait_for_writer();
    drop(h.recorder.take());
    drop(h.writer.take());
    check_folders(dir.path(), &format!("seed {seed}: the end"));
    assert_eq!(
        h.status.num_frames_written.load(Ordering::Relaxed),
        h.status.num_frames_queued.load(Ordering::Relaxed),
        "seed {seed}: every queued frame written"
    );
    assert_eq!(h.status.num_frames_dropped.load(Ordering::Relaxed), 0);
}

/// CI-sized: a few hundred random steps.
#[test]
fn recorder_protocol_holds() {
    run(0x5eed_0001, 150);
}

/// The long run, in release.
#[test]
#[ignore = "long: run in release with --ignored"]
fn recorder_protocol_holds_for_long() {
    for seed in 1..=20u64 {
        run(seed * 0x9e37_79b9, 2000);
    }
}

/// The CSV's frame numbers in `dir`, none when there is no CSV.
fn csv_frames(dir: &Path) -> Vec<u64> {
    std::fs::read_to_string(dir.join("spectrum.csv"))
        .map(|csv| {
            csv.lines()
                .skip(1)
                .map(|line| line.split(',').next().unwrap().parse().unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// "Clear" between takes, while the writer still holds the folder open: the cleared frames are
/// gone for good (the next take's listing does not bring them back) and the user's file stays.
#[test]
fn clear_between_takes_forgets_the_cleared_frames() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("Stress");
    let mut h = Harness::new(dir.path());
    h.is_armed = true;
    // The first blocks after arming may pass while the writer prepares the memory: play until a
    // take has written frames.
    while csv_frames(&out).is_empty() {
        for _ in 0..48 {
            h.block(true);
        }
        h.stop();
        h.wait_for_writer();
    }
    assert!(csv_frames(&out).iter().all(|&frame| frame < 240));
    std::fs::write(out.join("notes.txt"), "mine").unwrap();

    h.writer.as_ref().unwrap().control().clear_folder();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !csv_frames(&out).is_empty() {
        assert!(Instant::now() < deadline, "the folder was never cleared");
        std::thread::sleep(Duration::from_millis(2));
    }

    // A take from 10 s on: frames 240 and later only.
    h.pos = 10 * i64::from(SAMPLE_RATE);
    for _ in 0..48 {
        h.block(true);
    }
    h.stop();
    h.wait_for_writer();
    drop(h.recorder.take());
    drop(h.writer.take());

    let frames = csv_frames(&out);
    assert!(!frames.is_empty());
    assert!(frames.iter().all(|&frame| frame >= 240), "{frames:?}");
    check_folders(dir.path(), "after Clear");
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
}
