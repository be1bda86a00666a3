//! `spectral-diffusion`: the offline renderer. Everything lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    spectral_diffusion::cli::main()
}
