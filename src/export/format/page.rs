//! CLI thread: the preview page, `index.html` (DESIGN.md §12), as a file: its name and the mark
//! that tells our page from a user's own `index.html`, which is never overwritten or removed.
//! What the page holds is made by `crate::page`.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::{FormatError, write_atomically};

pub const PAGE_NAME: &str = "index.html";
/// The line that marks an `index.html` as our preview page; the template carries it in its head.
pub const PAGE_MARK: &str = r#"<meta name="generator" content="spectral-diffusion preview page">"#;
/// How far into a page the mark is looked for: the head of ours is far shorter.
const MARK_WITHIN_BYTES: u64 = 4096;

/// `<dir>/index.html`.
pub fn page_path(dir: &Path) -> PathBuf {
    dir.join(PAGE_NAME)
}

/// Whether `<dir>/index.html` is a preview page of ours (false when missing or unreadable).
/// Reads only its head: a page holds an hour of spectra.
pub fn is_our_page(dir: &Path) -> bool {
    let mut head = String::new();
    File::open(page_path(dir))
        .and_then(|file| file.take(MARK_WITHIN_BYTES).read_to_string(&mut head))
        .is_ok_and(|_| head.contains(PAGE_MARK))
}

/// Writes `html`, a page carrying [`PAGE_MARK`], as `<dir>/index.html`.
pub fn write_page(dir: &Path, html: &str) -> Result<(), FormatError> {
    debug_assert!(html.contains(PAGE_MARK));
    write_atomically(&page_path(dir), |file| file.write_all(html.as_bytes()))
}
