//! What defines a scenario of either mode: plain data, filled in from the
//! flags by the mode and read by the report.

use std::time::Duration;

use serde::{Serialize, Serializer};

/// Durations go into the JSON file as seconds, the unit the flags take.
pub(super) fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ScenarioKind {
    /// P publishers, one channel, S subscribers: fan-out cost.
    Fanout,
    /// C channels with S subscribers each, P publishers spread over them.
    Channels,
    /// N non-matching patterns held while S subscribers receive through a
    /// matching pattern: the cost of PUBLISH as patterns grow.
    Patterns,
    /// SPUBLISH/SSUBSCRIBE over C shard channels with S subscribers each.
    Sharded,
    /// A SUBSCRIBE/UNSUBSCRIBE storm from churner connections while
    /// publishing to S stable subscribers.
    Churn,
    /// K idle subscribed connections: server memory per connection.
    Idle,
}

impl ScenarioKind {
    /// The name used on the command line and in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ScenarioKind::Fanout => "fanout",
            ScenarioKind::Channels => "channels",
            ScenarioKind::Patterns => "patterns",
            ScenarioKind::Sharded => "sharded",
            ScenarioKind::Churn => "churn",
            ScenarioKind::Idle => "idle",
        }
    }

    /// Channels the scenario publishes to, given the `--channels` knob:
    /// only `channels` and `sharded` spread over several.
    pub(crate) fn effective_channels(self, knob: usize) -> usize {
        match self {
            ScenarioKind::Channels | ScenarioKind::Sharded => knob.max(1),
            _ => 1,
        }
    }
}

/// How publishers pace themselves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "model", rename_all = "lowercase")]
pub(crate) enum LoadModel {
    /// Closed loop: publishers stay at most `window` messages ahead of the
    /// slowest subscriber of each channel. Finds peak sustainable
    /// throughput; latency then includes the queueing the window allows.
    Closed {
        /// Messages in flight per channel.
        window: u64,
    },
    /// Open loop: `rate` messages per second in total, send times scheduled
    /// in advance and latency measured from the scheduled time, so a stalled
    /// server shows up as latency instead of silently slowing the sender
    /// (coordinated omission).
    Open {
        /// Messages per second, all publishers together.
        rate: f64,
    },
}

/// Everything that defines one scenario run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Params {
    /// Which workload.
    pub(crate) scenario: ScenarioKind,
    /// Publisher connections.
    pub(crate) publishers: usize,
    /// Subscribers per channel.
    pub(crate) subscribers: usize,
    /// Channels (`channels` and `sharded` only).
    pub(crate) channels: usize,
    /// Non-matching patterns held (`patterns`).
    pub(crate) patterns: usize,
    /// Churning connections (`churn`).
    pub(crate) churners: usize,
    /// Idle connections (`idle`).
    pub(crate) connections: usize,
    /// `idle`: all connections subscribe one shared channel instead of one each.
    pub(crate) idle_shared: bool,
    /// Payload bytes per message, header included.
    pub(crate) payload: usize,
    /// Speak RESP3 (`HELLO 3`) instead of RESP2.
    pub(crate) resp3: bool,
    /// Measured publishing time, after the warm-up.
    #[serde(serialize_with = "secs")]
    pub(crate) duration: Duration,
    /// Publishing time before measuring starts.
    #[serde(serialize_with = "secs")]
    pub(crate) warmup: Duration,
    /// Stop each publisher after this many messages (warm-up included).
    pub(crate) messages: Option<u64>,
    /// Closed or open loop.
    pub(crate) load: LoadModel,
    /// Commands per write (pipelining depth).
    pub(crate) batch: usize,
    /// How long to wait for the last deliveries once publishing stops.
    #[serde(serialize_with = "secs")]
    pub(crate) drain_timeout: Duration,
}

impl Params {
    /// A one-line description for table headers.
    pub(crate) fn describe(&self) -> String {
        let load = match self.load {
            LoadModel::Closed { window } => format!("closed loop, window {window}"),
            LoadModel::Open { rate } => format!("open loop, {rate} msg/s"),
        };
        let proto = if self.resp3 { "RESP3" } else { "RESP2" };
        let time = format!(
            "{}s + {}s warm-up{}",
            self.duration.as_secs_f64(),
            self.warmup.as_secs_f64(),
            self.messages
                .map(|m| format!(", at most {m} msgs/publisher"))
                .unwrap_or_default()
        );
        let ch = self.scenario.effective_channels(self.channels);
        match self.scenario {
            ScenarioKind::Idle => format!(
                "{} idle connections, {}, {proto}",
                self.connections,
                if self.idle_shared {
                    "one shared channel"
                } else {
                    "one channel each"
                }
            ),
            ScenarioKind::Fanout => format!(
                "{} publishers, 1 channel, {} subscribers, {} B, {proto}, {load}, {time}",
                self.publishers, self.subscribers, self.payload
            ),
            ScenarioKind::Channels | ScenarioKind::Sharded => format!(
                "{} publishers, {ch} channels x {} subscribers, {} B, {proto}, {load}, {time}",
                self.publishers, self.subscribers, self.payload
            ),
            ScenarioKind::Patterns => format!(
                "{} publishers, {} non-matching patterns, {} pattern subscribers, {} B, {proto}, {load}, {time}",
                self.publishers, self.patterns, self.subscribers, self.payload
            ),
            ScenarioKind::Churn => format!(
                "{} publishers, {} stable subscribers, {} churners, {} B, {proto}, {load}, {time}",
                self.publishers, self.subscribers, self.churners, self.payload
            ),
        }
    }
}

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
    /// `rooms` while one node is killed with SIGKILL a third into the
    /// measured time and restarted on its port at two thirds; its clients
    /// reconnect elsewhere and rejoin their rooms.
    NodeFailure,
    /// `rooms` with no client emitting: E `respub_socketio::Emitter`s in
    /// the load tester, which accepts no connections, publish to every
    /// room through the broker (Node's `@socket.io/redis-emitter`
    /// protocol), and every node relays to its members.
    Emitter,
}

impl SioScenario {
    /// The name used on the command line and in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SioScenario::Rooms => "rooms",
            SioScenario::Broadcast => "broadcast",
            SioScenario::Acks => "acks",
            SioScenario::JoinStorm => "join-storm",
            SioScenario::NodeFailure => "node-failure",
            SioScenario::Emitter => "emitter",
        }
    }

    /// Whether clients are members of rooms (else everyone hears everything).
    pub(crate) fn has_rooms(self) -> bool {
        matches!(
            self,
            SioScenario::Rooms
                | SioScenario::JoinStorm
                | SioScenario::NodeFailure
                | SioScenario::Emitter
        )
    }
}

/// How the `socketio` clients talk to their nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Transport {
    /// One websocket per client (what socket.io-client upgrades to).
    Websocket,
    /// Engine.IO HTTP long-polling only: a long-poll GET always waiting,
    /// POSTs for what the client sends.
    Polling,
}

/// What stands between the `socketio` clients and the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ProxyKind {
    /// Clients connect to the nodes directly, spread round-robin.
    None,
    /// nginx, `hash $remote_addr consistent`.
    Nginx,
    /// HAProxy, `balance source`.
    Haproxy,
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
    /// Emitters per room (`rooms`, `join-storm`), in all (`broadcast`,
    /// `acks`), or broker emitters each emitting to every room (`emitter`).
    pub(crate) emitters: usize,
    /// Clients (`broadcast`, `acks`).
    pub(crate) clients: usize,
    /// Clients joining and leaving rooms (`join-storm`).
    pub(crate) churners: usize,
    /// Messages per second of each emitter.
    pub(crate) rate: f64,
    /// Padding bytes in each message, after the stamp.
    pub(crate) payload: usize,
    /// Websocket or long-polling.
    pub(crate) transport: Transport,
    /// A balancer in front of the nodes, or none.
    pub(crate) proxy: ProxyKind,
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
    /// Emitter streams in all: emitting clients, or for `emitter` one per
    /// broker emitter and room.
    pub(crate) fn total_emitters(&self) -> usize {
        if self.scenario == SioScenario::Emitter {
            self.rooms * self.emitters
        } else if self.scenario.has_rooms() {
            self.rooms * self.emitters.min(self.members)
        } else {
            self.emitters.min(self.clients)
        }
    }

    /// A one-line description for table headers.
    pub(crate) fn describe(&self) -> String {
        let emitters = self.total_emitters();
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let who = if self.scenario == SioScenario::Emitter {
            let e = self.emitters;
            format!("{e} broker emitter{} x {} rooms", plural(e), self.rooms)
        } else {
            format!("{emitters} emitter{}", plural(emitters))
        };
        let load = format!(
            "{who} x {} msg/s ({} msg/s in all), {} B padding",
            self.rate,
            emitters as f64 * self.rate,
            self.payload
        );
        let stream = if self.scenario == SioScenario::Emitter {
            "emitter/room"
        } else {
            "emitter"
        };
        let time = format!(
            "{}s + {}s warm-up{}",
            self.duration.as_secs_f64(),
            self.warmup.as_secs_f64(),
            self.messages
                .map(|m| format!(", at most {m} msgs/{stream}"))
                .unwrap_or_default()
        );
        let n = self.nodes;
        let via = match (self.transport, self.proxy) {
            (Transport::Websocket, ProxyKind::None) => String::new(),
            (t, ProxyKind::None) => format!(", {t:?} direct").to_lowercase(),
            (t, p) => format!(", {t:?} through {p:?}").to_lowercase(),
        };
        let load = format!("{load}{via}");
        match self.scenario {
            SioScenario::Rooms => format!(
                "{n} nodes, {} rooms x {} members, {load}, {time}",
                self.rooms, self.members
            ),
            SioScenario::NodeFailure => format!(
                "{n} nodes, {} rooms x {} members, {load}, {time}; node {n} killed (SIGKILL) \
                 at 1/3 of the measured time, restarted at 2/3",
                self.rooms, self.members
            ),
            SioScenario::Emitter => format!(
                "{n} nodes, {} rooms x {} members, no client emitting, {load}, {time}",
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
