//! Closed-loop back-pressure: publishers stay at most a window ahead of the
//! slowest subscriber of each channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

/// A subscriber that disconnected stops gating publishers: its counter is
/// pinned this high.
pub(super) const DEAD: u64 = u64::MAX / 2;

/// Back-pressure for one channel in the closed loop.
#[derive(Debug, Default)]
pub(super) struct Gate {
    /// Messages reserved for sending to the channel, all publishers.
    published: AtomicU64,
    /// Per subscriber of the channel: deliveries received.
    pub(super) delivered: Vec<Arc<AtomicU64>>,
    /// Woken whenever a subscriber's count moves.
    pub(super) notify: Notify,
}

impl Gate {
    fn min_delivered(&self) -> u64 {
        self.delivered
            .iter()
            .map(|d| d.load(Ordering::Acquire))
            .min()
            .unwrap_or(DEAD)
    }

    /// Reserves up to `want` sends within `window`; 0 when the channel is full.
    pub(super) fn reserve(&self, window: u64, want: u64) -> u64 {
        loop {
            let published = self.published.load(Ordering::Acquire);
            let limit = self.min_delivered().saturating_add(window);
            if published >= limit {
                return 0;
            }
            let room = (limit - published).min(want);
            if self
                .published
                .compare_exchange(
                    published,
                    published + room,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                return room;
            }
        }
    }

    pub(super) fn has_room(&self, window: u64) -> bool {
        self.published.load(Ordering::Acquire) < self.min_delivered().saturating_add(window)
    }
}
