//! The loss / duplicate / reorder detector, per stream.

use std::collections::BTreeMap;

use serde::Serialize;

/// A set of `u64` ranges: the sequence numbers a stream skipped and that may
/// still arrive late. Gaps are rare, so a map of `start -> end` (exclusive)
/// stays tiny even when a gap is huge.
#[derive(Debug, Default, Clone)]
struct RangeSet {
    ranges: BTreeMap<u64, u64>,
}

impl RangeSet {
    fn insert(&mut self, start: u64, end: u64) {
        if start < end {
            self.ranges.insert(start, end);
        }
    }

    /// Removes `v` if present; true when it was.
    fn remove(&mut self, v: u64) -> bool {
        let Some((&start, &end)) = self.ranges.range(..=v).next_back() else {
            return false;
        };
        if v >= end {
            return false;
        }
        self.ranges.remove(&start);
        self.insert(start, v);
        self.insert(v + 1, end);
        true
    }

    fn len(&self) -> u64 {
        self.ranges.iter().map(|(s, e)| e - s).sum()
    }
}

/// Checks one stream (one publisher to one channel, seen by one subscriber)
/// whose sequence numbers start at 0 and step by 1.
///
/// A number above the next expected one opens a gap; a number inside an open
/// gap closes that slot and counts as reordered; any other number at or
/// below the highest seen is a duplicate. Whatever is still missing when the
/// publisher's final count is known is lost.
#[derive(Debug, Default, Clone)]
pub(crate) struct SeqChecker {
    next: u64,
    missing: RangeSet,
    duplicates: u64,
    reordered: u64,
}

/// Loss, duplicates and reordering of one or many streams.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub(crate) struct SeqReport {
    /// Messages sent and never received.
    pub(crate) lost: u64,
    /// Messages received more than once (extra copies).
    pub(crate) duplicates: u64,
    /// Messages received after a later one from the same stream.
    pub(crate) reordered: u64,
}

impl SeqReport {
    /// Adds another report's counts.
    pub(crate) fn add(&mut self, other: SeqReport) {
        self.lost += other.lost;
        self.duplicates += other.duplicates;
        self.reordered += other.reordered;
    }
}

impl SeqChecker {
    /// Records the arrival of `seq`.
    pub(crate) fn observe(&mut self, seq: u64) {
        if seq == self.next {
            self.next += 1;
        } else if seq > self.next {
            self.missing.insert(self.next, seq);
            self.next = seq + 1;
        } else if self.missing.remove(seq) {
            self.reordered += 1;
        } else {
            self.duplicates += 1;
        }
    }

    /// The verdict once the publisher has sent `sent` messages in total.
    pub(crate) fn finish(&self, sent: u64) -> SeqReport {
        SeqReport {
            lost: self.missing.len() + sent.saturating_sub(self.next),
            duplicates: self.duplicates,
            reordered: self.reordered,
        }
    }
}

/// A stream's identity: (publisher id, channel index).
pub(crate) type StreamId = (u32, u32);

/// All the streams one subscriber sees.
///
/// A subscriber sees a handful of streams (the publishers of its channel),
/// and consecutive deliveries mostly come from the same one, so a short
/// vector with a cached last hit beats hashing on every delivery.
#[derive(Debug, Default, Clone)]
pub(crate) struct SeqTracker {
    streams: Vec<(StreamId, SeqChecker)>,
    last: usize,
}

impl SeqTracker {
    /// Records `seq` on `stream`.
    pub(crate) fn observe(&mut self, stream: StreamId, seq: u64) {
        if let Some((id, checker)) = self.streams.get_mut(self.last)
            && *id == stream
        {
            checker.observe(seq);
            return;
        }
        let at = match self.streams.iter().position(|(id, _)| *id == stream) {
            Some(at) => at,
            None => {
                self.streams.push((stream, SeqChecker::default()));
                self.streams.len() - 1
            }
        };
        self.last = at;
        if let Some((_, checker)) = self.streams.get_mut(at) {
            checker.observe(seq);
        }
    }

    /// The verdict for `stream` given the publisher sent `sent` on it; a
    /// stream never seen lost everything.
    pub(crate) fn finish(&self, stream: StreamId, sent: u64) -> SeqReport {
        match self.streams.iter().find(|(id, _)| *id == stream) {
            Some((_, c)) => c.finish(sent),
            None => SeqReport {
                lost: sent,
                ..SeqReport::default()
            },
        }
    }

    /// Streams observed, for spotting deliveries nobody expected.
    pub(crate) fn streams(&self) -> impl Iterator<Item = StreamId> + '_ {
        self.streams.iter().map(|(id, _)| *id)
    }
}
