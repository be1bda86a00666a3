//! One editor repaint per view at 800×500 logical pixels (scale 1), headless: the UI function
//! inside an egui pass, with a spectrum that changes every repaint as live audio does. Budget:
//! 2 ms each. `cargo bench --bench editor`.

#[path = "../tests/editor_support/mod.rs"]
mod editor_support;

use criterion::{Criterion, criterion_group, criterion_main};
use egui::vec2;
use spectral_diffusion::analysis::Preset;
use spectral_diffusion::editor::guide::unit_bins_from_db;
use spectral_diffusion::editor::{EditorState, GuideFrame, LiveTrace, SpectraIn, Tab};
use spectral_diffusion::handoff::RecorderStatus;
use spectral_diffusion::params::PluginParams;
use spectral_diffusion::params::Trace;

use editor_support::{Headless, direct_gui_context, synthetic_spectrum};

fn repaint(c: &mut Criterion) {
    let params = PluginParams::default();
    let status = RecorderStatus::default();
    let gui_context = direct_gui_context();
    let setter = gui_context.param_setter();
    let (freqs_hz, base_db) = synthetic_spectrum(512);
    for (name, tab) in [
        ("analyzer", Tab::Analyzer),
        ("pie", Tab::Pie),
        ("polar", Tab::Polar),
        ("guide", Tab::Guide),
    ] {
        let mut state = EditorState::default();
        state.tab = tab;
        let mut headless = Headless::new();
        let mut levels_db = base_db.clone();
        let mut guide_values = Vec::new();
        let mut time_s = 0.0;
        c.bench_function(&format!("editor_repaint_{name}_800x500"), |b| {
            b.iter(|| {
                time_s += 1.0 / 60.0;
                for (i, level_db) in levels_db.iter_mut().enumerate() {
                    *level_db = base_db[i] + 6.0 * ((i as f64 * 0.05 + time_s * 7.0).sin() as f32);
                }
                // The guide frame changes with the spectrum, as the live preview's would.
                unit_bins_from_db(&levels_db, 256, -90.0, &mut guide_values);
                let traces = [LiveTrace {
                    trace: Trace::Sum,
                    levels_db: &levels_db,
                }];
                let input = SpectraIn {
                    freqs_hz: &freqs_hz,
                    traces: &traces,
                    meters: None,
                    guide: Some(GuideFrame {
                        frame_idx: (time_s * 24.0) as u64,
                        preset: Preset::Default,
                        values: &guide_values,
                        is_recorded: false,
                    }),
                    live: None,
                };
                headless.run(vec2(800.0, 500.0), 1.0, None, time_s, &mut |ui| {
                    state.ui(ui, &params, &setter, &status, &input);
                })
            });
        });
    }
}

criterion_group!(benches, repaint);
criterion_main!(benches);
