//! The per-connection outbound queue and the task that drains it.
//!
//! Everything a connection is sent (its own replies and every delivery from
//! any publisher) goes through one queue, so order is the order of pushing.
//! Small frames are copied back to back into a contiguous tail, large ones
//! are queued as shared `Bytes`. A publisher only appends under a short
//! lock and never waits for the socket; the writer task takes the whole
//! queue at once and writes it in few syscalls. Publishers wake writers
//! once per batch of requests ([`Outbound::push_deferred`]), so a burst of
//! messages to a subscriber leaves in one write, not one write per message.
//!
//! The queue is counted in bytes until they have been written, and the
//! `client-output-buffer-limit` policy is checked on every push, as Redis
//! checks on every append: a client over its limit is closed, not waited for.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

use crate::config::OutputLimit;

/// Frames at least this long are written from their own buffer instead of
/// being copied into the coalescing buffer.
const DIRECT_WRITE: usize = 16 * 1024;

/// The coalescing buffer is written out when it reaches this size.
const WRITE_CHUNK: usize = 64 * 1024;

/// The contiguous tail is sealed into a chunk when it reaches this size, as
/// Redis moves on from its fixed reply buffer to its reply list: a client
/// that stops reading holds a list of bounded chunks, not one buffer that
/// doubles (and is copied) as it grows.
const TAIL_MAX: usize = WRITE_CHUNK;

/// How long a peak of the tail's length is remembered (Redis' `rbp` is the
/// peak of the last 5 seconds).
const PEAK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// The frame is queued. `wake` is true when the queue was empty before:
    /// the writer must be woken (now, or at the end of the caller's batch).
    Queued {
        /// The writer needs a wake-up for this frame.
        wake: bool,
    },
    /// The queue is closed; the frame was dropped.
    Closed,
    /// This push took the client over its output limit; the queue is now
    /// closed and the caller must disconnect the client.
    OverLimit,
}

/// A frame to queue: borrowed bytes (copied if small, which is the common
/// case, so encoding can reuse one scratch buffer and allocate nothing), or
/// a shared frame that many queues can hold without copying when large.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    /// Bytes the queue copies (into a new buffer if they are large).
    Borrowed(&'a [u8]),
    /// A refcounted frame, shared when large.
    Shared(&'a Bytes),
}

impl<'a> Frame<'a> {
    /// The frame's bytes.
    pub fn as_slice(&self) -> &'a [u8] {
        match self {
            Frame::Borrowed(b) => b,
            Frame::Shared(b) => b,
        }
    }

    fn to_bytes(self) -> Bytes {
        match self {
            Frame::Borrowed(b) => Bytes::copy_from_slice(b),
            Frame::Shared(b) => b.clone(),
        }
    }
}

/// Frames shorter than this are copied into the queue's contiguous tail
/// instead of being queued as shared `Bytes`: a copy of a small frame costs
/// less than touching its reference count from two threads, and the writer
/// can then send the tail without copying again.
pub const COPY_BELOW: usize = 4 * 1024;

#[derive(Debug, Default)]
struct State {
    /// Large shared frames and sealed tails, in order.
    chunks: VecDeque<Bytes>,
    /// Small frames, copied back to back; logically after `chunks`.
    tail: BytesMut,
    /// Bytes pushed and not yet written to the socket (including those the
    /// writer has taken but not finished writing).
    pending: usize,
    /// Frames queued since the writer last took the queue (Redis' `oll`).
    queued: usize,
    /// No more frames are accepted; the writer stops once it is idle.
    closed: bool,
    /// Drop queued frames instead of writing them (a killed client).
    discard: bool,
    /// When the pending bytes first reached the soft limit.
    soft_since: Option<Instant>,
    /// Bytes and chunks the writer has taken and not finished writing:
    /// non-zero only while a write waits for room in the socket.
    taken: usize,
    taken_chunks: usize,
    /// The tail's longest length since `peak_reset`.
    tail_peak: usize,
    peak_reset: Option<Instant>,
}

impl State {
    fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.tail.is_empty()
    }

    fn clear(&mut self) {
        self.chunks.clear();
        self.tail = BytesMut::new();
        self.queued = 0;
        self.taken_chunks = 0;
    }

    fn seal_tail(&mut self) {
        if !self.tail.is_empty() {
            let sealed = self.tail.split().freeze();
            self.chunks.push_back(sealed);
        }
    }
}

/// What a queue holds, in the terms of Redis' CLIENT LIST fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes in the contiguous tail (`obl`: Redis' fixed buffer).
    pub obl: usize,
    /// Chunks queued or being written (`oll`: Redis' reply list).
    pub oll: usize,
    /// Bytes in those chunks (`omem`).
    pub omem: usize,
    /// The tail's allocated size (`rbs`).
    pub rbs: usize,
    /// The tail's peak length in the last 5 seconds or so (`rbp`).
    pub rbp: usize,
    /// A write is waiting for room in the socket (the `w` of `events`).
    pub writing: bool,
}

/// A byte-counted queue of outgoing frames.
#[derive(Debug, Default)]
pub struct Outbound {
    state: Mutex<State>,
    wake: Notify,
}

impl Outbound {
    /// An empty, open queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a frame, checking it against `limit`, and wakes the writer
    /// if it was idle.
    pub fn push(&self, frame: Bytes, limit: &OutputLimit) -> Pushed {
        let pushed = self.push_deferred(Frame::Shared(&frame), limit);
        if pushed == (Pushed::Queued { wake: true }) {
            self.wake();
        }
        pushed
    }

    /// Appends a frame without waking the writer: when the result asks for
    /// a wake, the caller must call [`Outbound::wake`] (a publisher does so
    /// once per batch of requests, so that a burst of messages leaves in
    /// few writes instead of one write per message).
    /// Small frames are copied, large ones shared: `frame` is borrowed so
    /// that a frame fanned out to many small queues never has its reference
    /// count touched.
    pub fn push_deferred(&self, frame: Frame<'_>, limit: &OutputLimit) -> Pushed {
        let bytes = frame.as_slice();
        let mut st = self.state.lock();
        if st.closed {
            return Pushed::Closed;
        }
        let was_empty = st.is_empty();
        st.pending += bytes.len();
        st.queued += 1;
        if bytes.len() < COPY_BELOW {
            st.tail.extend_from_slice(bytes);
            st.tail_peak = st.tail_peak.max(st.tail.len());
            if st.tail.len() >= TAIL_MAX {
                st.seal_tail();
            }
        } else {
            st.seal_tail();
            st.chunks.push_back(frame.to_bytes());
        }
        if over_limit(&mut st, limit, Instant::now) {
            st.closed = true;
            st.discard = true;
            st.clear();
            drop(st);
            self.wake();
            return Pushed::OverLimit;
        }
        Pushed::Queued { wake: was_empty }
    }

    /// Wakes the writer.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Whether the queue is over `limit` now, without pushing anything (the
    /// periodic check of a client that receives nothing more). Closes and
    /// empties the queue if so.
    pub fn check_limit(&self, limit: &OutputLimit, now: Instant) -> bool {
        let mut st = self.state.lock();
        if st.closed || !over_limit(&mut st, limit, || now) {
            return false;
        }
        st.closed = true;
        st.discard = true;
        st.clear();
        drop(st);
        self.wake();
        true
    }

    /// Bytes queued and not yet written (Redis' `omem`, roughly).
    pub fn pending(&self) -> usize {
        self.state.lock().pending
    }

    /// Frames queued and not yet taken by the writer.
    pub fn queued_frames(&self) -> usize {
        self.state.lock().queued
    }

    /// What the queue holds now (`now` ages the tail's peak).
    pub fn usage(&self, now: Instant) -> Usage {
        let mut st = self.state.lock();
        let obl = st.tail.len();
        let usage = Usage {
            obl,
            oll: st.chunks.len() + st.taken_chunks,
            omem: st.pending.saturating_sub(obl),
            rbs: st.tail.capacity(),
            rbp: st.tail_peak.max(obl),
            writing: st.taken > 0,
        };
        let since = *st.peak_reset.get_or_insert(now);
        if now.saturating_duration_since(since) >= PEAK_INTERVAL {
            st.tail_peak = obl;
            st.peak_reset = Some(now);
        }
        usage
    }

    /// Drops every queued frame without closing the queue; returns the
    /// bytes dropped. Lets benchmarks measure fan-out without a socket.
    pub fn clear(&self) -> usize {
        let mut st = self.state.lock();
        st.clear();
        std::mem::take(&mut st.pending)
    }

    /// Stops accepting frames; the writer writes what is queued, then ends.
    pub fn close_after_flush(&self) {
        self.state.lock().closed = true;
        self.wake();
    }

    /// Stops accepting frames and drops what is queued; the writer ends now.
    pub fn close_now(&self) {
        let mut st = self.state.lock();
        st.closed = true;
        st.discard = true;
        st.clear();
        drop(st);
        self.wake();
    }

    /// Takes every queued chunk, waiting until there is one. `None` once the
    /// queue is closed and drained (or discarded).
    async fn take(&self, into: &mut VecDeque<Bytes>) -> Option<()> {
        loop {
            {
                let mut st = self.state.lock();
                if st.discard {
                    return None;
                }
                if !st.is_empty() {
                    st.seal_tail();
                    std::mem::swap(&mut st.chunks, into);
                    st.queued = 0;
                    st.taken += into.iter().map(Bytes::len).sum::<usize>();
                    st.taken_chunks += into.len();
                    return Some(());
                }
                if st.closed {
                    return None;
                }
            }
            self.wake.notified().await;
        }
    }

    /// Records `n` bytes as written; returns the bytes still pending.
    fn written(&self, n: usize) -> usize {
        let mut st = self.state.lock();
        st.pending = st.pending.saturating_sub(n);
        st.taken = st.taken.saturating_sub(n);
        st.taken_chunks = 0;
        if st.pending == 0 {
            // A burst grew the queue; give the memory back once it is drained.
            if st.chunks.capacity() > 64 {
                st.chunks = VecDeque::new();
            }
            if st.tail.capacity() > 64 * 1024 {
                st.tail = BytesMut::new();
            }
        }
        st.pending
    }

    /// Drains the queue into `sink` until the queue is closed or the sink
    /// fails, coalescing small chunks into few large writes. Returns the
    /// number of bytes written, also added to `counter` after each batch.
    ///
    /// # Errors
    ///
    /// The sink's I/O error; the queue is closed before it is returned.
    pub async fn drain_into<W>(&self, sink: &mut W, counter: &AtomicU64) -> std::io::Result<u64>
    where
        W: AsyncWrite + Unpin,
    {
        let mut batch = VecDeque::new();
        // Allocated when small chunks need coalescing and dropped once the
        // queue is drained, so an idle subscriber holds no write buffer.
        let mut buf = BytesMut::new();
        let mut total = 0u64;
        let result = async {
            while self.take(&mut batch).await.is_some() {
                let mut done = 0usize;
                let last = batch.len().saturating_sub(1);
                for (i, chunk) in batch.drain(..).enumerate() {
                    done += chunk.len();
                    // Nothing to coalesce with: write it from where it is
                    // (usually the whole batch is one sealed tail).
                    let alone = i == last && buf.is_empty();
                    if alone || chunk.len() >= DIRECT_WRITE {
                        if !buf.is_empty() {
                            sink.write_all(&buf).await?;
                            buf.clear();
                        }
                        sink.write_all(&chunk).await?;
                    } else {
                        buf.extend_from_slice(&chunk);
                        if buf.len() >= WRITE_CHUNK {
                            sink.write_all(&buf).await?;
                            buf.clear();
                        }
                    }
                }
                if !buf.is_empty() {
                    sink.write_all(&buf).await?;
                    buf.clear();
                }
                sink.flush().await?;
                total += done as u64;
                counter.fetch_add(done as u64, Ordering::Relaxed);
                if self.written(done) == 0 {
                    buf = BytesMut::new();
                    batch = VecDeque::new();
                }
            }
            Ok(())
        }
        .await;
        if result.is_err() {
            self.close_now();
        }
        result.map(|()| total)
    }
}

/// `now` is only called above the soft limit: reading the clock on every
/// push showed as a sixth of the broker's CPU time in fan-out profiles.
fn over_limit(st: &mut State, limit: &OutputLimit, now: impl FnOnce() -> Instant) -> bool {
    if limit.hard > 0 && st.pending >= limit.hard {
        return true;
    }
    if limit.soft > 0 && st.pending >= limit.soft {
        let now = now();
        let since = *st.soft_since.get_or_insert(now);
        return now.saturating_duration_since(since) > limit.soft_seconds;
    }
    st.soft_since = None;
    false
}

#[cfg(test)]
mod tests;
