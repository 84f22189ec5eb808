//! Short failovers of real deployments (respub-server and redis-server
//! nodes, real redis-sentinel processes), asserting on what must hold
//! whatever the timing: Sentinel switched to one of the replicas, every
//! client came back, and the counts add up. No timed assertions: the
//! outage timeout and the guard are failure guards only.

use std::time::Duration;

use indicatif::ProgressBar;

use super::locate_sentinel;
use super::run::run;
use crate::figures::{FailoverParams, RunResult, ScenarioParams, ScenarioReport};
use crate::target::ServerKind;

/// Failure guard only: a healthy run takes about 10 s.
const GUARD: Duration = Duration::from_secs(120);

fn params() -> FailoverParams {
    FailoverParams {
        publishers: 2,
        subscribers: 3,
        rate: 200.0,
        payload: 64,
        before_kill: Duration::from_millis(500),
        after_recovery: Duration::from_millis(200),
        outage_timeout: Duration::from_secs(60),
        drain_timeout: Duration::from_secs(10),
        retry: Duration::from_millis(10),
        master_name: "lt-test".into(),
        down_after_ms: 1000,
        failover_timeout_ms: 3000,
    }
}

async fn failover(kind: ServerKind, bin: &std::path::Path) -> RunResult {
    let sentinel = locate_sentinel(None).expect("redis-sentinel is not installed");
    let p = params();
    tokio::time::timeout(GUARD, run(kind, bin, &sentinel, &p, &ProgressBar::hidden()))
        .await
        .expect("failover run did not finish")
        .unwrap()
}

/// What every failover run must show.
fn assert_consistent(r: &RunResult) {
    let f = r.failover.as_ref().unwrap();
    let round = &f.rounds[0];
    assert_eq!(f.switches(), 1, "{r:#?}");
    let new_master = round.new_master.as_ref().unwrap();
    assert!(round.replicas.contains(new_master), "{round:#?}");
    assert_ne!(&round.old_master, new_master);
    // Every subscriber resubscribed on the new master and received there.
    assert_eq!(r.subscribers, 3);
    assert_eq!(r.subscriber_failures, 0, "{:?}", r.first_failure);
    assert!(round.first_delivery_ms.is_some(), "{round:#?}");
    assert!(round.subscribers_back_ms.is_some(), "{round:#?}");
    assert!(round.publishers_back_ms.is_some(), "{round:#?}");
    // Each attempt was acknowledged or failed; the failures are the
    // attempts between the kill and the publisher's return, plus at most
    // the one each publisher had in flight when the master died.
    assert_eq!(r.published + f.publish_failed, r.published_total);
    assert!(f.outage_publishes <= f.publish_failed, "{f:#?}");
    assert!(f.publish_failed - f.outage_publishes <= 2, "{f:#?}");
    // Per subscriber, every acknowledged message was delivered or lost.
    assert_eq!(r.expected_deliveries, r.published * 3);
    assert_eq!(r.delivered + r.seq.lost, r.expected_deliveries, "{r:#?}");
    assert!(f.lost_after_kill <= r.seq.lost);
    assert_eq!(r.delivered_total, r.delivered + f.delivered_after_failure);
    // A subscriber receives only what a server counted it in.
    assert!(r.delivered <= f.receivers_reported, "{r:#?}");
    assert_eq!(r.seq.duplicates, 0);
    assert_eq!(r.seq.reordered, 0);
    assert_eq!(r.unexpected, 0);
    // Messages were acknowledged on both sides of the kill.
    assert!(r.published > f.lost_after_kill);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respub_fails_over_under_sentinel() {
    let bin = crate::tests::built("respub-broker", "respub-server");
    let r = failover(ServerKind::Respub, &bin).await;
    assert_eq!(r.target, "respub");
    assert_consistent(&r);
    let s = ScenarioReport {
        description: params().describe(),
        params: ScenarioParams::Failover(params()),
        rounds: 1,
        results: vec![r],
    };
    let table = crate::report::table(&s);
    assert!(
        table.contains("kill to first delivery on new master"),
        "{table}"
    );
    assert!(table.contains("new master 127.0.0.1:"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_server_fails_over_under_sentinel() {
    let bin = ServerKind::Redis
        .locate(None)
        .expect("redis-server is not installed");
    let r = failover(ServerKind::Redis, &bin).await;
    assert_eq!(r.target, "redis-server");
    assert_consistent(&r);
}

#[test]
fn parses_the_failover_command() {
    use clap::Parser;

    use crate::cli::{Cli, Command};
    let parse = |args: &[&str]| {
        let cli = Cli::try_parse_from(["respub-loadtest", "failover"].iter().chain(args))?;
        match cli.command {
            Command::Failover(a) => Ok::<_, clap::Error>(a),
            _ => panic!("not failover"),
        }
    };
    let args = parse(&[
        "--spawn",
        "respub",
        "--spawn",
        "redis-server",
        "--down-after-ms",
        "1500",
    ])
    .unwrap();
    assert_eq!(args.spawn, vec![ServerKind::Respub, ServerKind::Redis]);
    let p = args.params().unwrap();
    assert_eq!(p.down_after_ms, 1500);
    assert_eq!(p.failover_timeout_ms, 3000);
    assert!(p.describe().contains("down-after 1500 ms"));
    // A server kind is required; a payload must hold the header.
    assert!(parse(&[]).is_err());
    let small = parse(&["--spawn", "respub", "--payload", "10"]).unwrap();
    assert!(small.params().is_err());
    let no_rate = parse(&["--spawn", "respub", "--rate", "0"]).unwrap();
    assert!(no_rate.params().is_err());
}
