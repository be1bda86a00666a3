//! The `seed` preset keeps the post's look, pixel for pixel: `render --preset seed` of the seed
//! fixture draws exactly the frames that the CLI drew before the guide look was tuned (commit
//! 3046b14, `tests/fixtures/post_look/`, 128 px). The tuned defaults belong to the `default`
//! preset only.

#[allow(dead_code, unused_imports)]
mod common;

use std::path::Path;

use common::{cli, path_arg};

/// Decoded pixels and their layout, so a change of PNG encoder settings alone cannot fail this.
fn pixels(path: &Path) -> (u32, u32, image::ColorType, Vec<u8>) {
    let image = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (
        image.width(),
        image.height(),
        image.color(),
        image.into_bytes(),
    )
}

#[test]
fn seed_preset_draws_the_posts_frames_unchanged() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let input = root.join("tests/fixtures/seed_input.wav");
    let cases: [(&str, &[&str]); 4] = [
        ("pie", &[]),
        ("pie-full", &["--pie", "full"]),
        ("polar-post", &["--view", "polar", "--palette", "post"]),
        ("bars", &["--view", "bars"]),
    ];
    for (name, options) in cases {
        let out = tempfile::tempdir().unwrap();
        let mut args = vec![
            "render",
            path_arg(&input),
            "--out",
            path_arg(out.path()),
            "--preset",
            "seed",
            "--size",
            "128",
            "--quiet",
        ];
        args.extend_from_slice(options);
        let output = cli(&args);
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        for frame in ["000000", "000012", "000023"] {
            let expected = root.join(format!("tests/fixtures/post_look/{name}-{frame}.png"));
            let actual = out.path().join(format!("frames/{frame}.png"));
            assert!(
                pixels(&actual) == pixels(&expected),
                "{name}: frame {frame} differs from the post's look"
            );
        }
    }
}
