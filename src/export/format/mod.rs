//! Any thread: the files of an output folder (DESIGN.md §7, §12–14), one module per file, each
//! with its one typed reader and writer. No other module names a file of the folder or parses one.

pub mod folder;
