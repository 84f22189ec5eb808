//! `socketio` mode: how many Socket.IO clients a cluster of server nodes
//! serves and how late room messages arrive when rooms span nodes, for
//! several stacks side by side (Rust nodes on respub, Rust nodes on
//! redis-server, Node nodes on redis-server).
//!
//! For each scenario and each stack the load tester starts a broker and N
//! nodes as child processes, spreads its own Socket.IO clients over the
//! nodes round-robin (as a sticky load balancer would), has some clients
//! emit on an open-loop schedule and checks what every client receives.

mod client;
mod codec;
mod node;
mod receiver;
pub(crate) mod server;
mod workload;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;

use std::time::Duration;

use anyhow::Context;
use serde::{Serialize, Serializer};

use crate::cli::SocketioArgs;
use crate::measure::LatencySummary;
use crate::report::{Report, ScenarioParams, ScenarioReport};
use crate::scenario::ServerFigures;

pub(crate) use node::Stack;

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
    fn has_rooms(self) -> bool {
        matches!(self, SioScenario::Rooms | SioScenario::JoinStorm)
    }
}

fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
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

/// Runs every scenario on every stack, one after the other, and reports.
pub(crate) async fn run(args: &SocketioArgs) -> anyhow::Result<()> {
    let stacks = dedup(&args.stacks);
    let programs = node::Programs {
        rust_exe: std::env::current_exe().context("locating this executable")?,
        node_dir: args
            .node_dir
            .clone()
            .unwrap_or_else(node::Programs::default_node_dir),
        ack_timeout: Duration::from_secs_f64(args.timing.drain_timeout),
    };
    // Everything is checked before the first run, not halfway through.
    let mut plan = Vec::new();
    for &stack in &stacks {
        programs.prepare(stack.nodes())?;
        let explicit = args.bins.get(stack.broker());
        plan.push((stack, node::broker_target(stack, explicit)?));
    }
    let show_progress = args.output.progress();
    let mut report = Report::new(stacks.iter().map(|s| s.name().to_owned()).collect());
    for &scenario in &args.scenarios {
        let params = args.params(scenario);
        let mut results = Vec::new();
        for (stack, broker) in &plan {
            let bar = crate::progress_bar(
                show_progress,
                format!("{} on {}", scenario.name(), stack.name()),
            );
            let cluster = node::Cluster::start(broker, stack.nodes(), params.nodes, &programs)
                .await
                .with_context(|| format!("starting the {} cluster", stack.name()))?;
            let result = workload::run(&params, &cluster, &bar)
                .await
                .with_context(|| format!("{} on {}", scenario.name(), stack.name()));
            bar.finish_and_clear();
            drop(cluster);
            let mut result = result?;
            result.target = stack.name().to_owned();
            results.push(result);
        }
        let s = ScenarioReport {
            description: params.describe(),
            params: ScenarioParams::Socketio(params),
            rounds: 1,
            results,
        };
        println!("{}", crate::report::table(&s));
        report.scenarios.push(s);
    }
    report.write_files(&args.output)
}

/// The stacks in order, each once.
fn dedup(stacks: &[Stack]) -> Vec<Stack> {
    let mut out: Vec<Stack> = Vec::new();
    for &s in stacks {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}
