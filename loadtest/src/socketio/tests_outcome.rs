//! Stacks that fall over, the `--find-max` search and the stacks beyond
//! the classic three: the search logic on its own, the rest against real
//! node processes (this crate's `sio-node`, Node's `sio_node.mjs`, and a
//! Node program that dies on purpose) on a respub broker inside the test.

use std::path::Path;
use std::time::Duration;

use clap::ValueEnum as _;

use super::findmax::{Search, Turn, judge, offered_per_sec, take_turns};
use super::node::{Cluster, NodeKind, Programs};
use super::stack::{AdapterMode, Nodes, RedisClient, Stack};
use super::{outcome, run_scenario, workload};
use crate::figures::{Failure, RunResult, SioParams, SioScenario, StackSaturation};
use crate::target::{Source, Target};

/// Failure guard only: a healthy run takes a few seconds.
const GUARD: Duration = Duration::from_secs(120);

fn stack(name: &str) -> Stack {
    Stack::from_str(name, false).unwrap()
}

fn in_process_broker() -> Target {
    Target {
        name: "respub".into(),
        source: Source::InProcess,
    }
}

fn programs(node_dir: &Path) -> Programs {
    Programs {
        rust_exe: crate::tests::built("respub-loadtest", "respub-loadtest"),
        node_dir: node_dir.to_owned(),
        ack_timeout: Duration::from_secs(20),
    }
}

/// `rooms` on 3 nodes: 4 rooms of 7, 2 emitters each, 20 messages each.
fn rooms() -> SioParams {
    SioParams {
        messages: Some(20),
        ..super::tests::params(SioScenario::Rooms)
    }
}

/// Runs the search against a stack that sustains exactly the rates up to
/// `limit`; returns every (rate, sustained) step.
fn drive(mut search: Search, limit: f64) -> Vec<(f64, bool)> {
    let mut steps = Vec::new();
    while let Some(rate) = search.next_rate() {
        assert!(steps.len() < 1000, "the search does not end: {steps:?}");
        let ok = rate <= limit;
        search.record(rate, ok);
        steps.push((rate, ok));
    }
    steps
}

fn highest(steps: &[(f64, bool)]) -> Option<f64> {
    steps.iter().filter(|s| s.1).map(|s| s.0).reduce(f64::max)
}

#[test]
fn the_search_doubles_then_bisects_to_the_precision() {
    let steps = drive(Search::new(10.0, 20, 0.1), 57.0);
    let rates: Vec<f64> = steps.iter().map(|s| s.0).collect();
    assert_eq!(&rates[..4], &[10.0, 20.0, 40.0, 80.0], "{steps:?}");
    let best = highest(&steps).unwrap();
    assert!((57.0 / 1.1..=57.0).contains(&best), "{best} {steps:?}");
    assert!(steps.len() <= 8, "{steps:?}");
}

#[test]
fn the_search_goes_down_from_a_start_the_stack_cannot_take() {
    let steps = drive(Search::new(10.0, 20, 0.1), 3.0);
    assert_eq!((steps[0], steps[1]), ((10.0, false), (5.0, false)));
    let best = highest(&steps).unwrap();
    assert!((3.0 / 1.1..=3.0).contains(&best), "{best} {steps:?}");
}

#[test]
fn every_search_is_bounded_by_max_steps() {
    for limit in [0.0, 1e12, 57.0] {
        let steps = drive(Search::new(10.0, 6, 0.01), limit);
        assert_eq!(steps.len(), 6, "limit {limit}: {steps:?}");
    }
    // Without the step budget, the rate bounds end it too.
    assert!(highest(&drive(Search::new(10.0, 1000, 0.1), 0.0)).is_none());
    let up = drive(Search::new(10.0, 1000, 0.1), 1e12);
    assert!(up.len() < 40 && up.iter().all(|s| s.1), "{up:?}");
}

fn measured(delivered: u64, p99_ms: f64) -> RunResult {
    let mut r = RunResult {
        delivered,
        expected_deliveries: delivered,
        delivered_per_sec: delivered as f64 / 3.0,
        ..RunResult::default()
    };
    r.latency.count = delivered;
    r.latency.p99_us = p99_ms * 1000.0;
    r
}

/// Three stacks' searches take turns, a rate each per round, each finding
/// what it finds alone; one that runs out of time stops while the others go on.
#[tokio::test]
async fn the_stacks_searches_take_turns() {
    let limits = [57.0, 3.0, 400.0];
    let mut searches = vec![Search::new(10.0, 20, 0.1); limits.len()];
    let mut turns: Vec<(usize, f64, bool)> = Vec::new();
    take_turns(&mut searches, async |i, rate| {
        let sustained = rate <= limits[i];
        turns.push((i, rate, sustained));
        Turn {
            sustained,
            // The third stack's time is used up by its fourth rate.
            out_of_time: i == 2 && turns.iter().filter(|t| t.0 == 2).count() == 4,
        }
    })
    .await;
    let of = |i: usize| -> Vec<(f64, bool)> {
        turns
            .iter()
            .filter(|t| t.0 == i)
            .map(|t| (t.1, t.2))
            .collect()
    };
    for (i, &limit) in limits.iter().enumerate().take(2) {
        assert_eq!(of(i), drive(Search::new(10.0, 20, 0.1), limit), "stack {i}");
    }
    assert_eq!(
        of(2),
        [(10.0, true), (20.0, true), (40.0, true), (80.0, true)]
    );
    // Rounds: every stack still searching takes the next turn, in plan order.
    let lens = [of(0).len(), of(1).len(), 4];
    let rounds = lens.into_iter().max().unwrap();
    let expected: Vec<usize> = (0..rounds)
        .flat_map(|round| (0..3).filter(move |&i| round < lens[i]))
        .collect();
    let order: Vec<usize> = turns.iter().map(|t| t.0).collect();
    assert_eq!(order, expected, "{turns:?}");
    assert_eq!(&order[..6], &[0, 1, 2, 0, 1, 2]);
}

#[test]
fn a_step_is_sustained_only_within_the_bound_and_without_loss() {
    let p = rooms();
    // 4 rooms x 2 emitters x 500 msg/s, each to 7 members.
    assert_eq!(offered_per_sec(&p), 4.0 * 2.0 * 500.0 * 7.0);
    let ok = judge(&p, &measured(1000, 49.0), 50.0);
    assert!(ok.sustained, "{ok:?}");
    assert_eq!(ok.verdict, "ok");
    let slow = judge(&p, &measured(1000, 153.0), 50.0);
    assert!(!slow.sustained);
    assert_eq!(slow.verdict, "p99 153.0 ms > 50 ms");
    let mut lossy = measured(1000, 1.0);
    lossy.expected_deliveries = 1003;
    let lossy = judge(&p, &lossy, 50.0);
    assert_eq!((lossy.sustained, lossy.lost), (false, 3), "{lossy:?}");
    let mut fell = measured(0, 0.0);
    fell.failure = Some(Failure {
        error: "node 2 died".into(),
        exited: Vec::new(),
    });
    let fell = judge(&p, &fell, 50.0);
    assert!(
        !fell.sustained && fell.verdict.contains("node 2 died"),
        "{fell:?}"
    );

    let faster = SioParams { rate: 900.0, ..p };
    let steps = vec![ok, judge(&faster, &measured(2000, 20.0), 50.0), slow];
    let searched = StackSaturation::new("respub".into(), steps, 1.0);
    assert_eq!(searched.best.unwrap().rate, 900.0);
}

#[test]
fn every_stack_has_its_own_name_and_parts() {
    let names: Vec<&str> = Stack::value_variants().iter().map(|s| s.name()).collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 16, "{names:?}");
    let respub = stack("respub");
    assert_eq!(respub.nodes(), Nodes::from(NodeKind::Rust));
    let io = stack("node-ioredis-sharded-dynamic").nodes();
    assert_eq!(
        (io.kind, io.client, io.mode),
        (NodeKind::Node, RedisClient::Ioredis, AdapterMode::Dynamic)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_and_ioredis_stacks_deliver_every_room_message_once() {
    let node_dir = Programs::default_node_dir();
    assert!(
        node_dir.join("node_modules/ioredis").is_dir(),
        "run npm ci --prefix loadtest/node"
    );
    let programs = programs(&node_dir);
    for name in [
        "respub-sharded-dynamic",
        "respub-sharded-static",
        "node-ioredis",
        "node-redis-sharded-dynamic",
        "node-ioredis-sharded-static",
    ] {
        let p = rooms();
        let r = tokio::time::timeout(GUARD, async {
            let cluster = Cluster::start(&in_process_broker(), stack(name).nodes(), 3, &programs)
                .await
                .unwrap();
            workload::run(&p, &cluster, &indicatif::ProgressBar::hidden()).await
        })
        .await
        .expect("run did not finish")
        .unwrap();
        // 4 rooms x 2 emitters x 20 messages, each to the room's 7 members.
        assert_eq!(r.delivered, 4 * 2 * 20 * 7, "{name}: {r:#?}");
        assert_eq!(
            (r.seq.lost, r.seq.duplicates, r.unexpected),
            (0, 0, 0),
            "{name}"
        );
        let sio = r.sio.as_ref().unwrap();
        assert_eq!(sio.cross_node_delivered, sio.cross_node_expected, "{name}");
    }
}

/// A Node "node" that says READY like the real ones, then dies with exit
/// code 7 at its first connection, after a line on stderr and on stdout.
const DYING_NODE: &str = r#"
import { createServer } from "node:http";
const server = createServer(() => {});
server.on("connection", () => {
  console.error("dying on purpose at the first connection");
  console.log("last words on stdout");
  process.exit(7);
});
server.listen(0, "127.0.0.1", () => console.log(`READY ${server.address().port}`));
process.stdin.resume();
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_whose_node_dies_is_reported_and_the_others_keep_their_figures() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sio_node.mjs"), DYING_NODE).unwrap();
    let programs = programs(dir.path());
    let plan = [
        (stack("node-redis"), in_process_broker()),
        (stack("respub"), in_process_broker()),
    ];
    let s = tokio::time::timeout(GUARD, run_scenario(&rooms(), &plan, &programs, false))
        .await
        .expect("the scenario did not finish");

    let [dead, alive] = &s.results[..] else {
        panic!("{:#?}", s.results)
    };
    assert_eq!(alive.target, "respub");
    assert!(alive.failure.is_none(), "{:?}", alive.failure);
    assert_eq!(alive.delivered, 4 * 2 * 20 * 7);

    assert_eq!(dead.target, "node-redis");
    let failure = dead.failure.as_ref().unwrap();
    assert!(!failure.exited.is_empty(), "{failure:#?}");
    for e in &failure.exited {
        assert!(e.process.starts_with("node "), "{e:?}");
        assert_eq!((e.code, e.signal), (Some(7), None), "{e:?}");
        assert_eq!(e.status, "exit status: 7");
        let lines = e.last_lines.join("\n");
        assert!(lines.contains("dying on purpose"), "{lines}");
        assert!(lines.contains("stdout: last words on stdout"), "{lines}");
    }

    let table = crate::report::table(&s);
    assert!(table.contains("FAILED"), "{table}");
    assert!(table.contains("died: exit status: 7"), "{table}");
    assert!(table.contains("dying on purpose"), "{table}");
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["results"][0]["failure"]["exited"][0]["code"], 7);
    assert!(json["results"][1]["failure"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_that_cannot_start_is_a_failed_result_not_an_error() {
    let mut programs = programs(&Programs::default_node_dir());
    programs.rust_exe = "/bin/false".into();
    let r = outcome::run_stack(
        stack("respub"),
        &in_process_broker(),
        &rooms(),
        &programs,
        &indicatif::ProgressBar::hidden(),
    )
    .await;
    let failure = r.failure.unwrap();
    assert!(
        failure.error.contains("starting the respub cluster"),
        "{failure:?}"
    );
    assert!(failure.error.contains("before printing"), "{failure:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_from_outside_is_reported_one_the_load_tester_killed_is_not() {
    let programs = programs(&Programs::default_node_dir());
    let mut cluster = Cluster::start(&in_process_broker(), NodeKind::Rust, 2, &programs)
        .await
        .unwrap();
    // What a scenario that crashes a node on purpose does.
    cluster.nodes[0].process().kill().unwrap();
    // What the kernel's OOM killer, or a user, does.
    let outside = cluster.nodes[1].pid().to_string();
    let status = std::process::Command::new("kill")
        .args(["-KILL", &outside])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = tokio::time::Instant::now() + GUARD;
    let exited = outcome::casualties(&mut cluster, stack("respub"), deadline).await;
    assert_eq!(exited.len(), 1, "{exited:#?}");
    assert_eq!(exited[0].process, "node 2");
    assert_eq!(exited[0].pid.to_string(), outside);
    assert_eq!((exited[0].code, exited[0].signal), (None, Some(9)));
    assert_eq!(exited[0].status, "signal: 9 (SIGKILL)");
    assert!(
        exited[0]
            .last_lines
            .iter()
            .any(|l| l.starts_with("stdout: READY ")),
        "{exited:#?}"
    );
}
