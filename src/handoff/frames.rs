//! Audio thread → writer thread: every recorded frame, over a wait-free SPSC ring (`rtrb`) of
//! preallocated frames. The writer hands emptied frames back through a second ring, so the audio
//! thread never allocates or frees. Each push unparks the writer thread, which sleeps (parked, no
//! wake-ups) while there is nothing to write.

use std::thread::Thread;

use crate::take::{PositionSource, RecordedFrame, TakeSettings};

/// What the audio thread tells the writer thread, in order.
#[derive(Debug)]
pub enum RecorderEvent {
    /// The transport started rolling with the recorder armed.
    TakeStart {
        take_idx: u32,
        position_source: PositionSource,
        /// Where the take started on the timeline, in samples (negative during pre-roll).
        start_pos_samples: i64,
        settings: TakeSettings,
    },
    Frame(RecordedFrame),
    /// The take ended (transport stopped, recorder disarmed, or plugin deactivated).
    TakeEnd {
        take_idx: u32,
        /// Frames of this take that did not fit into the queue (real-time mode only).
        num_frames_dropped: u64,
        end_pos_samples: i64,
    },
}

/// Audio thread end of the recorder queue. Dropping it never frees the pool: the writer's end
/// outlives it (the writer drops its end only once this one is gone and the queue is empty), so
/// the audio thread may drop it when the recorder is disarmed.
pub struct FrameProducer {
    events: rtrb::Producer<RecorderEvent>,
    free: rtrb::Consumer<RecordedFrame>,
    num_bins: usize,
    /// Declared last: fields drop in order, so the writer is woken after the rings above have let
    /// go, and sees this end gone.
    writer: WriterWake,
}

/// Unparks the writer thread; on drop too.
struct WriterWake(Thread);

impl Drop for WriterWake {
    fn drop(&mut self) {
        self.0.unpark();
    }
}

/// Writer thread end of the recorder queue.
pub struct FrameConsumer {
    events: rtrb::Consumer<RecorderEvent>,
    free: rtrb::Producer<RecordedFrame>,
}

/// Queue slots reserved for take start/end events, and for the few frames a deactivation
/// allocates when the pool is exhausted, on top of the frame pool.
const NUM_CONTROL_SLOTS: usize = 1024;

impl FrameProducer {
    /// Makes both ends with `num_frames` preallocated frames of `num_bins` bins; every push wakes
    /// `writer`, the thread that owns the consumer. Allocates (about `num_frames * num_bins * 4`
    /// bytes): never call it on the audio thread.
    pub fn new(
        num_frames: usize,
        num_bins: usize,
        writer: Thread,
    ) -> (FrameProducer, FrameConsumer) {
        let (events_tx, events_rx) = rtrb::RingBuffer::new(num_frames + NUM_CONTROL_SLOTS);
        let (mut free_tx, free_rx) = rtrb::RingBuffer::new(num_frames);
        for _ in 0..num_frames {
            free_tx
                .push(RecordedFrame::new(num_bins))
                .expect("the free ring holds exactly the pool");
        }
        (
            FrameProducer {
                events: events_tx,
                free: free_rx,
                num_bins,
                writer: WriterWake(writer),
            },
            FrameConsumer {
                events: events_rx,
                free: free_tx,
            },
        )
    }

    /// Bins per frame of this pool.
    pub fn num_bins(&self) -> usize {
        self.num_bins
    }

    /// Takes an empty frame from the pool, if the writer has handed one back. Wait-free.
    pub fn take_free_frame(&mut self) -> Option<RecordedFrame> {
        self.free.pop().ok()
    }

    /// Sends an event and wakes the writer; gives the event back when the queue is full.
    /// Wait-free (the wake is an atomic swap, plus a futex wake when the writer sleeps).
    #[expect(
        clippy::result_large_err,
        reason = "the event comes back by value: boxing it would allocate on the audio thread"
    )]
    pub fn push(&mut self, event: RecorderEvent) -> Result<(), RecorderEvent> {
        let result = self
            .events
            .push(event)
            .map_err(|rtrb::PushError::Full(e)| e);
        self.writer.0.unpark();
        result
    }

    /// Frames currently waiting for the writer or being written (pool size minus free frames).
    pub fn num_free_frames(&self) -> usize {
        self.free.slots()
    }

    /// Whether the writer thread has gone away (its end dropped).
    pub fn is_abandoned(&self) -> bool {
        self.events.is_abandoned()
    }
}

impl FrameConsumer {
    /// The next event, if any. Wait-free.
    pub fn pop(&mut self) -> Option<RecorderEvent> {
        self.events.pop().ok()
    }

    /// Hands an emptied frame back to the audio thread's pool.
    pub fn recycle(&mut self, frame: RecordedFrame) {
        // The free ring holds the whole pool, so there is always room for a frame that came out.
        let _ = self.free.push(frame);
    }

    /// Whether the audio side dropped its end (recorder disarmed) and nothing is left to read.
    pub fn is_finished(&self) -> bool {
        self.events.is_abandoned() && self.events.is_empty()
    }

    /// Whether the audio side dropped its end.
    pub fn is_abandoned(&self) -> bool {
        self.events.is_abandoned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames go out and come back: the pool never grows or shrinks.
    #[test]
    fn frames_are_recycled() {
        let (mut producer, mut consumer) = FrameProducer::new(4, 8, std::thread::current());
        let mut frames: Vec<_> = (0..4)
            .map(|_| producer.take_free_frame().unwrap())
            .collect();
        assert!(producer.take_free_frame().is_none());
        let frame = frames.pop().unwrap();
        producer.push(RecorderEvent::Frame(frame)).unwrap();
        let Some(RecorderEvent::Frame(frame)) = consumer.pop() else {
            panic!("expected a frame")
        };
        consumer.recycle(frame);
        assert_eq!(producer.num_free_frames(), 1);
        assert!(producer.take_free_frame().is_some());
    }
}
