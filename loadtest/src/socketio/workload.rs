//! One scenario on one started cluster: connect and place the clients,
//! start the emitters and churners, drain, and turn what every client saw
//! into a [`RunResult`]. Only messages scheduled after the warm-up are
//! measured; sequence checks cover every message.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::ProgressBar;
use respub_socketio::{Emitter as BrokerEmitter, FredDriver};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::client::{self, Handle};
use super::emitter::{AckTally, EmitOut, Sink, churn, emit};
use super::layout::{Emitter, Layout, Origin, layout, room_name};
use super::node::Cluster;
use super::proxy::{proxy_cost, proxy_mark};
use super::receiver::{ClientTask, Expect, Receiver, Shared};
use super::tally::{
    ack_figures, add_emitters, join_churners, join_clients, join_figures, set_cost, set_targets,
    sum_figures,
};
use crate::figures::{RunResult, SioFigures, SioParams, SioScenario, Transport};
use crate::measure::{Clock, Latency, Mark, SeqTracker};
use crate::progress::spawn_ticker;

/// Connections opened at once: a burst of thousands of SYNs overflows the
/// nodes' listen backlogs and turns into one-second retransmissions.
const CONNECTING: usize = 256;

/// Opens every client, members joining their rooms, all confirmed before
/// anything is sent.
async fn connect_all(
    cluster: &Cluster,
    transport: Transport,
    layout: &Layout,
    shared: &Arc<Shared>,
    stop: &CancellationToken,
    progress: &ProgressBar,
) -> anyhow::Result<(Vec<Handle>, Vec<ClientTask>)> {
    progress.set_length(layout.clients.len() as u64);
    progress.set_position(0);
    progress.set_message("connecting clients");
    let limit = Arc::new(Semaphore::new(CONNECTING));
    let mut set = JoinSet::new();
    for (index, place) in layout.clients.iter().copied().enumerate() {
        let dial = cluster.dial(index, place.node, transport)?;
        let receiver = Receiver {
            index,
            node: u16::try_from(place.node).unwrap_or(u16::MAX),
            expect: place.expect,
            seq: SeqTracker::default(),
            cross_node: 0,
            shared: Arc::clone(shared),
        };
        let (limit, stop) = (Arc::clone(&limit), stop.clone());
        set.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            let (handle, task) = client::connect(dial, receiver, stop).await?;
            if let Expect::Room(r) = place.expect {
                let reply = handle.call("join", room_name(r)).await?;
                if reply.json != "[\"ok\"]" {
                    bail!("join r{r} answered {}", reply.json);
                }
            }
            anyhow::Ok((index, handle, task))
        });
    }
    let mut slots: Vec<Option<(Handle, ClientTask)>> =
        (0..layout.clients.len()).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        let (index, handle, task) = joined.context("client task")??;
        if let Some(slot) = slots.get_mut(index) {
            *slot = Some((handle, task));
        }
        progress.inc(1);
    }
    Ok(slots.into_iter().flatten().unzip())
}

/// The CPU marks of the broker (when it is a child) and of every node.
pub(super) fn marks(cluster: &Cluster) -> anyhow::Result<(Option<Mark>, Vec<Mark>)> {
    let broker = cluster.broker.pid().map(Mark::take).transpose()?;
    let nodes = cluster
        .nodes
        .iter()
        .map(|n| Mark::take(n.pid()))
        .collect::<anyhow::Result<_>>()?;
    Ok((broker, nodes))
}

/// The broker emitters of `layout` (`emitter`), each on a connection of
/// its own to the nodes' broker, connected before anything is sent.
async fn connect_brokers(
    layout: &Layout,
    cluster: &Cluster,
) -> anyhow::Result<Vec<BrokerEmitter<FredDriver>>> {
    let count = layout
        .emitters
        .iter()
        .filter_map(|e| match e.origin {
            Origin::Broker(k) => Some(k + 1),
            Origin::Client(_) => None,
        })
        .max()
        .unwrap_or(0);
    let url = format!("redis://{}", cluster.broker.addr);
    let mut out = Vec::with_capacity(count);
    for k in 0..count {
        let driver = FredDriver::connect(&url)
            .await
            .with_context(|| format!("connecting broker emitter {} to {url}", k + 1))?;
        out.push(BrokerEmitter::new(driver));
    }
    Ok(out)
}

/// Starts every emitter, spread evenly over one interval of the rate;
/// `brokers` are the broker emitters (see [`connect_brokers`]).
pub(super) fn spawn_emitters(
    params: &SioParams,
    layout: &Layout,
    handles: &[Handle],
    brokers: &[BrokerEmitter<FredDriver>],
    clock: &Clock,
    tally: Option<&Arc<AckTally>>,
) -> anyhow::Result<JoinSet<anyhow::Result<EmitOut>>> {
    let p = Arc::new(params.clone());
    let mut emitters = JoinSet::new();
    let spacing = 1e9 / params.rate.max(1e-3) / layout.emitters.len() as f64;
    for (k, e) in layout.emitters.iter().enumerate() {
        let sink = match e.origin {
            Origin::Client(c) => handles.get(c).cloned().map(Sink::Client),
            Origin::Broker(b) => brokers.get(b).cloned().map(Sink::Broker),
        };
        let sink = sink.context("emitter's client or broker emitter")?;
        let offset = (k as f64 * spacing) as u64;
        emitters.spawn(emit(
            sink,
            *e,
            params.scenario,
            Arc::clone(&p),
            clock.clone(),
            offset,
            tally.cloned(),
        ));
    }
    Ok(emitters)
}

/// Starts every churner (the unchecked clients of `join-storm`).
fn spawn_churners(
    params: &SioParams,
    layout: &Layout,
    handles: &[Handle],
    stop: &CancellationToken,
) -> anyhow::Result<JoinSet<anyhow::Result<(u64, Latency)>>> {
    let mut churners = JoinSet::new();
    for (i, place) in layout.clients.iter().enumerate() {
        if place.expect == Expect::Unchecked {
            let handle = handles.get(i).cloned().context("churner client")?;
            churners.spawn(churn(handle, i, params.rooms, stop.clone()));
        }
    }
    Ok(churners)
}

/// Waits for every emitter. Emitters stop by themselves by `give_up_ns`;
/// a node that stopped reading altogether would block them forever, hence
/// the guard.
pub(super) async fn join_emitters(
    mut emitters: JoinSet<anyhow::Result<EmitOut>>,
    clock: &Clock,
    drain_timeout: Duration,
) -> anyhow::Result<Vec<EmitOut>> {
    let mut sent = Vec::new();
    let guard = clock.instant(clock.give_up_ns) + drain_timeout;
    loop {
        let joined = tokio::select! {
            j = emitters.join_next() => j,
            () = tokio::time::sleep_until(guard) => bail!("emitters blocked: the nodes stopped reading"),
        };
        let Some(joined) = joined else { break };
        sent.push(joined.context("emitter task")?.context("emitter failed")?);
    }
    Ok(sent)
}

/// Starts the run's clock, which every receiver reads, and the progress
/// bar's ticker on the deliveries so far, until `stop`.
pub(super) fn start_clock(
    params: &SioParams,
    shared: &Arc<Shared>,
    progress: &ProgressBar,
    stop: &CancellationToken,
) -> (Clock, tokio::task::JoinHandle<()>) {
    let clock = Clock::new(params.warmup, params.duration, params.drain_timeout);
    let _ = shared.clock.set(clock.clone());
    let shared = Arc::clone(shared);
    let ticker = spawn_ticker(progress, &clock, stop.clone(), move || {
        shared.delivered.load(Ordering::Relaxed)
    });
    (clock, ticker)
}

/// Places and connects every client, all confirmed before anything is
/// sent; returns what the clients share, their handles and their tasks.
/// Through a proxy, the layout then says where the proxy put each client.
pub(super) async fn connect(
    params: &SioParams,
    layout: &mut Layout,
    cluster: &Cluster,
    stop_clients: &CancellationToken,
    progress: &ProgressBar,
) -> anyhow::Result<(Arc<Shared>, Vec<Handle>, Vec<ClientTask>)> {
    if layout.emitters.is_empty() {
        bail!("no emitter: the scenario needs --emitters of at least 1");
    }
    let emitter_clients = layout.emitters.iter().map(Emitter::client).collect();
    let nodes = cluster.nodes.iter().map(|n| n.addr).collect();
    let shared = Arc::new(Shared::new(layout.clients.len(), emitter_clients, nodes)?);
    let (handles, tasks) = connect_all(
        cluster,
        params.transport,
        layout,
        &shared,
        stop_clients,
        progress,
    )
    .await?;
    for (i, place) in layout.clients.iter_mut().enumerate() {
        place.node = usize::from(shared.node_of(i));
    }
    Ok((shared, handles, tasks))
}

/// Runs `params` on `cluster`.
pub(crate) async fn run(
    params: &SioParams,
    cluster: &Cluster,
    progress: &ProgressBar,
) -> anyhow::Result<RunResult> {
    let mut layout = layout(params, cluster.nodes.len());
    let stop_clients = CancellationToken::new();
    // Whatever way this function ends, the client tasks end with it.
    let _clients_guard = stop_clients.clone().drop_guard();
    let (shared, handles, tasks) =
        connect(params, &mut layout, cluster, &stop_clients, progress).await?;
    let brokers = connect_brokers(&layout, cluster).await?;

    let stop_aux = CancellationToken::new();
    let _aux_guard = stop_aux.clone().drop_guard();
    let (clock, ticker) = start_clock(params, &shared, progress, &stop_aux);
    let tally = if params.scenario == SioScenario::Acks {
        Some(Arc::new(AckTally::new()?))
    } else {
        None
    };
    let emitters = spawn_emitters(params, &layout, &handles, &brokers, &clock, tally.as_ref())?;
    let churners = spawn_churners(params, &layout, &handles, &stop_aux)?;
    drop(handles);

    // CPU from the end of the warm-up.
    tokio::time::sleep_until(clock.instant(clock.warm_end_ns)).await;
    let (broker_mark, node_marks) = marks(cluster)?;
    let proxy_mark = proxy_mark(cluster);
    let self_mark = Mark::take(std::process::id()).ok();

    let sent = join_emitters(emitters, &clock, params.drain_timeout).await?;
    let publish_end_ns = sent.iter().map(|o| o.last_ns).max().unwrap_or(clock.end_ns);
    stop_aux.cancel();
    let (joins, join_latency) = join_churners(churners).await?;
    progress.set_message("draining");

    // Every checked client's target, then wait for all of them.
    let mut result = RunResult::default();
    let (checked, cross_node_expected) = set_targets(&layout, &shared, &sent, &mut result);
    let deadline = tokio::time::Instant::now() + params.drain_timeout;
    shared.drained(checked, deadline).await;
    let requests: u64 = sent.iter().map(|o| o.sent).sum();
    if let Some(tally) = &tally {
        tally.drained(requests, deadline).await;
    }
    let broker_end = broker_mark.map(|m| m.since()).transpose()?;
    let node_ends = node_marks
        .iter()
        .map(Mark::since)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let self_cpu = self_mark.and_then(|m| m.since().ok()).map(|(cpu, _)| cpu);
    stop_clients.cancel();
    ticker.abort();

    let cross_node_delivered = join_clients(tasks, &layout, &sent, &mut result).await?;
    let published = add_emitters(&sent, &mut result);
    result.set_traffic(shared.deliveries()?, &published, &clock, publish_end_ns);
    result.loadtest_cpu_seconds = self_cpu;
    let nodes = set_cost(
        &mut result,
        broker_mark.zip(broker_end),
        &node_marks,
        node_ends,
    );
    let nodes_total = (!nodes.is_empty()).then(|| sum_figures(&nodes, result.delivered));
    let send_secs = publish_end_ns.saturating_sub(clock.start_ns) as f64 / 1e9;
    result.sio = Some(SioFigures {
        clients: layout.clients.len(),
        clients_per_node: shared.spread(),
        proxy: proxy_cost(proxy_mark, result.delivered),
        nodes,
        nodes_total,
        cross_node_delivered,
        cross_node_expected,
        acks: tally.map(|t| ack_figures(&t, requests, layout.clients.len())),
        joins: (params.scenario == SioScenario::JoinStorm)
            .then(|| join_figures(joins, &join_latency, send_secs, &shared)),
        node_failure: None,
    });
    Ok(result)
}
