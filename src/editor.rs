//! GUI thread: the egui editor. Live analyzer with its meter strip, pie, polar and guide views, the
//! recorder panel, the guide-frame settings and Live (img2img of the guide on a Stable Diffusion
//! server, `live_panel`). Only this module and its children import egui.
//!
//! Each repaint drains the raw samples the audio thread's tap copied since the last one (never
//! waiting on it), runs the live analyzer and the meters over them, reads the guide's newest frame
//! from its triple buffer, and asks for the next repaint at the display rate. The audio thread
//! feeds the tap only while `params.editor_state.is_open()`.

pub mod analyzer_view;
pub mod axis;
pub mod guide;
pub mod live_panel;
pub mod meter_strip;
pub mod meters;
pub mod monitor;
pub mod panels;
pub mod session_view;
pub mod smoothing;

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Panel, RichText, ScrollArea, Ui, Vec2};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::ParamSetter;
use nice_plug_egui::{EguiEditor, EguiNiceSettings, NiceEguiApp, RepaintNotifier, baseview};

use crate::analysis::{Preset, unit_values};
use crate::diffuse::live::LiveStatus;
use crate::handoff::{
    EditorData, RecorderStatus, SpectrumKind, SpectrumOutput, TapOutput, TapStream, WriterControl,
};
use crate::params::{GUIDE_BINS, PluginParams, Trace};
use crate::render::{NoiseSettings, PieShape, PostChain, RenderSettings, View as RenderView};

use analyzer_view::{AnalyzerViewModel, ReferenceView, TraceView, analyzer_view};
use axis::{DbAxis, FreqAxis};
use guide::{RenderedView, unit_bins_from_db};
use live_panel::{LiveGuide, LiveLink, PictureView};
use meters::{MeterReadings, Meters};
use monitor::{Monitor, MonitorSettings};
use panels::ViewSettings;
use session_view::SessionListing;
use smoothing::PeakHold;

/// The smallest editor, in logical pixels: the side panel plus a usable plot.
pub const MIN_SIZE: [f32; 2] = [720.0, 460.0];
/// Width of the settings panel, in logical pixels.
const SIDE_PANEL_WIDTH: f32 = 290.0;
/// How often the live views repaint while the editor is open.
const REPAINT_INTERVAL: Duration = Duration::from_millis(16);
/// The side of the live pie and polar images, in pixels.
const LIVE_IMAGE_SIZE: u32 = 512;

pub type PluginEditor = EguiEditor<EditorApp>;

/// Makes the editor over the plugin's parameters and the GUI ends of its hand-offs.
pub fn create(params: Arc<PluginParams>, data: EditorData) -> Option<PluginEditor> {
    let [min_width, min_height] = MIN_SIZE;
    let settings = EguiNiceSettings::new()
        .with_tile("Spectral Diffusion")
        .with_resize_hint(
            nice_plug::editor::ResizeHint::resizable().with_min_logical_size(
                nice_plug::editor::dpi::LogicalSize::new(min_width, min_height),
            ),
        );
    nice_plug_egui::create_egui_editor(
        params.editor_state.clone(),
        RepaintNotifier::new(),
        settings,
        EditorApp::new(params, data),
    )
}

/// The four views of the central area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Analyzer,
    Pie,
    Polar,
    /// The guide frame: the one the recorder writes, or would write next.
    Guide,
    /// The guide beside the picture a Stable Diffusion server drew of it.
    Live,
}

/// The side panel's sections; one is open at a time, so every control fits the default window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Section {
    #[default]
    Recorder,
    Analyzer,
    Guide,
    Live,
}

/// The editor's state: the GUI ends of the hand-offs and what it keeps between repaints.
pub struct EditorApp {
    params: Arc<PluginParams>,
    /// The raw input samples, drained every repaint.
    tap: TapOutput,
    /// The stream the analysis below was made for; a new activation restarts it.
    stream: Option<TapStream>,
    /// The live analyzer and the meters, made for the tap's stream.
    monitor: Option<Monitor>,
    meters: Option<Meters>,
    /// The samples of one repaint, reused.
    left: Vec<f32>,
    right: Vec<f32>,
    /// The guide's frames: the recorder's during a take, the live preview's otherwise.
    guide_spectrum: SpectrumOutput,
    status: Arc<RecorderStatus>,
    writer: WriterControl,
    /// The host's context, from `build`; needed to set parameters.
    gui_context: Option<GuiContext>,
    /// When `state.session` was last read from disk.
    session_read_at: Option<Instant>,
    /// The Live loop, while Live is on and the editor open.
    live: LiveLink,
    state: EditorState,
}

/// Everything the UI function needs besides the host context; split out so that tests and the
/// benchmark drive it headlessly.
#[derive(Default)]
pub struct EditorState {
    pub tab: Tab,
    pub view: ViewSettings,
    /// The open section of the side panel (`None`: all closed).
    pub section: Option<Section>,
    /// One peak hold per trace.
    peak_holds: [PeakHold; 2],
    /// The input's time of the previous repaint, for the peak fall.
    last_time_s: Option<f64>,
    /// A copy of the newest spectrum, kept while frozen or when nothing new arrived: the band
    /// frequencies and each trace's levels.
    freqs_hz: Vec<f32>,
    traces: Vec<(Trace, Vec<f32>)>,
    /// The captured reference curve (band frequencies, levels), drawn dimmed.
    reference: Option<(Vec<f32>, Vec<f32>)>,
    /// The newest meter readings.
    meters: Option<MeterReadings>,
    /// The live pie and polar views' values, 0..1, reduced from the live spectrum.
    unit_bins: Vec<f32>,
    /// The guide's newest frame mapped to 0..1 as the writer maps it, its index, and whether
    /// the recorder queued it; `None` until one arrives.
    guide_unit_bins: Vec<f32>,
    guide_frame: Option<(u64, bool)>,
    guide_view: RenderedView,
    /// The guide at Live's smaller size, when one is chosen.
    live_guide_view: RenderedView,
    /// The newest picture Live drew.
    live_picture: PictureView,
    pie_view: RenderedView,
    polar_view: RenderedView,
    /// The folder text field's buffer, read from the parameters on the first repaint.
    folder_text: Option<String>,
    /// The session the recorder writes into, as its `session.json` was last read (by the
    /// editor, at most once a second while the recorder section is open); `None`: not read.
    pub session: Option<SessionListing>,
    /// The program Reveal opens folders with, `None` (Reveal greyed out) where there is none.
    pub file_opener: Option<&'static std::path::Path>,
    /// The size last written to `params.editor_size`.
    saved_size: [u32; 2],
    /// The saved size to ask the window for on the first repaint (commands sent before a pass
    /// are dropped).
    pending_size: Option<Vec2>,
}

impl EditorApp {
    pub fn new(params: Arc<PluginParams>, data: EditorData) -> Self {
        Self {
            params,
            tap: data.tap,
            stream: None,
            monitor: None,
            meters: None,
            left: Vec::new(),
            right: Vec::new(),
            guide_spectrum: data.guide,
            status: data.status,
            writer: data.writer,
            gui_context: None,
            session_read_at: None,
            live: LiveLink::default(),
            state: EditorState {
                section: Some(Section::Recorder),
                file_opener: panels::file_opener(),
                ..EditorState::default()
            },
        }
    }

    /// Drains the tap and runs the meters and (unless frozen) the live analyzer over what came.
    fn process_tap(&mut self) {
        let stream = self.tap.stream();
        if self.stream != Some(stream) {
            self.stream = Some(stream);
            let rate = stream.sample_rate_hz;
            self.monitor = Monitor::new(rate).ok();
            self.meters = Meters::new(rate, stream.num_channels as usize).ok();
        }
        self.left.clear();
        self.right.clear();
        self.tap.drain_into(&mut self.left, &mut self.right);
        if let Some(meters) = &mut self.meters {
            meters.process(&self.left, &self.right);
        }
        let params = &self.params;
        if let Some(monitor) = &mut self.monitor
            && !params.freeze.value()
        {
            let settings = MonitorSettings {
                fft_size: params.fft_size.value(),
                hop_fraction: params.overlap.value().hop_fraction(),
                window: params.window.value(),
                channel_mode: params.channel_mode.value(),
                slope_db_per_octave: params.slope.value().db_per_octave(),
                decay_ms: params.decay_ms.value(),
            };
            monitor.process(&self.left, &self.right, &settings);
        }
    }
}

impl NiceEguiApp for EditorApp {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        gui_context: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), baseview::HandlerError> {
        self.gui_context = Some(gui_context);
        self.state.folder_text = None;
        // The window opens at the state's default size; ask for the size saved with the project.
        let [width, height] = self
            .params
            .editor_size
            .read()
            .map(|size| *size)
            .unwrap_or([0, 0]);
        self.state.saved_size = [width, height];
        self.state.pending_size = (width as f32 >= MIN_SIZE[0] && height as f32 >= MIN_SIZE[1])
            .then(|| Vec2::new(width as f32, height as f32));
        Ok(())
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut nice_plug_egui::Frame) {
        self.process_tap();
        let Some(gui_context) = &self.gui_context else {
            return;
        };
        let setter = gui_context.param_setter();
        let guide = self.guide_spectrum.read();
        let is_guide = matches!(guide.kind, SpectrumKind::Guide | SpectrumKind::GuidePreview);
        let monitor = self.monitor.as_ref().filter(|m| m.has_levels());
        let traces: Vec<LiveTrace<'_>> = monitor
            .into_iter()
            .flat_map(Monitor::traces)
            .map(|(trace, levels_db)| LiveTrace { trace, levels_db })
            .collect();
        let input = SpectraIn {
            live: self.live.status(),
            freqs_hz: monitor.map_or(&[], Monitor::freqs_hz),
            traces: &traces,
            meters: self.meters.as_ref().map(Meters::readings),
            guide: u64::try_from(guide.frame_idx)
                .ok()
                .filter(|_| is_guide)
                .map(|frame_idx| GuideFrame {
                    frame_idx,
                    preset: guide.preset,
                    values: guide.values(),
                    is_recorded: guide.kind == SpectrumKind::Guide,
                }),
        };
        if self.state.section == Some(Section::Recorder)
            && self
                .session_read_at
                .is_none_or(|at| at.elapsed() >= session_view::READ_INTERVAL)
        {
            // The session is the folder above this instance's lane.
            let out_dir = self.params.out_dir();
            let root = out_dir.parent().unwrap_or(&out_dir);
            self.state.session = Some(SessionListing::read(root));
            self.session_read_at = Some(Instant::now());
        }
        let actions = self
            .state
            .ui(ui, &self.params, &setter, &self.status, &input);
        self.live
            .update(&self.params, self.state.live_guide(&self.params));
        if actions.clear_folder {
            self.writer.clear_folder();
        }
        if actions.reset_meters
            && let Some(meters) = &mut self.meters
        {
            meters.reset();
        }
        ui.ctx().request_repaint_after(REPAINT_INTERVAL);
    }

    fn resized(&mut self, new_size: baseview::WindowSize) {
        let size = [
            new_size.logical.width.round() as u32,
            new_size.logical.height.round() as u32,
        ];
        if size != self.state.saved_size
            && let Ok(mut saved) = self.params.editor_size.write()
        {
            *saved = size;
            self.state.saved_size = size;
        }
    }

    fn editor_closed(&mut self) {
        self.live.close();
    }

    fn track_info_changed(&mut self, info: nice_plug::prelude::TrackInfo) {
        if let Ok(mut track_name) = self.params.track_name.write() {
            info.name().clone_into(&mut track_name);
            self.params
                .folder_generation
                .fetch_add(1, std::sync::atomic::Ordering::Release);
        }
    }
}

/// One repaint's input from the hand-offs.
pub struct SpectraIn<'a> {
    /// Band centre frequencies of the live spectrum, in Hz.
    pub freqs_hz: &'a [f32],
    /// The live traces in dB (one, or two for L + R and M + S), empty until the analyzer has
    /// levels.
    pub traces: &'a [LiveTrace<'a>],
    /// The meter strip's readings, `None` until the tap's stream is known.
    pub meters: Option<MeterReadings>,
    /// The guide's newest frame, `None` until the audio thread has published one.
    pub guide: Option<GuideFrame<'a>>,
    /// The Live loop's newest status, `None` while Live is off.
    pub live: Option<&'a LiveStatus>,
}

/// One live trace: which mix, and its level per band in dB.
#[derive(Debug, Clone, Copy)]
pub struct LiveTrace<'a> {
    pub trace: Trace,
    pub levels_db: &'a [f32],
}

/// One guide frame as the audio thread published it (`handoff::SpectrumKind::Guide` or
/// `GuidePreview`).
#[derive(Debug, Clone, Copy)]
pub struct GuideFrame<'a> {
    /// The timeline frame index (per-frame noise depends on it).
    pub frame_idx: u64,
    /// The preset the values come from: how they map to 0..1, exactly as the writer maps them.
    pub preset: Preset,
    /// The analyzer's values, as the writer receives them.
    pub values: &'a [f32],
    /// Whether the recorder queued this frame (a take rolls) rather than previewed live input.
    pub is_recorded: bool,
}

/// What the user asked for in one repaint, beyond parameter changes.
#[derive(Debug, Default)]
pub struct EditorActions {
    /// "Clear" in the recorder panel.
    pub clear_folder: bool,
    /// "Reset" in the meter strip.
    pub reset_meters: bool,
}

impl EditorState {
    /// The whole editor for one repaint.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        params: &PluginParams,
        setter: &ParamSetter,
        status: &RecorderStatus,
        input: &SpectraIn<'_>,
    ) -> EditorActions {
        let mut actions = EditorActions::default();
        if let Some(size) = self.pending_size.take() {
            ui.ctx()
                .send_viewport_cmd(egui::ViewportCommand::InnerSize(size));
        }
        self.update_spectrum(ui.input(|i| i.time), params, input);

        Panel::top("tabs").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.tab, Tab::Analyzer, "Analyzer");
                ui.selectable_value(&mut self.tab, Tab::Pie, "Pie");
                ui.selectable_value(&mut self.tab, Tab::Polar, "Polar");
                ui.selectable_value(&mut self.tab, Tab::Guide, "Guide");
                ui.selectable_value(&mut self.tab, Tab::Live, "Live");
                ui.separator();
                ui.label(RichText::new("Spectral Diffusion").strong());
            });
        });
        Panel::right("settings")
            .exact_size(SIDE_PANEL_WIDTH)
            .resizable(false)
            .show(ui, |ui| {
                ScrollArea::vertical().show(ui, |ui| {
                    if self.section_header(ui, Section::Recorder, "Recorder") {
                        let folder_text = self
                            .folder_text
                            .get_or_insert_with(|| read_lock(&params.output_folder));
                        actions.clear_folder = panels::recorder_panel(
                            ui,
                            params,
                            setter,
                            status,
                            folder_text,
                            self.file_opener,
                        );
                        if let Some(listing) = &self.session {
                            let instance_id = params.folder_fields().instance_id();
                            session_view::session_lanes(ui, listing, &instance_id);
                        }
                    }
                    if self.section_header(ui, Section::Analyzer, "Analyzer") {
                        panels::analyzer_controls(ui, params, setter, &mut self.view);
                    }
                    if self.section_header(ui, Section::Guide, "Guide frame") {
                        panels::guide_settings(ui, params, setter);
                    }
                    if self.section_header(ui, Section::Live, "Live") {
                        live_panel::live_settings(ui, params, input.live);
                    }
                });
            });
        self.update_live(ui.ctx(), params, input.live);
        egui::CentralPanel::default().show(ui, |ui| {
            actions.reset_meters = self.central_view(ui, params, setter, input);
        });
        actions
    }

    /// While Live is on: renders the guide it sends (at its size), and uploads a new picture.
    fn update_live(
        &mut self,
        ctx: &egui::Context,
        params: &PluginParams,
        live: Option<&LiveStatus>,
    ) {
        self.live_picture.update(ctx, live);
        let Some(side_px) = live_side_px(params) else {
            return;
        };
        let Some((frame_idx, _)) = self.guide_frame else {
            return;
        };
        let settings = RenderSettings {
            size: side_px,
            ..params.render_settings()
        };
        let (view, name) = self.live_guide_source(params);
        let view = match view {
            LiveGuideSource::Guide => &mut self.guide_view,
            LiveGuideSource::Smaller => &mut self.live_guide_view,
        };
        view.update(ctx, name, &settings, frame_idx, &self.guide_unit_bins);
    }

    /// Which view renders Live's guide: the guide preview's own at the guide's size, so the
    /// request carries the preview's very bytes.
    fn live_guide_source(&self, params: &PluginParams) -> (LiveGuideSource, &'static str) {
        if live_side_px(params) == Some(params.image_size.value() as u32) {
            (LiveGuideSource::Guide, "guide")
        } else {
            (LiveGuideSource::Smaller, "live-guide")
        }
    }

    /// The guide Live sends after this repaint, while it is on and there is one.
    pub fn live_guide(&self, params: &PluginParams) -> Option<LiveGuide<'_>> {
        live_side_px(params)?;
        let view = match self.live_guide_source(params).0 {
            LiveGuideSource::Guide => &self.guide_view,
            LiveGuideSource::Smaller => &self.live_guide_view,
        };
        let (image, frame_idx, num_renders) = view.image()?;
        Some(LiveGuide {
            image,
            frame_idx,
            num_renders,
        })
    }

    /// A section's header; clicking it opens that section and closes the others (or closes it,
    /// if open). Returns whether the section is open.
    fn section_header(&mut self, ui: &mut Ui, section: Section, title: &str) -> bool {
        let is_open = self.section == Some(section);
        let response = egui::CollapsingHeader::new(RichText::new(title).strong())
            .id_salt(title)
            .open(Some(is_open))
            .show_unindented(ui, |_| ());
        if response.header_response.clicked() {
            self.section = (!is_open).then_some(section);
        }
        self.section == Some(section)
    }

    /// Copies the newest live spectrum (unless frozen), runs the peak hold, reduces it for the
    /// live pie and polar views, and maps the guide's newest frame to 0..1 as the writer does.
    fn update_spectrum(&mut self, time_s: f64, params: &PluginParams, input: &SpectraIn<'_>) {
        let dt_s = self.last_time_s.map_or(0.0, |last| (time_s - last) as f32);
        self.last_time_s = Some(time_s);
        if !input.traces.is_empty() && !params.freeze.value() {
            self.freqs_hz.clear();
            self.freqs_hz.extend_from_slice(input.freqs_hz);
            self.traces
                .resize_with(input.traces.len(), || (Trace::Sum, Vec::new()));
            for ((trace, levels_db), live) in self.traces.iter_mut().zip(input.traces) {
                *trace = live.trace;
                levels_db.clear();
                levels_db.extend_from_slice(live.levels_db);
            }
            for (hold, live) in self.peak_holds.iter_mut().zip(input.traces) {
                hold.update(
                    live.levels_db,
                    dt_s,
                    self.view.peak_hold_s,
                    params.peak_fall_db_per_s.value(),
                );
            }
        }
        self.meters = input.meters;
        let first_levels = self.traces.first().map_or(&[][..], |(_, levels)| levels);
        unit_bins_from_db(
            first_levels,
            GUIDE_BINS,
            params.floor_db.value(),
            &mut self.unit_bins,
        );
        if let Some(frame) = input.guide {
            self.guide_unit_bins.resize(frame.values.len(), 0.0);
            unit_values(frame.preset, frame.values, &mut self.guide_unit_bins);
            self.guide_frame = Some((frame.frame_idx, frame.is_recorded));
        }
    }

    /// The analyzer's toolbar: channel mode, style, freeze, and the reference trace.
    fn analyzer_toolbar(&mut self, ui: &mut Ui, params: &PluginParams, setter: &ParamSetter) {
        ui.horizontal_wrapped(|ui| {
            panels::param_combo(ui, setter, &params.channel_mode);
            ui.separator();
            panels::style_buttons(ui, &mut self.view.style);
            ui.separator();
            panels::param_toggle(ui, setter, &params.freeze);
            ui.separator();
            let first = self.traces.first().filter(|(_, levels)| !levels.is_empty());
            if ui
                .add_enabled(first.is_some(), egui::Button::new("Capture"))
                .on_hover_text("Keep the first trace's current average as a dimmed reference")
                .clicked()
                && let Some((_, levels)) = first
            {
                self.reference = Some((self.freqs_hz.clone(), levels.clone()));
            }
            if ui
                .add_enabled(self.reference.is_some(), egui::Button::new("Clear"))
                .on_hover_text("Remove the reference curve")
                .clicked()
            {
                self.reference = None;
            }
        });
    }
    /// The tab's view; returns whether the meter strip's Reset was clicked.
    fn central_view(
        &mut self,
        ui: &mut Ui,
        params: &PluginParams,
        setter: &ParamSetter,
        input: &SpectraIn<'_>,
    ) -> bool {
        let meters = input.meters;
        match self.tab {
            Tab::Analyzer => {
                self.analyzer_toolbar(ui, params, setter);
                let traces: Vec<TraceView<'_>> = self
                    .traces
                    .iter()
                    .zip(&self.peak_holds)
                    .map(|((trace, levels_db), hold)| TraceView {
                        name: trace.name(),
                        levels_db,
                        peak_db: if params.peak_hold.value() {
                            hold.peaks_db()
                        } else {
                            &[]
                        },
                    })
                    .collect();
                let model = AnalyzerViewModel {
                    freqs_hz: &self.freqs_hz,
                    traces: &traces,
                    reference: self
                        .reference
                        .as_ref()
                        .map(|(freqs_hz, levels_db)| ReferenceView {
                            freqs_hz,
                            levels_db,
                        }),
                    freq_axis: FreqAxis {
                        min_hz: params.min_freq_hz.value(),
                        max_hz: params
                            .max_freq_hz
                            .value()
                            .max(params.min_freq_hz.value() * 2.0),
                    },
                    db_axis: DbAxis {
                        min_db: params.min_db.value(),
                        max_db: params.max_db.value().max(params.min_db.value() + 6.0),
                    },
                    style: self.view.style,
                };
                let plot_size = ui.available_size() - Vec2::new(0.0, meter_strip::HEIGHT);
                ui.allocate_ui(plot_size, |ui| analyzer_view(ui, &model));
                meter_strip::meter_strip(ui, meters.as_ref())
            }
            Tab::Pie | Tab::Polar => {
                let (view, name) = if self.tab == Tab::Pie {
                    (&mut self.pie_view, "pie")
                } else {
                    (&mut self.polar_view, "polar")
                };
                let settings = live_render_settings(self.tab, params);
                view.update(ui.ctx(), name, &settings, 0, &self.unit_bins);
                view.show(ui);
                false
            }
            Tab::Guide => {
                let Some((frame_idx, is_recorded)) = self.guide_frame else {
                    ui.label("Waiting for audio: the guide frame appears once input arrives.");
                    return false;
                };
                self.update_guide_view(ui.ctx(), params, frame_idx);
                let source = if is_recorded {
                    format!("frame {frame_idx} as written")
                } else {
                    format!("live input: frame {frame_idx} as a take would write it")
                };
                ui.label(RichText::new(source).small().weak());
                self.guide_view.show(ui);
                false
            }
            Tab::Live => {
                self.live_tab(ui, params, input.live);
                false
            }
        }
    }

    /// Draws guide frame `frame_idx` from the newest bins with the current look.
    fn update_guide_view(&mut self, ctx: &egui::Context, params: &PluginParams, frame_idx: u64) {
        let settings = params.render_settings();
        self.guide_view
            .update(ctx, "guide", &settings, frame_idx, &self.guide_unit_bins);
    }

    /// The guide Live sends beside the newest picture, the numbers below.
    fn live_tab(&mut self, ui: &mut Ui, params: &PluginParams, live: Option<&LiveStatus>) {
        let available = ui.available_size();
        let side = ((available.x - 12.0) / 2.0)
            .min(available.y - 64.0)
            .max(16.0);
        // With Live off, the guide preview as the Guide tab shows it.
        if live.is_none()
            && let Some((frame_idx, _)) = self.guide_frame
        {
            self.update_guide_view(ui.ctx(), params, frame_idx);
        }
        ui.horizontal(|ui| {
            let guide = match self.live_guide_source(params).0 {
                LiveGuideSource::Smaller if live.is_some() => &self.live_guide_view,
                _ => &self.guide_view,
            };
            ui.allocate_ui(Vec2::splat(side), |ui| guide.show(ui));
            self.live_picture.show(ui, side, live);
        });
        match live {
            Some(status) => live_panel::status_lines(ui, status),
            None => {
                ui.label(
                    RichText::new("Turn Live on in the Live section to draw the guide on a Stable Diffusion server.")
                        .small()
                        .weak(),
                );
            }
        }
    }
}

/// Which rendered view Live's guide comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LiveGuideSource {
    /// The guide preview's own (Live at the guide's size).
    Guide,
    /// A view at Live's smaller size.
    Smaller,
}

/// Live's guide side in pixels while Live is on; `None` while it is off.
fn live_side_px(params: &PluginParams) -> Option<u32> {
    let settings = params.live.read().ok()?;
    settings
        .is_on
        .then(|| settings.size.side_px(params.image_size.value() as u32))
}

/// The live pie and polar views: the guide's drawing on a flat ground (black in the post's look,
/// mid-grey in the guide look), in colour, without the post chain, so the spectrum's shape reads
/// clearly while mixing.
fn live_render_settings(tab: Tab, params: &PluginParams) -> RenderSettings {
    let guide = params.render_settings();
    RenderSettings {
        view: if tab == Tab::Polar {
            RenderView::Polar
        } else {
            RenderView::Pie
        },
        pie_shape: if tab == Tab::Pie {
            guide.pie_shape
        } else {
            PieShape::Half
        },
        size: LIVE_IMAGE_SIZE,
        noise: NoiseSettings {
            amount: 0.0,
            ..NoiseSettings::default()
        },
        post: PostChain {
            blur_sigma: 0.0,
            desaturate: false,
            invert: false,
            autocontrast: false,
            autocontrast_cutoff_percent: 0.0,
            equalize: false,
        },
        ..guide
    }
}

fn read_lock(lock: &std::sync::RwLock<String>) -> String {
    lock.read().map(|s| s.clone()).unwrap_or_default()
}
