//! What defines a `failover` run and what it measured: the Sentinel
//! settings both server kinds share, and the timeline and counts of one
//! crash of a master.

use std::time::Duration;

use serde::Serialize;

use super::params::secs;

/// Everything that defines one `failover` run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FailoverParams {
    /// Publisher connections, each with its own numbered stream.
    pub(crate) publishers: usize,
    /// Subscriber connections, all on the master.
    pub(crate) subscribers: usize,
    /// Messages per second, all publishers together.
    pub(crate) rate: f64,
    /// Payload bytes per message, header included.
    pub(crate) payload: usize,
    /// Publishing before the master is killed.
    #[serde(serialize_with = "secs")]
    pub(crate) before_kill: Duration,
    /// Publishing after every client is back on the new master.
    #[serde(serialize_with = "secs")]
    pub(crate) after_recovery: Duration,
    /// How long after the kill the clients may take to come back before
    /// the run gives up on them.
    #[serde(serialize_with = "secs")]
    pub(crate) outage_timeout: Duration,
    /// How long subscribers may take to see each publisher's last message.
    #[serde(serialize_with = "secs")]
    pub(crate) drain_timeout: Duration,
    /// Pause between two attempts of a client to find the master.
    #[serde(serialize_with = "secs")]
    pub(crate) retry: Duration,
    /// The name the sentinels monitor.
    pub(crate) master_name: String,
    /// Sentinel's `down-after-milliseconds`.
    pub(crate) down_after_ms: u64,
    /// Sentinel's `failover-timeout`.
    pub(crate) failover_timeout_ms: u64,
}

impl FailoverParams {
    /// A one-line description for table headers.
    pub(crate) fn describe(&self) -> String {
        format!(
            "master + 2 replicas + 3 sentinels (down-after {} ms, failover-timeout {} ms), \
             {} publisher(s) at {} msg/s in all, {} subscribers, {} B, kill -9 after {}s, \
             {}s after recovery, clients retry every {} ms",
            self.down_after_ms,
            self.failover_timeout_ms,
            self.publishers,
            self.rate,
            self.subscribers,
            self.payload,
            self.before_kill.as_secs_f64(),
            self.after_recovery.as_secs_f64(),
            self.retry.as_secs_f64() * 1e3,
        )
    }
}

/// One crash of a master, as the clients and the sentinels saw it; times
/// are milliseconds after the kill, `None` when it never happened.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct FailoverRound {
    /// The killed master.
    pub(crate) old_master: String,
    /// The replicas it had.
    pub(crate) replicas: Vec<String>,
    /// The master `+switch-master` announced (or, without it, where the
    /// publishers ended up).
    pub(crate) new_master: Option<String>,
    /// The first `+odown` on any sentinel.
    pub(crate) odown_ms: Option<f64>,
    /// The leader's `+promoted-slave`: the promoted replica reported
    /// itself master.
    pub(crate) promoted_ms: Option<f64>,
    /// The first `+switch-master` on any sentinel.
    pub(crate) switch_ms: Option<f64>,
    /// The first delivery, to any subscriber, of a message published on
    /// the new master.
    pub(crate) first_delivery_ms: Option<f64>,
    /// The last publisher's first acknowledged PUBLISH on the new master.
    pub(crate) publishers_back_ms: Option<f64>,
    /// The last subscriber's SUBSCRIBE confirmed on the new master.
    pub(crate) resubscribed_ms: Option<f64>,
    /// The last subscriber's first delivery on its new connection.
    pub(crate) subscribers_back_ms: Option<f64>,
}

impl FailoverRound {
    /// From `+switch-master` to the first delivery on the new master;
    /// negative when a client found the new master through the leading
    /// sentinel before the switch was announced.
    pub(crate) fn switch_to_delivery_ms(&self) -> Option<f64> {
        Some(self.first_delivery_ms? - self.switch_ms?)
    }

    /// From `+promoted-slave` to the first delivery on the new master: the
    /// broker's part (the clients finding, connecting to and checking the
    /// promoted node, then a PUBLISH and its delivery).
    pub(crate) fn promoted_to_delivery_ms(&self) -> Option<f64> {
        Some(self.first_delivery_ms? - self.promoted_ms?)
    }
}

/// The figures only the `failover` scenario has, over its rounds.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct FailoverFigures {
    /// Each round's timeline.
    pub(crate) rounds: Vec<FailoverRound>,
    /// PUBLISH attempts that got no integer reply (no master, connection
    /// lost before the reply, or an error reply).
    pub(crate) publish_failed: u64,
    /// PUBLISH attempts from the kill until each publisher was back.
    pub(crate) outage_publishes: u64,
    /// Deliveries of messages whose PUBLISH failed (handled, but the reply
    /// was lost with the connection).
    pub(crate) delivered_after_failure: u64,
    /// Acknowledged messages some subscriber never received, among those
    /// published from the kill on.
    pub(crate) lost_after_kill: u64,
    /// Receivers the servers' PUBLISH replies counted, over acknowledged
    /// messages: what the servers say they delivered.
    pub(crate) receivers_reported: u64,
}

impl FailoverFigures {
    /// The mean of `get` over the rounds where it happened.
    pub(crate) fn mean(&self, get: impl Fn(&FailoverRound) -> Option<f64>) -> Option<f64> {
        let v: Vec<f64> = self.rounds.iter().filter_map(get).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    }

    /// Rounds in which `+switch-master` was seen.
    pub(crate) fn switches(&self) -> usize {
        self.rounds.iter().filter(|r| r.switch_ms.is_some()).count()
    }

    /// Folds another round's figures in.
    pub(crate) fn merge(&mut self, other: FailoverFigures) {
        self.rounds.extend(other.rounds);
        self.publish_failed += other.publish_failed;
        self.outage_publishes += other.outage_publishes;
        self.delivered_after_failure += other.delivered_after_failure;
        self.lost_after_kill += other.lost_after_kill;
        self.receivers_reported += other.receivers_reported;
    }
}
