//! CLI thread: streams an audio file (WAV, FLAC, MP3, Ogg Vorbis) as mono samples, packet by
//! packet.
//!
//! [`FileSource`] holds one decoded packet at a time, so memory stays flat however long the file.
//! Channels are mixed with [`mix_to_mono`], the function the plugin uses, so a render of a file and
//! a bounce of the same audio feed the analyzer bit-identical samples. Integer samples become `f32`
//! exactly (`i16 / 32768`, `i24 / 2^23`); float samples pass through untouched, NaN included (the
//! analyzer sanitizes them).
//!
//! The samples are the reference decoders' samples (`oggdec`, `flac -d`, `mpg123`): symphonia's
//! gapless mode trims what the format says to trim, through the packets' `trim_start`/`trim_end`
//! (an MP3's encoder delay and padding from its LAME/Xing header; an Ogg Vorbis stream's end by
//! granule position), and the decoders cut them from their output. The trims symphonia 0.5 leaves
//! out of an Ogg Vorbis stream, libvorbis's start trim and the end of a stream of one page, are
//! made here (`OggTrim`).
//!
//! Damage never moves audio on the timeline: every sample is handed out at its true position. A
//! packet the codec rejects becomes silence of its length; a jump in the packets' timestamps (the
//! demuxer skipped data it could not read, as FLAC does after a checksum failure) is filled with
//! silence up to the next packet; a packet whose timestamp lies behind the audio already handed
//! out loses its overlapping start. Each damaged span and a file that ends before its header says
//! is recorded as a [`Damage`].
//!
//! Ogg is the exception: its packets' timestamps are symphonia's estimate from the page's granule
//! position, and muxers write granule positions that drift from the samples the packets hold
//! (ffmpeg's, across the songs of a concatenation). libvorbis ignores them mid-stream and plays
//! every decoded sample, so here an Ogg packet's samples follow the ones before it: the timeline
//! is our own count of decoded samples. An Ogg file is cut off when its last page (the one marked
//! end of stream, whose granule position states the length) is missing. Lost pages mid-file (gone,
//! or skipped by the demuxer for a bad checksum) are found by reading the page layer ourselves
//! (`ogg`): at such a hole the demuxer's timestamps, though off elsewhere, measure what the
//! missing pages held, and that much silence takes their place.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{
    self, CODEC_TYPE_NULL, CodecParameters, CodecType, Decoder, DecoderOptions,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, Packet, Track};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::ogg::{self, PageGap, StreamEnd};
use crate::analysis::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, mix_to_mono};

/// The most silence one rejected packet becomes (a corrupt header could claim any duration);
/// real packets hold at most a few thousand samples.
const MAX_LOST_PACKET_LEN: u64 = 1 << 16;

/// The longest Ogg Vorbis link taken for a single audio page (see [`OggTrim::of`]): a few seconds,
/// as much as one page holds at low bit rates.
const MAX_ONE_PAGE_LEN: u64 = 1 << 16;

/// `open` gives up on a file whose first this many packets all fail (seconds of audio).
const MAX_LEADING_SKIPS: u64 = 256;

/// Where the header states no length, a jump in the timestamps longer than this (seconds) is taken
/// for a damaged timestamp rather than lost audio, and not filled; the silence for lost Ogg pages
/// is at most this long.
const MAX_UNSTATED_GAP_S: u64 = 60;

/// What a source says about its audio, shown by `spectral-diffusion info` and written to the
/// manifest.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AudioInfo {
    /// Samples per second per channel; within `MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE`.
    pub sample_rate: u32,
    /// Channels in the source, before the mix-down to mono.
    pub num_channels: usize,
    /// Samples per channel as the header states them (MP3 without a Xing/Info header, or an Ogg
    /// file cut off before its last page, states none).
    pub num_samples: Option<u64>,
    /// The codec's short name as symphonia gives it (`pcm_s16le`, `flac`, `mp3`, `vorbis`), or
    /// `synth` for the demo track.
    pub codec: String,
}

/// Anything that yields mono audio in order: a decoded file or the synthesized demo.
pub trait MonoSource {
    fn info(&self) -> &AudioInfo;

    /// Appends the next chunk of mono samples (channels mixed with [`mix_to_mono`]) to `out`;
    /// returns `Ok(false)`, appending nothing, at the end.
    fn read_mono(&mut self, out: &mut Vec<f32>) -> Result<bool, DecodeError>;

    /// The damage found so far, in timeline order; complete once `read_mono` returned `false`.
    fn damage(&self) -> &[Damage] {
        &[]
    }
}

/// Something wrong with the audio a file delivered. Positions are mono samples on the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// Audio from `start` to `end` was lost and became silence of the same length, so the audio
    /// after it keeps its time.
    Lost {
        start: u64,
        end: u64,
        /// Packets in the span that the codec rejected.
        num_bad_packets: u64,
        /// True if the demuxer skipped unreadable data here (the timestamps jumped).
        is_skipped: bool,
    },
    /// A packet's timestamp went back into audio already handed out; its first `len` samples,
    /// from `start` on, were dropped.
    Overlap { start: u64, len: u64 },
    /// The file ends at `end`, before the `expected` samples its header states (`None`: an Ogg
    /// stream without its last page, whose full length nothing states).
    CutOff { end: u64, expected: Option<u64> },
}

impl Damage {
    /// One line for the user, times in seconds at `sample_rate`.
    pub fn describe(&self, sample_rate: u32) -> String {
        let seconds = |samples: u64| samples as f64 / f64::from(sample_rate);
        match *self {
            Self::Lost {
                start,
                end,
                num_bad_packets,
                is_skipped,
            } => {
                let mut causes = Vec::new();
                if num_bad_packets > 0 {
                    causes.push(format!("{num_bad_packets} undecodable packets"));
                }
                if is_skipped {
                    causes.push("unreadable data skipped".to_owned());
                }
                format!(
                    "audio from {:.3} s to {:.3} s is damaged ({}) and became {:.3} s of silence",
                    seconds(start),
                    seconds(end),
                    causes.join(", "),
                    seconds(end - start)
                )
            }
            Self::Overlap { start, len } => format!(
                "at {:.3} s a packet's timestamp overlaps the audio before it: its first {:.3} s \
                 were dropped",
                seconds(start),
                seconds(len)
            ),
            Self::CutOff {
                end,
                expected: Some(expected),
            } => format!(
                "the audio ends at {:.3} s but the header says {:.3} s (cut off, or MP3 frames lost)",
                seconds(end),
                seconds(expected)
            ),
            Self::CutOff {
                end,
                expected: None,
            } => format!(
                "the file ends at {:.3} s without its last Ogg page (cut off)",
                seconds(end)
            ),
        }
    }
}

/// Why a file cannot be decoded. Each message is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{}: no such file", .0.display())]
    NotFound(PathBuf),
    #[error("{}: is a directory, not an audio file", .0.display())]
    NotAFile(PathBuf),
    #[error("{}: read failed: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: holds no audio samples", .0.display())]
    Empty(PathBuf),
    #[error("{}: unsupported format: {reason}", path.display())]
    Unsupported { path: PathBuf, reason: String },
    #[error("{}: corrupt or truncated: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("{}: has no audio track", .0.display())]
    NoAudioTrack(PathBuf),
    #[error(
        "{}: sample rate {rate} Hz is outside {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE} Hz",
        path.display()
    )]
    SampleRate { path: PathBuf, rate: u32 },
}

impl DecodeError {
    /// True when the system failed (exit code 3), false when the input is bad (exit code 1).
    pub fn is_io(&self) -> bool {
        matches!(self, Self::Io { .. })
    }
}

/// A file decoded one packet at a time and mixed to mono.
pub struct FileSource {
    /// Named in every error.
    path: PathBuf,
    /// Filled from the container's header, completed from the first decoded packet.
    info: AudioInfo,
    /// The demuxer: hands out one compressed packet at a time.
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    /// The audio track we decode; packets of other tracks are skipped.
    track_id: u32,
    /// Interleaved scratch for one decoded packet; replaced only when a packet is longer.
    interleaved: Option<SampleBuffer<f32>>,
    /// Mono samples that `open` decoded to learn the format; the first `read_mono` hands them out.
    pending: Vec<f32>,
    /// The track's first timestamp: packet timestamps count from here.
    start_ts: u64,
    /// True for an Ogg file: its timestamps are estimates (see the module's notes), and it
    /// states its length only through its last page.
    is_ogg: bool,
    /// True if the stream being decoded states its length (an Ogg link: its last page was found).
    is_end_stated: bool,
    /// What is left to trim of the Ogg link being decoded.
    ogg_trim: OggTrim,
    /// The Ogg file's lost pages (see `ogg::scan_pages`) that decoding has not reached yet, in
    /// file order.
    ogg_gaps: VecDeque<PageGap>,
    /// The demuxer's timestamp at the end of the last packet of the Ogg link being decoded: where
    /// the audio lost in a gap starts.
    ogg_packet_end: Option<u64>,
    /// The last pages of the Ogg file's streams whose links decoding has not started yet.
    ogg_ends: VecDeque<StreamEnd>,
    /// Mono samples decoded so far, silence included: the timeline position of the next sample.
    num_timeline_samples: u64,
    /// Packets the codec rejected (each replaced by silence).
    num_bad_packets: u64,
    /// Packets decoded to samples; `open` reads until the first one.
    num_decoded_packets: u64,
    /// True once the stream's end was reached and checked against the header.
    is_finished: bool,
    damage: Vec<Damage>,
}

/// The samples libvorbis trims from an Ogg Vorbis link by granule position where symphonia 0.5
/// does not: it reads the first audio page before it measures the start delay, so it never trims
/// the start, and it cannot tell a stream of one audio page, whose end libvorbis trims instead.
#[derive(Debug, Default)]
struct OggTrim {
    /// Samples still to drop at the link's start: the first page decodes to more samples than
    /// its granule position counts.
    start: u64,
    /// The timeline position where a one-page link ends, or a link whose end symphonia did not
    /// find (see `ogg::StreamEnd`).
    end: Option<u64>,
}

impl OggTrim {
    /// The trim of a link (its parameters as symphonia probed them) starting at `position`. A
    /// short link with a start delay but no end padding is one audio page (symphonia measures
    /// the end padding against the page before the last, which a one-page link lacks): libvorbis
    /// keeps its first `n_frames` samples. Where symphonia found no end but the page scan did
    /// (`last_granule`), libvorbis keeps the samples up to that granule position.
    fn of(params: &CodecParameters, position: u64, last_granule: Option<u64>) -> Self {
        let delay = u64::from(params.delay.unwrap_or(0));
        match params.n_frames {
            Some(num_frames)
                if delay > 0
                    && params.padding.is_none()
                    && num_frames + delay <= MAX_ONE_PAGE_LEN =>
            {
                Self {
                    start: 0,
                    end: Some(position + num_frames),
                }
            }
            Some(_) => Self {
                start: delay,
                end: None,
            },
            None => Self {
                start: delay,
                end: last_granule.map(|granule| position + granule),
            },
        }
    }
}

impl FileSource {
    /// Opens `path`, finds its first audio track and decodes up to its first decodable packet, so
    /// that a file without audio fails here rather than at the first read.
    pub fn open(path: &Path) -> Result<Self, DecodeError> {
        let io_error = |source: io::Error| DecodeError::Io {
            path: path.to_owned(),
            source,
        };
        let metadata = std::fs::metadata(path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => DecodeError::NotFound(path.to_owned()),
            _ => io_error(source),
        })?;
        if metadata.is_dir() {
            return Err(DecodeError::NotAFile(path.to_owned()));
        }
        if metadata.len() == 0 {
            return Err(DecodeError::Empty(path.to_owned()));
        }
        let mut file = File::open(path).map_err(io_error)?;
        let head = read_head(&mut file).map_err(io_error)?;
        check_signature(path, &head)?;

        let is_ogg = head.starts_with(b"OggS");
        let format = match probe(Box::new(file)) {
            // symphonia's Ogg reader reads the last page for the length, and fails on a file cut
            // off inside it: read such a file front to back, without the length.
            Err(SymphoniaError::IoError(error))
                if is_ogg && error.kind() == io::ErrorKind::UnexpectedEof =>
            {
                let file = File::open(path).map_err(io_error)?;
                probe(Box::new(ReadOnlySource::new(file)))
            }
            probed => probed,
        }
        .map_err(|error| header_error(path, error))?;
        let (track, decoder) = audio_track(path, format.as_ref())?;
        let track_id = track.id;
        let params = track.codec_params.clone();
        let codec = codec_name(params.codec);
        let start_ts = params.start_ts;
        let pages = if is_ogg {
            let file = File::open(path).map_err(io_error)?;
            ogg::scan_pages(BufReader::new(file)).map_err(io_error)?
        } else {
            ogg::PageScan::default()
        };
        let info = AudioInfo {
            // Zero until known: `next_chunk` fills them from the first decoded packet.
            sample_rate: params.sample_rate.unwrap_or(0),
            num_channels: params.channels.map_or(0, |channels| channels.count()),
            num_samples: params.n_frames,
            codec,
        };
        let mut source = Self {
            path: path.to_owned(),
            track_id,
            info,
            format,
            decoder,
            interleaved: None,
            pending: Vec::new(),
            start_ts,
            is_ogg,
            is_end_stated: params.n_frames.is_some(),
            ogg_trim: OggTrim::default(),
            ogg_gaps: pages.gaps.into(),
            ogg_packet_end: None,
            ogg_ends: pages.ends.into(),
            num_timeline_samples: 0,
            num_bad_packets: 0,
            num_decoded_packets: 0,
            is_finished: false,
            damage: Vec::new(),
        };
        if is_ogg {
            source.start_ogg_link(&params);
        }
        if source.info.sample_rate != 0 {
            check_sample_rate(path, source.info.sample_rate)?;
        }
        let mut first = Vec::new();
        while source.num_decoded_packets == 0 {
            if source.num_bad_packets > MAX_LEADING_SKIPS {
                return Err(DecodeError::Corrupt {
                    path: source.path,
                    reason: format!("its first {MAX_LEADING_SKIPS} audio packets are undecodable"),
                });
            }
            if source.next_chunk(&mut first)? {
                continue;
            }
            return Err(match source.num_bad_packets {
                0 => DecodeError::Empty(source.path),
                n => DecodeError::Corrupt {
                    path: source.path,
                    reason: format!("none of its {n} audio packets could be decoded"),
                },
            });
        }
        source.pending = first;
        Ok(source)
    }

    /// Decodes packets until one yields samples, mixes them to mono and appends them to `out`,
    /// each at its true timeline position (see the module's notes on damage). The end of the
    /// stream returns `false`.
    fn next_chunk(&mut self, out: &mut Vec<f32>) -> Result<bool, DecodeError> {
        if self.is_finished {
            return Ok(false);
        }
        let num_start = out.len();
        loop {
            let packet = match self.format.next_packet() {
                Ok(packet) => packet,
                Err(SymphoniaError::IoError(error))
                    if error.kind() == io::ErrorKind::UnexpectedEof =>
                {
                    self.finish_page_gaps(out);
                    self.finish();
                    return Ok(out.len() > num_start);
                }
                // A chained Ogg file: the next link is a stream of its own, played on after
                // this one as oggdec does.
                Err(SymphoniaError::ResetRequired) if self.is_ogg => {
                    self.finish_page_gaps(out);
                    let (track, decoder) = audio_track(&self.path, self.format.as_ref())?;
                    self.track_id = track.id;
                    let params = track.codec_params.clone();
                    self.decoder = decoder;
                    self.start_ogg_link(&params);
                    if out.len() > num_start {
                        return Ok(true);
                    }
                    continue;
                }
                Err(error) => return Err(stream_error(&self.path, error)),
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            let num_before = out.len();
            let position = if self.is_ogg {
                self.fill_page_gap(&packet, out);
                self.num_timeline_samples
            } else {
                packet.ts.saturating_sub(self.start_ts)
            };
            self.fill_gap(position, packet.dur, out);
            // Samples of this packet that lie behind the audio already handed out.
            let num_overlapping = self.num_timeline_samples.saturating_sub(position);
            let decoded = match self.decoder.decode(&packet) {
                Ok(decoded) => decoded,
                Err(SymphoniaError::DecodeError(_) | SymphoniaError::IoError(_)) => {
                    // Silence in its place keeps every later sample, and so every later frame,
                    // at its time on the timeline.
                    self.num_bad_packets += 1;
                    let num_lost = packet
                        .dur
                        .saturating_sub(num_overlapping)
                        .min(MAX_LOST_PACKET_LEN);
                    if num_lost > 0 {
                        let start = self.num_timeline_samples;
                        self.record_lost(start, start + num_lost, 1, false);
                        out.resize(out.len() + num_lost as usize, 0.0);
                        self.num_timeline_samples += num_lost;
                    }
                    if out.len() > num_before {
                        return Ok(true);
                    }
                    continue;
                }
                Err(error) => return Err(stream_error(&self.path, error)),
            };
            if decoded.frames() == 0 {
                if out.len() > num_before {
                    return Ok(true);
                }
                continue;
            }
            let spec = *decoded.spec();
            if self.info.sample_rate == 0 {
                check_sample_rate(&self.path, spec.rate)?;
                self.info.sample_rate = spec.rate;
            } else if spec.rate != self.info.sample_rate {
                return Err(DecodeError::Corrupt {
                    path: self.path.clone(),
                    reason: format!(
                        "the sample rate changes from {} Hz to {} Hz mid-stream",
                        self.info.sample_rate, spec.rate
                    ),
                });
            }
            let num_channels = spec.channels.count();
            if self.info.num_channels == 0 {
                self.info.num_channels = num_channels;
            }
            let capacity = decoded.capacity() as u64;
            let interleaved = match &mut self.interleaved {
                Some(buffer) if buffer.capacity() as u64 >= capacity * num_channels as u64 => {
                    buffer
                }
                slot => slot.insert(SampleBuffer::new(capacity, spec)),
            };
            interleaved.copy_interleaved_ref(decoded);
            self.num_decoded_packets += 1;
            let num_frames = (interleaved.samples().len() / num_channels) as u64;
            let num_dropped = num_overlapping.min(num_frames);
            if num_dropped > 0 {
                self.damage.push(Damage::Overlap {
                    start: position,
                    len: num_dropped,
                });
            }
            let num_trimmed = self.ogg_trim.start.min(num_frames - num_dropped);
            self.ogg_trim.start -= num_trimmed;
            let first = num_dropped + num_trimmed;
            let num_kept = match self.ogg_trim.end {
                Some(end) => {
                    (num_frames - first).min(end.saturating_sub(self.num_timeline_samples))
                }
                None => num_frames - first,
            };
            out.extend(
                interleaved.samples()
                    [first as usize * num_channels..(first + num_kept) as usize * num_channels]
                    .chunks_exact(num_channels)
                    .map(|frame| mix_to_mono(frame.iter().copied())),
            );
            self.num_timeline_samples += num_kept;
            if out.len() > num_before {
                return Ok(true);
            }
        }
    }

    /// Appends silence from the timeline's end up to `position`, where the next packet (of
    /// `num_samples` samples) starts, if the stream skipped ahead. A jump beyond the length the
    /// header states (or, where it states none, longer than `MAX_UNSTATED_GAP_S`) is a damaged
    /// timestamp, not lost audio, and is left alone.
    fn fill_gap(&mut self, position: u64, num_samples: u64, out: &mut Vec<f32>) {
        let start = self.num_timeline_samples;
        if position <= start {
            return;
        }
        let is_plausible = match self.info.num_samples {
            Some(total) => position.saturating_add(num_samples) <= total,
            None => {
                position - start <= MAX_UNSTATED_GAP_S * u64::from(self.info.sample_rate.max(1))
            }
        };
        if !is_plausible {
            return;
        }
        self.record_lost(start, position, 0, true);
        out.resize(out.len() + (position - start) as usize, 0.0);
        self.num_timeline_samples = position;
    }

    /// Ogg: starts the link of stream `self.track_id` (its parameters `params`) at the
    /// timeline's end: what to trim, and whether its end is known (found by symphonia, or by the
    /// page scan where symphonia's search stopped short).
    fn start_ogg_link(&mut self, params: &CodecParameters) {
        let last_granule = self
            .ogg_ends
            .iter()
            .position(|end| end.serial == self.track_id)
            .and_then(|end_idx| self.ogg_ends.remove(end_idx))
            .map(|end| end.granule_position);
        self.is_end_stated = params.n_frames.is_some() || last_granule.is_some();
        self.ogg_trim = OggTrim::of(params, self.num_timeline_samples, last_granule);
    }

    /// Ogg: fills the audio of the pages missing before `packet` in its stream (see
    /// [`PageGap`]). The first packet that ends past the gap's start comes after the hole; the
    /// demuxer's timestamps, estimated from the granule positions on both sides, put its start
    /// later than the previous packet's end by what the missing pages held.
    fn fill_page_gap(&mut self, packet: &Packet, out: &mut Vec<f32>) {
        let packet_end = packet.ts.saturating_add(packet.dur);
        let previous_end = self.ogg_packet_end.replace(packet_end);
        let Some(gap_idx) = self
            .ogg_gaps
            .iter()
            .position(|gap| gap.serial == packet.track_id())
        else {
            return;
        };
        let gap = self.ogg_gaps[gap_idx];
        if packet_end <= gap.granule_before {
            return;
        }
        self.ogg_gaps.remove(gap_idx);
        self.record_page_gap(&gap, previous_end, packet.ts, out);
    }

    /// At the end of an Ogg link: gaps in its stream that no packet followed (the pages lost ran
    /// up to its last ones) lose the samples up to the granule position after them.
    fn finish_page_gaps(&mut self, out: &mut Vec<f32>) {
        let previous_end = self.ogg_packet_end.take();
        while let Some(gap_idx) = self
            .ogg_gaps
            .iter()
            .position(|gap| gap.serial == self.track_id)
        {
            let gap = self.ogg_gaps.remove(gap_idx).expect("found above");
            let resume = gap.granule_after.unwrap_or(gap.granule_before);
            self.record_page_gap(&gap, previous_end, resume, out);
        }
    }

    /// Records `gap` as lost audio at the timeline's end, and fills it with silence: the
    /// demuxer's samples from `previous_end` (the end of the packet before the gap, or the
    /// granule position before it) to `resume`, at most what the granule positions around the
    /// gap count and at most `MAX_UNSTATED_GAP_S`.
    fn record_page_gap(
        &mut self,
        gap: &PageGap,
        previous_end: Option<u64>,
        resume: u64,
        out: &mut Vec<f32>,
    ) {
        let mut num_lost = resume.saturating_sub(previous_end.unwrap_or(gap.granule_before));
        if let Some(after) = gap.granule_after {
            num_lost = num_lost.min(after.saturating_sub(gap.granule_before));
        }
        num_lost = num_lost.min(MAX_UNSTATED_GAP_S * u64::from(self.info.sample_rate.max(1)));
        let start = self.num_timeline_samples;
        self.record_lost(start, start + num_lost, 0, true);
        out.resize(out.len() + num_lost as usize, 0.0);
        self.num_timeline_samples += num_lost;
    }

    /// Records lost audio from `start` to `end`, joined to the span before when they touch.
    fn record_lost(&mut self, start: u64, end: u64, num_bad_packets: u64, is_skipped: bool) {
        if let Some(Damage::Lost {
            end: last_end,
            num_bad_packets: last_bad_packets,
            is_skipped: last_is_skipped,
            ..
        }) = self.damage.last_mut()
            && *last_end == start
        {
            *last_end = end;
            *last_bad_packets += num_bad_packets;
            *last_is_skipped |= is_skipped;
            return;
        }
        self.damage.push(Damage::Lost {
            start,
            end,
            num_bad_packets,
            is_skipped,
        });
    }

    /// At the end of the stream: records a file that ends before the length its header states.
    fn finish(&mut self) {
        self.is_finished = true;
        let end = self.num_timeline_samples;
        let expected = self.info.num_samples;
        let is_cut_off = match expected {
            // The Ogg reader finds the length in the last page: no last page, no end. With it, a
            // shorter count is the muxer's drifting granule positions (see the module's notes).
            _ if self.is_ogg => !self.is_end_stated,
            Some(expected) => end < expected,
            None => false,
        };
        if is_cut_off {
            self.damage.push(Damage::CutOff { end, expected });
        }
    }

    /// Decodes the rest of the file, counting its samples; the damage is then complete. Returns
    /// the timeline's length in samples (silence for lost audio included).
    pub fn decode_to_end(&mut self) -> Result<u64, DecodeError> {
        let mut chunk = Vec::new();
        while self.read_mono(&mut chunk)? {
            chunk.clear();
        }
        Ok(self.num_timeline_samples)
    }
}

impl MonoSource for FileSource {
    fn info(&self) -> &AudioInfo {
        &self.info
    }

    fn read_mono(&mut self, out: &mut Vec<f32>) -> Result<bool, DecodeError> {
        if !self.pending.is_empty() {
            out.append(&mut self.pending);
            return Ok(true);
        }
        self.next_chunk(out)
    }

    fn damage(&self) -> &[Damage] {
        &self.damage
    }
}

/// The first audio track of `format` and a decoder for it.
fn audio_track<'a>(
    path: &Path,
    format: &'a dyn FormatReader,
) -> Result<(&'a Track, Box<dyn Decoder>), DecodeError> {
    let track = format
        .tracks()
        .iter()
        .find(|track| track.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| DecodeError::NoAudioTrack(path.to_owned()))?;
    let decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|_| DecodeError::Unsupported {
            path: path.to_owned(),
            reason: format!(
                "no decoder for codec {} (PCM, FLAC, MP3 and Vorbis are supported)",
                codec_name(track.codec_params.codec)
            ),
        })?;
    Ok((track, decoder))
}

/// Finds the container format of `source` and reads its header.
fn probe(source: Box<dyn MediaSource>) -> Result<Box<dyn FormatReader>, SymphoniaError> {
    // Gapless trims the MP3 encoder's delay and padding, so audio stays on the timeline.
    let format_options = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let stream = MediaSourceStream::new(source, Default::default());
    let probed = symphonia::default::get_probe().format(
        &Hint::new(),
        stream,
        &format_options,
        &MetadataOptions::default(),
    )?;
    Ok(probed.format)
}

/// The decoder's short name (`pcm_s16le`, `flac`, `mp3`, `vorbis`), or a readable name for the
/// common codecs we have no decoder for.
fn codec_name(codec: CodecType) -> String {
    if let Some(descriptor) = symphonia::default::get_codecs().get_codec(codec) {
        return descriptor.short_name.to_owned();
    }
    let name = match codec {
        codecs::CODEC_TYPE_OPUS => "opus",
        codecs::CODEC_TYPE_AAC => "aac",
        codecs::CODEC_TYPE_ALAC => "alac",
        codecs::CODEC_TYPE_SPEEX => "speex",
        codecs::CODEC_TYPE_MP1 => "mp1",
        codecs::CODEC_TYPE_MP2 => "mp2",
        codecs::CODEC_TYPE_ADPCM_MS => "adpcm_ms",
        codecs::CODEC_TYPE_ADPCM_IMA_WAV => "adpcm_ima_wav",
        other => return other.to_string(),
    };
    name.to_owned()
}

fn check_sample_rate(path: &Path, rate: u32) -> Result<(), DecodeError> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(DecodeError::SampleRate {
            path: path.to_owned(),
            rate,
        })
    }
}

/// The first bytes of the file (up to 512), for [`check_signature`]; rewinds the file after.
fn read_head(file: &mut File) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    file.by_ref().take(512).read_to_end(&mut head)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(head)
}

/// Accepts a file only if it starts like a format we decode. symphonia's probe scans up to 1 MiB
/// for any two-byte MP3 sync word, so random bytes or an image would otherwise "decode" as noise.
fn check_signature(path: &Path, head: &[u8]) -> Result<(), DecodeError> {
    const AUDIO: [&[u8]; 6] = [b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"ID3"];
    const OTHER: [(&[u8], &str); 5] = [
        (b"\x89PNG", "a PNG image, not audio"),
        (b"\xFF\xD8\xFF", "a JPEG image, not audio"),
        (b"%PDF", "a PDF document, not audio"),
        (b"PK\x03\x04", "a ZIP archive, not audio"),
        (b"FORM", "AIFF is not supported (convert it to WAV or FLAC)"),
    ];
    let is_mpeg_sync = head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0;
    if is_mpeg_sync || AUDIO.iter().any(|magic| head.starts_with(magic)) {
        return Ok(());
    }
    let unsupported = |reason: &str| DecodeError::Unsupported {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if let Some((_, reason)) = OTHER.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Err(unsupported(reason));
    }
    if head.get(4..8) == Some(b"ftyp") {
        return Err(unsupported(
            "an MP4/M4A file (AAC and ALAC are not supported: convert it to WAV or FLAC)",
        ));
    }
    if is_text(head) {
        return Err(unsupported("a text file, not audio"));
    }
    let extension = path
        .extension()
        .map(|ext| ext.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if ["wav", "wave", "flac", "mp3", "ogg", "oga"].contains(&extension.as_str()) {
        return Err(DecodeError::Corrupt {
            path: path.to_owned(),
            reason: format!("named .{extension} but no audio header at its start"),
        });
    }
    Err(unsupported(
        "not a WAV, FLAC, MP3 or Ogg Vorbis file (unrecognized data)",
    ))
}

/// UTF-8 without control characters other than whitespace (a cut-off last character is fine).
fn is_text(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) if error.error_len().is_none() => {
            std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
}

/// An error while reading the container's header.
fn header_error(path: &Path, error: SymphoniaError) -> DecodeError {
    match error {
        SymphoniaError::IoError(source) if source.kind() == io::ErrorKind::UnexpectedEof => {
            DecodeError::Corrupt {
                path: path.to_owned(),
                reason: "the file ends inside its header".to_owned(),
            }
        }
        other => stream_error(path, other),
    }
}

/// An error symphonia reports that ends the stream.
fn stream_error(path: &Path, error: SymphoniaError) -> DecodeError {
    let path = path.to_owned();
    match error {
        SymphoniaError::IoError(source) => DecodeError::Io { path, source },
        SymphoniaError::Unsupported(reason) => DecodeError::Unsupported {
            path,
            reason: reason.to_owned(),
        },
        SymphoniaError::ResetRequired => DecodeError::Unsupported {
            path,
            reason: "the stream changes its track layout mid-file".to_owned(),
        },
        other => DecodeError::Corrupt {
            path,
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_told_from_binary() {
        assert!(is_text(b"hello\nworld\t!"));
        assert!(is_text("caf\u{e9}".as_bytes()));
        assert!(is_text(&"caf\u{e9}".as_bytes()[..4]));
        assert!(!is_text(b"\x00\x01\x02RIFF"));
        assert!(!is_text(b""));
    }

    /// Random bytes that happen to start with an MPEG sync word still pass to the probe; any other
    /// start is rejected before symphonia can scan a megabyte for a stray sync word.
    #[test]
    fn signatures_gate_the_probe() {
        let path = Path::new("x.wav");
        assert!(check_signature(path, b"RIFF\0\0\0\0WAVE").is_ok());
        assert!(check_signature(path, b"\xFF\xFB\x90\x00").is_ok());
        assert!(matches!(
            check_signature(path, b"\x89PNG\r\n\x1a\n"),
            Err(DecodeError::Unsupported { .. })
        ));
        assert!(matches!(
            check_signature(path, b"\x00\x17\xFE\x80"),
            Err(DecodeError::Corrupt { .. })
        ));
        assert!(matches!(
            check_signature(Path::new("x.bin"), b"\x00\x17\xFE\x80"),
            Err(DecodeError::Unsupported { .. })
        ));
    }
}
