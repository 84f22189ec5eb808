//! Output: the table on stdout, the JSON file, and the HTML page with SVG
//! charts.
//!
//! Every figure is shown for each target with its ratio to the first
//! target, because the point of the tool is "respub versus redis-server on
//! the same machine, same workload", not absolute numbers.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;
use serde::Serialize;

use crate::cli::Output;
use crate::measure::LatencySummary;
use crate::scenario::{Params, RunResult, ScenarioKind, ServerFigures, human};
use crate::socketio::{AckFigures, JoinFigures, SioFigures, SioParams, SioScenario};

/// The knobs of one scenario, of either mode. Untagged in the JSON file:
/// each mode's knobs have names of their own.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum ScenarioParams {
    /// `pubsub` mode.
    Pubsub(Params),
    /// `socketio` mode.
    Socketio(SioParams),
}

impl ScenarioParams {
    /// The scenario's name on the command line.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ScenarioParams::Pubsub(p) => p.scenario.name(),
            ScenarioParams::Socketio(p) => p.scenario.name(),
        }
    }

    /// Whether the scenario has deliveries to chart (`idle` has none).
    fn has_deliveries(&self) -> bool {
        !matches!(self, ScenarioParams::Pubsub(p) if p.scenario == ScenarioKind::Idle)
    }
}

/// One scenario's results, one per target, in target order.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ScenarioReport {
    /// The scenario's knobs.
    pub(crate) params: ScenarioParams,
    /// Human-readable summary of the knobs.
    pub(crate) description: String,
    /// Rounds merged into each result.
    pub(crate) rounds: u32,
    /// Per target.
    pub(crate) results: Vec<RunResult>,
}

/// Everything a run of the load tester produced.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    /// The load tester's version.
    pub(crate) version: &'static str,
    /// Seconds since the Unix epoch when the run started.
    pub(crate) started_unix_secs: u64,
    /// Target names, in order; ratios are to the first.
    pub(crate) targets: Vec<String>,
    /// Per scenario.
    pub(crate) scenarios: Vec<ScenarioReport>,
}

impl Report {
    /// An empty report of a run starting now.
    pub(crate) fn new(targets: Vec<String>) -> Self {
        let started_unix_secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        Self {
            version: env!("CARGO_PKG_VERSION"),
            started_unix_secs,
            targets,
            scenarios: Vec::new(),
        }
    }

    /// Writes the JSON file and the HTML report that `output` asks for.
    pub(crate) fn write_files(&self, output: &Output) -> anyhow::Result<()> {
        if let Some(path) = &output.json {
            write_json(self, path)?;
            println!("JSON written to {}", path.display());
        }
        if let Some(dir) = &output.report {
            write_html(self, dir)?;
            println!(
                "HTML report written to {}",
                dir.join("index.html").display()
            );
        }
        Ok(())
    }
}

/// How a row's values are printed.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Rate,
    Micros,
    Count,
    Seconds,
    Bytes,
}

type Getter = Box<dyn Fn(&RunResult) -> Option<f64>>;

/// A table row: label, unit, getter, and whether a ratio means anything.
struct Row {
    label: String,
    unit: Unit,
    get: Getter,
    ratio: bool,
}

/// A row whose ratio to the first target is shown.
fn figure(
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
fn count(label: impl Into<String>, get: impl Fn(&RunResult) -> Option<f64> + 'static) -> Row {
    Row {
        label: label.into(),
        unit: Unit::Count,
        get: Box::new(get),
        ratio: false,
    }
}

fn rows(scenario: &ScenarioReport) -> Vec<Row> {
    match &scenario.params {
        ScenarioParams::Pubsub(p) => pubsub_rows(scenario, p),
        ScenarioParams::Socketio(p) => socketio_rows(scenario, p),
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
fn integrity_rows(scenario: &ScenarioReport, failures: &str) -> Vec<Row> {
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
        count("cross-node incl. warm-up", |r| {
            sio(r).map(|s| s.cross_node_delivered as f64)
        }),
        count("cross-node expected", |r| {
            sio(r).map(|s| s.cross_node_expected as f64)
        }),
    ]);
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
    rows.extend(process_rows("broker", |r| r.server.as_ref()));
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
    rows.push(figure("load tester CPU", Unit::Seconds, |r| {
        r.loadtest_cpu_seconds
    }));
    rows
}

fn format_value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Rate => human(v),
        Unit::Micros => {
            if v >= 1_000_000.0 {
                format!("{:.2} s", v / 1e6)
            } else if v >= 10_000.0 {
                format!("{:.1} ms", v / 1000.0)
            } else if v >= 1_000.0 {
                format!("{:.2} ms", v / 1000.0)
            } else {
                format!("{v:.1} µs")
            }
        }
        Unit::Count => format!("{v:.0}"),
        Unit::Seconds => format!("{v:.3} s"),
        Unit::Bytes => {
            let a = v.abs();
            if a >= 1024.0 * 1024.0 {
                format!("{:.1} MiB", v / 1024.0 / 1024.0)
            } else if a >= 10.0 * 1024.0 {
                format!("{:.1} KiB", v / 1024.0)
            } else {
                format!("{v:.0} B")
            }
        }
    }
}

/// The cells of a table: header then rows, all as strings.
fn cells(s: &ScenarioReport) -> Vec<Vec<String>> {
    let mut header = vec!["".to_owned()];
    for (i, r) in s.results.iter().enumerate() {
        header.push(r.target.clone());
        if i > 0 {
            header.push(format!(
                "x {}",
                s.results.first().map_or("", |f| f.target.as_str())
            ));
        }
    }
    let mut out = vec![header];
    for row in rows(s) {
        let first = s.results.first().and_then(|r| (row.get)(r));
        let mut line = vec![row.label.clone()];
        for (i, r) in s.results.iter().enumerate() {
            let v = (row.get)(r);
            line.push(v.map_or_else(|| "-".to_owned(), |v| format_value(row.unit, v)));
            if i > 0 {
                let ratio = match (v, first) {
                    (Some(v), Some(f)) if row.ratio && f != 0.0 => format!("{:.2}", v / f),
                    _ => "-".to_owned(),
                };
                line.push(ratio);
            }
        }
        out.push(line);
    }
    out
}

/// The plain-text table of one scenario.
pub(crate) fn table(s: &ScenarioReport) -> String {
    let cells = cells(s);
    let ncols = cells.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..ncols)
        .map(|c| {
            cells
                .iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let rounds = if s.rounds > 1 {
        format!(", {} rounds merged", s.rounds)
    } else {
        String::new()
    };
    let _ = writeln!(out, "== {}: {}{rounds}", s.params.name(), s.description);
    for (i, row) in cells.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let w = widths.get(c).copied().unwrap_or(0);
            if c == 0 {
                let _ = write!(line, "{cell:<w$}");
            } else {
                let _ = write!(line, "  {cell:>w$}");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
        if i == 0 {
            let total: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
            let _ = writeln!(out, "{}", "-".repeat(total));
        }
    }
    for r in &s.results {
        if let Some(f) = &r.first_failure {
            let _ = writeln!(
                out,
                "note: {}: {} subscriber(s) failed: {f}",
                r.target, r.subscriber_failures
            );
        }
    }
    out
}

/// Writes the JSON file.
pub(crate) fn write_json(report: &Report, path: &Path) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// "Nines" of a quantile: 0.9 -> 1, 0.99 -> 2. The CDF's y axis uses it so
/// that the tail, where brokers differ, gets as much room as the median.
fn nines(q: f64) -> f64 {
    (-(1.0 - q).max(1e-6).log10()).clamp(0.0, 6.0)
}

fn nines_label(y: f64) -> String {
    let q = 1.0 - 10f64.powf(-y);
    let pct = q * 100.0;
    if y < 0.5 {
        "0%".into()
    } else {
        let digits = (y.round() as usize).saturating_sub(2);
        format!("{pct:.digits$}%")
    }
}

/// Latency CDF of every target: x = latency (log µs), y = fraction of
/// deliveries at or below it, on a nines scale.
pub(crate) fn cdf_svg(s: &ScenarioReport) -> anyhow::Result<String> {
    let curves: Vec<(&str, Vec<(f64, f64)>)> = s
        .results
        .iter()
        .map(|r| {
            let pts = r
                .latency_cdf
                .iter()
                .filter(|(us, _)| *us > 0.0)
                .map(|&(us, q)| (us, nines(q)))
                .collect();
            (r.target.as_str(), pts)
        })
        .collect();
    let xs = curves.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x));
    let xmin = xs.clone().fold(f64::INFINITY, f64::min);
    let xmax = xs.fold(0.0, f64::max);
    let (xmin, xmax) = if xmin.is_finite() && xmax > xmin {
        (xmin * 0.9, xmax * 1.1)
    } else {
        (1.0, 1000.0)
    };
    let ymax = curves
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(3.0, f64::max)
        .ceil();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Latency CDF", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d((xmin..xmax).log_scale(), 0.0..ymax)?;
        chart
            .configure_mesh()
            .x_desc("end-to-end latency (µs, log)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc("deliveries at or below")
            .y_labels((ymax as usize) + 1)
            .y_label_formatter(&|y| nines_label(*y))
            .draw()?;
        for (i, (name, pts)) in curves.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// Deliveries per second over time for every target (warm-up included,
/// marked by a vertical line).
pub(crate) fn throughput_svg(s: &ScenarioReport) -> anyhow::Result<String> {
    let curves: Vec<(&str, Vec<(f64, f64)>)> = s
        .results
        .iter()
        .map(|r| {
            let bin = r.series.bin_secs;
            let pts = r
                .series
                .delivered_per_sec
                .iter()
                .enumerate()
                .map(|(i, &v)| ((i as f64 + 0.5) * bin, v))
                .collect();
            (r.target.as_str(), pts)
        })
        .collect();
    let xmax = curves
        .iter()
        .flat_map(|(_, p)| p.last().map(|(x, _)| *x))
        .fold(1.0, f64::max);
    let ymax = curves
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(1.0, f64::max)
        * 1.1;
    let warmup = s.results.first().map_or(0.0, |r| r.series.warmup_secs);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Deliveries per second over time", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..xmax, 0.0..ymax)?;
        chart
            .configure_mesh()
            .x_desc("seconds since publishing started")
            .y_desc("delivered/s")
            .y_label_formatter(&|y| human(*y))
            .draw()?;
        if warmup > 0.0 {
            chart.draw_series(LineSeries::new(
                vec![(warmup, 0.0), (warmup, ymax)],
                BLACK.mix(0.3).stroke_width(1),
            ))?;
        }
        for (i, (name, pts)) in curves.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// Writes `DIR/index.html` (tables and inline charts) plus each chart as
/// its own SVG file.
pub(crate) fn write_html(report: &Report, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut html = String::new();
    let _ = writeln!(
        html,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>respub-loadtest</title>\n<style>\
         body{{font-family:sans-serif;margin:2em;max-width:1100px}}\
         table{{border-collapse:collapse;margin:1em 0}}\
         td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}\
         .charts{{display:flex;flex-wrap:wrap;gap:1em}}\
         </style></head><body>\n<h1>respub-loadtest</h1>\n<p>Targets: {}. Ratios are to the first target.</p>",
        escape(&report.targets.join(", "))
    );
    for (i, s) in report.scenarios.iter().enumerate() {
        let name = s.params.name();
        let _ = writeln!(
            html,
            "<h2>{}</h2>\n<p>{}</p>\n<table>",
            escape(name),
            escape(&s.description)
        );
        for (r, row) in cells(s).iter().enumerate() {
            let tag = if r == 0 { "th" } else { "td" };
            html.push_str("<tr>");
            for cell in row {
                let _ = write!(html, "<{tag}>{}</{tag}>", escape(cell));
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</table>\n");
        if s.params.has_deliveries() {
            let cdf = cdf_svg(s)?;
            let tput = throughput_svg(s)?;
            let base = format!("{:02}-{name}", i + 1);
            std::fs::write(dir.join(format!("{base}-latency-cdf.svg")), &cdf)?;
            std::fs::write(dir.join(format!("{base}-throughput.svg")), &tput)?;
            let _ = writeln!(html, "<div class=\"charts\">{cdf}{tput}</div>");
        }
    }
    html.push_str("</body></html>\n");
    let index = dir.join("index.html");
    std::fs::write(&index, html).with_context(|| format!("writing {}", index.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::scenario::{LoadModel, SeriesOut};
    use std::time::Duration;

    fn sample() -> Report {
        let params = Params {
            scenario: ScenarioKind::Fanout,
            publishers: 1,
            subscribers: 2,
            channels: 1,
            patterns: 0,
            churners: 0,
            connections: 0,
            idle_shared: false,
            payload: 64,
            resp3: false,
            duration: Duration::from_secs(1),
            warmup: Duration::ZERO,
            messages: None,
            load: LoadModel::Closed { window: 10 },
            batch: 8,
            drain_timeout: Duration::from_secs(1),
        };
        let result = |name: &str, rate: f64| RunResult {
            target: name.into(),
            published: 100,
            delivered: 200,
            expected_deliveries: 200,
            delivered_per_sec: rate,
            latency: LatencySummary {
                count: 200,
                p50_us: 10.0,
                ..LatencySummary::default()
            },
            latency_cdf: vec![(5.0, 0.1), (10.0, 0.5), (50.0, 0.999), (60.0, 1.0)],
            series: SeriesOut {
                bin_secs: 0.1,
                warmup_secs: 0.0,
                published_per_sec: vec![1.0, 2.0],
                delivered_per_sec: vec![2.0, 4.0],
            },
            ..RunResult::default()
        };
        Report {
            version: "test",
            started_unix_secs: 0,
            targets: vec!["a".into(), "b<".into()],
            scenarios: vec![ScenarioReport {
                description: params.describe(),
                params: ScenarioParams::Pubsub(params),
                rounds: 1,
                results: vec![result("a", 1000.0), result("b<", 2000.0)],
            }],
        }
    }

    #[test]
    fn table_shows_ratio_to_the_first_target() {
        let report = sample();
        let t = table(&report.scenarios[0]);
        let line = t.lines().find(|l| l.starts_with("delivered/s")).unwrap();
        assert!(
            line.contains("1.0k") && line.contains("2.0k") && line.ends_with("2.00"),
            "{t}"
        );
        assert!(
            t.lines().any(|l| l.starts_with("lost") && l.ends_with('-')),
            "{t}"
        );
    }

    #[test]
    fn html_and_json_are_written() {
        let report = sample();
        let dir =
            std::env::temp_dir().join(format!("respub-loadtest-report-{}", std::process::id()));
        write_html(&report, &dir).unwrap();
        let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(html.contains("<svg") && html.contains("b&lt;"));
        assert!(dir.join("01-fanout-latency-cdf.svg").exists());
        let json = dir.join("out.json");
        write_json(&report, &json).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(v["scenarios"][0]["results"][1]["delivered"], 200);
        assert_eq!(v["scenarios"][0]["params"]["load"]["model"], "closed");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn nines_axis() {
        assert_eq!(nines_label(0.0), "0%");
        assert_eq!(nines_label(1.0), "90%");
        assert_eq!(nines_label(3.0), "99.9%");
        assert!((nines(0.99) - 2.0).abs() < 1e-9);
    }
}
