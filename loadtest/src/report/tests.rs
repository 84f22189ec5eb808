//! The report on a made-up run of two targets.

use std::time::Duration;

use super::svg::{nines, nines_label};
use super::{table, write_html, write_json};
use crate::figures::{
    LoadModel, Params, Report, RunResult, ScenarioKind, ScenarioParams, ScenarioReport, SeriesOut,
};
use crate::measure::LatencySummary;

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
        saturation: Vec::new(),
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
    let dir = std::env::temp_dir().join(format!("respub-loadtest-report-{}", std::process::id()));
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
