//! Counters, plain atomics, readable through [`crate::Cluster::stats`].

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of one [`crate::Cluster`].
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) published: AtomicU64,
    pub(crate) publish_failed: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) decode_errors: AtomicU64,
    pub(crate) lagged: AtomicU64,
    pub(crate) disconnects: AtomicU64,
    pub(crate) resubscribes: AtomicU64,
    pub(crate) requests_timed_out: AtomicU64,
    pub(crate) requests_cut: AtomicU64,
    pub(crate) server_side_events: AtomicU64,
    pub(crate) server_side_events_unhandled: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Messages published.
    pub published: u64,
    /// Messages that could not be published (broker down): these events did not reach
    /// other nodes. Each one is also logged at `warn`.
    pub publish_failed: u64,
    /// Messages received.
    pub received: u64,
    /// Payloads that could not be decoded.
    pub decode_errors: u64,
    /// Messages the subscriber dropped because the adapter fell behind.
    pub lagged: u64,
    /// Connection losses seen by the subscriber.
    pub disconnects: u64,
    /// Successful resubscriptions after a reconnect.
    pub resubscribes: u64,
    /// Requests that ended on their timeout.
    pub requests_timed_out: u64,
    /// Requests failed because the connection dropped while they waited.
    pub requests_cut: u64,
    /// Server-side events from other servers given to a handler
    /// ([`crate::Cluster::on_server_side`]).
    pub server_side_events: u64,
    /// Server-side events from other servers with no handler here: dropped, and when the
    /// sender asked for an ack it waits for its timeout (logged at `warn`).
    pub server_side_events_unhandled: u64,
}

impl Stats {
    pub(crate) fn incr(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            published: get(&self.published),
            publish_failed: get(&self.publish_failed),
            received: get(&self.received),
            decode_errors: get(&self.decode_errors),
            lagged: get(&self.lagged),
            disconnects: get(&self.disconnects),
            resubscribes: get(&self.resubscribes),
            requests_timed_out: get(&self.requests_timed_out),
            requests_cut: get(&self.requests_cut),
            server_side_events: get(&self.server_side_events),
            server_side_events_unhandled: get(&self.server_side_events_unhandled),
        }
    }
}
