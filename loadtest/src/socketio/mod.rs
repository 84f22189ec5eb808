//! `socketio` mode: how many Socket.IO clients a cluster of server nodes
//! serves and how late room messages arrive when rooms span nodes, for
//! several stacks side by side (Rust or Node nodes, classic or sharded
//! adapter, on respub or redis-server: see [`stack`]).
//!
//! For each scenario and each stack the load tester starts a broker and N
//! nodes as child processes, spreads its own Socket.IO clients over the
//! nodes round-robin (as a sticky load balancer would) or through a real
//! balancer ([`proxy`]), over websockets or long-polling ([`polling`]), has
//! some clients emit on an open-loop schedule and checks what every client
//! receives; in `emitter` the load tester publishes into the cluster itself
//! instead, as a process that serves no clients does
//! (`respub_socketio::Emitter`); `node-failure` ([`failure`]) kills a node
//! meanwhile. A stack that falls over is reported as failed and the others
//! go on ([`outcome`]); `--find-max` searches the highest load each stack
//! sustains ([`findmax`]).

mod args;
mod client;
mod codec;
mod emitter;
mod failure;
mod findmax;
mod layout;
mod node;
mod outcome;
mod polling;
mod proxy;
mod receiver;
pub(crate) mod server;
mod stack;
mod tally;
mod workload;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests_emitter;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests_outcome;

use std::time::Duration;

use anyhow::{Context, bail};

use crate::figures::{Report, Saturation, ScenarioParams, ScenarioReport, SioParams, SioScenario};
use crate::progress::progress_bar;
use crate::target::Target;

pub(crate) use args::{SioNodeArgs, SocketioArgs};
use node::Programs;
use stack::{AdapterMode, Stack};

/// Runs every scenario on every stack, one after the other; `done` sees
/// each scenario's figures as soon as they are complete. With `--find-max`
/// it searches each stack's highest sustained load instead, and `searched`
/// sees each scenario's searches.
pub(crate) async fn run(
    args: &SocketioArgs,
    done: &mut dyn FnMut(&ScenarioReport),
    searched: &mut dyn FnMut(&Saturation),
) -> anyhow::Result<Report> {
    let stacks = dedup(&args.stacks);
    let programs = Programs {
        rust_exe: std::env::current_exe().context("locating this executable")?,
        node_dir: args
            .node_dir
            .clone()
            .unwrap_or_else(Programs::default_node_dir),
        ack_timeout: Duration::from_secs_f64(args.timing.drain_timeout),
    };
    // Everything is checked before the first run, not halfway through.
    check_emitter(&stacks, &args.scenarios)?;
    let mut plan = Vec::new();
    for &stack in &stacks {
        programs.prepare(stack.nodes().kind)?;
        let explicit = args.bins.get(stack.broker());
        plan.push((stack, node::broker_target(stack, explicit)?));
    }
    let show_progress = args.output.progress();
    let mut report = Report::new(stacks.iter().map(|s| s.name().to_owned()).collect());
    if args.find_max.find_max {
        report.saturation =
            findmax::search_all(args, &plan, &programs, show_progress, searched).await;
        return Ok(report);
    }
    for &scenario in &args.scenarios {
        let s = run_scenario(&args.params(scenario), &plan, &programs, show_progress).await;
        done(&s);
        report.scenarios.push(s);
    }
    Ok(report)
}

/// One scenario on every stack of `plan` in turn, each on a fresh cluster.
async fn run_scenario(
    params: &SioParams,
    plan: &[(Stack, Target)],
    programs: &Programs,
    show_progress: bool,
) -> ScenarioReport {
    let mut results = Vec::new();
    for (stack, broker) in plan {
        let bar = progress_bar(
            show_progress,
            format!("{} on {}", params.scenario.name(), stack.name()),
        );
        results.push(outcome::run_stack(*stack, broker, params, programs, &bar).await);
        bar.finish_and_clear();
    }
    ScenarioReport {
        description: params.describe(),
        params: ScenarioParams::Socketio(params.clone()),
        rounds: 1,
        results,
    }
}

/// Refuses `emitter` on sharded stacks, where it would show as the loss of
/// everything: their nodes listen with SSUBSCRIBE, which no PUBLISH reaches,
/// and expect another envelope (neither Node's `@socket.io/redis-emitter`
/// nor `respub_socketio::Emitter` speaks the sharded protocol).
fn check_emitter(stacks: &[Stack], scenarios: &[SioScenario]) -> anyhow::Result<()> {
    if !scenarios.contains(&SioScenario::Emitter) {
        return Ok(());
    }
    let sharded: Vec<&str> = stacks
        .iter()
        .filter(|s| s.nodes().mode != AdapterMode::Classic)
        .map(|s| s.name())
        .collect();
    if sharded.is_empty() {
        return Ok(());
    }
    bail!(
        "the emitter scenario runs on classic-adapter stacks only, not on {}: sharded nodes \
         never receive what an emitter publishes (Node's @socket.io/redis-emitter has no \
         sharded mode, nor has respub_socketio::Emitter); leave those stacks out of this run",
        sharded.join(", ")
    )
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
