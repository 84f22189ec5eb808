//! The replication backlog: the last `size` bytes of the replication
//! stream, from which a replica that reconnects continues (`+CONTINUE`)
//! instead of loading everything again.
//!
//! Offsets are Redis': the stream's first byte is offset 1, and
//! `master_repl_offset` is the offset of its last byte. The backlog keeps
//! the stream as the frames it was fed (shared with the replicas' queues,
//! never copied) and drops whole frames from the front, so it may hold up
//! to one frame more than `size`, as Redis' block list does.

use std::collections::VecDeque;

use bytes::Bytes;

/// A bounded tail of the replication stream.
#[derive(Debug)]
pub(crate) struct Backlog {
    frames: VecDeque<Bytes>,
    /// Offset of the first byte held (`repl_backlog_first_byte_offset`).
    first: i64,
    /// Bytes held (`repl_backlog_histlen`).
    len: usize,
    /// Bytes it aims to hold (`repl-backlog-size`).
    size: usize,
}

impl Backlog {
    /// An empty backlog whose next byte is offset `next` (the current
    /// `master_repl_offset` plus one).
    pub(crate) fn new(next: i64, size: usize) -> Self {
        Self {
            frames: VecDeque::new(),
            first: next,
            len: 0,
            size: size.max(1),
        }
    }

    /// Appends a frame of the stream, trimming the oldest frames beyond
    /// `size` (the newest is always kept whole).
    pub(crate) fn push(&mut self, frame: Bytes) {
        self.len += frame.len();
        self.frames.push_back(frame);
        while self.len > self.size && self.frames.len() > 1 {
            let Some(old) = self.frames.pop_front() else {
                break;
            };
            self.len -= old.len();
            self.first += i64::try_from(old.len()).unwrap_or(i64::MAX);
        }
    }

    /// Changes the target size (CONFIG SET repl-backlog-size).
    pub(crate) fn resize(&mut self, size: usize) {
        self.size = size.max(1);
        if let Some(last) = self.frames.pop_back() {
            // Re-trims to the new size, keeping the newest frame.
            self.len -= last.len();
            self.push(last);
        }
    }

    /// `repl_backlog_first_byte_offset`.
    pub(crate) fn first(&self) -> i64 {
        self.first
    }

    /// `repl_backlog_histlen`.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The stream from offset `from` to the end, as slices of the held
    /// frames; `None` when `from` is not held (nor the next byte to come).
    pub(crate) fn since(&self, from: i64) -> Option<Vec<Bytes>> {
        let end = self.first + i64::try_from(self.len).ok()?;
        if from < self.first || from > end {
            return None;
        }
        let mut skip = usize::try_from(from - self.first).ok()?;
        let mut out = Vec::new();
        for frame in &self.frames {
            if skip >= frame.len() {
                skip -= frame.len();
                continue;
            }
            out.push(frame.slice(skip..));
            skip = 0;
        }
        Some(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn joined(parts: Vec<Bytes>) -> Vec<u8> {
        parts.iter().flat_map(|b| b.iter().copied()).collect()
    }

    #[test]
    fn holds_the_tail_and_serves_any_offset_in_it() {
        let mut b = Backlog::new(1, 10);
        b.push(Bytes::from_static(b"abcd"));
        b.push(Bytes::from_static(b"efgh"));
        assert_eq!((b.first(), b.len()), (1, 8));
        assert_eq!(joined(b.since(1).unwrap()), b"abcdefgh");
        assert_eq!(joined(b.since(3).unwrap()), b"cdefgh");
        // The next byte to come: nothing to send, but a valid offset.
        assert_eq!(joined(b.since(9).unwrap()), b"");
        assert!(b.since(10).is_none());
        assert!(b.since(0).is_none());
        // Past 10 bytes, the oldest frame goes.
        b.push(Bytes::from_static(b"ijkl"));
        assert_eq!((b.first(), b.len()), (5, 8));
        assert!(b.since(4).is_none());
        assert_eq!(joined(b.since(6).unwrap()), b"fghijkl");
    }

    #[test]
    fn a_frame_larger_than_the_backlog_is_kept_whole() {
        let mut b = Backlog::new(101, 4);
        b.push(Bytes::from_static(b"0123456789"));
        assert_eq!((b.first(), b.len()), (101, 10));
        b.push(Bytes::from_static(b"xy"));
        assert_eq!((b.first(), b.len()), (111, 2));
        b.resize(1);
        assert_eq!((b.first(), b.len()), (111, 2));
    }
}
