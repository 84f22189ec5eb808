//! Short runs of every scenario against a respub broker inside the test
//! process, asserting on counts only: delivered = published x subscribers,
//! and no loss, duplicates or reordering where none can have happened.
//! Runs end by message count; the durations are generous upper bounds that
//! a healthy run never reaches.

use std::time::Duration;

use indicatif::ProgressBar;

use crate::figures::{LoadModel, Params, RunResult, ScenarioKind};
use crate::pubsub;
use crate::target::{Source, Target};

/// Failure guard only: a healthy run takes well under a second.
const GUARD: Duration = Duration::from_secs(60);

fn params(scenario: ScenarioKind) -> Params {
    Params {
        scenario,
        publishers: 2,
        subscribers: 10,
        channels: 1,
        patterns: 0,
        churners: 0,
        connections: 0,
        idle_shared: false,
        payload: 64,
        resp3: false,
        duration: Duration::from_secs(30),
        warmup: Duration::ZERO,
        messages: Some(1_000),
        load: LoadModel::Closed { window: 100 },
        batch: 16,
        drain_timeout: Duration::from_secs(20),
    }
}

fn in_process(name: &str) -> Target {
    Target {
        name: name.into(),
        source: Source::InProcess,
    }
}

async fn run(p: &Params) -> RunResult {
    let target = in_process("respub");
    let running = target.start().await.unwrap();
    tokio::time::timeout(
        GUARD,
        pubsub::run(p, &running, "respub", &ProgressBar::hidden()),
    )
    .await
    .expect("scenario did not finish")
    .unwrap()
}

/// The counts of a clean run: every message published reached every
/// subscriber of its channel exactly once and in order.
fn assert_clean(r: &RunResult, published: u64, subscribers_per_message: u64) {
    assert_eq!(r.published, published, "{r:#?}");
    assert_eq!(r.published_total, published);
    assert_eq!(r.expected_deliveries, published * subscribers_per_message);
    assert_eq!(r.delivered, published * subscribers_per_message, "{r:#?}");
    assert_eq!(r.delivered_total, r.delivered);
    assert_eq!(r.seq.lost, 0);
    assert_eq!(r.seq.duplicates, 0);
    assert_eq!(r.seq.reordered, 0);
    assert_eq!(r.unexpected, 0);
    assert_eq!(r.subscriber_failures, 0, "{:?}", r.first_failure);
    assert_eq!(r.latency.count, r.delivered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_delivers_every_message_to_every_subscriber() {
    let r = run(&params(ScenarioKind::Fanout)).await;
    assert_clean(&r, 2_000, 10);
    assert_eq!(r.subscribers, 10);
    assert!(
        r.server.is_none(),
        "no /proc figures for an in-process broker"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_open_loop_resp3() {
    let mut p = params(ScenarioKind::Fanout);
    p.resp3 = true;
    p.messages = Some(500);
    // 2 x 500 messages at 20k/s: about 50 ms of schedule.
    p.load = LoadModel::Open { rate: 20_000.0 };
    let r = run(&p).await;
    assert_clean(&r, 1_000, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_deliver_per_channel() {
    let mut p = params(ScenarioKind::Channels);
    p.channels = 3;
    p.subscribers = 4;
    p.messages = Some(600);
    let r = run(&p).await;
    assert_eq!(r.subscribers, 12);
    assert_clean(&r, 1_200, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_with_more_publishers_than_channels() {
    let mut p = params(ScenarioKind::Channels);
    p.publishers = 3;
    p.channels = 2;
    p.subscribers = 2;
    p.messages = Some(300);
    let r = run(&p).await;
    assert_clean(&r, 900, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patterns_deliver_through_the_matching_pattern() {
    let mut p = params(ScenarioKind::Patterns);
    p.patterns = 150;
    p.subscribers = 5;
    p.messages = Some(500);
    let r = run(&p).await;
    assert_clean(&r, 1_000, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patterns_resp3() {
    let mut p = params(ScenarioKind::Patterns);
    p.resp3 = true;
    p.patterns = 10;
    p.subscribers = 3;
    p.messages = Some(200);
    let r = run(&p).await;
    assert_clean(&r, 400, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_delivers_per_shard_channel() {
    let mut p = params(ScenarioKind::Sharded);
    p.channels = 2;
    p.subscribers = 3;
    p.messages = Some(500);
    let r = run(&p).await;
    assert_clean(&r, 1_000, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_keeps_stable_subscribers_exact() {
    let mut p = params(ScenarioKind::Churn);
    p.subscribers = 3;
    p.churners = 4;
    let r = run(&p).await;
    assert_clean(&r, 2_000, 3);
    let churn = r.churn.unwrap();
    // Every churner completes at least one batch of 8 x (SUBSCRIBE +
    // UNSUBSCRIBE) on two channels: 32 confirmations each.
    assert!(churn.operations >= 4 * 32, "{churn:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_opens_and_confirms_every_connection() {
    let mut p = params(ScenarioKind::Idle);
    p.connections = 200;
    let r = run(&p).await;
    let idle = r.idle.unwrap();
    assert_eq!(idle.connections, 200);
    assert_eq!(r.subscribers, 200);
    assert!(
        idle.bytes_per_connection.is_none(),
        "no RSS for an in-process broker"
    );

    p.idle_shared = true;
    p.resp3 = true;
    let r = run(&p).await;
    assert_eq!(r.idle.unwrap().connections, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_targets_two_rounds_merge_and_report() {
    let mut p = params(ScenarioKind::Fanout);
    p.subscribers = 3;
    p.messages = Some(200);
    let targets = [in_process("a"), in_process("b")];
    let results = tokio::time::timeout(GUARD, pubsub::run_scenario(&p, &targets, 2, false))
        .await
        .expect("runs did not finish")
        .unwrap();
    assert_eq!(results.len(), 2);
    for (r, name) in results.iter().zip(["a", "b"]) {
        assert_eq!(r.target, name);
        // Two rounds merged: twice the counts.
        assert_clean(r, 2 * 400, 3);
    }
    let report = crate::figures::Report {
        version: "test",
        started_unix_secs: 0,
        targets: vec!["a".into(), "b".into()],
        scenarios: vec![crate::figures::ScenarioReport {
            description: p.describe(),
            params: crate::figures::ScenarioParams::Pubsub(p),
            rounds: 2,
            results,
        }],
        saturation: Vec::new(),
    };
    let table = crate::report::table(&report.scenarios[0]);
    assert!(table.contains("x a"), "{table}");
    let dir = std::env::temp_dir().join(format!("respub-loadtest-e2e-{}", std::process::id()));
    crate::report::write_html(&report, &dir).unwrap();
    crate::report::write_json(&report, &dir.join("r.json")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    assert_eq!(json["scenarios"][0]["results"][0]["delivered"], 2400);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The executable `bin` of `package`, built now (a no-op when it is up to
/// date) with the profile and target directory of this test binary, so
/// that a test never runs a stale one.
pub(crate) fn built(package: &str, bin: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test binary>
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap().to_owned();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", package, "--bin", bin]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("could not run cargo");
    assert!(status.success(), "building {bin} failed");
    let path = profile_dir.join(bin);
    assert!(
        path.is_file(),
        "{} missing after building it",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_respub_runs_fanout() {
    let bin = built("respub-broker", "respub-server");
    let target = Target {
        name: "respub".into(),
        source: Source::Spawn {
            kind: crate::target::ServerKind::Respub,
            bin,
        },
    };
    let mut p = params(ScenarioKind::Fanout);
    p.messages = Some(300);
    let results = tokio::time::timeout(GUARD, pubsub::run_scenario(&p, &[target], 1, false))
        .await
        .expect("run did not finish")
        .unwrap();
    let r = &results[0];
    assert_clean(r, 600, 10);
    let server = r.server.as_ref().unwrap();
    assert!(server.rss_bytes > 0);
}
