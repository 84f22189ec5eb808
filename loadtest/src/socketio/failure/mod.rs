//! The `node-failure` scenario: `rooms` traffic while the last node is
//! killed with SIGKILL a third into the measured time and restarted on
//! its port at two thirds.
//!
//! Every client is supervised: when its connection fails it reconnects at
//! once (no back-off, unlike socket.io-client's one second or so, so that
//! the figures are the servers' and not a client's timer), through the
//! proxy when there is one, else directly to another node, as a sticky
//! balancer would re-route it. It then rejoins its room. What its emitters
//! queued meanwhile goes out on the new connection. The times of each
//! outage and what every client missed give the figures.

mod restart;
mod supervise;
mod tally;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::ProgressBar;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::layout::layout;
use super::node::{Cluster, Programs};
use super::proxy::{proxy_cost, proxy_mark};
use super::receiver::Shared;
use super::stack::Nodes;
use super::tally::{add_clients, add_emitters, set_cost, set_targets};
use super::workload;
use crate::figures::{RunResult, SioFigures, SioParams};
use crate::measure::Mark;
use supervise::{Reroute, Supervised, supervise};

/// Once sending has stopped, deliveries are waited for until every client
/// has all it should or none arrives for this long: a killed node's
/// clients never get what they missed.
const QUIET: Duration = Duration::from_millis(500);

/// Waits for the last deliveries: until every checked client has its
/// target, nothing arrives for [`QUIET`], or the drain timeout.
async fn drain(shared: &Shared, checked: usize, drain_timeout: Duration) {
    let deadline = tokio::time::Instant::now() + drain_timeout;
    loop {
        let before = shared.delivered.load(Ordering::Acquire);
        let step = (tokio::time::Instant::now() + QUIET).min(deadline);
        shared.drained(checked, step).await;
        if shared.delivered.load(Ordering::Acquire) == before || step >= deadline {
            return;
        }
    }
}

/// Runs `node-failure` on `cluster`.
pub(crate) async fn run(
    params: &SioParams,
    cluster: &mut Cluster,
    programs: &Programs,
    kind: Nodes,
    progress: &ProgressBar,
) -> anyhow::Result<RunResult> {
    if cluster.nodes.len() < 2 {
        bail!("node-failure needs --nodes of at least 2");
    }
    let mut layout = layout(params, cluster.nodes.len());
    let stop_clients = CancellationToken::new();
    let _clients_guard = stop_clients.clone().drop_guard();
    let (shared, handles, tasks) =
        workload::connect(params, &mut layout, cluster, &stop_clients, progress).await?;
    let stop_aux = CancellationToken::new();
    let _aux_guard = stop_aux.clone().drop_guard();
    let (clock, ticker) = workload::start_clock(params, &shared, progress, &stop_aux);
    let emitters = workload::spawn_emitters(params, &layout, &handles, &[], &clock, None)?;
    // The broker's, the proxy's and the load tester's CPU over the whole
    // run (the nodes' would miss the killed one's).
    let broker_mark = cluster.broker.pid().and_then(|p| Mark::take(p).ok());
    let proxy_mark = proxy_mark(cluster);
    let self_mark = Mark::take(std::process::id()).ok();
    let route = Reroute {
        proxy: cluster.proxy.as_ref().map(|p| p.addr),
        nodes: cluster.nodes.iter().map(|n| n.addr).collect(),
        transport: params.transport,
    };
    let mut clients = JoinSet::new();
    for (i, (task, handle)) in tasks.into_iter().zip(handles).enumerate() {
        let (route, stop) = (route.clone(), stop_clients.clone());
        clients.spawn(async move { (i, supervise(task, handle, route, stop).await) });
    }
    let killed = cluster.nodes.len() - 1;
    let timeline =
        restart::fail_and_restart(cluster, killed, programs, kind, &clock, params, &shared).await?;
    let sent = workload::join_emitters(emitters, &clock, params.drain_timeout).await?;
    let publish_end_ns = sent.iter().map(|o| o.last_ns).max().unwrap_or(clock.end_ns);
    stop_aux.cancel();
    progress.set_message("draining");
    let mut result = RunResult::default();
    let (checked, cross_node_expected) = set_targets(&layout, &shared, &sent, &mut result);
    drain(&shared, checked, params.drain_timeout).await;
    let broker_end = broker_mark.and_then(|m| Some((m, m.since().ok()?)));
    result.loadtest_cpu_seconds = self_mark.and_then(|m| m.since().ok()).map(|(cpu, _)| cpu);
    stop_clients.cancel();
    ticker.abort();

    let mut ended: Vec<Option<Supervised>> = (0..layout.clients.len()).map(|_| None).collect();
    while let Some(joined) = clients.join_next().await {
        let (i, supervised) = joined.context("client supervisor")?;
        if let Some(slot) = ended.get_mut(i) {
            *slot = Some(supervised?);
        }
    }
    let ended: Vec<Supervised> = ended.into_iter().flatten().collect();
    let views: Vec<_> = ended
        .iter()
        .map(|(f, o)| (&f.handler, o.as_slice()))
        .collect();
    let figures = tally::figures(&views, &layout, &sent, &timeline)?;
    drop(views);
    let finished = ended.into_iter().map(|(f, _)| f).collect();
    let cross_node_delivered = add_clients(finished, &layout, &sent, &mut result);
    let published = add_emitters(&sent, &mut result);
    result.set_traffic(shared.deliveries()?, &published, &clock, publish_end_ns);
    set_cost(&mut result, broker_end, &[], Vec::new());
    result.sio = Some(SioFigures {
        clients: layout.clients.len(),
        clients_per_node: tally::initial_spread(&layout, cluster.nodes.len()),
        cross_node_delivered,
        cross_node_expected,
        proxy: proxy_cost(proxy_mark, result.delivered),
        node_failure: Some(figures),
        ..SioFigures::default()
    });
    Ok(result)
}
