//! The `socketio` and `sio-node` flags, and the parameters of each
//! `socketio` scenario they turn into.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::findmax::FindMaxArgs;
use super::stack::{AdapterMode, Stack};
use crate::figures::{ProxyKind, SioParams, SioScenario, Transport};
use crate::flags::{Bins, Output, Timing};

/// `socketio` options.
#[derive(Debug, Args)]
#[command(after_help = "\
STACKS: each scenario runs on every stack in turn, in the order given; the report shows \
each figure and its ratio to the first stack. For every scenario and stack the load \
tester starts a broker on a free 127.0.0.1 port and --nodes server nodes as child \
processes, each connected to the broker on its own free port, and spreads its clients \
over them round-robin, or starts --proxy in front of them, sticky by source address, \
each client connecting from its own 127.x address. Everything is stopped afterwards, \
also on error or Ctrl-C. A stack whose node or broker dies is reported as FAILED, with \
that process's exit status and last lines, and the other stacks go on.

FIND-MAX: with --find-max each scenario runs on each stack as a series of short steps \
(--warmup, then --step-duration), each on a fresh cluster, the rate doubling from --rate \
while the stack keeps up and halving while it does not, then bisected to --precision. A \
step is sustained when nothing is lost, duplicated, reordered or unsent and p99 is \
within --max-p99-ms (an unsustained step is run again --step-retries times); the report \
gives each stack's highest sustained deliveries/s. At most --max-steps rates per stack, \
and no step starts after --max-search-secs of a stack's search.

Rust nodes are this executable run as `respub-loadtest sio-node` (socketioxide with \
respub-socketio); Node nodes are `node sio_node.mjs` (socket.io 4.8 with \
@socket.io/redis-adapter 8.3 over node-redis or ioredis) from --node-dir, whose npm \
packages are installed with `npm ci` when missing. respub-server is looked for next to \
this binary, then in PATH (--respub-bin overrides); redis-server in PATH (--redis-bin).

MESSAGES: every emitter sends --rate messages per second on a fixed schedule, each \
stamped with its scheduled send time, its emitter and a sequence number; every client \
checks that it gets each message meant for it exactly once.

EMITTER: in --scenario emitter no client emits. The load tester holds --emitters \
respub_socketio::Emitter instances (the protocol of Node's @socket.io/redis-emitter), \
each on its own connection to the stack's broker, as a process that serves no clients \
would; each publishes --rate messages per second to every room (io.to(room).emit), so \
the load is that of `rooms` with the same flags, and every node relays them to its \
members. Classic-adapter stacks only: a run that includes a sharded stack is refused \
up front, as sharded nodes never receive what an emitter publishes.")]
pub(crate) struct SocketioArgs {
    /// Stack to measure (repeatable; the first is the reference for ratios).
    #[arg(
        long = "stack",
        value_enum,
        value_name = "STACK",
        default_value = "respub"
    )]
    pub(crate) stacks: Vec<Stack>,
    /// Scenarios to run, in order (repeatable or comma-separated).
    #[arg(
        long = "scenario",
        value_enum,
        value_delimiter = ',',
        default_value = "rooms"
    )]
    pub(crate) scenarios: Vec<SioScenario>,
    /// Server nodes per stack.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) nodes: u16,
    /// Rooms (`rooms`, `join-storm`, `node-failure`, `emitter`).
    #[arg(long, default_value_t = 50)]
    pub(crate) rooms: usize,
    /// Members per room (`rooms`, `join-storm`, `node-failure`, `emitter`).
    #[arg(long, default_value_t = 20)]
    pub(crate) members: usize,
    /// Emitting clients: per room for `rooms` and `join-storm` (members
    /// that emit to their own room), in all for `broadcast` and `acks`;
    /// for `emitter`, the load tester's broker emitters, each emitting to
    /// every room.
    #[arg(long, default_value_t = 1)]
    pub(crate) emitters: usize,
    /// Clients (`broadcast`, `acks`).
    #[arg(long, default_value_t = 1000)]
    pub(crate) clients: usize,
    /// Clients joining and leaving rooms while messages flow (`join-storm`).
    #[arg(long, default_value_t = 100)]
    pub(crate) churners: usize,
    /// Messages per second of each emitter (for `emitter`: of each broker
    /// emitter to each room).
    #[arg(long, value_name = "MSGS_PER_SEC", default_value_t = 10.0, value_parser = positive)]
    pub(crate) rate: f64,
    /// Padding bytes added to each message (the stamp is about 30 bytes).
    #[arg(long, default_value_t = 0)]
    pub(crate) payload: usize,
    /// How the clients talk to the nodes.
    #[arg(long, value_enum, default_value = "websocket")]
    pub(crate) transport: Transport,
    /// A load balancer to start in front of the nodes, sticky by source
    /// address; each client then connects from its own 127.x address.
    #[arg(long, value_enum, default_value = "none")]
    pub(crate) proxy: ProxyKind,
    #[command(flatten)]
    pub(crate) timing: Timing,
    #[command(flatten)]
    pub(crate) find_max: FindMaxArgs,
    #[command(flatten)]
    pub(crate) bins: Bins,
    /// Folder of sio_node.mjs and its package.json (default: loadtest/node
    /// of the source tree this binary was built from).
    #[arg(long, value_name = "DIR")]
    pub(crate) node_dir: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) output: Output,
}

impl SocketioArgs {
    /// The parameters of `scenario` under these options.
    pub(crate) fn params(&self, scenario: SioScenario) -> SioParams {
        SioParams {
            scenario,
            nodes: usize::from(self.nodes),
            rooms: self.rooms.max(1),
            members: self.members.max(1),
            emitters: self.emitters,
            clients: self.clients.max(1),
            churners: self.churners,
            rate: self.rate,
            payload: self.payload,
            transport: self.transport,
            proxy: self.proxy,
            duration: Duration::from_secs_f64(self.timing.duration),
            warmup: Duration::from_secs_f64(self.timing.warmup),
            messages: self.timing.messages,
            drain_timeout: Duration::from_secs_f64(self.timing.drain_timeout),
        }
    }
}

/// `sio-node` options.
#[derive(Debug, Args)]
pub(crate) struct SioNodeArgs {
    /// The broker.
    #[arg(long, value_name = "URL")]
    pub(crate) redis: String,
    /// How long a broadcast with acks waits for the clients' answers.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub(crate) ack_timeout_ms: u64,
    /// The adapter mode.
    #[arg(long, value_enum, default_value = "classic")]
    pub(crate) mode: AdapterMode,
    /// The port to listen on, on 127.0.0.1 (0: a free one).
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
}

fn positive(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if !(v > 0.0 && v <= 1e9) {
        return Err("above 0".into());
    }
    Ok(v)
}
