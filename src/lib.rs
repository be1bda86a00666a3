//! Spectral Diffusion: audio spectra as guide frames for Stable Diffusion, in a DAW and offline.
//!
//! The layout follows the data (DESIGN.md §2–§3): `analysis` and `clock` are pure and run on any
//! thread, the audio thread included; `handoff` carries spectra out of the audio thread; `plugin`
//! is the nice-plug glue; `render` turns spectra into images; `export` writes them.

pub mod analysis;
pub mod audio;
pub mod cli;
pub mod clock;
pub mod diffuse;
pub mod editor;
pub mod export;
pub mod handoff;
pub mod page;
pub mod params;
pub mod pipeline;
pub mod plugin;
pub mod render;
pub mod schedule;
pub mod take;
pub mod video;

nice_plug::nice_export_clap!(plugin::SpectralDiffusion);
nice_plug::nice_export_vst3!(plugin::SpectralDiffusion);
