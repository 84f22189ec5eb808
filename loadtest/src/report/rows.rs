//! Which figures a scenario's table shows, in which order, and how each is
//! read from a result: one list of rows per mode.

use crate::figures::{
    AckFigures, JoinFigures, Params, RunResult, ScenarioKind, ScenarioParams, ScenarioReport,
    ServerFigures, SioFigures, SioParams, SioScenario,
};
use crate::measure::LatencySummary;

/// How a row's values are printed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Unit {
    Rate,
    Micros,
    Count,
    Seconds,
    Bytes,
    /// Signed milliseconds (a time that can come before its origin).
    Millis,
}

type Getter = Box<dyn Fn(&RunResult) -> Option<f64>>;

/// A table row: label, unit, getter, and whether a ratio means anything.
pub(super) struct Row {
    pub(super) label: String,
    pub(super) unit: Unit,
    pub(super) get: Getter,
    pub(super) ratio: bool,
}

/// A row whose ratio to the first target is shown.
pub(super) fn figure(
    label: impl Into<String>,
    unit: Unit,
    get: impl Fn(&RunResult) -> Option<f64> + 'static,
) -> Row {
    Row {
        label: label.into(),
        unit,
        get: Box::new(get),
        ratio: true,
    }
}

/// A count, shown without a ratio: counts are checks, not performance.
pub(super) fn count(
    label: impl Into<String>,
    get: impl Fn(&RunResult) -> Option<f64> + 'static,
) -> Row {
    Row {
        label: label.into(),
        unit: Unit::Count,
        get: Box::new(get),
        ratio: false,
    }
}

pub(super) fn rows(scenario: &ScenarioReport) -> Vec<Row> {
    match &scenario.params {
        ScenarioParams::Pubsub(p) => pubsub_rows(scenario, p),
        ScenarioParams::Socketio(p) => socketio_rows(scenario, p),
        ScenarioParams::Failover(_) => super::failover::rows(scenario),
    }
}

/// Latency percentiles, from the given summary.
fn latency_rows(
    name: &str,
    get: impl Fn(&RunResult) -> Option<&LatencySummary> + Copy + 'static,
) -> Vec<Row> {
    let pick = move |f: fn(&LatencySummary) -> f64| {
        move |r: &RunResult| get(r).filter(|l| l.count > 0).map(f)
    };
    vec![
        figure(format!("{name} p50"), Unit::Micros, pick(|l| l.p50_us)),
        figure(format!("{name} p90"), Unit::Micros, pick(|l| l.p90_us)),
        figure(format!("{name} p99"), Unit::Micros, pick(|l| l.p99_us)),
        figure(format!("{name} p99.9"), Unit::Micros, pick(|l| l.p999_us)),
        figure(format!("{name} max"), Unit::Micros, pick(|l| l.max_us)),
    ]
}

/// Loss, duplicates and reordering, then the anomalies any target showed.
pub(super) fn integrity_rows(scenario: &ScenarioReport, failures: &str) -> Vec<Row> {
    let mut rows = vec![
        count("lost", |r| Some(r.seq.lost as f64)),
        count("duplicates", |r| Some(r.seq.duplicates as f64)),
        count("reordered", |r| Some(r.seq.reordered as f64)),
    ];
    if scenario.results.iter().any(|r| r.unexpected > 0) {
        rows.push(count("unexpected streams", |r| Some(r.unexpected as f64)));
    }
    if scenario.results.iter().any(|r| r.subscriber_failures > 0) {
        rows.push(count(failures.to_owned(), |r| {
            Some(r.subscriber_failures as f64)
        }));
    }
    rows
}

/// CPU and memory of one process, its figures picked by `get`.
fn process_rows(
    name: &str,
    get: impl Fn(&RunResult) -> Option<&ServerFigures> + Copy + 'static,
) -> Vec<Row> {
    vec![
        figure(format!("{name} CPU"), Unit::Seconds, move |r| {
            get(r).map(|s| s.cpu_seconds)
        }),
        figure(
            format!("{name} CPU per 1M deliveries"),
            Unit::Seconds,
            move |r| get(r).and_then(|s| s.cpu_seconds_per_million_deliveries),
        ),
        figure(format!("{name} RSS"), Unit::Bytes, move |r| {
            get(r).map(|s| s.rss_bytes as f64)
        }),
        figure(format!("{name} peak RSS"), Unit::Bytes, move |r| {
            get(r).map(|s| s.peak_rss_bytes as f64)
        }),
    ]
}

fn pubsub_rows(scenario: &ScenarioReport, params: &Params) -> Vec<Row> {
    if params.scenario == ScenarioKind::Idle {
        return vec![
            count("connections", |r| {
                r.idle.as_ref().map(|i| i.connections as f64)
            }),
            figure("server RSS before", Unit::Bytes, |r| {
                r.idle
                    .as_ref()
                    .and_then(|i| i.rss_before_bytes)
                    .map(|b| b as f64)
            }),
            figure("server RSS after", Unit::Bytes, |r| {
                r.idle
                    .as_ref()
                    .and_then(|i| i.rss_after_bytes)
                    .map(|b| b as f64)
            }),
            figure("bytes per connection", Unit::Bytes, |r| {
                r.idle.as_ref().and_then(|i| i.bytes_per_connection)
            }),
        ];
    }
    let mut rows = vec![
        figure("published/s", Unit::Rate, |r| Some(r.published_per_sec)),
        figure("delivered/s", Unit::Rate, |r| Some(r.delivered_per_sec)),
    ];
    rows.extend(latency_rows("latency", |r| Some(&r.latency)));
    if scenario.results.iter().any(|r| r.unsent > 0) {
        rows.push(count("published incl. warm-up", |r| {
            Some(r.published_total as f64)
        }));
        rows.push(count("scheduled, never sent", |r| Some(r.unsent as f64)));
    }
    rows.extend([
        count("published", |r| Some(r.published as f64)),
        count("delivered", |r| Some(r.delivered as f64)),
        count("expected deliveries", |r| {
            Some(r.expected_deliveries as f64)
        }),
    ]);
    rows.extend(integrity_rows(scenario, "subscriber failures"));
    if params.scenario == ScenarioKind::Churn {
        rows.push(figure("churn sub+unsub/s", Unit::Rate, |r| {
            r.churn.as_ref().map(|c| c.operations_per_sec)
        }));
    }
    rows.extend(process_rows("server", |r| r.server.as_ref()));
    rows.push(figure("load tester CPU", Unit::Seconds, |r| {
        r.loadtest_cpu_seconds
    }));
    rows
}

fn sio(r: &RunResult) -> Option<&SioFigures> {
    r.sio.as_ref()
}

fn acks(r: &RunResult) -> Option<&AckFigures> {
    sio(r).and_then(|s| s.acks.as_ref())
}

fn joins(r: &RunResult) -> Option<&JoinFigures> {
    sio(r).and_then(|s| s.joins.as_ref())
}

fn node(r: &RunResult, i: usize) -> Option<&ServerFigures> {
    sio(r).and_then(|s| s.nodes.get(i))
}

fn socketio_rows(scenario: &ScenarioReport, params: &SioParams) -> Vec<Row> {
    let mut rows = vec![
        figure("emitted/s", Unit::Rate, |r| Some(r.published_per_sec)),
        figure("delivered/s", Unit::Rate, |r| Some(r.delivered_per_sec)),
    ];
    rows.extend(latency_rows("latency", |r| Some(&r.latency)));
    rows.push(count("clients", |r| sio(r).map(|s| s.clients as f64)));
    if scenario.results.iter().any(|r| r.unsent > 0) {
        rows.push(count("emitted incl. warm-up", |r| {
            Some(r.published_total as f64)
        }));
        rows.push(count("scheduled, never sent", |r| Some(r.unsent as f64)));
    }
    rows.extend([
        count("emitted", |r| Some(r.published as f64)),
        count("delivered", |r| Some(r.delivered as f64)),
        count("expected deliveries", |r| {
            Some(r.expected_deliveries as f64)
        }),
    ]);
    // Once clients move off a killed node, what should cross nodes is no
    // longer what the layout says; a broker emitter is on no node, so every
    // delivery of `emitter` crosses.
    if !matches!(
        params.scenario,
        SioScenario::NodeFailure | SioScenario::Emitter
    ) {
        rows.extend([
            count("cross-node incl. warm-up", |r| {
                sio(r).map(|s| s.cross_node_delivered as f64)
            }),
            count("cross-node expected", |r| {
                sio(r).map(|s| s.cross_node_expected as f64)
            }),
        ]);
    }
    rows.extend(integrity_rows(scenario, "client failures"));
    if params.scenario == SioScenario::Acks {
        rows.extend(latency_rows("ack round trip", move |r| {
            acks(r).map(|a| &a.round_trip)
        }));
        rows.extend([
            count("ack requests incl. warm-up", |r| {
                acks(r).map(|a| a.requests as f64)
            }),
            count("ack replies", |r| acks(r).map(|a| a.replies as f64)),
            count("answers", |r| acks(r).map(|a| a.answers as f64)),
            count("expected answers", |r| {
                acks(r).map(|a| a.expected_answers as f64)
            }),
        ]);
    }
    if params.scenario == SioScenario::JoinStorm {
        rows.push(figure("join+leave/s", Unit::Rate, |r| {
            joins(r).map(|j| j.operations_per_sec)
        }));
        rows.extend(latency_rows("join/leave ack", |r| {
            joins(r).map(|j| &j.latency)
        }));
        rows.push(count("churner deliveries", |r| {
            joins(r).map(|j| j.deliveries as f64)
        }));
    }
    if params.scenario == SioScenario::NodeFailure {
        rows.extend(super::node_failure::rows());
    }
    rows.extend(node_rows(scenario, params));
    rows.push(figure("load tester CPU", Unit::Seconds, |r| {
        r.loadtest_cpu_seconds
    }));
    rows
}

/// Where the clients were, then what the broker, the proxy and the nodes
/// cost.
fn node_rows(scenario: &ScenarioReport, params: &SioParams) -> Vec<Row> {
    let mut rows = Vec::new();
    for i in 0..params.nodes {
        rows.push(count(format!("node {} clients", i + 1), move |r| {
            sio(r)
                .and_then(|s| s.clients_per_node.get(i))
                .map(|&n| n as f64)
        }));
    }
    rows.extend(process_rows("broker", |r| r.server.as_ref()));
    if scenario
        .results
        .iter()
        .any(|r| sio(r).is_some_and(|s| s.proxy.is_some()))
    {
        rows.extend(process_rows("proxy", |r| {
            sio(r).and_then(|s| s.proxy.as_ref())
        }));
    }
    rows.extend(process_rows("nodes", move |r| {
        sio(r).and_then(|s| s.nodes_total.as_ref())
    }));
    for i in 0..params.nodes {
        rows.push(figure(
            format!("node {} CPU", i + 1),
            Unit::Seconds,
            move |r| node(r, i).map(|n| n.cpu_seconds),
        ));
        rows.push(figure(
            format!("node {} peak RSS", i + 1),
            Unit::Bytes,
            move |r| node(r, i).map(|n| n.peak_rss_bytes as f64),
        ));
    }
    rows
}
