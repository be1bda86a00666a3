//! Fuzzing the decoder path, bounded for CI: random bytes and damaged (overwritten, cut off) copies
//! of the fixtures and of generated WAV and FLAC files never panic. Each either fails to open with
//! a one-line error, or renders exactly the frames its decoded timeline holds. The Ogg page reader
//! on its own: it never panics, lists at most `MAX_LISTED` gaps, and finds a page taken out of a
//! file where it was.

// Each test crate uses its own part of the shared helpers.
#[allow(dead_code)]
mod common;

use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;

use proptest::prelude::*;
use spectral_diffusion::analysis::AnalysisSettings;
use spectral_diffusion::audio::decode::{FileSource, MonoSource};
use spectral_diffusion::audio::ogg::{MAX_LISTED, PageGap, scan_pages};
use spectral_diffusion::clock::FrameRate;
use spectral_diffusion::export::{CsvFormat, ExportSettings, OpenMode, Source};
use spectral_diffusion::pipeline::{self, RenderJob};
use spectral_diffusion::render::RenderSettings;

/// Cases per property: each decodes and renders a file of up to 2 s, a few seconds in all in a
/// debug build. Raise `PROPTEST_CASES` for a longer run.
const NUM_CASES: u32 = 128;

/// Intact files to damage, with the extension each is named by.
fn seeds() -> &'static [(&'static str, Vec<u8>)] {
    static SEEDS: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let read = |name: &str| std::fs::read(fixtures.join(name)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let samples = common::to_i16(&common::song(8_000, 4096.0 * 3.0 / 8_000.0));
        let (wav, flac) = (dir.path().join("song.wav"), dir.path().join("song.flac"));
        common::write_wav_i16(&wav, &samples, 8_000);
        common::write_flac_i16(&flac, &samples, 8_000);
        vec![
            ("mp3", read("tones.mp3")),
            ("ogg", read("tones.ogg")),
            ("ogg", read("noise.ogg")),
            ("ogg", read("tone_opus.ogg")),
            ("wav", read("seed_input.wav")),
            ("wav", std::fs::read(wav).unwrap()),
            ("flac", std::fs::read(flac).unwrap()),
        ]
    })
}

/// Opens and renders `bytes` (CSV only) and checks the outcome.
fn check(bytes: &[u8], extension: &str) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("input.{extension}"));
    std::fs::write(&path, bytes).unwrap();
    let num_samples = match FileSource::open(&path) {
        Ok(mut source) => source
            .decode_to_end()
            .map(|n| (n, source.info().sample_rate)),
        Err(error) => Err(error),
    };
    let (num_samples, sample_rate) = match num_samples {
        Ok(decoded) => decoded,
        Err(error) => {
            prop_assert!(!error.to_string().contains('\n'), "{error}");
            return Ok(());
        }
    };
    let job = RenderJob {
        source: Source::File { path: path.clone() },
        audio: None,
        fps: FrameRate::FPS_24,
        analysis: AnalysisSettings::default(),
        render: RenderSettings::default(),
        export: ExportSettings {
            out_dir: dir.path().join("out"),
            csv: CsvFormat::Full,
            write_images: false,
            is_forced: false,
        },
        mode: OpenMode::Replace,
        num_workers: 1,
    };
    let mut source = FileSource::open(&path).expect("opened before");
    let rendered = pipeline::render(&mut source, &job, &AtomicBool::new(false), &|_| {});
    let expected = FrameRate::FPS_24.num_frames(num_samples, sample_rate);
    match rendered {
        Ok(summary) => prop_assert_eq!(summary.num_frames, expected),
        Err(error) => {
            prop_assert_eq!(expected, 0, "{}", error);
            prop_assert!(!error.to_string().contains('\n'), "{error}");
        }
    }
    Ok(())
}

/// One change to a file: bytes overwritten at a fraction of its length.
fn overwrite() -> impl Strategy<Value = (f64, Vec<u8>)> {
    (0.0..1.0f64, prop::collection::vec(any::<u8>(), 1..512))
}

fn damaged(seed: &[u8], overwrites: &[(f64, Vec<u8>)], cut: Option<f64>) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for (at, junk) in overwrites {
        let start = (at * bytes.len() as f64) as usize;
        let end = (start + junk.len()).min(bytes.len());
        bytes[start..end].copy_from_slice(&junk[..end - start]);
    }
    if let Some(cut) = cut {
        bytes.truncate((cut * bytes.len() as f64) as usize);
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(NUM_CASES))]

    /// Fixtures and generated files with bytes overwritten and the end cut off.
    #[test]
    fn damaged_files_render_or_fail_cleanly(
        seed_idx in 0..7usize,
        overwrites in prop::collection::vec(overwrite(), 0..4),
        cut in prop::option::of(0.0..1.0f64),
    ) {
        let (extension, seed) = &seeds()[seed_idx];
        check(&damaged(seed, &overwrites, cut), extension)?;
    }

    /// Random bytes, often behind a format's signature so they reach the demuxer.
    #[test]
    fn random_bytes_render_or_fail_cleanly(
        magic_idx in 0..6usize,
        body in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let magic: [&[u8]; 6] = [b"RIFF", b"fLaC", b"OggS", b"ID3", b"\xFF\xFB\x90\x00", b""];
        let extension = ["wav", "flac", "ogg", "mp3", "mp3", "bin"][magic_idx];
        let bytes: Vec<u8> = magic[magic_idx].iter().chain(&body).copied().collect();
        check(&bytes, extension)?;
    }
}

fn scan(bytes: &[u8]) -> Vec<PageGap> {
    scan_pages(std::io::Cursor::new(bytes))
        .expect("reading memory cannot fail")
        .gaps
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(NUM_CASES))]

    /// The page reader over damaged Oggs and over random bytes behind a capture pattern: it
    /// returns, with a bounded list, and every gap it lists skips at least one page.
    #[test]
    fn ogg_page_reader_survives_any_bytes(
        seed_idx in 0..4usize,
        overwrites in prop::collection::vec(overwrite(), 0..4),
        cut in prop::option::of(0.0..1.0f64),
        body in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let oggs: Vec<&[u8]> = seeds()
            .iter()
            .filter(|(extension, _)| *extension == "ogg")
            .map(|(_, bytes)| bytes.as_slice())
            .collect();
        let random: Vec<u8> = b"OggS".iter().chain(&body).copied().collect();
        let bytes = match oggs.get(seed_idx) {
            Some(seed) => damaged(seed, &overwrites, cut),
            None => random,
        };
        let gaps = scan(&bytes);
        prop_assert!(gaps.len() <= MAX_LISTED);
        prop_assert!(gaps.iter().all(|gap| gap.num_pages > 0), "{gaps:?}");
    }
}

/// Each audio page but the last of a multi-page Ogg, taken out, is one gap of one page between
/// the granule positions of its neighbours; the intact file has none.
#[test]
fn ogg_page_reader_finds_each_lost_page() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/noise.ogg");
    let intact = std::fs::read(path).unwrap();
    let pages = common::ogg_pages(&intact);
    assert_eq!(pages.len(), 10);
    assert_eq!(scan(&intact), []);
    for page_idx in 2..pages.len() - 1 {
        let lost = &pages[page_idx].0;
        let bytes = [&intact[..lost.start], &intact[lost.end..]].concat();
        let expected = PageGap {
            serial: u32::from_le_bytes(intact[14..18].try_into().unwrap()),
            num_pages: 1,
            granule_before: pages[page_idx - 1].1,
            granule_after: Some(pages[page_idx + 1].1),
        };
        assert_eq!(scan(&bytes), [expected], "page {page_idx} taken out");
    }
}
