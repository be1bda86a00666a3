//! Writer thread / CLI: the spectrum table behind `spectrum.csv`.
//!
//! Rows arrive in any order, and a frame recorded twice (a loop in the DAW) must replace its old
//! row. Holding every row in memory would grow with the song (an hour at 24 fps and 256 bins is
//! 88 MB), so rows live in a spill file of fixed-size records at `frame_idx * row_bytes`: writing a
//! row twice overwrites it, and reading the file front to back yields the rows sorted by frame.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{CsvFormat, ExportError, write_atomically};

/// Fixed-size records of `num_bins` little-endian `f32`s, one per frame, plus which were written.
pub struct SpectrumTable {
    /// The spill file; removed when the table is dropped.
    path: PathBuf,
    file: File,
    num_bins: usize,
    /// One flag per frame index: written or not (650 KB for 3 h at 60 fps).
    is_written: Vec<bool>,
    /// Reused encoding buffer for one row.
    row_bytes: Vec<u8>,
}

impl SpectrumTable {
    /// Creates the spill file at `path` (a hidden file inside the output folder).
    pub fn create(path: PathBuf, num_bins: usize) -> Result<Self, ExportError> {
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|source| ExportError::io(&path, source))?;
        Ok(Self {
            path,
            file,
            num_bins,
            is_written: Vec::new(),
            row_bytes: Vec::with_capacity(num_bins * 4),
        })
    }

    pub fn num_rows(&self) -> u64 {
        self.is_written.iter().filter(|&&written| written).count() as u64
    }

    /// The lowest and highest frame index stored, if any.
    pub fn frame_range(&self) -> Option<(u64, u64)> {
        let first = self.is_written.iter().position(|&written| written)?;
        let last = self.is_written.iter().rposition(|&written| written)?;
        Some((first as u64, last as u64))
    }

    /// Stores frame `frame_idx`'s values, replacing any earlier row for that frame.
    pub fn write_row(&mut self, frame_idx: u64, values: &[f32]) -> Result<(), ExportError> {
        debug_assert_eq!(values.len(), self.num_bins);
        self.row_bytes.clear();
        self.row_bytes
            .extend(values.iter().flat_map(|v| v.to_le_bytes()));
        let offset = frame_idx * self.row_bytes.len() as u64;
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.write_all(&self.row_bytes))
            .map_err(|source| ExportError::io(&self.path, source))?;
        let idx = frame_idx as usize;
        if idx >= self.is_written.len() {
            self.is_written.resize(idx + 1, false);
        }
        self.is_written[idx] = true;
        Ok(())
    }

    /// Writes every stored row, sorted by frame, as `path` (through a temporary file and a rename).
    /// `Full` has a header `frame,time_s,<bin centre Hz>…`; `Seed` is the post's bare value rows.
    pub fn write_csv(
        &mut self,
        path: &Path,
        format: CsvFormat,
        bin_freqs_hz: &[f32],
        frame_time_s: impl Fn(u64) -> f64,
    ) -> Result<(), ExportError> {
        self.file
            .flush()
            .map_err(|source| ExportError::io(&self.path, source))?;
        let mut reader = io::BufReader::new(&self.file);
        reader
            .seek(SeekFrom::Start(0))
            .map_err(|source| ExportError::io(&self.path, source))?;
        let mut record = vec![0u8; self.num_bins * 4];
        write_atomically(path, |out| {
            let mut out = BufWriter::new(out);
            if format == CsvFormat::Full {
                write!(out, "frame,time_s")?;
                for freq_hz in bin_freqs_hz {
                    write!(out, ",{freq_hz:.2}")?;
                }
                writeln!(out)?;
            }
            for (frame_idx, &is_written) in self.is_written.iter().enumerate() {
                reader.read_exact(&mut record)?;
                if !is_written {
                    continue;
                }
                if format == CsvFormat::Full {
                    write!(out, "{frame_idx},{:.6},", frame_time_s(frame_idx as u64))?;
                }
                for (i, bytes) in record.chunks_exact(4).enumerate() {
                    let value = f32::from_le_bytes(bytes.try_into().expect("chunks of four bytes"));
                    // `{}` prints the shortest text that reads back as the same f32.
                    write!(out, "{}{value}", if i == 0 { "" } else { "," })?;
                }
                writeln!(out)?;
            }
            out.flush()
        })
    }
}

impl Drop for SpectrumTable {
    fn drop(&mut self) {
        // The spill file is scratch; the CSV written from it is the product.
        let _ = fs::remove_file(&self.path);
    }
}
