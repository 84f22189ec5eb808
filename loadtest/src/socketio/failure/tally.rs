//! The `node-failure` figures, from every client's outages and losses.

use crate::figures::NodeFailureFigures;
use crate::measure::{Latency, LatencySummary};
use crate::socketio::emitter::EmitOut;
use crate::socketio::layout::Layout;
use crate::socketio::receiver::Receiver;
use crate::socketio::tally::sent_by;

use super::restart::Timeline;
use super::supervise::Outage;

/// Clients per node before the kill.
pub(super) fn initial_spread(layout: &Layout, nodes: usize) -> Vec<usize> {
    let mut per = vec![0; nodes];
    for c in &layout.clients {
        if let Some(n) = per.get_mut(c.node) {
            *n += 1;
        }
    }
    per
}

/// Deliveries client `handler` missed from `emitters`' streams.
fn missed(
    handler: &Receiver,
    layout: &Layout,
    sent: &[EmitOut],
    from: impl Fn(usize) -> bool,
) -> u64 {
    layout
        .emitters
        .iter()
        .filter(|e| e.heard_by(handler.expect) && e.client().is_some_and(&from))
        .map(|e| handler.seq.finish(e.stream(), sent_by(sent, e).0).lost)
        .sum()
}

/// Latency summary of `values` in ns.
fn summary(values: impl Iterator<Item = u64>) -> anyhow::Result<LatencySummary> {
    let mut l = Latency::new(3)?;
    for v in values {
        l.record(v);
    }
    Ok(l.summary())
}

/// The figures, given every client's end (in client order), what the
/// emitters sent and when the node went down and came back.
pub(super) fn figures(
    ended: &[(&Receiver, &[Outage])],
    layout: &Layout,
    sent: &[EmitOut],
    t: &Timeline,
) -> anyhow::Result<NodeFailureFigures> {
    let on_killed = |client: usize| {
        layout
            .clients
            .get(client)
            .is_some_and(|c| c.node == t.killed)
    };
    let before_restart = |o: &&Outage| o.down_ns >= t.kill_ns && o.down_ns < t.restart_ns;
    let mut f = NodeFailureFigures {
        killed_node: t.killed + 1,
        restart_ready_ms: t.ready_ns.map(|r| ms(r.saturating_sub(t.restart_ns))),
        restart_delivery_ms: t
            .delivery_ns
            .zip(t.ready_ns)
            .map(|(d, r)| ms(d.saturating_sub(r))),
        ..NodeFailureFigures::default()
    };
    // Per client of the killed node: when it first saw its connection
    // fail, and the reconnection that held (its room join answered); one
    // before it may have failed, when a balancer sent a request of the new
    // session to a node that does not know it.
    let (mut first, mut held) = (Vec::new(), Vec::new());
    for (i, &(handler, outages)) in ended.iter().enumerate() {
        let during: Vec<&Outage> = outages.iter().filter(before_restart).collect();
        if on_killed(i) {
            f.clients_on_killed += 1;
            f.lost_by_killed_clients += missed(handler, layout, sent, |_| true);
            first.extend(during.first().map(|o| o.down_ns));
            if let Some(o) = during.iter().find(|o| o.joined_ns.is_some()) {
                held.push(**o);
                f.reconnected += 1;
            }
            f.requests_unanswered += during
                .iter()
                .filter(|o| o.connected_ns.is_some() && o.joined_ns.is_none())
                .count() as u64;
        } else {
            f.lost_by_others += missed(handler, layout, sent, |e| !on_killed(e));
            f.lost_by_others_from_killed_emitters += missed(handler, layout, sent, on_killed);
            f.others_disconnected += usize::from(!during.is_empty());
        }
        f.reconnections_after_restart +=
            outages.iter().filter(|o| o.down_ns >= t.restart_ns).count();
    }
    let after_kill = |ns: u64| ns.saturating_sub(t.kill_ns);
    f.noticed = summary(first.into_iter().map(after_kill))?;
    let since_kill =
        |get: fn(&Outage) -> Option<u64>| summary(held.iter().filter_map(get).map(after_kill));
    f.reconnect = since_kill(|o| o.connected_ns)?;
    f.rejoin = since_kill(|o| o.joined_ns)?;
    f.first_message = since_kill(|o| o.first_ns)?;
    Ok(f)
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}
