//! The live analyzer and the meter strip: the audio thread's tap (copying raw samples, under
//! nice-plug's allocation checker), the GUI thread's analyzer with one or two traces, and the
//! meters against reference signals (ITU-R BS.1770-4, EBU Tech 3341).

#[path = "common/song.rs"]
mod song;

use std::f64::consts::PI;

use nice_assert_no_alloc::assert_no_alloc;
use spectral_diffusion::editor::meters::{MeterReadings, Meters};
use spectral_diffusion::editor::monitor::{Monitor, MonitorSettings};
use spectral_diffusion::handoff::TapInput;
use spectral_diffusion::params::{ChannelModeParam, FftSizeParam, Trace, WindowParam};

const RATE: u32 = 48_000;

fn settings(channel_mode: ChannelModeParam) -> MonitorSettings {
    MonitorSettings {
        fft_size: FftSizeParam::S4096,
        hop_fraction: 0.25,
        window: WindowParam::Hann,
        channel_mode,
        slope_db_per_octave: 0.0,
        decay_ms: 0.0,
    }
}

/// `seconds` of a sine of `peak` amplitude (1.0 = 0 dBFS) at `freq_hz`, starting at `phase`.
fn sine(freq_hz: f64, peak: f64, phase: f64, seconds: f64) -> Vec<f32> {
    let n = (seconds * f64::from(RATE)) as usize;
    (0..n)
        .map(|i| (peak * (2.0 * PI * freq_hz * i as f64 / f64::from(RATE) + phase).sin()) as f32)
        .collect()
}

/// Deterministic white noise in −0.5..0.5 (xorshift).
fn noise(seed: u32, len: usize) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as f32 / u32::MAX as f32 - 0.5
        })
        .collect()
}

/// Feeds the meters in repaint-sized chunks, as the editor drains the tap.
fn measure(num_channels: usize, left: &[f32], right: &[f32]) -> MeterReadings {
    let mut meters = Meters::new(RATE, num_channels).unwrap();
    for (l, r) in left.chunks(800).zip(right.chunks(800)) {
        meters.process(l, r);
    }
    meters.readings()
}

fn assert_near(what: &str, value: f32, expected: f32, tolerance: f32) {
    assert!(
        (value - expected).abs() <= tolerance,
        "{what}: {value}, expected {expected} ± {tolerance}"
    );
}

/// The audio thread's part (copying a block into the tap) never allocates, at any block size,
/// stereo or mono, with the GUI draining or not (a full ring drops and counts).
#[test]
fn tap_push_runs_without_allocating() {
    let audio = song::song(RATE, 1.0);
    let (mut tap, mut output) = TapInput::new();
    tap.start_stream(RATE, 2);
    let mut block = [vec![0.0f32; 4096], vec![0.0f32; 4096]];
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for (round, size) in [1usize, 37, 512, 4096].into_iter().enumerate() {
        for offset in (0..audio[0].len()).step_by(size) {
            let len = size.min(audio[0].len() - offset);
            for (dst, src) in block.iter_mut().zip(&audio) {
                dst[..len].copy_from_slice(&src[offset..offset + len]);
            }
            let [l, r] = &mut block;
            let stereo: [&mut [f32]; 2] = [&mut l[..], &mut r[..]];
            assert_no_alloc(|| tap.push(&stereo, len));
            assert_no_alloc(|| tap.push(&stereo[..1], len));
        }
        if round % 2 == 0 {
            left.clear();
            right.clear();
            output.drain_into(&mut left, &mut right);
        }
    }
    assert!(
        output.num_dropped_frames() > 0,
        "the undrained rounds overflow"
    );
}

/// L + R draws two traces: a 1 kHz tone only on the left and a 3 kHz tone only on the right
/// each peak in their own trace at their own frequency.
#[test]
fn left_right_traces_show_each_channel() {
    let left = sine(1000.0, 1.0, 0.0, 0.5);
    let right = sine(3000.0, 1.0, 0.0, 0.5);
    let mut monitor = Monitor::new(RATE).unwrap();
    for (l, r) in left.chunks(800).zip(right.chunks(800)) {
        monitor.process(l, r, &settings(ChannelModeParam::LeftRight));
    }
    let traces: Vec<(Trace, Vec<f32>)> = monitor
        .traces()
        .map(|(trace, levels)| (trace, levels.to_vec()))
        .collect();
    assert_eq!(traces.len(), 2);
    for ((trace, levels), (expected_trace, expected_hz)) in traces
        .iter()
        .zip([(Trace::Left, 1000.0), (Trace::Right, 3000.0)])
    {
        assert_eq!(*trace, expected_trace);
        let (idx, &peak_db) = levels
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap();
        let peak_hz = monitor.freqs_hz()[idx];
        assert!(
            (peak_hz / expected_hz - 1.0).abs() < 0.02,
            "{trace:?} peaks at {peak_hz} Hz"
        );
        assert!(peak_db.abs() < 0.5, "{trace:?} peaks at {peak_db} dB");
    }
}

/// M + S of identical channels: the mid trace carries the tone, the side trace is silent.
#[test]
fn mid_side_of_identical_channels_has_a_silent_side() {
    let tone = sine(1000.0, 0.5, 0.0, 0.5);
    let mut monitor = Monitor::new(RATE).unwrap();
    monitor.process(&tone, &tone, &settings(ChannelModeParam::MidSide));
    let maxima: Vec<(Trace, f32)> = monitor
        .traces()
        .map(|(trace, levels)| (trace, levels.iter().copied().fold(f32::MIN, f32::max)))
        .collect();
    assert_eq!(maxima[0].0, Trace::Mid);
    assert_near("mid peak", maxima[0].1, -6.02, 0.5);
    assert_eq!(maxima[1].0, Trace::Side);
    assert!(maxima[1].1 < -150.0, "side reads {} dB", maxima[1].1);
}

/// BS.1770-4 on a mono track: a 997 Hz sine at −20 dBFS (peak) is one channel of weight 1.0,
/// so it reads −20.0 dB sample peak, −23.0 dBFS RMS and −23.0 LUFS momentary, short-term and
/// integrated (K-weighting is +0.69 dB at 997 Hz, which the −0.691 of the formula cancels).
#[test]
fn mono_997_hz_at_minus_20_dbfs_reads_minus_23_lufs() {
    let tone = sine(997.0, 0.1, 0.0, 5.0);
    let readings = measure(1, &tone, &tone);
    assert_near("sample peak", readings.sample_peak_db[0], -20.0, 0.05);
    assert_near("true peak", readings.true_peak_db[0], -20.0, 0.1);
    assert_near("rms", readings.rms_db[0], -23.01, 0.05);
    assert_near("momentary", readings.momentary_lufs.unwrap(), -23.0, 0.1);
    assert_near("short-term", readings.short_term_lufs.unwrap(), -23.0, 0.1);
    assert_near("integrated", readings.integrated_lufs.unwrap(), -23.0, 0.1);
    assert_eq!(
        readings.correlation, None,
        "a mono track has no correlation"
    );
}

/// EBU Tech 3341 test 1: a stereo 1 kHz sine at −23 dBFS in both channels reads −23.0 LUFS
/// (each channel weighs 1.0, so the pair is 3 dB above one channel), and the identical channels
/// correlate at +1.
#[test]
fn ebu_stereo_sine_at_minus_23_dbfs_reads_minus_23_lufs() {
    let tone = sine(1000.0, 10f64.powf(-23.0 / 20.0), 0.0, 20.0);
    let readings = measure(2, &tone, &tone);
    assert_near("momentary", readings.momentary_lufs.unwrap(), -23.0, 0.1);
    assert_near("short-term", readings.short_term_lufs.unwrap(), -23.0, 0.1);
    assert_near("integrated", readings.integrated_lufs.unwrap(), -23.0, 0.1);
    assert_near("correlation", readings.correlation.unwrap(), 1.0, 1e-3);
}

/// EBU Tech 3341 test 2: the same at −33 dBFS reads −33.0 LUFS; gating keeps the integrated
/// value of a tone with silence around it at the tone's loudness.
#[test]
fn ebu_stereo_sine_at_minus_33_dbfs_reads_minus_33_lufs_through_silence() {
    let mut tone = vec![0.0; RATE as usize * 2];
    tone.extend(sine(1000.0, 10f64.powf(-33.0 / 20.0), 0.0, 20.0));
    tone.extend(vec![0.0; RATE as usize * 2]);
    let readings = measure(2, &tone, &tone);
    assert_near("integrated", readings.integrated_lufs.unwrap(), -33.0, 0.1);
}

/// Correlation: −1 for an inverted copy, about 0 for independent noise, none for silence.
#[test]
fn correlation_reads_inverted_and_independent_channels() {
    let left = noise(1, RATE as usize);
    let inverted: Vec<f32> = left.iter().map(|x| -x).collect();
    assert_near(
        "inverted",
        measure(2, &left, &inverted).correlation.unwrap(),
        -1.0,
        1e-3,
    );
    let other = noise(0xdead_beef, RATE as usize);
    assert_near(
        "independent",
        measure(2, &left, &other).correlation.unwrap(),
        0.0,
        0.05,
    );
    let silence = vec![0.0; 4800];
    assert_eq!(measure(2, &silence, &silence).correlation, None);
}

/// An fs/4 sine at 45° phase samples at ±0.707 of its peak: the true peak (4× oversampled) sees
/// the peak between samples, about 3 dB above the sample peak.
#[test]
fn true_peak_sees_inter_sample_peaks() {
    let tone = sine(f64::from(RATE) / 4.0, 0.5, PI / 4.0, 1.0);
    let readings = measure(2, &tone, &tone);
    let sample_peak = readings.sample_peak_db[0];
    assert_near("sample peak", sample_peak, -9.03, 0.05);
    assert!(
        readings.true_peak_db[0] > sample_peak + 2.5,
        "true peak {} dB, sample peak {sample_peak} dB",
        readings.true_peak_db[0]
    );
    assert_near("true peak", readings.true_peak_db[0], -6.02, 0.3);
}

/// Reset starts the peaks and the integrated loudness afresh.
#[test]
fn reset_forgets_peaks_and_integrated_loudness() {
    let loud = sine(1000.0, 0.5, 0.0, 2.0);
    let quiet = sine(1000.0, 0.05, 0.0, 4.0);
    let mut meters = Meters::new(RATE, 2).unwrap();
    meters.process(&loud, &loud);
    meters.reset();
    meters.process(&quiet, &quiet);
    let readings = meters.readings();
    assert_near("sample peak", readings.sample_peak_db[1], -26.02, 0.05);
    assert_near("integrated", readings.integrated_lufs.unwrap(), -26.02, 0.1);
}
