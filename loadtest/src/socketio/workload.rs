//! One scenario on one started cluster: connect and place the clients,
//! start the emitters and churners, drain, and turn what every client saw
//! into a [`RunResult`]. Only messages scheduled after the warm-up are
//! measured; sequence checks cover every message.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::ProgressBar;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::client::{self, Finished, Handle};
use super::emitter::{AckTally, EmitOut, churn, emit};
use super::layout::{Emitter, Layout, layout, node_id, room_name};
use super::node::Cluster;
use super::receiver::{Expect, Receiver, Shared};
use crate::figures::{
    AckFigures, JoinFigures, RunResult, ServerFigures, SioFigures, SioParams, SioScenario,
};
use crate::measure::{Clock, Latency, Mark, Rss, SeqReport, SeqTracker, Series, StreamId};
use crate::progress::spawn_ticker;

/// Connections opened at once: a burst of thousands of SYNs overflows the
/// nodes' listen backlogs and turns into one-second retransmissions.
const CONNECTING: usize = 256;

type ClientTask = JoinHandle<Finished<Receiver>>;

/// Opens every client, members joining their rooms, all confirmed before
/// anything is sent.
async fn connect_all(
    cluster: &Cluster,
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
        let addr = cluster
            .nodes
            .get(place.node)
            .map(|n| n.addr)
            .context("no node")?;
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
            let (handle, task) = client::connect(addr, receiver, stop).await?;
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
fn marks(cluster: &Cluster) -> anyhow::Result<(Option<Mark>, Vec<Mark>)> {
    let broker = cluster.broker.pid().map(Mark::take).transpose()?;
    let nodes = cluster
        .nodes
        .iter()
        .map(|n| Mark::take(n.pid()))
        .collect::<anyhow::Result<_>>()?;
    Ok((broker, nodes))
}

/// Starts every emitter, spread evenly over one interval of the rate.
fn spawn_emitters(
    params: &SioParams,
    layout: &Layout,
    handles: &[Handle],
    clock: &Clock,
    tally: Option<&Arc<AckTally>>,
) -> anyhow::Result<JoinSet<anyhow::Result<EmitOut>>> {
    let p = Arc::new(params.clone());
    let mut emitters = JoinSet::new();
    let spacing = 1e9 / params.rate.max(1e-3) / layout.emitters.len() as f64;
    for (k, e) in layout.emitters.iter().enumerate() {
        let handle = handles.get(e.client).cloned().context("emitter client")?;
        let offset = (k as f64 * spacing) as u64;
        emitters.spawn(emit(
            handle,
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
async fn join_emitters(
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

/// What the churners did, added up.
async fn join_churners(
    mut churners: JoinSet<anyhow::Result<(u64, Latency)>>,
) -> anyhow::Result<(JoinFigures, Latency)> {
    let mut joins = JoinFigures::default();
    let mut join_latency = Latency::new(3)?;
    while let Some(joined) = churners.join_next().await {
        let (ops, latency) = joined.context("churner task")??;
        joins.operations += ops;
        join_latency.merge(&latency)?;
    }
    Ok((joins, join_latency))
}

/// What emitter `e` sent: (in total, after the warm-up).
fn sent_by(sent: &[EmitOut], e: &Emitter) -> (u64, u64) {
    sent.iter()
        .find(|o| o.stream == e.stream())
        .map_or((0, 0), |o| (o.sent, o.measured))
}

/// Tells every checked client how many messages it should get, and counts
/// the expected deliveries; returns (checked clients, deliveries expected
/// across nodes).
fn set_targets(
    layout: &Layout,
    shared: &Shared,
    sent: &[EmitOut],
    result: &mut RunResult,
) -> (usize, u64) {
    let mut checked = 0;
    let mut cross_node_expected = 0;
    for (i, place) in layout.clients.iter().enumerate() {
        if place.expect == Expect::Unchecked {
            continue;
        }
        checked += 1;
        let (mut total, mut measured) = (0, 0);
        for e in layout.emitters.iter().filter(|e| e.heard_by(place.expect)) {
            let (t, m) = sent_by(sent, e);
            total += t;
            measured += m;
            if layout.clients.get(e.client).map(|c| c.node) != Some(place.node) {
                cross_node_expected += t;
            }
        }
        shared.set_target(i, total);
        result.expected_deliveries += measured;
    }
    (checked, cross_node_expected)
}

/// Merges what each client saw into the result's counts and checks;
/// returns the deliveries that crossed nodes.
async fn join_clients(
    tasks: Vec<ClientTask>,
    layout: &Layout,
    sent: &[EmitOut],
    result: &mut RunResult,
) -> anyhow::Result<u64> {
    let mut seq = SeqReport::default();
    let mut cross_node_delivered = 0;
    for task in tasks {
        let Finished { handler, failure } = task.await.context("client task")?;
        if let Some(f) = failure {
            result.subscriber_failures += 1;
            result.first_failure.get_or_insert(f);
        }
        if handler.expect == Expect::Unchecked {
            continue;
        }
        result.subscribers += 1;
        cross_node_delivered += handler.cross_node;
        let heard: HashSet<StreamId> = layout
            .emitters
            .iter()
            .filter(|e| e.heard_by(handler.expect))
            .map(|e| {
                seq.add(handler.seq.finish(e.stream(), sent_by(sent, e).0));
                e.stream()
            })
            .collect();
        result.unexpected += handler.seq.streams().filter(|s| !heard.contains(s)).count() as u64;
    }
    result.seq = seq;
    Ok(cross_node_delivered)
}

/// Adds up what the emitters sent; returns their time series together.
fn add_emitters(sent: &[EmitOut], result: &mut RunResult) -> Series {
    let mut published = Series::default();
    for o in sent {
        published.merge(&o.series);
        result.published_total += o.sent;
        result.published += o.measured;
        result.unsent += o.unsent;
    }
    published
}

/// CPU and memory of the broker and of each node between the marks and
/// their ends; returns the nodes' figures.
fn set_cost(
    result: &mut RunResult,
    broker: Option<(Mark, (f64, Rss))>,
    nodes: &[Mark],
    node_ends: Vec<(f64, Rss)>,
) -> Vec<ServerFigures> {
    let delivered = result.delivered;
    let over = |mark: &Mark, (cpu, rss): (f64, Rss)| {
        ServerFigures::over(cpu, Some(mark.rss), rss, delivered)
    };
    result.server = broker.map(|(m, end)| over(&m, end));
    nodes
        .iter()
        .zip(node_ends)
        .map(|(m, end)| over(m, end))
        .collect()
}

/// The acks of `acks`, from the nodes' replies.
fn ack_figures(tally: &AckTally, requests: u64, clients: usize) -> AckFigures {
    AckFigures {
        requests,
        replies: tally.replies.load(Ordering::Acquire),
        answers: tally.answers.load(Ordering::Acquire),
        expected_answers: requests * clients as u64,
        round_trip: tally
            .round_trip
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .summary(),
    }
}

/// The joins and leaves of `join-storm`, per second of sending.
fn join_figures(
    joins: JoinFigures,
    latency: &Latency,
    send_secs: f64,
    shared: &Shared,
) -> JoinFigures {
    JoinFigures {
        operations_per_sec: if send_secs > 0.0 {
            joins.operations as f64 / send_secs
        } else {
            0.0
        },
        latency: latency.summary(),
        deliveries: shared.unchecked.load(Ordering::Relaxed),
        ..joins
    }
}

/// Places and connects every client, all confirmed before anything is
/// sent; returns what the clients share, their handles and their tasks.
async fn connect(
    layout: &Layout,
    cluster: &Cluster,
    stop_clients: &CancellationToken,
    progress: &ProgressBar,
) -> anyhow::Result<(Arc<Shared>, Vec<Handle>, Vec<ClientTask>)> {
    if layout.emitters.is_empty() {
        bail!("no emitter: the scenario needs --emitters of at least 1");
    }
    let emitter_nodes = layout
        .emitters
        .iter()
        .map(|e| {
            layout
                .clients
                .get(e.client)
                .map_or(u16::MAX, |c| node_id(c.node))
        })
        .collect();
    let shared = Arc::new(Shared::new(layout.clients.len(), emitter_nodes)?);
    let (handles, tasks) = connect_all(cluster, layout, &shared, stop_clients, progress).await?;
    Ok((shared, handles, tasks))
}

/// Runs `params` on `cluster`.
pub(crate) async fn run(
    params: &SioParams,
    cluster: &Cluster,
    progress: &ProgressBar,
) -> anyhow::Result<RunResult> {
    let layout = layout(params, cluster.nodes.len());
    let stop_clients = CancellationToken::new();
    // Whatever way this function ends, the client tasks end with it.
    let _clients_guard = stop_clients.clone().drop_guard();
    let (shared, handles, tasks) = connect(&layout, cluster, &stop_clients, progress).await?;

    let clock = Clock::new(params.warmup, params.duration, params.drain_timeout);
    let _ = shared.clock.set(clock.clone());
    let stop_aux = CancellationToken::new();
    let _aux_guard = stop_aux.clone().drop_guard();
    let ticker = {
        let shared = Arc::clone(&shared);
        spawn_ticker(progress, &clock, stop_aux.clone(), move || {
            shared.delivered.load(Ordering::Relaxed)
        })
    };
    let tally = if params.scenario == SioScenario::Acks {
        Some(Arc::new(AckTally::new()?))
    } else {
        None
    };
    let emitters = spawn_emitters(params, &layout, &handles, &clock, tally.as_ref())?;
    let churners = spawn_churners(params, &layout, &handles, &stop_aux)?;
    drop(handles);

    // CPU from the end of the warm-up.
    tokio::time::sleep_until(clock.instant(clock.warm_end_ns)).await;
    let (broker_mark, node_marks) = marks(cluster)?;
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
        nodes,
        nodes_total,
        cross_node_delivered,
        cross_node_expected,
        acks: tally.map(|t| ack_figures(&t, requests, layout.clients.len())),
        joins: (params.scenario == SioScenario::JoinStorm)
            .then(|| join_figures(joins, &join_latency, send_secs, &shared)),
    });
    Ok(result)
}

/// The nodes as one: CPU and memory added up.
fn sum_figures(nodes: &[ServerFigures], delivered: u64) -> ServerFigures {
    let cpu: f64 = nodes.iter().map(|n| n.cpu_seconds).sum();
    ServerFigures {
        cpu_seconds: cpu,
        cpu_seconds_per_million_deliveries: (delivered > 0).then(|| cpu / (delivered as f64 / 1e6)),
        rss_before_bytes: nodes.iter().map(|n| n.rss_before_bytes).sum(),
        rss_bytes: nodes.iter().map(|n| n.rss_bytes).sum(),
        peak_rss_bytes: nodes.iter().map(|n| n.peak_rss_bytes).sum(),
    }
}
