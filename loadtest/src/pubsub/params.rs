//! The `pubsub` flags, and what they turn into: the parameters of each
//! scenario and the list of targets to run it on.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::Args;

use super::wire::HEADER_LEN;
use crate::figures::{LoadModel, Params, ScenarioKind};
use crate::flags::{Bins, Output, Timing};
use crate::target::{ServerKind, Source, Target};

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

fn payload_size(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    if n < HEADER_LEN {
        return Err(format!(
            "at least {HEADER_LEN} bytes (publisher id, channel, sequence, timestamp)"
        ));
    }
    Ok(n)
}

/// Builds the target list in command-line order, `--target` and `--spawn`
/// interleaved as given (the first one is the reference for ratios).
pub(super) fn targets(
    args: &PubsubArgs,
    matches: Option<&clap::ArgMatches>,
) -> anyhow::Result<Vec<Target>> {
    let index = |id: &str| -> Vec<usize> {
        matches
            .and_then(|m| m.indices_of(id))
            .map(|i| i.collect())
            .unwrap_or_default()
    };
    let mut ordered: Vec<(usize, Target)> = Vec::new();
    let ext_idx = index("targets");
    for (i, spec) in args.targets.iter().enumerate() {
        let at = ext_idx.get(i).copied().unwrap_or(usize::MAX / 2 + i);
        ordered.push((at, Target::parse_external(spec)?));
    }
    let spawn_idx = index("spawn");
    for (i, &kind) in args.spawn.iter().enumerate() {
        let explicit = match kind {
            ServerKind::Valkey => args.valkey_bin.as_deref(),
            _ => args.bins.get(kind),
        };
        let bin = kind.locate(explicit)?;
        let at = spawn_idx.get(i).copied().unwrap_or(usize::MAX / 2 + i);
        ordered.push((
            at,
            Target {
                name: kind.name().to_owned(),
                source: Source::Spawn { kind, bin },
            },
        ));
    }
    ordered.sort_by_key(|(at, _)| *at);
    let mut out: Vec<Target> = Vec::new();
    for (_, mut t) in ordered {
        let base = t.name.clone();
        let mut n = 2;
        while out.iter().any(|o| o.name == t.name) {
            t.name = format!("{base}#{n}");
            n += 1;
        }
        out.push(t);
    }
    if out.is_empty() {
        bail!(
            "no target: give --spawn respub|redis-server|valkey-server or --target NAME=HOST:PORT"
        );
    }
    Ok(out)
}
