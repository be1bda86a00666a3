//! The Guide tab's live preview (outside takes) runs the guide's own analysis: with the transport
//! rolling, each frame it publishes holds exactly the values `spectral-diffusion render` computes
//! for that frame (so exactly what a take would record), for both presets and any block size.

mod plugin_host;

use plugin_host::{Rng, reference_frames, song};
use spectral_diffusion::analysis::{AnalysisSettings, Analyzer, Preset, mix_to_mono};
use spectral_diffusion::clock::{FrameClock, FrameRate};
use spectral_diffusion::handoff::{SpectrumInput, SpectrumKind};
use spectral_diffusion::plugin::preview::LivePreview;

const MAX_BLOCK: usize = 1500;

/// Feeds `audio` (mixed to mono) in random blocks, positioned from 0 when `has_position`, and
/// returns every published frame: (index, preset, values).
fn preview_frames(
    audio: &[Vec<f32>],
    settings: &AnalysisSettings,
    has_position: bool,
    seed: u64,
) -> Vec<(i64, Preset, Vec<f32>)> {
    let mono: Vec<f32> = (0..audio[0].len())
        .map(|i| mix_to_mono(audio.iter().map(|c| c[i])))
        .collect();
    let mut analyzer = Analyzer::new(settings, 48_000).unwrap();
    let clock = FrameClock::new(FrameRate::FPS_24, 48_000, analyzer.placement());
    let mut preview = LivePreview::new(clock.max_window_len(), MAX_BLOCK);
    let (mut input, mut output) = SpectrumInput::new();
    let mut rng = Rng(seed);
    let mut frames = Vec::new();
    let mut offset = 0;
    while offset < mono.len() {
        let len = (1 + rng.below(MAX_BLOCK as u64) as usize).min(mono.len() - offset);
        let pos = has_position.then_some(offset as i64);
        let block = &mono[offset..offset + len];
        preview.process_block(block, pos, &mut analyzer, &clock, Some(&mut input));
        if output.has_new() {
            let spectrum = output.read();
            assert_eq!(spectrum.kind, SpectrumKind::GuidePreview);
            frames.push((
                spectrum.frame_idx,
                spectrum.preset,
                spectrum.values().to_vec(),
            ));
        }
        offset += len;
    }
    frames
}

/// Rolling or stopped (a timeline of its own from the first sample), every published frame
/// equals the reference analysis of that frame, bit for bit, and the frames come in order.
#[test]
fn live_preview_frames_equal_the_recorded_frames() {
    let audio = song(48_000, 4.0);
    for settings in [AnalysisSettings::default(), AnalysisSettings::seed()] {
        let expected = reference_frames(&audio, 48_000, &settings, FrameRate::FPS_24);
        for has_position in [true, false] {
            let frames = preview_frames(&audio, &settings, has_position, 11);
            let what = format!("{:?}, position {has_position}", settings.preset);
            // 96 frames in 4 s; the last ones' windows run past the audio and never complete.
            assert!(frames.len() >= 80, "{what}: {} frames", frames.len());
            assert!(
                frames.windows(2).all(|w| w[0].0 < w[1].0),
                "{what}: in order"
            );
            for (frame_idx, preset, values) in &frames {
                assert_eq!(*preset, settings.preset, "{what}");
                let expected = &expected[*frame_idx as usize];
                assert!(
                    values
                        .iter()
                        .zip(expected)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{what}: frame {frame_idx}"
                );
            }
        }
    }
}

/// A jump (a loop, a click on the timeline) restarts the frames at the new position, with silence
/// before it, as a take that starts there records them.
#[test]
fn live_preview_follows_a_jump() {
    let audio = song(48_000, 3.0);
    let settings = AnalysisSettings::default();
    let mono: Vec<f32> = (0..audio[0].len())
        .map(|i| mix_to_mono(audio.iter().map(|c| c[i])))
        .collect();
    let mut analyzer = Analyzer::new(&settings, 48_000).unwrap();
    let clock = FrameClock::new(FrameRate::FPS_24, 48_000, analyzer.placement());
    let mut preview = LivePreview::new(clock.max_window_len(), 512);
    let (mut input, mut output) = SpectrumInput::new();
    // Play 1 s from 2 s on the timeline, then jump back to 0 and play the same audio from there.
    let mut published = Vec::new();
    for (start, timeline) in [(0usize, 96_000i64), (0, 0)] {
        for offset in (start..48_000).step_by(512) {
            let len = 512.min(48_000 - offset);
            let pos = timeline + offset as i64;
            preview.process_block(
                &mono[offset..offset + len],
                Some(pos),
                &mut analyzer,
                &clock,
                Some(&mut input),
            );
            if output.has_new() {
                let spectrum = output.read();
                published.push((spectrum.frame_idx, spectrum.values().to_vec()));
            }
        }
    }
    // After the jump: frames from 0 on, equal to a render of the audio played from 0.
    let expected = reference_frames(
        &[mono[..48_000].to_vec()],
        48_000,
        &settings,
        FrameRate::FPS_24,
    );
    let after_jump: Vec<_> = published.iter().skip_while(|(k, _)| *k >= 48).collect();
    assert!(
        after_jump.len() >= 20,
        "{} frames after the jump",
        after_jump.len()
    );
    assert_eq!(after_jump[0].0, 0);
    for (frame_idx, values) in after_jump {
        assert_eq!(values, &expected[*frame_idx as usize], "frame {frame_idx}");
    }
}
