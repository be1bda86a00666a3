//! The guide preview is the writer's frame: the texture the editor shows holds exactly the bytes
//! `render::Renderer` produces for the same bins and `params.render_settings()`, the settings the
//! plugin's writer thread renders with.

mod editor_support;

use egui::{Color32, vec2};
use spectral_diffusion::editor::guide::to_color_image;
use spectral_diffusion::editor::{EditorState, SpectraIn, Tab};
use spectral_diffusion::handoff::RecorderStatus;
use spectral_diffusion::plugin::params::PluginParams;
use spectral_diffusion::render::{ColorType, Renderer};

use editor_support::{Headless, direct_gui_context, synthetic_spectrum};

/// Runs the editor on the guide tab and returns the shown texture's pixels and the expected
/// frame rendered independently from the bins the editor says it used.
fn preview_and_expected(
    params: &PluginParams,
    recorded: Option<(u64, &[f32])>,
) -> (Vec<Color32>, Vec<Color32>, ColorType) {
    let (freqs_hz, levels_db) = synthetic_spectrum(512);
    let input = SpectraIn {
        freqs_hz: &freqs_hz,
        levels_db: Some(&levels_db),
        recorded,
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
    let shown = textures[0].pixels.clone();

    let (frame_idx, bins) = state.guide_bins();
    let mut renderer = Renderer::new(&params.render_settings()).unwrap();
    let image = renderer.render(frame_idx, bins);
    (shown, to_color_image(image).pixels, image.color)
}

/// With the live input, the preview equals a fresh Renderer's frame for the same bins (RGB path).
#[test]
fn guide_preview_equals_renderer_bytes() {
    let params = PluginParams::default();
    let gui_context = direct_gui_context();
    gui_context
        .param_setter()
        .set_parameter(&params.desaturate, false);
    let (shown, expected, color) = preview_and_expected(&params, None);
    assert_eq!(color, ColorType::Rgb);
    assert!(shown == expected, "preview differs from the rendered frame");
}

/// While a take rolls the preview shows the recorder's own frame, index included (per-frame noise
/// depends on it), through the grey post chain.
#[test]
fn guide_preview_of_a_recorded_frame_equals_renderer_bytes() {
    let params = PluginParams::default();
    let gui_context = direct_gui_context();
    let setter = gui_context.param_setter();
    for param in [
        &params.desaturate,
        &params.noise_per_frame,
        &params.autocontrast,
    ] {
        setter.set_parameter(param, true);
    }
    assert!(params.desaturate.value());
    let recorded: Vec<f32> = (0..256).map(|i| (i as f32 / 255.0).powi(2)).collect();
    let (shown, expected, color) = preview_and_expected(&params, Some((77, &recorded)));
    assert_eq!(color, ColorType::Grey);
    assert!(shown == expected, "preview differs from the rendered frame");
}
