//! What defines a `socketio` scenario and the figures only that mode has.
//! Plain data, like the `pubsub` ones next to it.

use std::time::Duration;

use serde::Serialize;

use super::run::ServerFigures;
use super::secs;
use crate::measure::LatencySummary;

/// The workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum SioScenario {
    /// R rooms of M members spread over all nodes; E members of each room
    /// emit to it.
    Rooms,
    /// C clients; E of them emit to everyone.
    Broadcast,
    /// C clients; E of them broadcast with acknowledgements, which every
    /// client answers, across nodes.
    Acks,
    /// `rooms`, while churner clients join and leave rooms.
    JoinStorm,
}

impl SioScenario {
    /// The name used on the command line and in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SioScenario::Rooms => "rooms",
            SioScenario::Broadcast => "broadcast",
            SioScenario::Acks => "acks",
            SioScenario::JoinStorm => "join-storm",
        }
    }

    /// Whether clients are members of rooms (else everyone hears everything).
    pub(crate) fn has_rooms(self) -> bool {
        matches!(self, SioScenario::Rooms | SioScenario::JoinStorm)
    }
}

/// Everything that defines one scenario run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SioParams {
    /// Which workload.
    pub(crate) scenario: SioScenario,
    /// Server nodes.
    pub(crate) nodes: usize,
    /// Rooms (`rooms`, `join-storm`).
    pub(crate) rooms: usize,
    /// Members per room (`rooms`, `join-storm`).
    pub(crate) members: usize,
    /// Emitters per room (`rooms`, `join-storm`) or in all (`broadcast`, `acks`).
    pub(crate) emitters: usize,
    /// Clients (`broadcast`, `acks`).
    pub(crate) clients: usize,
    /// Clients joining and leaving rooms (`join-storm`).
    pub(crate) churners: usize,
    /// Messages per second of each emitter.
    pub(crate) rate: f64,
    /// Padding bytes in each message, after the stamp.
    pub(crate) payload: usize,
    /// Measured sending time, after the warm-up.
    #[serde(serialize_with = "secs")]
    pub(crate) duration: Duration,
    /// Sending time before measuring starts.
    #[serde(serialize_with = "secs")]
    pub(crate) warmup: Duration,
    /// Stop each emitter after this many messages (warm-up included).
    pub(crate) messages: Option<u64>,
    /// How long to wait for the last deliveries once sending stops; also
    /// the nodes' timeout for the acks of a broadcast with acks.
    #[serde(serialize_with = "secs")]
    pub(crate) drain_timeout: Duration,
}

impl SioParams {
    /// Emitting clients in all.
    pub(crate) fn total_emitters(&self) -> usize {
        if self.scenario.has_rooms() {
            self.rooms * self.emitters.min(self.members)
        } else {
            self.emitters.min(self.clients)
        }
    }

    /// A one-line description for table headers.
    pub(crate) fn describe(&self) -> String {
        let emitters = self.total_emitters();
        let load = format!(
            "{emitters} emitter{} x {} msg/s ({} msg/s in all), {} B padding",
            if emitters == 1 { "" } else { "s" },
            self.rate,
            emitters as f64 * self.rate,
            self.payload
        );
        let time = format!(
            "{}s + {}s warm-up{}",
            self.duration.as_secs_f64(),
            self.warmup.as_secs_f64(),
            self.messages
                .map(|m| format!(", at most {m} msgs/emitter"))
                .unwrap_or_default()
        );
        let n = self.nodes;
        match self.scenario {
            SioScenario::Rooms => format!(
                "{n} nodes, {} rooms x {} members, {load}, {time}",
                self.rooms, self.members
            ),
            SioScenario::JoinStorm => format!(
                "{n} nodes, {} rooms x {} members + {} churners, {load}, {time}",
                self.rooms, self.members, self.churners
            ),
            SioScenario::Broadcast => {
                format!("{n} nodes, {} clients, {load}, {time}", self.clients)
            }
            SioScenario::Acks => format!(
                "{n} nodes, {} clients, broadcasts with acks, {load}, {time}",
                self.clients
            ),
        }
    }
}

/// The figures only the `socketio` mode has.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct SioFigures {
    /// Client connections, churners included.
    pub(crate) clients: usize,
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
