//! GUI thread: the session this instance records into (DESIGN.md §13), as the recorder panel
//! lists it: every lane registered in `session.json`, its frames and frame range, this
//! instance's lane highlighted. The file is read as it is, never under its lock (the writers
//! replace it whole), and at most once per [`READ_INTERVAL`], so a repaint never waits on disk
//! or on another instance.

use std::path::{Path, PathBuf};
use std::time::Duration;

use egui::{Color32, Grid, RichText, Ui};

use crate::export::format::session::{self, SessionIndex};

use super::panels::ERROR_RED;

/// How often the editor reads `session.json` again.
pub const READ_INTERVAL: Duration = Duration::from_secs(1);
/// This instance's lane in the list.
const OWN_LANE_COLOR: Color32 = Color32::from_rgb(120, 200, 255);

/// The session folder and what its `session.json` held when last read.
#[derive(Debug, Clone)]
pub struct SessionListing {
    pub root: PathBuf,
    pub contents: SessionContents,
}

#[derive(Debug, Clone)]
pub enum SessionContents {
    /// No `session.json` yet: no take has ended in this folder.
    NoIndex,
    Index(SessionIndex),
    /// The file cannot be read or is not ours; one line.
    Error(String),
}

impl SessionListing {
    /// Reads `<root>/session.json` as it is now.
    pub fn read(root: &Path) -> Self {
        let contents = match session::read_session(root) {
            Ok(None) => SessionContents::NoIndex,
            Ok(Some(index)) => SessionContents::Index(index),
            Err(error) => SessionContents::Error(error.to_string()),
        };
        Self {
            root: root.to_owned(),
            contents,
        }
    }
}

/// The session's lanes under the recorder's status: name, frames, frame range; the lane of the
/// instance `instance_id` in its own colour.
pub fn session_lanes(ui: &mut Ui, listing: &SessionListing, instance_id: &str) {
    ui.add_space(6.0);
    let fps = match &listing.contents {
        SessionContents::Index(index) => format!(" at {} fps", index.fps),
        _ => String::new(),
    };
    ui.label(RichText::new(format!("Session{fps}")).strong())
        .on_hover_text(format!(
            "{}: every instance recording into this folder lists its lane here",
            listing.root.join(session::SESSION_NAME).display()
        ));
    let index = match &listing.contents {
        SessionContents::NoIndex => {
            ui.label(
                RichText::new("No session.json yet: a take lists this instance's lane")
                    .small()
                    .weak(),
            );
            return;
        }
        SessionContents::Error(error) => {
            ui.label(RichText::new(error).small().color(ERROR_RED));
            return;
        }
        SessionContents::Index(index) => index,
    };
    if index.lanes.is_empty() {
        ui.label(
            RichText::new("No lanes: every lane was cleared")
                .small()
                .weak(),
        );
        return;
    }
    Grid::new("session-lanes")
        .num_columns(3)
        .spacing([12.0, 2.0])
        .striped(true)
        .show(ui, |ui| {
            for heading in ["Lane", "Frames", "Range"] {
                ui.label(RichText::new(heading).small().weak());
            }
            ui.end_row();
            for lane in &index.lanes {
                let is_own = lane.instance_id == instance_id;
                let name = RichText::new(&lane.name);
                let response = ui.label(if is_own {
                    name.strong().color(OWN_LANE_COLOR)
                } else {
                    name
                });
                let track = if lane.track.is_empty() {
                    "no track name".to_owned()
                } else {
                    format!("track {}", lane.track)
                };
                let whose = if is_own {
                    "this instance"
                } else {
                    "another instance"
                };
                response.on_hover_text(format!("{track}; written by {whose}"));
                ui.monospace(lane.frames_written.to_string());
                let range = match (lane.first_frame, lane.last_frame) {
                    (Some(first), Some(last)) => format!("{first}–{last}"),
                    _ => "–".to_owned(),
                };
                ui.monospace(range);
                ui.end_row();
            }
        });
}
