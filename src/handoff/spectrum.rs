//! Audio thread → GUI thread: the guide's latest spectrum, over a triple buffer. The audio thread
//! overwrites every field of its buffer, then publishes; the GUI reads the newest one whenever it
//! repaints. A generation counter says "new or not" without comparing bins.

use crate::analysis::{MAX_BINS, Preset};

/// The most bins a published spectrum carries; the buffers are this long from the start, so
/// publishing never allocates.
pub const MAX_SPECTRUM_BINS: usize = MAX_BINS;

/// What a published spectrum's `values` mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpectrumKind {
    /// Nothing published yet.
    #[default]
    Empty,
    /// The recorder's last frame, exactly the values the writer receives for `frame_idx`
    /// (`Default` preset: 0..1; `Seed` preset: the post's raw `|rfft|` amplitudes; `preset` says
    /// which, and so how the writer maps them to 0..1).
    Guide,
    /// Outside takes: the recorder's analysis of the live input, the values it would queue for
    /// `frame_idx` (as `Guide`), see `plugin::preview`.
    GuidePreview,
}

/// One published spectrum. Only the first `num_bins` entries of each vector are valid; the vectors
/// keep their [`MAX_SPECTRUM_BINS`] length so that publishing never reallocates.
#[derive(Debug, Clone)]
pub struct Spectrum {
    /// Counts publications, starting at 1; written by the audio thread. The GUI compares it with
    /// the last one it drew.
    pub generation: u64,
    /// What `values` holds; written by the audio thread.
    pub kind: SpectrumKind,
    /// `Guide` and `GuidePreview`: the analysis preset the values come from; written by the audio
    /// thread, read by the editor to map them to 0..1 as the writer does.
    pub preset: Preset,
    /// The sample rate the analysis ran at, in Hz.
    pub sample_rate_hz: f32,
    /// The timeline frame index these values belong to.
    pub frame_idx: i64,
    /// How many entries of `values` and `freqs_hz` are valid.
    pub num_bins: usize,
    /// One value per bin (see [`SpectrumKind`]).
    pub values: Vec<f32>,
    /// Each bin's centre frequency in Hz (log-spaced).
    pub freqs_hz: Vec<f32>,
}

impl Default for Spectrum {
    fn default() -> Self {
        Self {
            generation: 0,
            kind: SpectrumKind::Empty,
            preset: Preset::Default,
            sample_rate_hz: 0.0,
            frame_idx: -1,
            num_bins: 0,
            values: vec![0.0; MAX_SPECTRUM_BINS],
            freqs_hz: vec![0.0; MAX_SPECTRUM_BINS],
        }
    }
}

impl Spectrum {
    pub fn values(&self) -> &[f32] {
        &self.values[..self.num_bins]
    }

    pub fn freqs_hz(&self) -> &[f32] {
        &self.freqs_hz[..self.num_bins]
    }
}

/// Audio thread end of the latest-spectrum hand-off.
pub struct SpectrumInput {
    input: triple_buffer::Input<Spectrum>,
    generation: u64,
}

/// GUI thread end of the latest-spectrum hand-off.
pub struct SpectrumOutput {
    output: triple_buffer::Output<Spectrum>,
}

impl SpectrumInput {
    /// Makes both ends. Allocates three spectra of [`MAX_SPECTRUM_BINS`] bins.
    pub fn new() -> (SpectrumInput, SpectrumOutput) {
        let (input, output) = triple_buffer::TripleBuffer::new(&Spectrum::default()).split();
        (
            SpectrumInput {
                input,
                generation: 0,
            },
            SpectrumOutput { output },
        )
    }

    /// Fills the back buffer with `fill` (which must overwrite every valid field) and publishes it.
    /// Never allocates as long as `fill` keeps `num_bins <= MAX_SPECTRUM_BINS`.
    pub fn publish(&mut self, fill: impl FnOnce(&mut Spectrum)) {
        self.generation += 1;
        let buffer = self.input.input_buffer_mut();
        fill(buffer);
        debug_assert!(buffer.num_bins <= MAX_SPECTRUM_BINS);
        buffer.generation = self.generation;
        self.input.publish();
    }
}

impl SpectrumOutput {
    /// The newest published spectrum (`generation == 0` until the first publication).
    pub fn read(&mut self) -> &Spectrum {
        self.output.read()
    }

    /// Whether something was published since the last [`SpectrumOutput::read`].
    pub fn has_new(&self) -> bool {
        self.output.updated()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generation counts publications so the GUI sees "new or not".
    #[test]
    fn spectrum_generation_counts_publications() {
        let (mut input, mut output) = SpectrumInput::new();
        assert_eq!(output.read().generation, 0);
        input.publish(|s| {
            s.num_bins = 2;
            s.values[..2].copy_from_slice(&[1.0, 2.0]);
        });
        assert!(output.has_new());
        let spectrum = output.read();
        assert_eq!(spectrum.generation, 1);
        assert_eq!(spectrum.values(), &[1.0, 2.0]);
    }
}
