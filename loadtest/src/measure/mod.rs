//! What is measured and how: latency histograms, the loss / duplicate /
//! reorder detector, throughput time series, and the server's CPU time and
//! memory read from `/proc`.

mod latency;
mod process;
mod seq;
mod series;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;

use std::time::{Duration, Instant};

pub(crate) use latency::{Latency, LatencySummary};
pub(crate) use process::{Mark, Rss, cpu_seconds, rss};
pub(crate) use seq::{SeqReport, SeqTracker, StreamId};
pub(crate) use series::{BIN_NS, Series};

/// The time base of one run. Every task stamps and compares times as
/// nanoseconds since one `Instant` of the load tester's own process, so
/// end-to-end latencies need no clock synchronisation.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    /// Time zero.
    pub(crate) epoch: Instant,
    /// When sending starts (a moment after zero, so that the tasks of the
    /// run are all spawned by then).
    pub(crate) start_ns: u64,
    /// End of the warm-up: only messages sent from here on are measured.
    pub(crate) warm_end_ns: u64,
    /// When sending stops.
    pub(crate) end_ns: u64,
    /// An open-loop sender that fell behind its schedule stops sending
    /// here (end + drain timeout), so an overloaded server cannot stretch
    /// the run without bound; what it did not send was never published.
    pub(crate) give_up_ns: u64,
}

impl Clock {
    /// A clock starting now: 1 ms of set-up, then `warmup`, then `duration`.
    pub(crate) fn new(warmup: Duration, duration: Duration, drain_timeout: Duration) -> Self {
        let start_ns = 1_000_000;
        let warm_end_ns = start_ns + nanos(warmup);
        let end_ns = warm_end_ns + nanos(duration);
        Self {
            epoch: Instant::now(),
            start_ns,
            warm_end_ns,
            end_ns,
            give_up_ns: end_ns + nanos(drain_timeout),
        }
    }

    /// Nanoseconds since time zero.
    pub(crate) fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The instant `ns` after time zero, for timers.
    pub(crate) fn instant(&self, ns: u64) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.epoch + Duration::from_nanos(ns))
    }
}

/// A duration in nanoseconds, saturating far beyond any run.
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX / 4)
}

/// What one receiver, or a group of them, saw: the latency of measured
/// deliveries, arrivals over time and the counts.
#[derive(Debug, Clone)]
pub(crate) struct Deliveries {
    /// Latency of deliveries of messages sent after the warm-up.
    pub(crate) latency: Latency,
    /// Arrivals over time, warm-up included.
    pub(crate) series: Series,
    /// Deliveries of messages sent after the warm-up.
    pub(crate) measured: u64,
    /// Every delivery.
    pub(crate) total: u64,
    /// When the last measured delivery arrived (0: none).
    pub(crate) last_measured_ns: u64,
}

impl Deliveries {
    /// Empty, with histograms of `sigfig` digits (see [`Latency::new`]).
    pub(crate) fn new(sigfig: u8) -> anyhow::Result<Self> {
        Ok(Self {
            latency: Latency::new(sigfig)?,
            series: Series::default(),
            measured: 0,
            total: 0,
            last_measured_ns: 0,
        })
    }

    /// A message sent at `sent_ns` arrived at `now_ns`: measured when it
    /// was sent after the warm-up. [`Deliveries::arrived`] counts it.
    pub(crate) fn observe(&mut self, clock: &Clock, sent_ns: u64, now_ns: u64) {
        if sent_ns >= clock.warm_end_ns {
            self.measured += 1;
            self.latency.record(now_ns.saturating_sub(sent_ns));
            self.last_measured_ns = now_ns;
        }
    }

    /// `n` messages arrived at `now_ns`.
    pub(crate) fn arrived(&mut self, clock: &Clock, now_ns: u64, n: u64) {
        self.total += n;
        self.series.add(now_ns.saturating_sub(clock.start_ns), n);
    }

    /// Adds another receiver's figures.
    pub(crate) fn merge(&mut self, other: &Deliveries) -> anyhow::Result<()> {
        self.latency.merge(&other.latency)?;
        self.series.merge(&other.series);
        self.measured += other.measured;
        self.total += other.total;
        self.last_measured_ns = self.last_measured_ns.max(other.last_measured_ns);
        Ok(())
    }
}
