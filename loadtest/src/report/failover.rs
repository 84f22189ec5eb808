//! The `failover` table: the timeline after the kill (means over rounds),
//! then what was published, delivered and lost.

use super::rows::{Row, Unit, count, figure, integrity_rows};
use crate::figures::{FailoverFigures, FailoverRound, RunResult, ScenarioReport};

fn fig(r: &RunResult) -> Option<&FailoverFigures> {
    r.failover.as_ref()
}

/// A time after the kill, its mean over the rounds where it happened.
fn time(label: &str, get: fn(&FailoverRound) -> Option<f64>) -> Row {
    figure(label, Unit::Millis, move |r| {
        fig(r).and_then(|f| f.mean(get))
    })
}

/// A count of the failover figures.
fn tally(label: &str, get: fn(&FailoverFigures) -> u64) -> Row {
    count(label, move |r| fig(r).map(|f| get(f) as f64))
}

pub(super) fn rows(scenario: &ScenarioReport) -> Vec<Row> {
    let mut rows = vec![
        count("rounds with +switch-master", |r| {
            fig(r).map(|f| f.switches() as f64)
        }),
        time("kill to +odown", |x| x.odown_ms),
        time("kill to +promoted-slave", |x| x.promoted_ms),
        time("kill to +switch-master", |x| x.switch_ms),
        time("kill to first delivery on new master", |x| {
            x.first_delivery_ms
        }),
        time("+promoted-slave to first delivery", |x| {
            x.promoted_to_delivery_ms()
        }),
        Row {
            ratio: false,
            ..time("+switch-master to first delivery", |x| {
                x.switch_to_delivery_ms()
            })
        },
        time("kill to every publisher back", |x| x.publishers_back_ms),
        time("kill to every subscriber resubscribed", |x| {
            x.resubscribed_ms
        }),
        time("kill to every subscriber receiving", |x| {
            x.subscribers_back_ms
        }),
        count("publish attempts", |r| Some(r.published_total as f64)),
        count("published (acknowledged)", |r| Some(r.published as f64)),
        tally("publishes failed", |f| f.publish_failed),
        tally("attempts during the outage", |f| f.outage_publishes),
        count("delivered", |r| Some(r.delivered as f64)),
        count("expected deliveries", |r| {
            Some(r.expected_deliveries as f64)
        }),
        tally("receivers the servers counted", |f| f.receivers_reported),
        tally("lost after the kill", |f| f.lost_after_kill),
        tally("delivered although PUBLISH failed", |f| {
            f.delivered_after_failure
        }),
    ];
    rows.extend(integrity_rows(scenario, "subscribers not back"));
    rows
}

/// One line per round: which node was killed and which took over.
pub(super) fn notes(r: &RunResult) -> Vec<String> {
    let Some(f) = fig(r) else {
        return Vec::new();
    };
    f.rounds
        .iter()
        .enumerate()
        .map(|(i, x)| {
            format!(
                "round {}: killed {} (replicas {}), new master {}",
                i + 1,
                x.old_master,
                x.replicas.join(", "),
                x.new_master.as_deref().unwrap_or("none")
            )
        })
        .collect()
}
