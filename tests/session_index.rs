//! `session.json` under concurrent writers (DESIGN.md §13): threads of one process and several
//! processes register lanes into one session at once; every lane ends up listed, and a reader
//! that never takes the lock always finds whole JSON.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use spectral_diffusion::clock::FrameRate;
use spectral_diffusion::export::format::session::{Lane, SESSION_NAME, read_session, update_lane};

/// Set in a child process: the session root to register lanes in, and the child's name.
const CHILD_ROOT_VAR: &str = "SPECTRAL_DIFFUSION_TEST_SESSION_ROOT";
const CHILD_NAME_VAR: &str = "SPECTRAL_DIFFUSION_TEST_SESSION_CHILD";
const NUM_THREADS: usize = 6;
const NUM_PROCESSES: usize = 3;
/// Lanes each writer registers, each registered twice (added, then updated with its frames).
const LANES_PER_WRITER: u64 = 8;

/// Registers `LANES_PER_WRITER` lanes named `<writer>-<n>`, each first without frames (a take's
/// start) and then with its frames (the take's end).
fn register_lanes(root: &Path, writer: &str) {
    for n in 0..LANES_PER_WRITER {
        let name = format!("{writer}-{n}");
        for frames in [None, Some((n * 10, n * 10 + 9))] {
            let lane = Lane {
                name: name.clone(),
                track: writer.to_owned(),
                instance_id: format!("instance-{name}"),
                settings: serde_json::json!({"write_images": false}),
                first_frame: frames.map(|(first, _)| first),
                last_frame: frames.map(|(_, last)| last),
                frames_written: frames.map_or(0, |(first, last)| last - first + 1),
            };
            update_lane(root, FrameRate::FPS_24, lane).unwrap();
        }
    }
}

/// Threads here and whole processes (this test binary run again as a child, which only
/// registers its lanes) update one index at once: no lane is lost, no update is lost, and the
/// file is valid JSON at every moment a reader looks.
#[test]
fn concurrent_writers_lose_no_lane() {
    if let (Some(root), Some(name)) = (
        std::env::var_os(CHILD_ROOT_VAR),
        std::env::var_os(CHILD_NAME_VAR),
    ) {
        register_lanes(Path::new(&root), name.to_str().unwrap());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let is_done = AtomicBool::new(false);
    let num_reads = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut num_reads = 0u64;
            while !is_done.load(Ordering::Relaxed) {
                match std::fs::read(root.join(SESSION_NAME)) {
                    Ok(bytes) => {
                        let parsed = serde_json::from_slice::<serde_json::Value>(&bytes);
                        assert!(
                            parsed.is_ok(),
                            "torn read: {}",
                            String::from_utf8_lossy(&bytes)
                        );
                        num_reads += 1;
                    }
                    Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::NotFound),
                }
            }
            num_reads
        });
        let children: Vec<_> = (0..NUM_PROCESSES)
            .map(|p| {
                Command::new(std::env::current_exe().unwrap())
                    .args([
                        "--exact",
                        "concurrent_writers_lose_no_lane",
                        "--test-threads=1",
                    ])
                    .env(CHILD_ROOT_VAR, root)
                    .env(CHILD_NAME_VAR, format!("process{p}"))
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let threads: Vec<_> = (0..NUM_THREADS)
            .map(|t| scope.spawn(move || register_lanes(root, &format!("thread{t}"))))
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        for mut child in children {
            assert!(child.wait().unwrap().success(), "a child process failed");
        }
        is_done.store(true, Ordering::Relaxed);
        reader.join().unwrap()
    });
    eprintln!("{num_reads} reads, all whole");

    let index = read_session(root).unwrap().unwrap();
    let mut names: Vec<&str> = index.lanes.iter().map(|lane| lane.name.as_str()).collect();
    names.sort_unstable();
    let mut expected: Vec<String> = (0..NUM_THREADS)
        .map(|t| format!("thread{t}"))
        .chain((0..NUM_PROCESSES).map(|p| format!("process{p}")))
        .flat_map(|writer| (0..LANES_PER_WRITER).map(move |n| format!("{writer}-{n}")))
        .collect();
    expected.sort_unstable();
    assert_eq!(names, expected);
    // Every lane's second registration (its frames) won over its first.
    for lane in &index.lanes {
        let n: u64 = lane.name.rsplit('-').next().unwrap().parse().unwrap();
        assert_eq!(
            (lane.first_frame, lane.last_frame, lane.frames_written),
            (Some(n * 10), Some(n * 10 + 9), 10),
            "{}",
            lane.name
        );
    }
}
