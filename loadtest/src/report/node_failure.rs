//! The `node-failure` rows of the `socketio` table: how the killed node's
//! clients came back (distributions over them, from the kill), what each
//! group of clients lost, and how the restarted node rejoined.

use super::rows::{Row, Unit, count, figure};
use crate::figures::{NodeFailureFigures, RunResult};
use crate::measure::LatencySummary;

fn fig(r: &RunResult) -> Option<&NodeFailureFigures> {
    r.sio.as_ref().and_then(|s| s.node_failure.as_ref())
}

/// p50, p99 and max of a time after the kill, over the killed node's
/// clients.
fn spread(name: &str, get: fn(&NodeFailureFigures) -> &LatencySummary) -> Vec<Row> {
    let pick = move |f: fn(&LatencySummary) -> f64| {
        move |r: &RunResult| fig(r).map(get).filter(|l| l.count > 0).map(f)
    };
    vec![
        figure(format!("{name} p50"), Unit::Micros, pick(|l| l.p50_us)),
        figure(format!("{name} p99"), Unit::Micros, pick(|l| l.p99_us)),
        figure(format!("{name} max"), Unit::Micros, pick(|l| l.max_us)),
    ]
}

fn tally(label: &str, get: fn(&NodeFailureFigures) -> u64) -> Row {
    count(label, move |r| fig(r).map(|f| get(f) as f64))
}

pub(super) fn rows() -> Vec<Row> {
    let mut rows = vec![
        tally("killed node", |f| f.killed_node as u64),
        tally("clients on the killed node", |f| f.clients_on_killed as u64),
        tally("of those, reconnected", |f| f.reconnected as u64),
    ];
    rows.extend(spread("kill to disconnect seen", |f| &f.noticed));
    rows.extend(spread("kill to reconnected", |f| &f.reconnect));
    rows.extend(spread("kill to room rejoined", |f| &f.rejoin));
    rows.extend(spread("kill to first message again", |f| &f.first_message));
    rows.extend([
        tally("rejoins unanswered", |f| f.requests_unanswered),
        tally("lost by the killed node's clients", |f| {
            f.lost_by_killed_clients
        }),
        tally("lost by others, surviving emitters", |f| f.lost_by_others),
        tally("lost by others, killed node's emitters", |f| {
            f.lost_by_others_from_killed_emitters
        }),
        tally("other clients disconnected", |f| {
            f.others_disconnected as u64
        }),
        figure("restart to READY", Unit::Millis, |r| {
            fig(r).and_then(|f| f.restart_ready_ms)
        }),
        figure("READY to a cross-node delivery", Unit::Millis, |r| {
            fig(r).and_then(|f| f.restart_delivery_ms)
        }),
        tally("reconnections after the restart", |f| {
            f.reconnections_after_restart as u64
        }),
    ]);
    rows
}
