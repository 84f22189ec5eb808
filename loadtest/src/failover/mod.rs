//! `failover` mode: what publishers and subscribers see when the master of
//! a Sentinel deployment crashes, for each server kind under the same
//! Sentinel settings.
//!
//! [`deploy`] starts a master, two replicas and three real redis-sentinel
//! processes; [`client`] is the Sentinel-aware connection the
//! [`publisher`]s and [`subscriber`]s use, [`sentinel`] what they and the
//! run ask the sentinels; [`run`] kills the master mid-run and [`tally`]
//! turns what everyone recorded into the timeline and the counts.

mod args;
mod client;
mod deploy;
mod publisher;
mod run;
mod sentinel;
mod subscriber;
mod tally;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use anyhow::{Context, bail};

use crate::figures::{Report, RunResult, ScenarioParams, ScenarioReport};
use crate::progress::progress_bar;
use crate::target::ServerKind;

use crate::stamp::HEADER_LEN;
pub(crate) use args::FailoverArgs;

/// The channel every publisher publishes to and every subscriber holds.
const CHANNEL: &[u8] = b"lt:failover";

/// The sequence number of a publisher's last message, sent once it has
/// stopped: a subscriber that sees it from every publisher is done.
const END: u64 = u64::MAX;

/// What the run's tasks tell it while it waits for the clients to come
/// back after the kill.
#[derive(Debug, Default)]
struct Progress {
    /// When the master was killed, on the run's clock; 0 before.
    kill_ns: AtomicU64,
    /// Publishers with an acknowledged PUBLISH after the kill.
    publishers_back: AtomicUsize,
    /// Subscribers with a delivery on a connection made after the kill.
    subscribers_back: AtomicUsize,
}

impl Progress {
    /// Whether `ns` is after the kill.
    fn after_kill(&self, ns: u64) -> bool {
        let kill = self.kill_ns.load(Ordering::Acquire);
        kill != 0 && ns > kill
    }
}

/// Runs the scenario on every kind of `args`, `rounds` times, alternating
/// kinds; `done` sees the figures.
pub(crate) async fn run_all(
    args: &FailoverArgs,
    done: &mut dyn FnMut(&ScenarioReport),
) -> anyhow::Result<Report> {
    let params = args.params()?;
    let mut kinds: Vec<ServerKind> = Vec::new();
    for &k in &args.spawn {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    let mut plan = Vec::new();
    for &kind in &kinds {
        plan.push((kind, kind.locate(args.bins.get(kind))?));
    }
    let sentinel = locate_sentinel(args.sentinel_bin.as_deref())?;
    let show = args.output.progress();
    let mut merged: Vec<Option<RunResult>> = vec![None; plan.len()];
    for round in 0..args.rounds {
        for (slot, (kind, bin)) in merged.iter_mut().zip(&plan) {
            let bar = progress_bar(
                show,
                format!("failover on {} {}/{}", kind.name(), round + 1, args.rounds),
            );
            let result = run::run(*kind, bin, &sentinel, &params, &bar)
                .await
                .with_context(|| format!("failover on {}", kind.name()));
            bar.finish_and_clear();
            let result = result?;
            match slot {
                Some(prev) => prev.merge(result)?,
                None => *slot = Some(result),
            }
        }
    }
    let mut report = Report::new(kinds.iter().map(|k| k.name().to_owned()).collect());
    let s = ScenarioReport {
        description: params.describe(),
        params: ScenarioParams::Failover(params),
        rounds: args.rounds,
        results: merged.into_iter().flatten().collect(),
    };
    done(&s);
    report.scenarios.push(s);
    Ok(report)
}

/// `explicit`, or redis-sentinel from `PATH`.
fn locate_sentinel(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p.to_owned());
        }
        bail!("redis-sentinel binary {} does not exist", p.display());
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("redis-sentinel"))
        .find(|c| c.is_file())
        .context("redis-sentinel not found in PATH; install it (Debian: redis-sentinel) or pass --sentinel-bin PATH")
}
