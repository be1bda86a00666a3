//! The CLI's audio input: files decode to exact mono samples, bad input fails with a precise error,
//! the fixtures' tones land where they should, and the demo track is deterministic and full-range.

use std::path::{Path, PathBuf};

use flacenc::component::BitRepr;
use flacenc::error::Verify;
use spectral_diffusion::analysis::{AnalysisSettings, Analyzer, mix_to_mono};
use spectral_diffusion::audio::decode::{AudioInfo, DecodeError, FileSource, MonoSource};
use spectral_diffusion::audio::demo::{DEMO_DURATION_S, DemoSource, demo_track};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every mono sample of a source, and the most one `read_mono` call appended.
fn read_all(source: &mut dyn MonoSource) -> (Vec<f32>, usize) {
    let (mut samples, mut max_chunk) = (Vec::new(), 0);
    loop {
        let before = samples.len();
        if !source.read_mono(&mut samples).expect("decodes") {
            assert_eq!(samples.len(), before, "the end appends nothing");
            return (samples, max_chunk);
        }
        assert!(samples.len() > before, "a chunk is never empty");
        max_chunk = max_chunk.max(samples.len() - before);
    }
}

fn decode(path: &Path) -> (AudioInfo, Vec<f32>) {
    let mut source = FileSource::open(path).expect("opens");
    let (samples, _) = read_all(&mut source);
    assert_eq!(source.damage(), &[]);
    (source.info().clone(), samples)
}

fn write_wav<S: hound::Sample + Copy>(path: &Path, spec: hound::WavSpec, samples: &[S]) {
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &sample in samples {
        writer.write_sample(sample).unwrap();
    }
    writer.finalize().unwrap();
}

fn int_spec(channels: u16, sample_rate: u32, bits_per_sample: u16) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample,
        sample_format: hound::SampleFormat::Int,
    }
}

/// Deterministic full-range test values: a sine plus xorshift noise, scaled to `bits`.
fn test_signal(len: usize, bits: u32) -> Vec<i32> {
    let full_scale = f64::from((1u32 << (bits - 1)) - 1);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|n| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let x = 0.6 * (n as f64 * 0.05).sin() + 0.8 * noise;
            (x * full_scale).round() as i32
        })
        .collect()
}

/// Mono mix of interleaved integer samples, converted as symphonia does (`x / 2^(bits-1)`).
fn expected_mono(interleaved: &[i32], channels: usize, bits: u32) -> Vec<f32> {
    let scale = f64::from(1u32 << (bits - 1));
    interleaved
        .chunks_exact(channels)
        .map(|frame| mix_to_mono(frame.iter().map(|&x| (f64::from(x) / scale) as f32)))
        .collect()
}

fn assert_bits_eq(actual: &[f32], expected: &[f32]) {
    assert_eq!(actual.len(), expected.len());
    for (idx, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert_eq!(a.to_bits(), e.to_bits(), "sample {idx}: {a} vs {e}");
    }
}

/// A 16-bit WAV and a FLAC of the same samples are the same audio, so they must analyze the same.
#[test]
fn wav_and_flac_of_the_same_samples_decode_identically() {
    let dir = tempfile::tempdir().unwrap();
    // A whole number of 4096-sample blocks: for a shorter last block flacenc 0.5 writes that
    // block's length as STREAMINFO's minimum block size (the spec excludes the last block), and
    // symphonia 0.5 then fails to find the first frame. libFLAC and ffmpeg files are unaffected.
    let samples = test_signal(2 * 40_960, 16);
    let wav = dir.path().join("same.wav");
    let samples_i16: Vec<i16> = samples.iter().map(|&x| x as i16).collect();
    write_wav(&wav, int_spec(2, 44_100, 16), &samples_i16);

    let config = flacenc::config::Encoder::default().into_verified().unwrap();
    let source = flacenc::source::MemSource::from_samples(&samples, 2, 16, 44_100);
    let stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size).unwrap();
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream.write(&mut sink).unwrap();
    let flac = dir.path().join("same.flac");
    std::fs::write(&flac, sink.as_slice()).unwrap();

    let (wav_info, wav_mono) = decode(&wav);
    let (flac_info, flac_mono) = decode(&flac);
    assert_bits_eq(&wav_mono, &expected_mono(&samples, 2, 16));
    assert_bits_eq(&flac_mono, &wav_mono);
    assert_eq!(
        wav_info,
        AudioInfo {
            sample_rate: 44_100,
            num_channels: 2,
            num_samples: Some(40_960),
            codec: "pcm_s16le".to_owned(),
        }
    );
    assert_eq!(flac_info.codec, "flac");
    assert_eq!(flac_info.num_samples, Some(40_960));
}

/// 24- and 32-bit integer WAVs keep every bit `f32` can hold: `x / 2^(bits-1)`, rounded once.
#[test]
fn wide_integer_wavs_decode_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for bits in [24u16, 32] {
        let samples = test_signal(2 * 5000, u32::from(bits));
        let path = dir.path().join(format!("int{bits}.wav"));
        write_wav(&path, int_spec(2, 48_000, bits), &samples);
        let (info, mono) = decode(&path);
        assert_eq!(info.num_samples, Some(5000), "{bits} bit");
        assert_bits_eq(&mono, &expected_mono(&samples, 2, u32::from(bits)));
    }
}

/// Float WAVs pass through bit for bit, NaN and infinities included (the analyzer sanitizes them).
#[test]
fn float_wav_decodes_to_the_written_values_nan_included() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("float.wav");
    let mut samples: Vec<f32> = (0..4000).map(|n| (n as f32 * 0.013).sin() * 0.7).collect();
    samples[10] = f32::NAN;
    samples[11] = f32::INFINITY;
    samples[12] = f32::NEG_INFINITY;
    samples[13] = 1e-42; // subnormal
    samples[14] = 3.5; // over full scale
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 96_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    write_wav(&path, spec, &samples);
    let (info, mono) = decode(&path);
    assert_eq!(info.codec, "pcm_f32le");
    assert!(mono[10].is_nan());
    samples[10] = 0.0;
    let mut decoded = mono.clone();
    decoded[10] = 0.0;
    assert_bits_eq(&decoded, &samples);
}

/// More than two channels mix down with the plugin's `mix_to_mono`, in channel order.
#[test]
fn multichannel_wav_mixes_down_like_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("surround.wav");
    let samples = test_signal(6 * 3000, 16);
    let samples_i16: Vec<i16> = samples.iter().map(|&x| x as i16).collect();
    write_wav(&path, int_spec(6, 48_000, 16), &samples_i16);
    let (info, mono) = decode(&path);
    assert_eq!(info.num_channels, 6);
    assert_bits_eq(&mono, &expected_mono(&samples, 6, 16));
}

/// The supported range's ends decode; rates outside it are refused with the rate in the message.
#[test]
fn sample_rates_outside_the_range_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for rate in [8_000u32, 768_000] {
        let path = dir.path().join(format!("ok{rate}.wav"));
        write_wav(&path, int_spec(1, rate, 16), &[1i16, 2, 3]);
        assert_eq!(decode(&path).0.sample_rate, rate);
    }
    for rate in [4_000u32, 1_000_000] {
        let path = dir.path().join(format!("bad{rate}.wav"));
        write_wav(&path, int_spec(1, rate, 16), &[1i16, 2, 3]);
        let error = FileSource::open(&path).err().expect("refused");
        assert!(
            matches!(error, DecodeError::SampleRate { rate: r, .. } if r == rate),
            "{error}"
        );
        assert!(error.to_string().contains(&format!("{rate} Hz")), "{error}");
    }
}

/// A long file comes out in packet-sized chunks, never in one piece (memory stays flat).
#[test]
fn long_file_streams_in_small_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.wav");
    let samples: Vec<i16> = test_signal(30 * 8_000, 16)
        .iter()
        .map(|&x| x as i16)
        .collect();
    write_wav(&path, int_spec(1, 8_000, 16), &samples);
    let mut source = FileSource::open(&path).unwrap();
    let (mono, max_chunk) = read_all(&mut source);
    assert_eq!(mono.len(), samples.len());
    assert!(max_chunk <= 8192, "chunk of {max_chunk} samples");
}

/// A damaged MP3 frame does not end the decode, nor shift the audio after it: the length stays.
#[test]
fn damaged_mp3_still_decodes_to_full_length() {
    let mut bytes = std::fs::read(fixture("tones.mp3")).unwrap();
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 64] {
        *byte ^= 0x5A;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.mp3");
    std::fs::write(&path, bytes).unwrap();
    let (_, intact) = decode(&fixture("tones.mp3"));
    let mut source = FileSource::open(&path).unwrap();
    let (damaged, _) = read_all(&mut source);
    assert_eq!(damaged.len(), intact.len());
    assert_ne!(damaged, intact);
}

/// Tells whether an error is of the expected variant.
type IsKind = fn(&DecodeError) -> bool;

/// Each kind of bad input gets its own error, naming the file, and none counts as an I/O failure.
#[test]
fn bad_inputs_give_precise_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let mut good = Vec::new();
    {
        let mut writer =
            hound::WavWriter::new(std::io::Cursor::new(&mut good), int_spec(2, 44_100, 16))
                .unwrap();
        for x in 0..200i16 {
            writer.write_sample(x).unwrap();
        }
        writer.finalize().unwrap();
    }
    std::fs::write(path("empty.wav"), b"").unwrap();
    std::fs::write(path("truncated.wav"), &good[..30]).unwrap();
    let random: Vec<u8> = test_signal(4096, 8).iter().map(|&x| x as u8).collect();
    std::fs::write(path("random.wav"), &random).unwrap();
    std::fs::write(path("notes.txt"), "not audio at all\n").unwrap();
    std::fs::write(path("image.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    write_wav::<i16>(&path("silent.wav"), int_spec(2, 44_100, 16), &[]);
    std::fs::create_dir(path("folder.wav")).unwrap();

    let open = |name: &str| FileSource::open(&path(name)).err().expect(name);
    let cases: [(&str, IsKind, &str); 8] = [
        (
            "missing.wav",
            |e| matches!(e, DecodeError::NotFound(_)),
            "no such file",
        ),
        (
            "empty.wav",
            |e| matches!(e, DecodeError::Empty(_)),
            "no audio samples",
        ),
        (
            "silent.wav",
            |e| matches!(e, DecodeError::Empty(_)),
            "no audio samples",
        ),
        (
            "truncated.wav",
            |e| matches!(e, DecodeError::Corrupt { .. }),
            "ends inside its header",
        ),
        (
            "random.wav",
            |e| matches!(e, DecodeError::Corrupt { .. }),
            "named .wav but no audio header",
        ),
        (
            "notes.txt",
            |e| matches!(e, DecodeError::Unsupported { .. }),
            "a text file",
        ),
        (
            "image.png",
            |e| matches!(e, DecodeError::Unsupported { .. }),
            "a PNG image",
        ),
        (
            "folder.wav",
            |e| matches!(e, DecodeError::NotAFile(_)),
            "is a directory",
        ),
    ];
    for (name, is_expected, message) in cases {
        let error = open(name);
        let text = error.to_string();
        assert!(is_expected(&error), "{name}: {error:?}");
        assert!(
            text.contains(name) && text.contains(message),
            "{name}: {text}"
        );
        assert!(!text.contains('\n'), "{name}: one line");
        assert!(!error.is_io(), "{name} is bad input, not an I/O failure");
    }
}

/// A WAV cut off inside its audio data decodes up to the cut, less at most one 1152-sample packet
/// (symphonia drops the incomplete last packet).
#[test]
fn wav_cut_off_mid_data_decodes_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.wav");
    let samples: Vec<i16> = test_signal(2 * 20_000, 16)
        .iter()
        .map(|&x| x as i16)
        .collect();
    write_wav(&path, int_spec(2, 44_100, 16), &samples);
    let bytes = std::fs::read(&path).unwrap();
    let kept_frames = 12_345;
    std::fs::write(&path, &bytes[..44 + kept_frames * 4]).unwrap();
    let mut source = FileSource::open(&path).unwrap();
    let (mono, _) = read_all(&mut source);
    assert!(
        (kept_frames - 1152..=kept_frames).contains(&mono.len()),
        "{}",
        mono.len()
    );
    let expected = expected_mono(&test_signal(2 * 20_000, 16)[..mono.len() * 2], 2, 16);
    assert_bits_eq(&mono, &expected);
}

/// Opus in Ogg is recognized but has no decoder here: an unsupported-codec error naming it.
#[test]
fn ogg_opus_is_unsupported_by_name() {
    let error = FileSource::open(&fixture("tone_opus.ogg"))
        .err()
        .expect("refused");
    assert!(
        matches!(error, DecodeError::Unsupported { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("codec opus"), "{error}");
}

/// Peak frequencies of the middle frame, by the default analyzer: (loudest below 1 kHz, loudest
/// above, level of the loudest bin outside both tones' neighbourhoods).
fn tone_peaks(samples: &[f32], sample_rate: u32) -> (f32, f32, f32) {
    let mut analyzer = Analyzer::new(&AnalysisSettings::default(), sample_rate).unwrap();
    let fft_len = analyzer.max_input_len();
    let middle = samples.len() / 2 - fft_len / 2;
    let mut bins = vec![0.0; analyzer.num_bins()];
    analyzer.analyze(&samples[middle..middle + fft_len], &mut bins);
    let freqs = &analyzer.bin_map().centre_freqs_hz;
    let loudest = |range: std::ops::Range<f32>| {
        let (idx, _) = bins
            .iter()
            .enumerate()
            .filter(|&(idx, _)| range.contains(&freqs[idx]))
            .fold(
                (0, f32::MIN),
                |best, (idx, &v)| if v > best.1 { (idx, v) } else { best },
            );
        freqs[idx]
    };
    let elsewhere = bins
        .iter()
        .zip(freqs)
        .filter(|&(_, &f)| !(300.0..650.0).contains(&f) && !(2500.0..3600.0).contains(&f))
        .fold(0.0f32, |max, (&v, _)| max.max(v));
    (loudest(20.0..1000.0), loudest(1000.0..20_000.0), elsewhere)
}

/// The ffmpeg-made fixtures (440 Hz + 3 kHz, 2 s) decode to the right length and pitch.
#[test]
fn lossy_fixtures_decode_to_their_tones() {
    for (name, codec, channels) in [("tones.mp3", "mp3", 1), ("tones.ogg", "vorbis", 2)] {
        let (info, mono) = decode(&fixture(name));
        assert_eq!(
            (info.sample_rate, info.num_channels, info.codec.as_str()),
            (44_100, channels, codec),
            "{name}"
        );
        let seconds = mono.len() as f64 / 44_100.0;
        assert!((seconds - 2.0).abs() < 0.03, "{name}: {seconds} s");
        let (low_hz, high_hz, elsewhere) = tone_peaks(&mono, 44_100);
        assert!((low_hz / 440.0 - 1.0).abs() < 0.03, "{name}: {low_hz} Hz");
        assert!(
            (high_hz / 3000.0 - 1.0).abs() < 0.03,
            "{name}: {high_hz} Hz"
        );
        // 0..1 spans 90 dB: everything else sits at least 36 dB below the tones (-12 dBFS each).
        assert!(elsewhere < 0.47, "{name}: {elsewhere}");
    }
}

/// The demo is the same on every call, 16 s long, stereo, and peaks just under -1 dBFS.
#[test]
fn demo_track_is_deterministic_and_normalized() {
    let track = demo_track(44_100);
    assert_eq!(track, demo_track(44_100));
    assert_eq!(track.len() as f64, DEMO_DURATION_S * 44_100.0);
    assert_eq!(DEMO_DURATION_S, 16.0);
    let peak = track.iter().flatten().fold(0.0f32, |p, x| p.max(x.abs()));
    let peak_db = 20.0 * peak.log10();
    assert!((-2.0..-1.0).contains(&peak_db), "peak {peak_db} dBFS");
    assert!(track.iter().any(|[left, right]| left != right), "stereo");

    let mut source = DemoSource::new(44_100);
    let (mono, _) = read_all(&mut source);
    let expected: Vec<f32> = track.into_iter().map(mix_to_mono).collect();
    assert_bits_eq(&mono, &expected);
    assert_eq!(source.info().num_samples, Some(mono.len() as u64));
}

/// Every spectrum view has something to draw: the demo reaches lows, mids and highs.
#[test]
fn demo_track_fills_lows_mids_and_highs() {
    let mono: Vec<f32> = demo_track(48_000).into_iter().map(mix_to_mono).collect();
    let mut analyzer = Analyzer::new(&AnalysisSettings::default(), 48_000).unwrap();
    let fft_len = analyzer.max_input_len();
    let freqs = analyzer.bin_map().centre_freqs_hz.clone();
    let mut bins = vec![0.0; analyzer.num_bins()];
    let mut loudest = [0.0f32; 3];
    for start in (0..mono.len() - fft_len).step_by(fft_len * 4) {
        analyzer.analyze(&mono[start..start + fft_len], &mut bins);
        for (&v, &hz) in bins.iter().zip(&freqs) {
            let range = match hz {
                hz if hz < 200.0 => 0,
                hz if hz < 4000.0 => 1,
                _ => 2,
            };
            loudest[range] = loudest[range].max(v);
        }
    }
    // 0.5 on the 90 dB scale is -45 dBFS, far above the floor that silence would read.
    assert!(loudest.iter().all(|&v| v > 0.5), "{loudest:?}");
}
