//! GUI thread: the egui editor. Live analyzer, pie, polar and guide views, the recorder panel and
//! the guide-frame settings. Only this module and its children import egui.

pub mod analyzer_view;
pub mod axis;
pub mod smoothing;
