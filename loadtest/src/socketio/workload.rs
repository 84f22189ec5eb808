//! One scenario on one started cluster: connect and place the clients,
//! emit on an open-loop schedule, drain, and turn what every client saw
//! into a [`RunResult`].
//!
//! Emitters stamp each message with its scheduled send time, so a node or
//! broker that stalls shows up as latency instead of slowing the senders
//! down (coordinated omission). Only messages scheduled after the warm-up
//! are measured; sequence checks cover every message.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::ProgressBar;
use tokio::sync::{Notify, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::client::{self, Finished, Handle};
use super::codec;
use super::node::Cluster;
use super::receiver::{Expect, Receiver, Shared};
use super::{AckFigures, JoinFigures, SioFigures, SioParams, SioScenario};
use crate::measure::{Clock, Latency, Mark, Rss, SeqReport, SeqTracker, Series, StreamId};
use crate::scenario::{RunResult, ServerFigures, spawn_ticker};

/// Connections opened at once: a burst of thousands of SYNs overflows the
/// nodes' listen backlogs and turns into one-second retransmissions.
const CONNECTING: usize = 256;

/// One client of the run.
#[derive(Debug, Clone, Copy)]
struct Place {
    node: usize,
    expect: Expect,
}

/// One emitting client.
#[derive(Debug, Clone, Copy)]
struct Emitter {
    /// Its index among the clients.
    client: usize,
    /// Its id in message stamps.
    id: u32,
    /// The room it emits to; `None`: everyone.
    room: Option<u32>,
}

impl Emitter {
    fn stream(&self) -> StreamId {
        (self.id, self.room.unwrap_or(0))
    }

    /// Whether a client expecting `expect` should hear this emitter.
    fn heard_by(&self, expect: Expect) -> bool {
        match expect {
            Expect::Room(r) => self.room == Some(r),
            Expect::All => true,
            Expect::Unchecked => false,
        }
    }
}

/// Who is where: clients round-robin over the nodes, as a sticky load
/// balancer spreads them, so every room with at least as many members as
/// there are nodes spans all of them.
#[derive(Debug)]
struct Layout {
    clients: Vec<Place>,
    emitters: Vec<Emitter>,
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn layout(p: &SioParams, nodes: usize) -> Layout {
    let nodes = nodes.max(1);
    let mut clients = Vec::new();
    let mut emitters = Vec::new();
    let mut add = |expect: Expect, emits: Option<Option<u32>>| {
        let client = clients.len();
        clients.push(Place {
            node: client % nodes,
            expect,
        });
        if let Some(room) = emits {
            emitters.push(Emitter {
                client,
                id: to_u32(emitters.len()),
                room,
            });
        }
    };
    if p.scenario.has_rooms() {
        let m = p.members.max(1);
        for r in 0..p.rooms {
            for j in 0..m {
                // Room r's emitters are members r, r+1, ... (mod M): with M
                // a multiple of the node count, they still rotate over nodes.
                let emits = (j + m - r % m) % m < p.emitters;
                let room = to_u32(r);
                add(Expect::Room(room), emits.then_some(Some(room)));
            }
        }
        if p.scenario == SioScenario::JoinStorm {
            for _ in 0..p.churners {
                add(Expect::Unchecked, None);
            }
        }
    } else {
        for k in 0..p.clients {
            add(Expect::All, (k < p.emitters).then_some(None));
        }
    }
    Layout { clients, emitters }
}

fn room_name(r: u32) -> String {
    format!("\"r{r}\"")
}

/// The message: `[emitter, room, seq, sent ns, padding]`.
fn payload(e: &Emitter, seq: u64, sent_ns: u64, padding: &str) -> String {
    let mut b = itoa::Buffer::new();
    let mut out = String::with_capacity(48 + padding.len());
    out.push('[');
    for n in [
        u64::from(e.id),
        u64::from(e.room.unwrap_or(0)),
        seq,
        sent_ns,
    ] {
        out.push_str(b.format(n));
        out.push(',');
    }
    out.push('"');
    out.push_str(padding);
    out.push_str("\"]");
    out
}

/// What one emitter sent.
#[derive(Debug)]
struct EmitOut {
    stream: StreamId,
    sent: u64,
    measured: u64,
    series: Series,
    last_ns: u64,
    unsent: u64,
}

/// Broadcasts with acks: the nodes' replies as they come.
#[derive(Debug)]
struct AckTally {
    round_trip: Mutex<Latency>,
    replies: AtomicU64,
    answers: AtomicU64,
    notify: Notify,
}

impl AckTally {
    async fn await_reply(
        self: Arc<Self>,
        pending: client::Pending,
        epoch: Instant,
        due_ns: u64,
        measured: bool,
    ) {
        let Ok(reply) = pending.reply().await else {
            return;
        };
        let answers = serde_json::from_str::<(u64,)>(&reply.json).map_or(0, |(n,)| n);
        if measured {
            let rtt = reply.at.saturating_duration_since(epoch).as_nanos();
            let rtt = u64::try_from(rtt)
                .unwrap_or(u64::MAX)
                .saturating_sub(due_ns);
            self.round_trip
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .record(rtt);
        }
        self.answers.fetch_add(answers, Ordering::Relaxed);
        self.replies.fetch_add(1, Ordering::AcqRel);
        self.notify.notify_one();
    }

    async fn drained(&self, requests: u64, deadline: tokio::time::Instant) {
        while self.replies.load(Ordering::Acquire) < requests {
            tokio::select! {
                () = self.notify.notified() => {}
                () = tokio::time::sleep_until(deadline) => return,
            }
        }
    }
}

/// Sends on schedule until the end of the run, the message limit, or until
/// it falls more than the drain timeout behind.
async fn emit(
    handle: Handle,
    e: Emitter,
    scenario: SioScenario,
    p: Arc<SioParams>,
    clock: Clock,
    offset_ns: u64,
    acks: Option<Arc<AckTally>>,
) -> anyhow::Result<EmitOut> {
    let padding = "x".repeat(p.payload);
    let interval = 1e9 / p.rate.max(1e-3);
    let scheduled = |i: u64| clock.start_ns + offset_ns + (i as f64 * interval) as u64;
    let limit = p.messages.unwrap_or(u64::MAX);
    let mut out = EmitOut {
        stream: e.stream(),
        sent: 0,
        measured: 0,
        series: Series::default(),
        last_ns: 0,
        unsent: 0,
    };
    loop {
        let due = scheduled(out.sent);
        if due >= clock.end_ns || out.sent >= limit {
            break;
        }
        if clock.now_ns() >= clock.give_up_ns {
            let span = clock.end_ns.saturating_sub(clock.start_ns + offset_ns) as f64;
            out.unsent = ((span / interval).ceil() as u64)
                .min(limit)
                .saturating_sub(out.sent);
            break;
        }
        tokio::time::sleep_until(clock.instant(due)).await;
        let body = payload(&e, out.sent, due, &padding);
        let measured = due >= clock.warm_end_ns;
        match (scenario, &acks) {
            (SioScenario::Acks, Some(tally)) => {
                let pending = handle.request("ackcast", body).await?;
                tokio::spawn(Arc::clone(tally).await_reply(pending, clock.epoch, due, measured));
            }
            (SioScenario::Broadcast, _) => {
                handle.send(codec::event(None, "broadcast", &body)).await?;
            }
            _ => {
                let args = format!("{},{body}", room_name(e.room.unwrap_or(0)));
                handle.send(codec::event(None, "emit", &args)).await?;
            }
        }
        out.sent += 1;
        out.measured += u64::from(measured);
        out.series.add(due.saturating_sub(clock.start_ns), 1);
    }
    out.last_ns = clock.now_ns();
    Ok(out)
}

/// Joins and leaves rooms in turn until stopped; returns the operations
/// acknowledged and their latency. The first join and leave always
/// complete, so that a run that churned at all reports it.
async fn churn(
    handle: Handle,
    c: usize,
    rooms: usize,
    stop: CancellationToken,
) -> anyhow::Result<(u64, Latency)> {
    let mut latency = Latency::new(3)?;
    let mut ops = 0u64;
    for k in 0.. {
        let room = room_name(to_u32((c + k) % rooms.max(1)));
        for event in ["join", "leave"] {
            let sent = Instant::now();
            let call = handle.call(event, room.clone());
            let reply = if k == 0 {
                call.await?
            } else {
                tokio::select! {
                    () = stop.cancelled() => return Ok((ops, latency)),
                    r = call => r?,
                }
            };
            if reply.json != "[\"ok\"]" {
                bail!("{event} {room} answered {}", reply.json);
            }
            let ns = reply.at.saturating_duration_since(sent).as_nanos();
            latency.record(u64::try_from(ns).unwrap_or(u64::MAX));
            ops += 1;
        }
    }
    Ok((ops, latency))
}

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

/// Runs `params` on `cluster`.
#[allow(clippy::too_many_lines)]
pub(crate) async fn run(
    params: &SioParams,
    cluster: &Cluster,
    progress: &ProgressBar,
) -> anyhow::Result<RunResult> {
    let layout = layout(params, cluster.nodes.len());
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
    let stop_clients = CancellationToken::new();
    // Whatever way this function ends, the client tasks end with it.
    let _clients_guard = stop_clients.clone().drop_guard();
    let (handles, tasks) = connect_all(cluster, &layout, &shared, &stop_clients, progress).await?;

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
    let p = Arc::new(params.clone());
    let tally = if params.scenario == SioScenario::Acks {
        Some(Arc::new(AckTally {
            round_trip: Mutex::new(Latency::new(3)?),
            replies: AtomicU64::new(0),
            answers: AtomicU64::new(0),
            notify: Notify::new(),
        }))
    } else {
        None
    };
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
            tally.clone(),
        ));
    }
    let mut churners = JoinSet::new();
    for (i, place) in layout.clients.iter().enumerate() {
        if place.expect == Expect::Unchecked {
            let handle = handles.get(i).cloned().context("churner client")?;
            churners.spawn(churn(handle, i, params.rooms, stop_aux.clone()));
        }
    }
    drop(handles);

    // CPU from the end of the warm-up.
    tokio::time::sleep_until(clock.instant(clock.warm_end_ns)).await;
    let (broker_mark, node_marks) = marks(cluster)?;
    let self_mark = Mark::take(std::process::id()).ok();

    let mut sent = Vec::new();
    // Emitters stop by themselves by `give_up_ns`; a node that stopped
    // reading altogether would block them forever, hence this guard.
    let guard = clock.instant(clock.give_up_ns) + params.drain_timeout;
    loop {
        let joined = tokio::select! {
            j = emitters.join_next() => j,
            () = tokio::time::sleep_until(guard) => bail!("emitters blocked: the nodes stopped reading"),
        };
        let Some(joined) = joined else { break };
        sent.push(joined.context("emitter task")?.context("emitter failed")?);
    }
    let publish_end_ns = sent.iter().map(|o| o.last_ns).max().unwrap_or(clock.end_ns);
    stop_aux.cancel();
    let mut joins = JoinFigures::default();
    let mut join_latency = Latency::new(3)?;
    while let Some(joined) = churners.join_next().await {
        let (ops, latency) = joined.context("churner task")??;
        joins.operations += ops;
        join_latency.merge(&latency)?;
    }
    progress.set_message("draining");

    // Every checked client's target, then wait for all of them.
    let sent_by_stream = |e: &Emitter| -> (u64, u64) {
        sent.iter()
            .find(|o| o.stream == e.stream())
            .map_or((0, 0), |o| (o.sent, o.measured))
    };
    let mut checked = 0;
    let mut result = RunResult::default();
    let mut cross_node_expected = 0;
    for (i, place) in layout.clients.iter().enumerate() {
        if place.expect == Expect::Unchecked {
            continue;
        }
        checked += 1;
        let (mut total, mut measured) = (0, 0);
        for e in layout.emitters.iter().filter(|e| e.heard_by(place.expect)) {
            let (t, m) = sent_by_stream(e);
            total += t;
            measured += m;
            if layout.clients.get(e.client).map(|c| c.node) != Some(place.node) {
                cross_node_expected += t;
            }
        }
        shared.set_target(i, total);
        result.expected_deliveries += measured;
    }
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

    // What each client saw.
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
                seq.add(handler.seq.finish(e.stream(), sent_by_stream(e).0));
                e.stream()
            })
            .collect();
        result.unexpected += handler.seq.streams().filter(|s| !heard.contains(s)).count() as u64;
    }
    let mut published = Series::default();
    for o in &sent {
        published.merge(&o.series);
        result.published_total += o.sent;
        result.published += o.measured;
        result.unsent += o.unsent;
    }
    result.seq = seq;
    result.set_traffic(shared.deliveries()?, &published, &clock, publish_end_ns);
    result.loadtest_cpu_seconds = self_cpu;
    let over = |mark: &Mark, (cpu, rss): (f64, Rss)| {
        ServerFigures::over(cpu, Some(mark.rss), rss, result.delivered)
    };
    result.server = broker_mark.zip(broker_end).map(|(m, end)| over(&m, end));
    let nodes: Vec<ServerFigures> = node_marks
        .iter()
        .zip(node_ends)
        .map(|(m, end)| over(m, end))
        .collect();
    let nodes_total = (!nodes.is_empty()).then(|| sum_figures(&nodes, result.delivered));
    let send_secs = publish_end_ns.saturating_sub(clock.start_ns) as f64 / 1e9;
    result.sio = Some(SioFigures {
        clients: layout.clients.len(),
        nodes,
        nodes_total,
        cross_node_delivered,
        cross_node_expected,
        acks: tally.map(|t| AckFigures {
            requests,
            replies: t.replies.load(Ordering::Acquire),
            answers: t.answers.load(Ordering::Acquire),
            expected_answers: requests * layout.clients.len() as u64,
            round_trip: t
                .round_trip
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .summary(),
        }),
        joins: (params.scenario == SioScenario::JoinStorm).then(|| JoinFigures {
            operations_per_sec: if send_secs > 0.0 {
                joins.operations as f64 / send_secs
            } else {
                0.0
            },
            latency: join_latency.summary(),
            deliveries: shared.unchecked.load(Ordering::Relaxed),
            ..joins
        }),
    });
    Ok(result)
}

fn node_id(node: usize) -> u16 {
    u16::try_from(node).unwrap_or(u16::MAX)
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
