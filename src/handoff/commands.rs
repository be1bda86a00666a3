//! Main and GUI threads → writer thread: commands that are no audio, over a `crossbeam-channel`
//! (its blocking paths may lock, so the audio thread never touches it).

use std::thread::Thread;

use crossbeam_channel::{Receiver, Sender};

/// What the main thread or the GUI tells the writer thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriterCommand {
    /// The plugin format the host loaded, for the manifest.
    SetHost(String),
    /// Empty the instance's folder of our files (the recorder panel's "Clear").
    ClearFolder,
}

/// The sending end: a handle for the main thread and the GUI. Cheap to clone.
#[derive(Clone)]
pub struct WriterControl {
    commands: Sender<WriterCommand>,
    /// The thread to wake; `None` when the writer thread could not be started.
    writer: Option<Thread>,
}

impl WriterControl {
    /// Makes both ends; the receiver goes to the writer thread, which `writer` names once it
    /// runs ([`WriterControl::set_writer`]).
    pub fn new() -> (WriterControl, Receiver<WriterCommand>) {
        let (commands, receiver) = crossbeam_channel::unbounded();
        (
            WriterControl {
                commands,
                writer: None,
            },
            receiver,
        )
    }

    /// The writer thread that receives the commands; without one, they go nowhere.
    pub fn set_writer(&mut self, writer: Option<Thread>) {
        self.writer = writer;
    }

    /// Empties the instance's folder of our frames, CSV and manifest, keeping every other file.
    /// Ignored during a take; the result shows as the recorder's folder notice.
    pub fn clear_folder(&self) {
        self.send(WriterCommand::ClearFolder);
    }

    /// Records the host's plugin format for the manifests of later takes.
    pub fn set_host(&self, host: &str) {
        self.send(WriterCommand::SetHost(host.to_owned()));
    }

    fn send(&self, command: WriterCommand) {
        if let Some(writer) = &self.writer {
            // A writer that has gone: then nothing is listening.
            let _ = self.commands.send(command);
            writer.unpark();
        }
    }
}
