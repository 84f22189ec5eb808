//! The replication backlog: the last `size` bytes of the replication
//! stream, from which a replica that reconnects continues (`+CONTINUE`)
//! instead of loading everything again.
//!
//! Offsets are Redis': the stream's first byte is offset 1, and
//! `master_repl_offset` is the offset of its last byte. As in Redis' block
//! list, the stream is copied into blocks of 16 KiB (what does not fit
//! starts a new block, of its own size when larger), and whole blocks are
//! dropped from the front while more than `size` bytes are held and more
//! than one block is left, so `repl_backlog_first_byte_offset` moves by
//! blocks as Redis' does (whose blocks are its allocator's size class near
//! 16 KiB). One allocation per 16 KiB of stream, not one per frame.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

/// Redis' `PROTO_REPLY_CHUNK_BYTES`, the size of its backlog blocks.
const BLOCK: usize = 16 * 1024;

/// A bounded tail of the replication stream.
#[derive(Debug)]
pub(crate) struct Backlog {
    /// Full blocks, oldest first.
    blocks: VecDeque<Bytes>,
    /// The block being filled (never dropped).
    tail: BytesMut,
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
            blocks: VecDeque::new(),
            tail: BytesMut::new(),
            first: next,
            len: 0,
            size: size.max(1),
        }
    }

    /// Appends bytes of the stream, then trims.
    pub(crate) fn push(&mut self, frame: &[u8]) {
        self.len += frame.len();
        let room = self.tail.capacity() - self.tail.len();
        let (now, rest) = frame.split_at(room.min(frame.len()));
        self.tail.extend_from_slice(now);
        if !rest.is_empty() {
            let full = std::mem::replace(
                &mut self.tail,
                BytesMut::with_capacity(BLOCK.max(rest.len())),
            );
            if !full.is_empty() {
                self.blocks.push_back(full.freeze());
            }
            self.tail.extend_from_slice(rest);
        }
        self.trim();
    }

    /// Drops the oldest blocks while more than `size` bytes are held.
    fn trim(&mut self) {
        while self.len > self.size {
            let Some(old) = self.blocks.pop_front() else {
                break;
            };
            self.len -= old.len();
            self.first += i64::try_from(old.len()).unwrap_or(i64::MAX);
        }
    }

    /// Changes the target size (CONFIG SET repl-backlog-size).
    pub(crate) fn resize(&mut self, size: usize) {
        self.size = size.max(1);
        self.trim();
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
    /// blocks (the block being filled is copied); `None` when `from` is
    /// not held (nor the next byte to come).
    pub(crate) fn since(&self, from: i64) -> Option<Vec<Bytes>> {
        let end = self.first + i64::try_from(self.len).ok()?;
        if from < self.first || from > end {
            return None;
        }
        let mut skip = usize::try_from(from - self.first).ok()?;
        let mut out = Vec::new();
        for block in &self.blocks {
            if skip >= block.len() {
                skip -= block.len();
                continue;
            }
            out.push(block.slice(skip..));
            skip = 0;
        }
        if let Some(rest) = self.tail.get(skip..).filter(|r| !r.is_empty()) {
            out.push(Bytes::copy_from_slice(rest));
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
        b.push(b"abcd");
        b.push(b"efgh");
        assert_eq!((b.first(), b.len()), (1, 8));
        assert_eq!(joined(b.since(1).unwrap()), b"abcdefgh");
        assert_eq!(joined(b.since(3).unwrap()), b"cdefgh");
        // The next byte to come: nothing to send, but a valid offset.
        assert_eq!(joined(b.since(9).unwrap()), b"");
        assert!(b.since(10).is_none());
        assert!(b.since(0).is_none());
        // One block is never dropped, however small the backlog.
        b.push(b"ijkl");
        assert_eq!((b.first(), b.len()), (1, 12));
    }

    #[test]
    fn whole_blocks_go_from_the_front_as_in_redis() {
        let mut b = Backlog::new(101, BLOCK);
        b.push(&[b'a'; BLOCK - 2]);
        // Fills the first block and starts a second one.
        b.push(b"bbbb");
        assert_eq!((b.first(), b.len()), (101 + BLOCK as i64, 2));
        assert_eq!(joined(b.since(101 + BLOCK as i64).unwrap()), b"bb");
        assert!(b.since(101).is_none());
        // A frame larger than a block makes one block of its size.
        b.push(&[b'c'; 3 * BLOCK]);
        // The block holding "bb" went; the large one stays.
        assert_eq!(b.len(), 2 * BLOCK + 2);
        let start = b.first();
        assert!(joined(b.since(start).unwrap()).iter().all(|c| *c == b'c'));
        b.resize(1);
        assert_eq!((b.first(), b.len()), (start, 2 * BLOCK + 2));
    }

    #[test]
    fn what_it_serves_is_what_was_pushed() {
        let mut b = Backlog::new(1, 4 * BLOCK);
        let mut all = Vec::new();
        for i in 0..5000u32 {
            let frame = format!("*1\r\n${}\r\n{}\r\n", i.to_string().len(), i);
            b.push(frame.as_bytes());
            all.extend_from_slice(frame.as_bytes());
        }
        let first = usize::try_from(b.first()).unwrap();
        assert!(b.len() <= 4 * BLOCK + BLOCK && b.len() >= 4 * BLOCK - BLOCK);
        assert_eq!(joined(b.since(b.first()).unwrap()), &all[first - 1..]);
        let mid = b.first() + 777;
        assert_eq!(joined(b.since(mid).unwrap()), &all[first - 1 + 777..]);
    }
}
