//! The figures of one scenario on one target, as either mode produces
//! them: counts, rates, latency, integrity, the cost of the processes and
//! the figures only some scenarios have.

use serde::Serialize;

use super::{FailoverFigures, Failure, NodeFailureFigures};
use crate::measure::{self, Clock, Deliveries, Latency, LatencySummary, SeqReport, Series};

/// The server's own cost, for targets the load tester started.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct ServerFigures {
    /// User + system CPU seconds from the end of the warm-up to the end of
    /// the drain.
    pub(crate) cpu_seconds: f64,
    /// CPU seconds per million measured deliveries.
    pub(crate) cpu_seconds_per_million_deliveries: Option<f64>,
    /// RSS once everything was subscribed, before publishing.
    pub(crate) rss_before_bytes: u64,
    /// RSS at the end.
    pub(crate) rss_bytes: u64,
    /// Peak RSS of the process.
    pub(crate) peak_rss_bytes: u64,
}

impl ServerFigures {
    /// `cpu` seconds spent from the end of the warm-up to the end of the
    /// drain, RSS `before` publishing and at the `end`, for `delivered`
    /// measured deliveries.
    pub(crate) fn over(
        cpu: f64,
        before: Option<measure::Rss>,
        end: measure::Rss,
        delivered: u64,
    ) -> Self {
        let cpu = cpu.max(0.0);
        Self {
            cpu_seconds: cpu,
            cpu_seconds_per_million_deliveries: (delivered > 0)
                .then(|| cpu / (delivered as f64 / 1e6)),
            rss_before_bytes: before.map(|r| r.rss_bytes).unwrap_or_default(),
            rss_bytes: end.rss_bytes,
            peak_rss_bytes: end.peak_rss_bytes,
        }
    }
}

/// Throughput over time, for the chart.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct SeriesOut {
    /// Width of one bin.
    pub(crate) bin_secs: f64,
    /// Warm-up length: bins before it are not measured.
    pub(crate) warmup_secs: f64,
    /// Messages published per second, bin by bin.
    pub(crate) published_per_sec: Vec<f64>,
    /// Messages delivered per second, bin by bin.
    pub(crate) delivered_per_sec: Vec<f64>,
}

/// Every figure of one scenario on one target.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct RunResult {
    /// Target name.
    pub(crate) target: String,
    /// Messages published after the warm-up.
    pub(crate) published: u64,
    /// Deliveries of those messages.
    pub(crate) delivered: u64,
    /// Deliveries there should have been: published to a channel x its subscribers.
    pub(crate) expected_deliveries: u64,
    /// Messages published, warm-up included.
    pub(crate) published_total: u64,
    /// Deliveries received, warm-up included.
    pub(crate) delivered_total: u64,
    /// Measured publishing time.
    pub(crate) publish_secs: f64,
    /// From the end of the warm-up to the last measured delivery.
    pub(crate) delivery_secs: f64,
    /// `published / publish_secs`.
    pub(crate) published_per_sec: f64,
    /// `delivered / delivery_secs`.
    pub(crate) delivered_per_sec: f64,
    /// End-to-end latency of measured deliveries.
    pub(crate) latency: LatencySummary,
    /// Loss, duplicates and reordering over all streams and subscribers.
    pub(crate) seq: SeqReport,
    /// Open loop: messages scheduled but never sent because the publishers
    /// fell more than the drain timeout behind (the server could not keep up).
    pub(crate) unsent: u64,
    /// Deliveries from a stream the subscriber did not subscribe to.
    pub(crate) unexpected: u64,
    /// Measuring subscriber connections.
    pub(crate) subscribers: usize,
    /// Subscribers that lost their connection, with the first reason.
    pub(crate) subscriber_failures: usize,
    /// The first subscriber failure, if any.
    pub(crate) first_failure: Option<String>,
    /// The load tester's own CPU seconds over the same interval as the
    /// server's: near the machine's core count means the load tester, not
    /// the server, was the bottleneck.
    pub(crate) loadtest_cpu_seconds: Option<f64>,
    /// CPU and memory of a server the load tester started.
    pub(crate) server: Option<ServerFigures>,
    /// `churn` only.
    pub(crate) churn: Option<ChurnFigures>,
    /// `idle` only.
    pub(crate) idle: Option<IdleFigures>,
    /// `socketio` mode only.
    pub(crate) sio: Option<SioFigures>,
    /// `failover` mode only.
    pub(crate) failover: Option<FailoverFigures>,
    /// Set when the run failed (`socketio`: a node or the broker died, or
    /// the cluster did not start); the other figures are then empty.
    pub(crate) failure: Option<Failure>,
    /// Latency CDF points: (µs, fraction).
    pub(crate) latency_cdf: Vec<(f64, f64)>,
    /// Throughput over time.
    pub(crate) series: SeriesOut,
    /// The merged histogram, for merging across rounds.
    #[serde(skip)]
    pub(crate) histogram: Option<Latency>,
}

impl RunResult {
    /// Fills in the delivery figures from what every receiver `seen`
    /// together, once `published` (after the warm-up) is set: counts,
    /// rates over the measured time, latency and the time series.
    pub(crate) fn set_traffic(
        &mut self,
        seen: Deliveries,
        published: &Series,
        clock: &Clock,
        publish_end_ns: u64,
    ) {
        let warm_end_ns = clock.warm_end_ns;
        let last_measured_ns = seen.last_measured_ns.max(warm_end_ns);
        self.delivered = seen.measured;
        self.delivered_total = seen.total;
        self.publish_secs = publish_end_ns.saturating_sub(warm_end_ns) as f64 / 1e9;
        self.delivery_secs = last_measured_ns.saturating_sub(warm_end_ns) as f64 / 1e9;
        self.published_per_sec = rate(self.published, self.publish_secs);
        self.delivered_per_sec = rate(self.delivered, self.delivery_secs);
        self.latency = seen.latency.summary();
        self.latency_cdf = seen.latency.cdf();
        self.series = SeriesOut {
            bin_secs: measure::BIN_NS as f64 / 1e9,
            warmup_secs: warm_end_ns as f64 / 1e9,
            published_per_sec: published.rates(),
            delivered_per_sec: seen.series.rates(),
        };
        self.histogram = Some(seen.latency);
    }

    /// Folds another round of the same scenario on the same target into
    /// this one: counts and times add up, rates are recomputed from them,
    /// histograms merge, memory takes the maximum. The time series stays
    /// the first round's.
    pub(crate) fn merge(&mut self, other: RunResult) -> anyhow::Result<()> {
        self.published += other.published;
        self.delivered += other.delivered;
        self.expected_deliveries += other.expected_deliveries;
        self.published_total += other.published_total;
        self.delivered_total += other.delivered_total;
        self.publish_secs += other.publish_secs;
        self.delivery_secs += other.delivery_secs;
        self.published_per_sec = rate(self.published, self.publish_secs);
        self.delivered_per_sec = rate(self.delivered, self.delivery_secs);
        self.seq.add(other.seq);
        self.loadtest_cpu_seconds = match (self.loadtest_cpu_seconds, other.loadtest_cpu_seconds) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.unexpected += other.unexpected;
        self.unsent += other.unsent;
        self.subscribers = self.subscribers.max(other.subscribers);
        self.subscriber_failures += other.subscriber_failures;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
        match (&mut self.histogram, &other.histogram) {
            (Some(a), Some(b)) => a.merge(b)?,
            (None, Some(_)) => self.histogram = other.histogram.clone(),
            _ => {}
        }
        if let Some(h) = &self.histogram {
            self.latency = h.summary();
            self.latency_cdf = h.cdf();
        }
        self.server = match (self.server.take(), other.server) {
            (Some(mut a), Some(b)) => {
                a.cpu_seconds += b.cpu_seconds;
                a.cpu_seconds_per_million_deliveries =
                    (self.delivered > 0).then(|| a.cpu_seconds / (self.delivered as f64 / 1e6));
                a.rss_before_bytes = a.rss_before_bytes.max(b.rss_before_bytes);
                a.rss_bytes = a.rss_bytes.max(b.rss_bytes);
                a.peak_rss_bytes = a.peak_rss_bytes.max(b.peak_rss_bytes);
                Some(a)
            }
            (a, b) => a.or(b),
        };
        self.merge_scenario_figures(other.churn, other.idle, other.failover);
        Ok(())
    }

    /// The figures only some scenarios have, folded in by [`RunResult::merge`].
    fn merge_scenario_figures(
        &mut self,
        churn: Option<ChurnFigures>,
        idle: Option<IdleFigures>,
        failover: Option<FailoverFigures>,
    ) {
        self.churn = match (self.churn.take(), churn) {
            (Some(mut a), Some(b)) => {
                let secs_a = if a.operations_per_sec > 0.0 {
                    a.operations as f64 / a.operations_per_sec
                } else {
                    0.0
                };
                let secs_b = if b.operations_per_sec > 0.0 {
                    b.operations as f64 / b.operations_per_sec
                } else {
                    0.0
                };
                a.operations += b.operations;
                a.deliveries += b.deliveries;
                a.operations_per_sec = if secs_a + secs_b > 0.0 {
                    a.operations as f64 / (secs_a + secs_b)
                } else {
                    0.0
                };
                Some(a)
            }
            (a, b) => a.or(b),
        };
        self.idle = match (self.idle.take(), idle) {
            (Some(mut a), Some(b)) => {
                // Memory per connection: the mean over rounds.
                a.bytes_per_connection = match (a.bytes_per_connection, b.bytes_per_connection) {
                    (Some(x), Some(y)) => Some((x + y) / 2.0),
                    (x, y) => x.or(y),
                };
                a.rss_after_bytes = a.rss_after_bytes.max(b.rss_after_bytes);
                Some(a)
            }
            (a, b) => a.or(b),
        };
        self.failover = match (self.failover.take(), failover) {
            (Some(mut a), Some(b)) => {
                a.merge(b);
                Some(a)
            }
            (a, b) => a.or(b),
        };
    }
}

/// `n` per second of `secs`, 0 over no time.
pub(crate) fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

/// `churn` figures.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct ChurnFigures {
    /// Channel subscribe + unsubscribe operations confirmed.
    pub(crate) operations: u64,
    /// The same per second of publishing.
    pub(crate) operations_per_sec: f64,
    /// Messages the churners received while subscribed (not checked).
    pub(crate) deliveries: u64,
}

/// `idle` figures.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct IdleFigures {
    /// Connections opened and confirmed subscribed.
    pub(crate) connections: u64,
    /// Server RSS before opening them.
    pub(crate) rss_before_bytes: Option<u64>,
    /// Server RSS with all of them subscribed.
    pub(crate) rss_after_bytes: Option<u64>,
    /// (after - before) / connections.
    pub(crate) bytes_per_connection: Option<f64>,
}

/// The figures only the `socketio` mode has.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct SioFigures {
    /// Client connections, churners included.
    pub(crate) clients: usize,
    /// Clients per node, by where they connected (through a proxy: where
    /// the proxy sent them).
    pub(crate) clients_per_node: Vec<usize>,
    /// CPU and memory of the proxy in front of the nodes, if any.
    pub(crate) proxy: Option<ServerFigures>,
    /// CPU and memory of each node.
    pub(crate) nodes: Vec<ServerFigures>,
    /// The nodes together: CPU and RSS summed.
    pub(crate) nodes_total: Option<ServerFigures>,
    /// Deliveries, warm-up included, to a client on another node than the
    /// emitter's: what went through the broker.
    pub(crate) cross_node_delivered: u64,
    /// What there should have been.
    pub(crate) cross_node_expected: u64,
    /// `acks` only.
    pub(crate) acks: Option<AckFigures>,
    /// `join-storm` only.
    pub(crate) joins: Option<JoinFigures>,
    /// `node-failure` only.
    pub(crate) node_failure: Option<NodeFailureFigures>,
}

/// `acks` figures.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct AckFigures {
    /// Broadcasts with acks sent, warm-up included.
    pub(crate) requests: u64,
    /// Of those, answered by the node (with the number of client answers).
    pub(crate) replies: u64,
    /// Client answers the nodes counted.
    pub(crate) answers: u64,
    /// Client answers there should have been: requests x clients.
    pub(crate) expected_answers: u64,
    /// From sending a measured request to the node's reply, which comes
    /// once every client in the cluster answered.
    pub(crate) round_trip: LatencySummary,
}

/// `join-storm` figures.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct JoinFigures {
    /// Joins and leaves acknowledged.
    pub(crate) operations: u64,
    /// The same per second of sending.
    pub(crate) operations_per_sec: f64,
    /// From a join or leave to its ack.
    pub(crate) latency: LatencySummary,
    /// Messages the churners received while in a room (not checked).
    pub(crate) deliveries: u64,
}
