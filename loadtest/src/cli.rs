//! Command-line interface.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::scenario::{HEADER_LEN, LoadModel, Params, ScenarioKind};
use crate::socketio::{SioParams, SioScenario, Stack};
use crate::target::ServerKind;

/// Fan-out throughput and latency of RESP pub/sub brokers, side by side.
///
/// The load tester speaks RESP itself (no client library), so that what it
/// measures is the broker's cost, not its own.
#[derive(Debug, Parser)]
#[command(name = "respub-loadtest", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Log filter (tracing syntax), also read from RUST_LOG.
    #[arg(long, global = true, default_value = "warn")]
    pub(crate) log: String,
    /// Tokio worker threads for the load tester (default: one per core).
    #[arg(long, global = true)]
    pub(crate) threads: Option<usize>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// What to run.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Pub/sub scenarios against one or more servers.
    ///
    /// Example: respub-loadtest pubsub --spawn respub --spawn redis-server
    /// --scenario fanout --subscribers 100 --duration 5
    Pubsub(PubsubArgs),
    /// Socket.IO clusters: clients spread over N server nodes sharing rooms
    /// through the broker, for several stacks side by side.
    ///
    /// Example: respub-loadtest socketio --nodes 4 --stack respub
    /// --stack node-redis --scenario rooms
    Socketio(SocketioArgs),
    /// A Rust Socket.IO node (what `socketio` starts for its Rust stacks).
    #[command(hide = true)]
    SioNode(SioNodeArgs),
}

/// `pubsub` options.
#[derive(Debug, Args)]
#[command(after_help = "\
TARGETS: each scenario runs on every target in turn, in the order given; the report \
shows each figure and its ratio to the first target. Spawned servers listen on a free \
127.0.0.1 port, run without persistence, are restarted before every scenario and \
stopped afterwards, also on error or Ctrl-C.

respub-server is looked for next to this binary (target/<profile>/, so build it with \
`cargo build --release -p respub-broker --bin respub-server`), then in PATH; \
--respub-bin PATH overrides. redis-server and valkey-server are looked for in PATH.")]
pub(crate) struct PubsubArgs {
    /// A running server: NAME=HOST:PORT (repeatable). Never restarted; CPU
    /// and RSS are not measured.
    #[arg(long = "target", value_name = "NAME=HOST:PORT")]
    pub(crate) targets: Vec<String>,
    /// Start this server on a free 127.0.0.1 port (repeatable).
    #[arg(long = "spawn", value_enum, value_name = "SERVER")]
    pub(crate) spawn: Vec<ServerKind>,
    #[command(flatten)]
    pub(crate) bins: Bins,
    /// valkey-server executable (default: PATH).
    #[arg(long, value_name = "PATH")]
    pub(crate) valkey_bin: Option<PathBuf>,

    /// Scenarios to run, in order (repeatable or comma-separated).
    #[arg(
        long = "scenario",
        value_enum,
        value_delimiter = ',',
        default_value = "fanout"
    )]
    pub(crate) scenarios: Vec<ScenarioKind>,
    /// Run every scenario on every target this many times, alternating
    /// targets; rounds are merged in the report.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rounds: u32,
    /// Publisher connections.
    #[arg(long, default_value_t = 1)]
    pub(crate) publishers: usize,
    /// Subscriber connections per channel.
    #[arg(long, default_value_t = 50)]
    pub(crate) subscribers: usize,
    /// Channels (the `channels` and `sharded` scenarios; the others use one).
    #[arg(long, default_value_t = 10)]
    pub(crate) channels: usize,
    /// Non-matching patterns held during `patterns`.
    #[arg(long, default_value_t = 1000)]
    pub(crate) patterns: usize,
    /// Connections subscribing and unsubscribing during `churn`.
    #[arg(long, default_value_t = 20)]
    pub(crate) churners: usize,
    /// Idle subscribed connections opened by `idle`.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) connections: usize,
    /// `idle`: subscribe all connections to one shared channel instead of
    /// one channel each.
    #[arg(long)]
    pub(crate) idle_shared: bool,
    /// Payload bytes per message (at least 24: the header).
    #[arg(long, default_value_t = 64, value_parser = payload_size)]
    pub(crate) payload: usize,
    /// Speak RESP3 (HELLO 3) instead of RESP2.
    #[arg(long)]
    pub(crate) resp3: bool,
    #[command(flatten)]
    pub(crate) timing: Timing,
    /// Open loop: publish this many messages per second in total, on a
    /// fixed schedule, measuring latency from the scheduled send time.
    /// Without it the load is closed loop (see --window).
    #[arg(long, value_name = "MSGS_PER_SEC", conflicts_with = "window")]
    pub(crate) rate: Option<f64>,
    /// Closed loop: publishers stay at most this many messages ahead of the
    /// slowest subscriber of each channel.
    #[arg(long, default_value_t = 1000)]
    pub(crate) window: u64,
    /// Commands per write (pipelining depth of publishers).
    #[arg(long, default_value_t = 64)]
    pub(crate) batch: usize,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// Where the brokers that both modes start come from.
#[derive(Debug, Clone, Args)]
pub(crate) struct Bins {
    /// respub-server executable (default: next to this binary, then PATH).
    #[arg(long, value_name = "PATH")]
    pub(crate) respub_bin: Option<PathBuf>,
    /// redis-server executable (default: PATH).
    #[arg(long, value_name = "PATH")]
    pub(crate) redis_bin: Option<PathBuf>,
}

impl Bins {
    /// The executable given for `kind`, if any.
    pub(crate) fn get(&self, kind: ServerKind) -> Option<&Path> {
        match kind {
            ServerKind::Respub => self.respub_bin.as_deref(),
            ServerKind::Redis => self.redis_bin.as_deref(),
            ServerKind::Valkey => None,
        }
    }
}

/// How long a scenario sends, shared by every mode.
#[derive(Debug, Clone, Args)]
pub(crate) struct Timing {
    /// Measured seconds of sending (after the warm-up).
    #[arg(long, default_value_t = 10.0, value_parser = seconds)]
    pub(crate) duration: f64,
    /// Seconds of sending before measuring starts.
    #[arg(long, default_value_t = 1.0, value_parser = seconds)]
    pub(crate) warmup: f64,
    /// Stop each publisher (emitter) after this many messages, warm-up
    /// included, even if the duration has not passed.
    #[arg(long)]
    pub(crate) messages: Option<u64>,
    /// Seconds to wait for outstanding deliveries after sending stops
    /// (what has not arrived by then counts as lost). Also how far an
    /// open-loop sender may fall behind its schedule before it gives up.
    #[arg(long, default_value_t = 10.0, value_parser = seconds)]
    pub(crate) drain_timeout: f64,
}

/// Where results go, shared by every mode.
#[derive(Debug, Clone, Args)]
pub(crate) struct Output {
    /// Write every figure to this JSON file.
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Write an HTML report with SVG charts into this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) report: Option<PathBuf>,
    /// No progress bar even on a terminal.
    #[arg(long)]
    pub(crate) quiet: bool,
}

impl Output {
    /// Whether to draw progress bars: asked for and on a terminal.
    pub(crate) fn progress(&self) -> bool {
        !self.quiet && std::io::IsTerminal::is_terminal(&std::io::stdout())
    }
}

/// `socketio` options.
#[derive(Debug, Args)]
#[command(after_help = "\
STACKS: each scenario runs on every stack in turn, in the order given; the report shows \
each figure and its ratio to the first stack. For every scenario and stack the load \
tester starts a broker on a free 127.0.0.1 port and --nodes server nodes as child \
processes, each connected to the broker on its own free port, and spreads its clients \
over them round-robin. Everything is stopped afterwards, also on error or Ctrl-C.

Rust nodes are this executable run as `respub-loadtest sio-node` (socketioxide with \
respub-socketio); Node nodes are `node sio_node.mjs` (socket.io 4.8 with \
@socket.io/redis-adapter 8.3) from --node-dir, whose npm packages are installed with \
`npm ci` when missing. respub-server is looked for next to this binary, then in PATH \
(--respub-bin overrides); redis-server in PATH (--redis-bin).

MESSAGES: every emitter sends --rate messages per second on a fixed schedule, each \
stamped with its scheduled send time, its emitter and a sequence number; every client \
checks that it gets each message meant for it exactly once.")]
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
    /// Rooms (`rooms`, `join-storm`).
    #[arg(long, default_value_t = 50)]
    pub(crate) rooms: usize,
    /// Members per room (`rooms`, `join-storm`).
    #[arg(long, default_value_t = 20)]
    pub(crate) members: usize,
    /// Emitting clients: per room for `rooms` and `join-storm` (members
    /// that emit to their own room), in all for `broadcast` and `acks`.
    #[arg(long, default_value_t = 1)]
    pub(crate) emitters: usize,
    /// Clients (`broadcast`, `acks`).
    #[arg(long, default_value_t = 1000)]
    pub(crate) clients: usize,
    /// Clients joining and leaving rooms while messages flow (`join-storm`).
    #[arg(long, default_value_t = 100)]
    pub(crate) churners: usize,
    /// Messages per second of each emitter.
    #[arg(long, value_name = "MSGS_PER_SEC", default_value_t = 10.0, value_parser = positive)]
    pub(crate) rate: f64,
    /// Padding bytes added to each message (the stamp is about 30 bytes).
    #[arg(long, default_value_t = 0)]
    pub(crate) payload: usize,
    #[command(flatten)]
    pub(crate) timing: Timing,
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
}

fn positive(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if !(v > 0.0 && v <= 1e9) {
        return Err("above 0".into());
    }
    Ok(v)
}

fn payload_size(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    if n < HEADER_LEN {
        return Err(format!(
            "at least {HEADER_LEN} bytes (publisher id, channel, sequence, timestamp)"
        ));
    }
    Ok(n)
}

fn seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if !(0.0..=86_400.0).contains(&v) {
        return Err("between 0 and 86400 seconds".into());
    }
    Ok(v)
}

impl PubsubArgs {
    /// The parameters of `scenario` under these options.
    pub(crate) fn params(&self, scenario: ScenarioKind) -> Params {
        let load = match self.rate {
            Some(rate) => LoadModel::Open { rate },
            None => LoadModel::Closed {
                window: self.window.max(1),
            },
        };
        Params {
            scenario,
            publishers: self.publishers.max(1),
            subscribers: self.subscribers,
            channels: scenario.effective_channels(self.channels),
            patterns: self.patterns,
            churners: self.churners,
            connections: self.connections,
            idle_shared: self.idle_shared,
            payload: self.payload,
            resp3: self.resp3,
            duration: Duration::from_secs_f64(self.timing.duration),
            warmup: Duration::from_secs_f64(self.timing.warmup),
            messages: self.timing.messages,
            load,
            batch: self.batch.max(1),
            drain_timeout: Duration::from_secs_f64(self.timing.drain_timeout),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_done_command() {
        let cli = Cli::try_parse_from([
            "respub-loadtest",
            "pubsub",
            "--spawn",
            "respub",
            "--spawn",
            "redis-server",
            "--scenario",
            "fanout",
        ])
        .unwrap();
        let Command::Pubsub(args) = cli.command else {
            panic!("not pubsub")
        };
        assert_eq!(args.spawn, vec![ServerKind::Respub, ServerKind::Redis]);
        assert_eq!(args.scenarios, vec![ScenarioKind::Fanout]);
        assert!(matches!(
            args.params(ScenarioKind::Fanout).load,
            LoadModel::Closed { window: 1000 }
        ));
    }

    #[test]
    fn rejects_small_payloads_and_rate_with_window() {
        assert!(Cli::try_parse_from(["x", "pubsub", "--payload", "10"]).is_err());
        assert!(Cli::try_parse_from(["x", "pubsub", "--rate", "10", "--window", "5"]).is_err());
        let cli = Cli::try_parse_from(["x", "pubsub", "--scenario", "idle,churn", "--rate", "100"])
            .unwrap();
        let Command::Pubsub(args) = cli.command else {
            panic!("not pubsub")
        };
        assert_eq!(
            args.scenarios,
            vec![ScenarioKind::Idle, ScenarioKind::Churn]
        );
        assert!(matches!(
            args.params(ScenarioKind::Churn).load,
            LoadModel::Open { .. }
        ));
    }

    #[test]
    fn help_says_where_respub_server_comes_from() {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        let help = cmd
            .find_subcommand_mut("pubsub")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("--respub-bin"), "{help}");
        assert!(help.contains("next to this binary"), "{help}");
    }
}
