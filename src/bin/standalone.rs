//! The plugin with its editor as a standalone JACK / ALSA app (nice-plug's standalone wrapper).
//! `--backend dummy` runs without an audio device; `--help` lists the wrapper's options.

fn main() {
    nice_plug::nice_export_standalone::<spectral_diffusion::plugin::SpectralDiffusion>();
}
