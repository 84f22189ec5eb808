//! `socketio` mode: how many Socket.IO clients a cluster of server nodes
//! serves and how late room messages arrive when rooms span nodes, for
//! several stacks side by side (Rust nodes on respub, Rust nodes on
//! redis-server, Node nodes on redis-server).
//!
//! For each scenario and each stack the load tester starts a broker and N
//! nodes as child processes, spreads its own Socket.IO clients over the
//! nodes round-robin (as a sticky load balancer would) or through a real
//! balancer ([`proxy`]), over websockets or long-polling ([`polling`]), has
//! some clients emit on an open-loop schedule and checks what every client
//! receives; `node-failure` ([`failure`]) kills a node meanwhile.

mod args;
mod client;
mod codec;
mod emitter;
mod failure;
mod layout;
mod node;
mod polling;
mod proxy;
mod receiver;
pub(crate) mod server;
mod tally;
mod workload;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;

use std::time::Duration;

use anyhow::Context;

use crate::figures::{Report, ScenarioParams, ScenarioReport, SioScenario};
use crate::progress::progress_bar;

pub(crate) use args::{SioNodeArgs, SocketioArgs};
use node::Stack;

/// Runs every scenario on every stack, one after the other; `done` sees
/// each scenario's figures as soon as they are complete.
pub(crate) async fn run(
    args: &SocketioArgs,
    done: &mut dyn FnMut(&ScenarioReport),
) -> anyhow::Result<Report> {
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
            let bar = progress_bar(
                show_progress,
                format!("{} on {}", scenario.name(), stack.name()),
            );
            let mut cluster = node::Cluster::start(broker, stack.nodes(), params.nodes, &programs)
                .await
                .with_context(|| format!("starting the {} cluster", stack.name()))?;
            let addrs: Vec<_> = cluster.nodes.iter().map(|n| n.addr).collect();
            cluster.proxy = proxy::Proxy::start(params.proxy, &addrs).await?;
            let result = match scenario {
                SioScenario::NodeFailure => {
                    failure::run(&params, &mut cluster, &programs, stack.nodes(), &bar).await
                }
                _ => workload::run(&params, &cluster, &bar).await,
            }
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
        done(&s);
        report.scenarios.push(s);
    }
    Ok(report)
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
