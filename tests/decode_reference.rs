//! Our decoded samples are the reference decoders' samples: a corpus encoded here with Debian's
//! `oggenc`, `flac`, `lame` and ffmpeg (mono and stereo, 22.05/44.1/48 kHz, several qualities and
//! block sizes, ffmpeg concatenations, a chained Ogg, files shorter than a video frame) decodes to
//! exactly as many samples as `oggdec`, `flac -d` and `mpg123` give, equal at lag 0, with no damage
//! reported by the library or by `info --verify`.

// Each test crate uses its own part of the shared helpers.
#[allow(dead_code)]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use spectral_diffusion::analysis::mix_to_mono;
use spectral_diffusion::audio::decode::{FileSource, MonoSource};
use tempfile::TempDir;

/// The encoders and reference decoders the corpus needs.
const TOOLS: [(&str, &str); 6] = [
    ("ffmpeg", "-version"),
    ("oggenc", "--version"),
    ("oggdec", "--version"),
    ("flac", "--version"),
    ("lame", "--version"),
    ("mpg123", "--version"),
];

/// `oggdec` writes 16-bit samples: half a step of rounding, and float differences between
/// libvorbis and symphonia far below it.
const OGGDEC_TOLERANCE: f32 = 1.0 / 32_768.0;

/// `mpg123 -e f32` writes floats: what is left is the two decoders' own rounding.
const MPG123_TOLERANCE: f32 = 1e-4;

/// Whether every tool runs; prints why the tests skip, and fails instead under CI.
fn has_tools() -> bool {
    let missing: Vec<&str> = TOOLS
        .iter()
        .filter(|(program, flag)| {
            !Command::new(program)
                .arg(flag)
                .output()
                .is_ok_and(|output| output.status.success())
        })
        .map(|(program, _)| *program)
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "{} not on PATH (apt-get install ffmpeg vorbis-tools flac lame mpg123; .ci/run does)",
        missing.join(", ")
    );
    assert!(
        std::env::var_os("SPECTRAL_DIFFUSION_REQUIRE_TOOLS").is_none(),
        "{why}"
    );
    eprintln!("skipped: {why}");
    false
}

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn arg(path: &Path) -> &str {
    common::path_arg(path)
}

/// A 16-bit WAV of the test song at half scale (no reference decoder clips), mono or stereo,
/// starting `offset_s` into the song so that the songs of a concatenation differ.
fn write_song(path: &Path, channels: u16, sample_rate: u32, seconds: f64, offset_s: f64) {
    let song = common::song(sample_rate, offset_s + seconds);
    let skip = (offset_s * f64::from(sample_rate)) as usize;
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for n in skip..song[0].len() {
        for channel in &song[..usize::from(channels)] {
            writer
                .write_sample((channel[n] * 0.5 * 32_767.0).round() as i16)
                .unwrap();
        }
    }
    writer.finalize().unwrap();
}

/// A WAV file's samples mixed to mono as our decoder mixes them (`i16 / 32768`, floats as they
/// are).
fn read_wav_mono(path: &Path) -> Vec<f32> {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Int => reader
            .samples::<i32>()
            .map(|x| x.unwrap() as f32 / (1u32 << (spec.bits_per_sample - 1)) as f32)
            .collect(),
        hound::SampleFormat::Float => reader.samples::<f32>().map(Result::unwrap).collect(),
    };
    samples
        .chunks_exact(usize::from(spec.channels))
        .map(|frame| mix_to_mono(frame.iter().copied()))
        .collect()
}

/// The reference decoder of a file, by its extension.
#[derive(Clone, Copy, Debug)]
enum Reference {
    Oggdec,
    Flac,
    Mpg123,
    Wav,
}

impl Reference {
    fn of(path: &Path) -> Self {
        match path.extension().unwrap().to_str().unwrap() {
            "ogg" => Self::Oggdec,
            "flac" => Self::Flac,
            "mp3" => Self::Mpg123,
            _ => Self::Wav,
        }
    }

    /// The reference decoder's samples of `path`, mixed to mono.
    fn decode(self, path: &Path) -> Vec<f32> {
        let wav = path.with_extension("reference.wav");
        match self {
            Self::Oggdec => run("oggdec", &["-Q", "-o", arg(&wav), arg(path)]),
            Self::Flac => run("flac", &["-d", "-s", "-f", "-o", arg(&wav), arg(path)]),
            Self::Mpg123 => run("mpg123", &["-q", "-e", "f32", "-w", arg(&wav), arg(path)]),
            Self::Wav => return read_wav_mono(path),
        }
        read_wav_mono(&wav)
    }

    fn tolerance(self) -> f32 {
        match self {
            Self::Oggdec => OGGDEC_TOLERANCE,
            Self::Mpg123 => MPG123_TOLERANCE,
            Self::Flac | Self::Wav => 0.0,
        }
    }
}

/// Our samples of `path` through the library; no damage may be reported.
fn decode_ours(path: &Path) -> Vec<f32> {
    let mut source = FileSource::open(path).unwrap();
    let mut samples = Vec::new();
    while source.read_mono(&mut samples).unwrap() {}
    assert_eq!(source.damage(), &[], "{}: damage reported", path.display());
    samples
}

/// The largest difference between `a` and `b` with `b` moved by `lag` samples.
fn max_difference(a: &[f32], b: &[f32], lag: isize) -> f32 {
    (0..a.len())
        .filter_map(|n| {
            let m = n.checked_add_signed(lag)?;
            Some((a[n] - *b.get(m)?).abs())
        })
        .fold(0.0, f32::max)
}

/// Same length as the reference decoder's, equal at lag 0 within its tolerance (and not equal
/// one sample off, so the comparison sees the audio), no damage from the library, and
/// `info --verify` exits 0.
fn assert_reference(path: &Path) {
    let reference = Reference::of(path);
    let expected = reference.decode(path);
    let ours = decode_ours(path);
    let name = path.file_name().unwrap().to_str().unwrap();
    assert_eq!(
        ours.len(),
        expected.len(),
        "{name}: samples vs {reference:?}"
    );
    let difference = max_difference(&ours, &expected, 0);
    assert!(
        difference <= reference.tolerance(),
        "{name}: differs from {reference:?} by {difference}"
    );
    if ours.len() > 64 {
        let shifted = max_difference(&ours, &expected, 1);
        assert!(
            shifted > 10.0 * OGGDEC_TOLERANCE,
            "{name}: silent? {shifted}"
        );
    }
    let output = common::cli(&["info", "--verify", arg(path)]);
    assert!(
        output.status.success(),
        "{name}: info --verify: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The sources: `(name, channels, sample rate, seconds, offset into the song)`.
const SOURCES: [(&str, u16, u32, f64, f64); 7] = [
    ("m22", 1, 22_050, 6.0, 0.0),
    ("s44", 2, 44_100, 6.0, 0.0),
    ("s48", 2, 48_000, 4.0, 3.0),
    ("song1", 2, 44_100, 8.0, 0.0),
    ("song2", 2, 44_100, 9.0, 8.0),
    ("song3", 2, 44_100, 7.5, 17.0),
    // Shorter than a 24 fps video frame (1837.5 samples at 44.1 kHz).
    ("short", 1, 44_100, 1000.0 / 44_100.0, 0.0),
];

struct Corpus {
    dir: TempDir,
}

impl Corpus {
    fn new() -> Self {
        let corpus = Self {
            dir: TempDir::new().unwrap(),
        };
        for (name, channels, rate, seconds, offset) in SOURCES {
            write_song(
                &corpus.path(&format!("{name}.wav")),
                channels,
                rate,
                seconds,
                offset,
            );
        }
        corpus
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn source(&self, name: &str) -> String {
        arg(&self.path(&format!("{name}.wav"))).to_owned()
    }

    /// Runs `program` with `args`, where `{in}` is the source WAV and `{out}` the file made.
    fn encode(&self, out: &str, program: &str, source: &str, args: &[&str]) -> PathBuf {
        let path = self.path(out);
        let input = self.source(source);
        let args: Vec<&str> = args
            .iter()
            .map(|&a| match a {
                "{in}" => input.as_str(),
                "{out}" => arg(&path),
                other => other,
            })
            .collect();
        run(program, &args);
        path
    }

    fn ffmpeg(&self, out: &str, source: &str, args: &[&str]) -> PathBuf {
        let mut all = vec!["-v", "error", "-y", "-i", "{in}"];
        all.extend_from_slice(args);
        all.push("{out}");
        self.encode(out, "ffmpeg", source, &all)
    }

    /// ffmpeg's concat demuxer over `parts`, re-encoded with `args`.
    fn concat(&self, out: &str, parts: &[PathBuf], args: &[&str]) -> PathBuf {
        let list = self.path(&format!("{out}.txt"));
        let lines: String = parts
            .iter()
            .map(|part| format!("file '{}'\n", part.display()))
            .collect();
        std::fs::write(&list, lines).unwrap();
        let path = self.path(out);
        let mut all = vec!["-v", "error", "-y", "-f", "concat", "-safe", "0", "-i"];
        all.push(arg(&list));
        all.extend_from_slice(args);
        all.push(arg(&path));
        run("ffmpeg", &all);
        path
    }
}

/// Ogg Vorbis from oggenc (libvorbis's own encoder) and ffmpeg, against `oggdec`: granule-position
/// trimming at start and end, ffmpeg's drifting granule positions across concatenated songs, a
/// chained file and a file shorter than a frame.
#[test]
fn ogg_vorbis_decodes_as_oggdec_does() {
    if !has_tools() {
        return;
    }
    let corpus = Corpus::new();
    let mut files = vec![
        corpus.encode(
            "m22_q0.ogg",
            "oggenc",
            "m22",
            &["-Q", "-q", "0", "-o", "{out}", "{in}"],
        ),
        corpus.encode(
            "s44_q6.ogg",
            "oggenc",
            "s44",
            &["-Q", "-q", "6", "-o", "{out}", "{in}"],
        ),
        corpus.encode(
            "s48_q10.ogg",
            "oggenc",
            "s48",
            &["-Q", "-q", "10", "-o", "{out}", "{in}"],
        ),
        corpus.encode(
            "s48_q-1.ogg",
            "oggenc",
            "s48",
            &["-Q", "-q", "-1", "-o", "{out}", "{in}"],
        ),
        corpus.encode(
            "short.ogg",
            "oggenc",
            "short",
            &["-Q", "-o", "{out}", "{in}"],
        ),
        corpus.ffmpeg("ff_s44.ogg", "s44", &["-c:a", "libvorbis"]),
        corpus.ffmpeg(
            "ff_m22.ogg",
            "s44",
            &["-ac", "1", "-ar", "22050", "-c:a", "libvorbis", "-q:a", "2"],
        ),
        corpus.ffmpeg("ff_short.ogg", "short", &["-c:a", "libvorbis"]),
    ];
    // The case, shorter: three songs concatenated by ffmpeg into one mono 22.05 kHz Ogg,
    // from MP3s (their encoder delay and padding make ffmpeg's granule positions jump) and from
    // Oggs.
    let songs = ["song1", "song2", "song3"];
    let mp3s: Vec<PathBuf> = songs
        .iter()
        .map(|song| {
            corpus.encode(
                &format!("{song}.mp3"),
                "lame",
                song,
                &["--quiet", "-V", "4", "{in}", "{out}"],
            )
        })
        .collect();
    let oggs: Vec<PathBuf> = songs
        .iter()
        .map(|song| corpus.ffmpeg(&format!("{song}.ogg"), song, &["-c:a", "libvorbis"]))
        .collect();
    let mono_22 = ["-ac", "1", "-ar", "22050", "-c:a", "libvorbis"];
    files.push(corpus.concat("cat_mp3.ogg", &mp3s, &mono_22));
    files.push(corpus.concat("cat_ogg.ogg", &oggs, &mono_22));
    files.push(corpus.concat("cat_copy.ogg", &oggs, &["-c", "copy"]));
    // Links of one layout (and serials of their own) one after another, oggenc's and ffmpeg's:
    // oggdec plays them on.
    let m22_q4 = corpus.encode(
        "m22_q4.ogg",
        "oggenc",
        "m22",
        &["-Q", "-q", "4", "-o", "{out}", "{in}"],
    );
    let chained = corpus.path("chained.ogg");
    let links: Vec<u8> = [&files[0], &files[6], &m22_q4]
        .iter()
        .flat_map(|link| std::fs::read(link).unwrap())
        .collect();
    std::fs::write(&chained, links).unwrap();
    files.push(chained);
    files.extend(oggs);
    for file in &files {
        assert_reference(file);
    }
}

/// FLAC from the reference encoder at several block sizes and compression levels: exactly
/// `flac -d`'s samples.
#[test]
fn flac_decodes_as_flac_does() {
    if !has_tools() {
        return;
    }
    let corpus = Corpus::new();
    let flac = |out: &str, source: &str, args: &[&str]| {
        let mut all = vec!["-s", "-f", "-o", "{out}"];
        all.extend_from_slice(args);
        all.push("{in}");
        corpus.encode(out, "flac", source, &all)
    };
    let files = [
        flac("m22_b1152.flac", "m22", &["-b", "1152", "-0"]),
        flac("s44_b4096.flac", "s44", &["-b", "4096", "-8"]),
        flac("s48_b4608.flac", "s48", &["-b", "4608", "-5"]),
        flac("s44_b192.flac", "s44", &["-b", "192", "-3"]),
        flac("short.flac", "short", &[]),
        corpus.ffmpeg("ff_s48.flac", "s48", &["-c:a", "flac"]),
    ];
    for file in &files {
        assert_reference(file);
    }
}

/// MP3 with LAME's gapless header (lame's and ffmpeg's): the encoder delay and padding trimmed,
/// as `mpg123` trims them.
#[test]
fn mp3_decodes_as_mpg123_does() {
    if !has_tools() {
        return;
    }
    let corpus = Corpus::new();
    let lame = |out: &str, source: &str, args: &[&str]| {
        let mut all = vec!["--quiet"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["{in}", "{out}"]);
        corpus.encode(out, "lame", source, &all)
    };
    let files = [
        lame("s44_v2.mp3", "s44", &["-V", "2"]),
        lame("m22_b64.mp3", "m22", &["-b", "64"]),
        lame("s48_b320.mp3", "s48", &["-b", "320"]),
        lame("short.mp3", "short", &["-V", "5"]),
        corpus.ffmpeg("ff_s44.mp3", "s44", &["-c:a", "libmp3lame", "-q:a", "4"]),
        corpus.ffmpeg("ff_m22.mp3", "m22", &["-c:a", "libmp3lame", "-b:a", "48k"]),
    ];
    for file in &files {
        assert_reference(file);
    }
}

/// WAV from ffmpeg (16-bit, 24-bit, float) and hound: the samples as stored.
#[test]
fn wav_decodes_as_stored() {
    if !has_tools() {
        return;
    }
    let corpus = Corpus::new();
    let files = [
        corpus.path("m22.wav"),
        corpus.path("short.wav"),
        corpus.ffmpeg("ff_s44_f32.wav", "s44", &["-c:a", "pcm_f32le"]),
        corpus.ffmpeg("ff_s48_s24.wav", "s48", &["-c:a", "pcm_s24le"]),
        corpus.ffmpeg("ff_m22_s16.wav", "m22", &["-c:a", "pcm_s16le"]),
    ];
    for file in &files {
        assert_reference(file);
    }
}
