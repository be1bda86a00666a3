//! The guide preview is the written frame. A take is recorded through a real CLAP host; for the
//! bins the recorder produced for frame `k` (read back from its `spectrum.csv`), the editor's Guide
//! tab shows exactly the pixels of the PNG the writer wrote for frame `k`. Both presets: the `seed`
//! preset's values are raw amplitudes that the editor must map to 0..1 as the writer does.

mod editor_support;
mod fake_servers;
mod plugin_host;

use std::path::{Path, PathBuf};

use egui::{Color32, ColorImage, vec2};
use serde_json::json;
use spectral_diffusion::diffuse::BackendKind;
use spectral_diffusion::diffuse::live::LiveSettings;
use spectral_diffusion::editor::live_panel::LiveLink;
use spectral_diffusion::editor::{EditorState, GuideFrame, SpectraIn, Tab};
use spectral_diffusion::handoff::RecorderStatus;
use spectral_diffusion::params::{PluginParams, PresetParam, ViewParam};

use editor_support::{Headless, direct_gui_context};
use fake_servers::{CHECKPOINT, comfy, start_a1111, start_comfy};
use plugin_host::{TestPlugin, Transport, read_csv, song};

const TRACK: &str = "guide";

/// One case: the preset and the look, set alike in the plugin (state JSON) and the editor.
struct Case {
    preset: PresetParam,
    preset_id: &'static str,
    view: ViewParam,
    view_id: &'static str,
    desaturate: bool,
}

/// Records 2 s offline with images (noise per frame, so the frame index matters) and returns the
/// take's folder.
fn record_take(folder: &Path, case: &Case) -> PathBuf {
    let mut plugin = TestPlugin::new();
    plugin.arm_into(folder, TRACK);
    plugin.configure(
        &[
            ("write-images", json!({"bool": true})),
            ("image-size", json!({"i32": 96})),
            ("preset", json!({"string": case.preset_id})),
            ("view", json!({"string": case.view_id})),
            ("desaturate", json!({"bool": case.desaturate})),
            ("noise-per-frame", json!({"bool": true})),
        ],
        &[],
    );
    plugin.set_offline(true);
    plugin.activate(48_000.0, 1024, 2);
    let audio = song(48_000, 2.0);
    plugin.play(&audio, &mut || 1024, &mut |pos| {
        Transport::playing_at(pos as i64)
    });
    let silence = [vec![0.0f32; 16], vec![0.0f32; 16]];
    for _ in 0..2 {
        plugin.process(&[&silence[0], &silence[1]], Transport::stopped_at(96_000));
    }
    plugin.deactivate();
    folder.join(TRACK)
}

fn editor_params(case: &Case) -> PluginParams {
    let params = PluginParams::default();
    let gui_context = direct_gui_context();
    let setter = gui_context.param_setter();
    setter.set_parameter(&params.image_size, 96);
    setter.set_parameter(&params.preset, case.preset);
    setter.set_parameter(&params.view, case.view);
    setter.set_parameter(&params.desaturate, case.desaturate);
    setter.set_parameter(&params.noise_per_frame, true);
    params
}

/// The texture the Guide tab uploads for `frame`.
fn shown_preview(params: &PluginParams, frame: GuideFrame<'_>) -> ColorImage {
    let input = SpectraIn {
        freqs_hz: &[],
        traces: &[],
        meters: None,
        guide: Some(frame),
        live: None,
    };
    let status = RecorderStatus::default();
    let gui_context = direct_gui_context();
    let setter = gui_context.param_setter();
    let mut state = EditorState::default();
    state.tab = Tab::Guide;
    let mut headless = Headless::new();
    headless.run(vec2(900.0, 600.0), 1.0, None, 0.0, &mut |ui| {
        state.ui(ui, params, &setter, &status, &input);
    });
    let textures = headless.user_textures();
    assert_eq!(textures.len(), 1, "the guide tab uploads one image");
    textures[0].clone()
}

/// A PNG the writer wrote, decoded independently of the renderer.
fn decode_png(path: &Path) -> ColorImage {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let size = [info.width as usize, info.height as usize];
    match info.color_type {
        png::ColorType::Grayscale => ColorImage::from_gray(size, &pixels[..info.buffer_size()]),
        png::ColorType::Rgb => ColorImage::from_rgb(size, &pixels[..info.buffer_size()]),
        other => panic!("unexpected PNG colour type {other:?}"),
    }
}

/// For frames the recorder produced, in both presets, grey and colour, the preview's pixels are
/// the written PNG's.
#[test]
fn guide_preview_equals_the_written_frame() {
    let cases = [
        Case {
            preset: PresetParam::Default,
            preset_id: "default",
            view: ViewParam::Pie,
            view_id: "pie",
            desaturate: false,
        },
        Case {
            preset: PresetParam::Seed,
            preset_id: "seed",
            view: ViewParam::Polar,
            view_id: "polar",
            desaturate: true,
        },
    ];
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = record_take(dir.path(), case);
        let (_, rows) = read_csv(&out_dir.join("spectrum.csv"));
        assert_eq!(rows.len(), 48, "{}: 2 s at 24 fps", case.preset_id);
        let params = editor_params(case);
        for frame_idx in [0u64, 17, 47] {
            let (row_idx, values) = &rows[frame_idx as usize];
            assert_eq!(*row_idx, frame_idx);
            if case.preset == PresetParam::Seed {
                // Raw amplitudes: shown as 0..1 they would saturate.
                assert!(values.iter().any(|&v| v > 1.0), "seed values are raw");
            }
            let shown = shown_preview(
                &params,
                GuideFrame {
                    frame_idx,
                    preset: case.preset.preset(),
                    values,
                    is_recorded: true,
                },
            );
            let written = decode_png(&out_dir.join(format!("frames/{frame_idx:06}.png")));
            assert_eq!(shown.size, written.size);
            let num_different = shown
                .pixels
                .iter()
                .zip(&written.pixels)
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(
                num_different, 0,
                "{} frame {frame_idx}: preview differs from the PNG",
                case.preset_id
            );
            assert!(
                shown.pixels.iter().any(|&p| p != Color32::BLACK),
                "not blank"
            );
        }
    }
}

/// Live sends the guide as the writer wrote it: each request carries the very bytes of
/// `frames/%06d.png`, as ComfyUI's upload and as A1111's base64 init image.
#[test]
fn live_sends_the_written_frames_bytes() {
    let case = Case {
        preset: PresetParam::Default,
        preset_id: "default",
        view: ViewParam::Pie,
        view_id: "pie",
        desaturate: false,
    };
    let dir = tempfile::tempdir().unwrap();
    let out_dir = record_take(dir.path(), &case);
    let (_, rows) = read_csv(&out_dir.join("spectrum.csv"));
    let servers = [
        (BackendKind::Comfyui, start_comfy(comfy(0))),
        (
            BackendKind::A1111,
            start_a1111(None, std::time::Duration::ZERO),
        ),
    ];
    for (backend, server) in &servers {
        let params = editor_params(&case);
        *params.live.write().unwrap() = LiveSettings {
            is_on: true,
            backend: *backend,
            servers: server.url.clone(),
            checkpoint: CHECKPOINT.to_owned(),
            ..LiveSettings::default()
        };
        let status = RecorderStatus::default();
        let gui_context = direct_gui_context();
        let setter = gui_context.param_setter();
        let mut state = EditorState::default();
        state.tab = Tab::Live;
        let mut headless = Headless::new();
        let mut link = LiveLink::default();
        for frame_idx in [17u64, 47] {
            let num_before = server.guides_received().len();
            let input = SpectraIn {
                freqs_hz: &[],
                traces: &[],
                meters: None,
                guide: Some(GuideFrame {
                    frame_idx,
                    preset: case.preset.preset(),
                    values: &rows[frame_idx as usize].1,
                    is_recorded: true,
                }),
                live: None,
            };
            headless.run(vec2(900.0, 600.0), 1.0, None, 0.0, &mut |ui| {
                state.ui(ui, &params, &setter, &status, &input);
            });
            link.update(&params, state.live_guide(&params));
            let start = std::time::Instant::now();
            while server.guides_received().len() == num_before {
                assert!(start.elapsed().as_secs() < 20, "{backend:?}: nothing sent");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let written =
                std::fs::read(out_dir.join(format!("frames/{frame_idx:06}.png"))).unwrap();
            assert!(
                server.guides_received().last() == Some(&written),
                "{backend:?} frame {frame_idx}: the request is not the written PNG"
            );
        }
    }
}
