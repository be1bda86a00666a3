//! Writer thread / CLI: the spectrum table behind `spectrum.csv`, and the spill file of
//! fixed-size rows it shares with the session tables (`capture`).
//!
//! Rows arrive in any order, and a frame recorded twice (a loop in the DAW) must replace its old
//! row. Holding every row in memory would grow with the song (an hour at 24 fps and 256 bins is
//! 88 MB), so rows live in a spill file of fixed-size records at `frame_idx * row_bytes`: writing a
//! row twice overwrites it, and reading the file front to back yields the rows sorted by frame.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::format::spectrum;
use super::{CsvFormat, ExportError, write_atomically};

/// A spill file of fixed-size records, one per frame at `frame_idx * record_len`, plus which
/// frames were written. Writing a frame twice overwrites its record; reading the file front to
/// back yields the records sorted by frame.
pub struct RowFile {
    /// The spill file; removed when the rows are dropped.
    path: PathBuf,
    file: File,
    record_len: usize,
    /// One flag per frame index: written or not (650 KB for 3 h at 60 fps).
    is_written: Vec<bool>,
}

impl RowFile {
    /// Creates the spill file at `path` (a hidden file inside the output folder).
    pub fn create(path: PathBuf, record_len: usize) -> Result<Self, ExportError> {
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
            record_len,
            is_written: Vec::new(),
        })
    }

    pub fn num_rows(&self) -> u64 {
        self.is_written.iter().filter(|&&written| written).count() as u64
    }

    pub fn is_written(&self, frame_idx: u64) -> bool {
        usize::try_from(frame_idx)
            .ok()
            .and_then(|idx| self.is_written.get(idx))
            .is_some_and(|&written| written)
    }

    /// One past the highest frame index ever written.
    pub fn end_frame(&self) -> u64 {
        self.is_written.len() as u64
    }

    /// The stored frames as inclusive `[first, last]` runs, ascending.
    pub fn frame_ranges(&self) -> Vec<[u64; 2]> {
        let mut ranges: Vec<[u64; 2]> = Vec::new();
        for (idx, _) in self.is_written.iter().enumerate().filter(|(_, w)| **w) {
            let idx = idx as u64;
            match ranges.last_mut() {
                Some(range) if range[1] + 1 == idx => range[1] = idx,
                _ => ranges.push([idx, idx]),
            }
        }
        ranges
    }

    /// Drops frame `frame_idx`'s record.
    pub fn forget_row(&mut self, frame_idx: u64) {
        if let Some(written) = self.is_written.get_mut(frame_idx as usize) {
            *written = false;
        }
    }

    /// Stores frame `frame_idx`'s record (`record_len` bytes), replacing any earlier one.
    pub fn write_row(&mut self, frame_idx: u64, record: &[u8]) -> Result<(), ExportError> {
        debug_assert_eq!(record.len(), self.record_len);
        let offset = frame_idx * self.record_len as u64;
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.write_all(record))
            .map_err(|source| ExportError::io(&self.path, source))?;
        let idx = frame_idx as usize;
        if idx >= self.is_written.len() {
            self.is_written.resize(idx + 1, false);
        }
        self.is_written[idx] = true;
        Ok(())
    }

    /// Reads frame `frame_idx`'s record into `record` (resized to `record_len`); `false` when
    /// the frame has none.
    pub fn read_row(&mut self, frame_idx: u64, record: &mut Vec<u8>) -> Result<bool, ExportError> {
        if !self.is_written(frame_idx) {
            return Ok(false);
        }
        record.resize(self.record_len, 0);
        self.file
            .seek(SeekFrom::Start(frame_idx * self.record_len as u64))
            .and_then(|_| self.file.read_exact(record))
            .map_err(|source| ExportError::io(&self.path, source))?;
        Ok(true)
    }

    /// Calls `f` with every frame index below `end_frame`, ascending, and its record if written.
    pub fn for_each_slot(
        &mut self,
        end_frame: u64,
        mut f: impl FnMut(u64, Option<&[u8]>) -> io::Result<()>,
    ) -> io::Result<()> {
        self.file.flush()?;
        let mut reader = io::BufReader::new(&self.file);
        reader.seek(SeekFrom::Start(0))?;
        let mut record = vec![0u8; self.record_len];
        for frame_idx in 0..end_frame {
            let is_written = match self.is_written.get(frame_idx as usize) {
                Some(&is_written) => {
                    reader.read_exact(&mut record)?;
                    is_written
                }
                None => false,
            };
            f(frame_idx, is_written.then_some(&record[..]))?;
        }
        Ok(())
    }
}

impl Drop for RowFile {
    fn drop(&mut self) {
        // The spill file is scratch; the CSV written from it is the product.
        let _ = fs::remove_file(&self.path);
    }
}

/// Rows of `num_bins` little-endian `f32`s, one per frame.
pub struct SpectrumTable {
    rows: RowFile,
    num_bins: usize,
    /// Reused encoding buffer for one row.
    row_bytes: Vec<u8>,
}

impl SpectrumTable {
    /// Creates the spill file at `path` (a hidden file inside the output folder).
    pub fn create(path: PathBuf, num_bins: usize) -> Result<Self, ExportError> {
        Ok(Self {
            rows: RowFile::create(path, num_bins * 4)?,
            num_bins,
            row_bytes: Vec::with_capacity(num_bins * 4),
        })
    }

    pub fn num_rows(&self) -> u64 {
        self.rows.num_rows()
    }

    pub fn is_written(&self, frame_idx: u64) -> bool {
        self.rows.is_written(frame_idx)
    }

    /// One past the highest frame index ever written.
    pub fn end_frame(&self) -> u64 {
        self.rows.end_frame()
    }

    /// The stored frames as inclusive `[first, last]` runs, ascending.
    pub fn frame_ranges(&self) -> Vec<[u64; 2]> {
        self.rows.frame_ranges()
    }

    /// Drops frame `frame_idx`'s row (its PNG went missing); the CSV will no longer list it.
    pub fn forget_row(&mut self, frame_idx: u64) {
        self.rows.forget_row(frame_idx);
    }
    /// Stores the rows of an existing `spectrum.csv` (written by [`Self::write_csv`]), which lists
    /// the frames `listed`. The values are ryu's shortest round-trip text, so they read back as
    /// the same `f32`s.
    pub fn load_csv(
        &mut self,
        path: &Path,
        format: CsvFormat,
        listed: &[u64],
    ) -> Result<(), ExportError> {
        let num_bins = self.num_bins;
        spectrum::for_each_row(
            path,
            format,
            num_bins,
            listed.iter().copied(),
            |frame_idx, values| self.write_row(frame_idx, values),
        )
    }

    /// Stores frame `frame_idx`'s values, replacing any earlier row for that frame.
    pub fn write_row(&mut self, frame_idx: u64, values: &[f32]) -> Result<(), ExportError> {
        debug_assert_eq!(values.len(), self.num_bins);
        self.row_bytes.clear();
        self.row_bytes
            .extend(values.iter().flat_map(|v| v.to_le_bytes()));
        self.rows.write_row(frame_idx, &self.row_bytes)
    }

    /// Writes every stored row, sorted by frame, as `path` (through a temporary file and a rename).
    pub fn write_csv(
        &mut self,
        path: &Path,
        format: CsvFormat,
        bin_freqs_hz: &[f32],
        frame_time_s: impl Fn(u64) -> f64,
    ) -> Result<(), ExportError> {
        let mut float_text = ryu::Buffer::new();
        let end_frame = self.rows.end_frame();
        let rows = &mut self.rows;
        Ok(write_atomically(path, |out| {
            let mut out = BufWriter::new(out);
            spectrum::write_header(&mut out, format, bin_freqs_hz)?;
            rows.for_each_slot(end_frame, |frame_idx, record| {
                let Some(record) = record else {
                    return Ok(());
                };
                let values = record
                    .chunks_exact(4)
                    .map(|bytes| f32::from_le_bytes(bytes.try_into().expect("four bytes")));
                let time_s = frame_time_s(frame_idx);
                spectrum::write_row(&mut out, format, frame_idx, time_s, values, &mut float_text)
            })?;
            out.flush()
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_of(table: &mut SpectrumTable, dir: &Path, format: CsvFormat) -> String {
        let path = dir.join("spectrum.csv");
        table
            .write_csv(&path, format, &[100.0, 1000.0], |frame_idx| {
                frame_idx as f64 / 24.0
            })
            .unwrap();
        fs::read_to_string(path).unwrap()
    }

    /// Rows come out sorted by frame, and a frame written twice keeps only its last values.
    #[test]
    fn rows_are_sorted_and_last_write_wins() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = SpectrumTable::create(dir.path().join(".bins"), 2).unwrap();
        table.write_row(2, &[0.5, 0.25]).unwrap();
        table.write_row(0, &[1.0, 0.0]).unwrap();
        table.write_row(2, &[0.125, 1.5]).unwrap();
        assert_eq!(table.num_rows(), 2);
        assert_eq!(table.frame_ranges(), [[0, 0], [2, 2]]);
        assert_eq!(
            csv_of(&mut table, dir.path(), CsvFormat::Full),
            "frame,time_s,100.00,1000.00\n0,0.000000,1.0,0.0\n2,0.083333,0.125,1.5\n"
        );
        assert_eq!(
            csv_of(&mut table, dir.path(), CsvFormat::Seed),
            "1.0,0.0\n0.125,1.5\n"
        );
    }

    /// Values survive the CSV exactly: the shortest text that parses back the same.
    #[test]
    fn values_round_trip_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let values = [0.1f32, 1.0 / 3.0, 12_345.679, 1e-7, f32::MIN_POSITIVE];
        let mut table = SpectrumTable::create(dir.path().join(".bins"), values.len()).unwrap();
        table.write_row(0, &values).unwrap();
        let path = dir.path().join("seed.csv");
        table
            .write_csv(&path, CsvFormat::Seed, &[0.0; 5], |_| 0.0)
            .unwrap();
        let parsed: Vec<f32> = fs::read_to_string(path)
            .unwrap()
            .trim()
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(parsed, values);
    }

    /// The spill file is scratch: it disappears with the table.
    #[test]
    fn spill_file_is_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let spill = dir.path().join(".bins");
        drop(SpectrumTable::create(spill.clone(), 4).unwrap());
        assert!(!spill.exists());
    }
}
