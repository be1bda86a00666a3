//! CLI thread: the page layer of an Ogg file, read apart from the demuxer, to find lost pages.
//!
//! symphonia 0.5 skips a page whose checksum fails and reads on past a missing one without a word,
//! and its packets do not carry the page sequence numbers that would show the hole. The decoder
//! (`decode`) counts Ogg samples itself, so a hole would silently pull every later sample
//! earlier. [`scan_pages`] walks the pages once, as the demuxer does (find the capture pattern,
//! check the header and the CRC-32, skip a page that fails), and lists, per logical stream, where
//! sequence numbers are missing ([`PageGap`]) with the granule positions around the hole: what the
//! decoder needs to put silence of the missing length in its place. It also lists each stream's
//! last page ([`StreamEnd`]): symphonia's own search for it stops short after a bad page near the
//! end of the file (its bounded look-ahead counts the bad page's bytes twice).
//!
//! Bounded: one page (at most 65 307 bytes) is held at a time, and at most [`MAX_LISTED`] gaps,
//! as many ends and as many logical streams are kept.

use std::io::{self, Read, Seek, SeekFrom};

use symphonia::core::checksum::Crc32;
use symphonia::core::io::Monitor;

/// Every page starts with these four bytes.
const CAPTURE_PATTERN: [u8; 4] = *b"OggS";

/// The fixed part of a page header, capture pattern included; the segment table follows.
const HEADER_LEN: usize = 27;

/// Where the CRC-32 field lies in the header; it is zeroed when the checksum is computed.
const CRC_FIELD: std::ops::Range<usize> = 22..26;

/// The longest page body: 255 segments of 255 bytes.
const MAX_BODY_LEN: usize = 255 * 255;

/// The most gaps, stream ends and logical streams [`scan_pages`] keeps; a file damaged beyond
/// this is known by its first gaps.
pub const MAX_LISTED: usize = 4096;

/// The granule position of a page on which no packet ends (-1 in the format's two's complement).
const NO_GRANULE: u64 = u64::MAX;

/// The fixed fields of a page header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageHeader {
    /// Bit 0: continues a packet from the page before; bit 1: first page of its stream (BOS);
    /// bit 2: last page of its stream (EOS).
    pub header_type: u8,
    /// The codec's position at the end of the last packet that ends on this page (for Vorbis, the
    /// samples per channel so far); [`NO_GRANULE`] when no packet ends here.
    pub granule_position: u64,
    /// Names the logical stream the page belongs to.
    pub serial: u32,
    /// Counts the stream's pages from 0: a skipped number is a lost page.
    pub sequence: u32,
    /// CRC-32 of the whole page with this field zeroed.
    pub crc: u32,
    /// Entries in the segment table that follows the header.
    pub num_segments: u8,
}

impl PageHeader {
    /// Reads the fixed header; `None` unless it starts with the capture pattern, is version 0 and
    /// sets no undefined header-type bits (what the demuxer accepts).
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Option<Self> {
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let version = bytes[4];
        let header_type = bytes[5];
        if bytes[..4] != CAPTURE_PATTERN || version != 0 || header_type & !0x07 != 0 {
            return None;
        }
        Some(Self {
            header_type,
            granule_position: u64::from_le_bytes(bytes[6..14].try_into().expect("8 bytes")),
            serial: u32_at(14),
            sequence: u32_at(18),
            crc: u32_at(CRC_FIELD.start),
            num_segments: bytes[26],
        })
    }

    /// The first page of a logical stream: its sequence numbers start afresh.
    pub fn is_first_page(&self) -> bool {
        self.header_type & 0x02 != 0
    }

    /// The last page of a logical stream: its granule position states the stream's length.
    pub fn is_last_page(&self) -> bool {
        self.header_type & 0x04 != 0
    }
}

/// The pages of an Ogg file as [`scan_pages`] found them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PageScan {
    /// Where pages are missing, in file order.
    pub gaps: Vec<PageGap>,
    /// Each logical stream's last page that arrived whole, in file order.
    pub ends: Vec<StreamEnd>,
}

/// The last page of a logical stream (marked end of stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamEnd {
    pub serial: u32,
    /// The stream's length in the codec's units (for Vorbis, samples per channel).
    pub granule_position: u64,
}

/// Pages of one logical stream missing between two pages that arrived whole: lost from the file,
/// or skipped by the demuxer for a bad checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageGap {
    /// The logical stream (the demuxer's track id).
    pub serial: u32,
    /// Page sequence numbers skipped.
    pub num_pages: u32,
    /// The granule position of the last page before the gap on which a packet ends (0 if none):
    /// the stream's samples up to the gap.
    pub granule_before: u64,
    /// The granule position of the first page after the gap on which a packet ends, if one
    /// arrived: the lost samples are at most the difference.
    pub granule_after: Option<u64>,
}

/// What one logical stream's pages so far say.
#[derive(Debug, Clone, Copy)]
struct StreamState {
    serial: u32,
    last_sequence: u32,
    last_granule: u64,
    /// The index in the gap list of this stream's newest gap, while it waits for a granule.
    open_gap_idx: Option<usize>,
}

/// Reads every page of `reader` and lists the gaps in each logical stream's page sequence and
/// each stream's last page, in file order. A page whose header is invalid or whose CRC fails is
/// skipped, as the demuxer skips it, and the search for the next page resumes right after its
/// capture pattern (after its header when the header is invalid). A page cut off by the end of
/// the file ends the scan (the decoder reports a cut-off file).
pub fn scan_pages<R: Read + Seek>(mut reader: R) -> io::Result<PageScan> {
    let mut scan = PageScan::default();
    let mut streams: Vec<StreamState> = Vec::new();
    let mut body = vec![0u8; MAX_BODY_LEN];
    let mut segments = [0u8; 255];
    while let Some(sync_pos) = find_capture_pattern(&mut reader)? {
        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(&CAPTURE_PATTERN);
        if !read_all(&mut reader, &mut header[4..])? {
            break;
        }
        let Some(page) = PageHeader::parse(&header) else {
            continue;
        };
        let segments = &mut segments[..usize::from(page.num_segments)];
        if !read_all(&mut reader, segments)? {
            break;
        }
        let body_len = segments.iter().map(|&len| usize::from(len)).sum();
        let body = &mut body[..body_len];
        if !read_all(&mut reader, body)? {
            break;
        }
        if page_crc(&header, segments, body) != page.crc {
            reader.seek(SeekFrom::Start(sync_pos))?;
            continue;
        }
        record_page(&page, &mut streams, &mut scan.gaps);
        if page.is_last_page() && scan.ends.len() < MAX_LISTED {
            scan.ends.push(StreamEnd {
                serial: page.serial,
                granule_position: page.granule_position,
            });
        }
    }
    Ok(scan)
}

/// Updates the stream `page` belongs to, and lists a gap before it if its sequence number skips.
/// Pages of streams beyond the first [`MAX_LISTED`] are not followed.
fn record_page(page: &PageHeader, streams: &mut Vec<StreamState>, gaps: &mut Vec<PageGap>) {
    let fresh = StreamState {
        serial: page.serial,
        last_sequence: page.sequence,
        last_granule: 0,
        open_gap_idx: None,
    };
    let stream_idx = match streams.iter().position(|s| s.serial == page.serial) {
        Some(idx) if !page.is_first_page() => idx,
        // A chained link may reuse a serial: its first page starts the count again.
        Some(idx) => {
            streams[idx] = fresh;
            idx
        }
        None if streams.len() < MAX_LISTED => {
            streams.push(fresh);
            streams.len() - 1
        }
        None => return,
    };
    let stream = &mut streams[stream_idx];
    // A number at or behind the last one (a page repeated, or a stream's first page) wraps to
    // far ahead and loses nothing.
    let num_skipped = page
        .sequence
        .wrapping_sub(stream.last_sequence.wrapping_add(1));
    if num_skipped > 0 && num_skipped < u32::MAX / 2 && gaps.len() < MAX_LISTED {
        stream.open_gap_idx = Some(gaps.len());
        gaps.push(PageGap {
            serial: page.serial,
            num_pages: num_skipped,
            granule_before: stream.last_granule,
            granule_after: None,
        });
    }
    stream.last_sequence = page.sequence;
    if page.granule_position != NO_GRANULE {
        stream.last_granule = page.granule_position;
        if let Some(gap_idx) = stream.open_gap_idx.take() {
            gaps[gap_idx].granule_after = Some(page.granule_position);
        }
    }
}

/// The CRC-32 of a page (polynomial 0x04c11db7, initial value 0, no reflection) with its CRC
/// field taken as zero.
fn page_crc(header: &[u8; HEADER_LEN], segments: &[u8], body: &[u8]) -> u32 {
    let mut zeroed = *header;
    zeroed[CRC_FIELD].fill(0);
    let mut crc = Crc32::new(0);
    crc.process_buf_bytes(&zeroed);
    crc.process_buf_bytes(segments);
    crc.process_buf_bytes(body);
    crc.crc()
}

/// Reads up to and including the next capture pattern; returns the position right after it,
/// `None` at the end of the file.
fn find_capture_pattern<R: Read + Seek>(reader: &mut R) -> io::Result<Option<u64>> {
    let mut window = [0u8; 4];
    let mut num_read = 0usize;
    let mut byte = [0u8; 1];
    loop {
        if !read_all(reader, &mut byte)? {
            return Ok(None);
        }
        window.rotate_left(1);
        window[3] = byte[0];
        num_read += 1;
        if num_read >= 4 && window == CAPTURE_PATTERN {
            return reader.stream_position().map(Some);
        }
    }
}

/// Fills `buf`; `false` if the file ends first.
fn read_all<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<bool> {
    match reader.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of `serial` with sequence number `sequence`, granule position `granule` and a body
    /// of `body_len` bytes, its CRC set.
    fn page(serial: u32, sequence: u32, granule: u64, body_len: usize, header_type: u8) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&CAPTURE_PATTERN);
        bytes.extend_from_slice(&[0, header_type]);
        bytes.extend_from_slice(&granule.to_le_bytes());
        bytes.extend_from_slice(&serial.to_le_bytes());
        bytes.extend_from_slice(&sequence.to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        let num_full = body_len / 255;
        bytes.push((num_full + 1) as u8);
        bytes.extend(std::iter::repeat_n(255, num_full));
        bytes.push((body_len % 255) as u8);
        bytes.extend((0..body_len).map(|n| (n * 7) as u8));
        let header: [u8; HEADER_LEN] = bytes[..HEADER_LEN].try_into().unwrap();
        let crc = page_crc(
            &header,
            &bytes[HEADER_LEN..HEADER_LEN + num_full + 1],
            &bytes[HEADER_LEN + num_full + 1..],
        );
        bytes[CRC_FIELD].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    fn scan(bytes: &[u8]) -> Vec<PageGap> {
        scan_pages(io::Cursor::new(bytes)).unwrap().gaps
    }

    /// The pages of a file libogg wrote (through ffmpeg) pass our checksum: with one of its
    /// four pages taken out, the pages around the hole are read and the hole is found.
    #[test]
    fn libogg_pages_pass_the_checksum() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tones.ogg");
        let bytes = std::fs::read(path).unwrap();
        let mut pages = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            let num_segments = usize::from(bytes[pos + 26]);
            let table = &bytes[pos + HEADER_LEN..pos + HEADER_LEN + num_segments];
            let len =
                HEADER_LEN + num_segments + table.iter().map(|&s| usize::from(s)).sum::<usize>();
            pages.push(&bytes[pos..pos + len]);
            pos += len;
        }
        assert_eq!(pages.len(), 4);
        assert_eq!(scan(&bytes), []);
        let granule = |page: &[u8]| u64::from_le_bytes(page[6..14].try_into().unwrap());
        let without_third = [pages[0], pages[1], pages[3]].concat();
        let gaps = scan(&without_third);
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert_eq!(gaps[0].num_pages, 1);
        assert_eq!(gaps[0].granule_before, granule(pages[1]));
        assert_eq!(gaps[0].granule_after, Some(granule(pages[3])));
    }

    #[test]
    fn whole_streams_have_no_gaps() {
        let mut bytes = page(1, 0, 0, 40, 0x02);
        bytes.extend(page(2, 0, 0, 40, 0x02));
        for sequence in 1..6 {
            bytes.extend(page(1, sequence, u64::from(sequence) * 1000, 300, 0));
            bytes.extend(page(2, sequence, NO_GRANULE, 600, 1));
        }
        // A chained link may reuse a serial: its first page starts the count again.
        bytes.extend(page(1, 0, 0, 40, 0x02));
        bytes.extend(page(1, 1, 500, 40, 0x04));
        let scan = scan_pages(io::Cursor::new(&bytes)).unwrap();
        assert_eq!(scan.gaps, []);
        let end = StreamEnd {
            serial: 1,
            granule_position: 500,
        };
        assert_eq!(scan.ends, [end]);
    }

    /// A page taken out and a page with one byte changed both leave a gap, with the granule
    /// positions of the pages around it.
    #[test]
    fn lost_and_corrupt_pages_are_gaps() {
        let pages: Vec<Vec<u8>> = (0..8)
            .map(|sequence| page(9, sequence, u64::from(sequence) * 1000, 500, 0))
            .collect();
        let mut lost = pages.clone();
        lost.remove(3);
        let expected = PageGap {
            serial: 9,
            num_pages: 1,
            granule_before: 2000,
            granule_after: Some(4000),
        };
        assert_eq!(scan(&lost.concat()), [expected]);

        let mut corrupt = pages.clone();
        corrupt[5][HEADER_LEN + 100] ^= 0x10;
        let gap = PageGap {
            granule_before: 4000,
            granule_after: Some(6000),
            ..expected
        };
        assert_eq!(scan(&corrupt.concat()), [gap]);

        // Junk between pages is skipped; a cut-off last page ends the scan without a gap.
        let mut bytes = pages[..4].concat();
        bytes.extend_from_slice(b"junk OggS junk");
        bytes.extend_from_slice(&pages[4]);
        bytes.extend_from_slice(&pages[5][..100]);
        assert_eq!(scan(&bytes), []);
    }

    /// A gap whose next pages end no packet waits for the first granule position after it.
    #[test]
    fn granule_after_comes_from_the_first_page_that_has_one() {
        let mut bytes = page(3, 0, 100, 50, 0);
        bytes.extend(page(3, 2, NO_GRANULE, 50, 0));
        bytes.extend(page(3, 3, 900, 50, 1));
        let gaps = scan(&bytes);
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].granule_before, 100);
        assert_eq!(gaps[0].granule_after, Some(900));
    }
}
