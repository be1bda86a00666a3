//! Spectral Diffusion: audio spectra as guide frames for Stable Diffusion, in a DAW and offline.
//!
//! The layout follows the data (DESIGN.md §2–§3): `analysis` and `clock` are pure and run on any
//! thread, the audio thread included; `render` turns spectra into images; `export` writes them.

pub mod analysis;
pub mod clock;
pub mod editor;
