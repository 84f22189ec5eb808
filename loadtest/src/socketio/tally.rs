//! What a `socketio` run's clients report, added up into its figures: what
//! each client should have had and saw, what the emitters and churners did,
//! and what the broker and the nodes cost.

use std::collections::HashSet;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use anyhow::Context;
use tokio::task::JoinSet;

use super::client::Finished;
use super::emitter::{AckTally, EmitOut};
use super::layout::{Emitter, Layout};
use super::receiver::{ClientTask, Expect, Receiver, Shared};
use crate::figures::{AckFigures, JoinFigures, RunResult, ServerFigures};
use crate::measure::{Latency, Mark, Rss, SeqReport, Series, StreamId};

/// What the churners did, added up.
pub(super) async fn join_churners(
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
pub(super) fn sent_by(sent: &[EmitOut], e: &Emitter) -> (u64, u64) {
    sent.iter()
        .find(|o| o.stream == e.stream())
        .map_or((0, 0), |o| (o.sent, o.measured))
}

/// Tells every checked client how many messages it should get, and counts
/// the expected deliveries; returns (checked clients, deliveries expected
/// across nodes).
pub(super) fn set_targets(
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
            let from = e.client().and_then(|c| layout.clients.get(c));
            if from.map(|c| c.node) != Some(place.node) {
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
pub(super) async fn join_clients(
    tasks: Vec<ClientTask>,
    layout: &Layout,
    sent: &[EmitOut],
    result: &mut RunResult,
) -> anyhow::Result<u64> {
    let mut finished = Vec::with_capacity(tasks.len());
    for task in tasks {
        finished.push(task.await.context("client task")?);
    }
    Ok(add_clients(finished, layout, sent, result))
}

/// [`join_clients`] once the clients have ended.
pub(super) fn add_clients(
    finished: Vec<Finished<Receiver>>,
    layout: &Layout,
    sent: &[EmitOut],
    result: &mut RunResult,
) -> u64 {
    let mut seq = SeqReport::default();
    let mut cross_node_delivered = 0;
    for Finished {
        handler, failure, ..
    } in finished
    {
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
    cross_node_delivered
}

/// Adds up what the emitters sent; returns their time series together.
pub(super) fn add_emitters(sent: &[EmitOut], result: &mut RunResult) -> Series {
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
pub(super) fn set_cost(
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
pub(super) fn ack_figures(tally: &AckTally, requests: u64, clients: usize) -> AckFigures {
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
pub(super) fn join_figures(
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

/// The nodes as one: CPU and memory added up.
pub(super) fn sum_figures(nodes: &[ServerFigures], delivered: u64) -> ServerFigures {
    let cpu: f64 = nodes.iter().map(|n| n.cpu_seconds).sum();
    ServerFigures {
        cpu_seconds: cpu,
        cpu_seconds_per_million_deliveries: (delivered > 0).then(|| cpu / (delivered as f64 / 1e6)),
        rss_before_bytes: nodes.iter().map(|n| n.rss_before_bytes).sum(),
        rss_bytes: nodes.iter().map(|n| n.rss_bytes).sum(),
        peak_rss_bytes: nodes.iter().map(|n| n.peak_rss_bytes).sum(),
    }
}
