//! The `socketio` mode against real Rust node processes (this crate's own
//! `respub-loadtest sio-node`, built by the test) on a respub broker inside
//! the test process. Runs end by message count; durations are generous
//! upper bounds that a healthy run never reaches.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use indicatif::ProgressBar;

use super::node::{Cluster, NodeKind, Programs};
use super::proxy::Proxy;
use super::workload;
use crate::figures::{ProxyKind, SioParams, SioScenario, Transport};
use crate::target::{Source, Target};

/// Failure guard only: a healthy run takes a few seconds.
const GUARD: Duration = Duration::from_secs(120);

pub(super) fn programs() -> Programs {
    Programs {
        rust_exe: crate::tests::built("respub-loadtest", "respub-loadtest"),
        node_dir: Programs::default_node_dir(),
        ack_timeout: Duration::from_secs(20),
    }
}

pub(super) fn in_process_broker() -> Target {
    Target {
        name: "respub".into(),
        source: Source::InProcess,
    }
}

pub(super) fn params(scenario: SioScenario) -> SioParams {
    SioParams {
        scenario,
        nodes: 3,
        rooms: 4,
        members: 7,
        emitters: 2,
        clients: 10,
        churners: 0,
        rate: 500.0,
        payload: 16,
        transport: Transport::Websocket,
        proxy: ProxyKind::None,
        duration: Duration::from_secs(60),
        warmup: Duration::ZERO,
        messages: Some(40),
        drain_timeout: Duration::from_secs(20),
    }
}

/// Runs `p` on 3 fresh Rust nodes.
async fn run_on_rust_nodes(p: &SioParams, programs: &Programs) -> crate::figures::RunResult {
    run_on(NodeKind::Rust, p, programs).await
}

/// Runs `p` on 3 fresh nodes of `kind`, behind `p.proxy`.
pub(super) async fn run_on(
    kind: NodeKind,
    p: &SioParams,
    programs: &Programs,
) -> crate::figures::RunResult {
    tokio::time::timeout(GUARD, async {
        let mut cluster = Cluster::start(&in_process_broker(), kind, 3, programs)
            .await
            .unwrap();
        let addrs: Vec<_> = cluster.nodes.iter().map(|n| n.addr).collect();
        cluster.proxy = Proxy::start(p.proxy, &addrs).await.unwrap();
        let bar = ProgressBar::hidden();
        match p.scenario {
            SioScenario::NodeFailure => {
                super::failure::run(p, &mut cluster, programs, kind.into(), &bar).await
            }
            _ => workload::run(p, &cluster, &bar).await,
        }
    })
    .await
    .expect("run did not finish")
    .unwrap()
}

fn gone(pid: u32) -> bool {
    !PathBuf::from(format!("/proc/{pid}")).exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_across_three_rust_nodes_reach_every_member_once() {
    let p = params(SioScenario::Rooms);
    let programs = programs();
    let r = run_on_rust_nodes(&p, &programs).await;

    // 4 rooms x 2 emitters x 40 messages, each to the room's 7 members.
    let emitted = 4 * 2 * 40;
    assert_eq!(r.published, emitted, "{r:#?}");
    assert_eq!(r.published_total, emitted);
    assert_eq!(r.expected_deliveries, emitted * 7);
    assert_eq!(r.delivered, emitted * 7, "{r:#?}");
    assert_eq!(r.delivered_total, r.delivered);
    assert_eq!(r.seq.lost, 0);
    assert_eq!(r.seq.duplicates, 0);
    assert_eq!(r.seq.reordered, 0, "one client's emits arrive in order");
    assert_eq!(r.unexpected, 0, "no member hears another room");
    assert_eq!(r.subscribers, 28);
    assert_eq!(r.subscriber_failures, 0, "{:?}", r.first_failure);
    assert_eq!(r.latency.count, r.delivered);

    // Independently of the load tester's layout code: client k = 7r + j is
    // on node k % 3; room r's emitters are its members (r + t) % 7, t < 2.
    let mut cross = 0;
    for room in 0..4u64 {
        let node = |j: u64| (7 * room + j) % 3;
        for t in 0..2 {
            let emitter = (room + t) % 7;
            cross += (0..7).filter(|&j| node(j) != node(emitter)).count() as u64 * 40;
        }
    }
    let sio = r.sio.as_ref().unwrap();
    assert!(cross > 0);
    assert_eq!(sio.cross_node_expected, cross);
    assert_eq!(sio.cross_node_delivered, cross, "members on other nodes");
    assert_eq!(sio.clients, 28);
    assert_eq!(sio.nodes.len(), 3);
    assert!(sio.nodes.iter().all(|n| n.peak_rss_bytes > 0));
    assert!(
        r.server.is_none(),
        "no /proc figures for an in-process broker"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_nodes_keep_the_same_contract() {
    // `npm ci --prefix loadtest/node` (scripts/test runs it); the load
    // tester would run it itself, but a test should not download.
    let programs = programs();
    let modules = programs.node_dir.join("node_modules");
    assert!(
        modules.join("socket.io").is_dir(),
        "{} is missing: run npm ci --prefix loadtest/node",
        modules.display()
    );
    programs.prepare(NodeKind::Node).unwrap();
    // `emitter`: the load tester's broker emitters, as Node's
    // @socket.io/redis-emitter would publish, relayed by Node nodes.
    for scenario in [SioScenario::Rooms, SioScenario::Emitter, SioScenario::Acks] {
        let mut p = params(scenario);
        p.messages = Some(20);
        let r = run_on(NodeKind::Node, &p, &programs).await;
        let (emitted, receivers) = match scenario {
            SioScenario::Rooms | SioScenario::Emitter => (4 * 2 * 20, 7),
            _ => (2 * 20, 10),
        };
        assert_eq!(r.published, emitted, "{scenario:?}");
        assert_eq!(r.delivered, emitted * receivers, "{scenario:?}: {r:#?}");
        assert_eq!(
            (r.seq.lost, r.seq.duplicates, r.seq.reordered),
            (0, 0, 0),
            "{scenario:?}"
        );
        let sio = r.sio.as_ref().unwrap();
        assert!(sio.cross_node_expected > 0);
        assert_eq!(sio.cross_node_delivered, sio.cross_node_expected);
        if let Some(acks) = &sio.acks {
            assert_eq!((acks.replies, acks.answers), (40, 400));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_and_acks_reach_every_client_on_every_node() {
    let programs = programs();
    for scenario in [SioScenario::Broadcast, SioScenario::Acks] {
        let mut p = params(scenario);
        p.messages = Some(25);
        let r = run_on_rust_nodes(&p, &programs).await;
        // 2 emitters x 25 messages, each to all 10 clients.
        assert_eq!(r.published, 50, "{scenario:?}");
        assert_eq!(r.delivered, 500, "{scenario:?}: {r:#?}");
        assert_eq!(r.expected_deliveries, 500);
        assert_eq!((r.seq.lost, r.seq.duplicates), (0, 0), "{scenario:?}");
        let sio = r.sio.as_ref().unwrap();
        // Clients 0..10 on nodes k % 3 (4, 3 and 3 of them); emitters 0 and
        // 1 on nodes 0 and 1, each heard by 6 and 7 clients elsewhere.
        assert_eq!(sio.cross_node_expected, 25 * (6 + 7), "{scenario:?}");
        assert_eq!(sio.cross_node_delivered, sio.cross_node_expected);
        match scenario {
            SioScenario::Acks => {
                let acks = sio.acks.as_ref().unwrap();
                assert_eq!(acks.requests, 50);
                assert_eq!(acks.replies, 50);
                assert_eq!(acks.expected_answers, 500);
                assert_eq!(acks.answers, 500, "every client answered every request");
                assert_eq!(acks.round_trip.count, 50);
            }
            _ => assert!(sio.acks.is_none()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_storm_keeps_stable_members_exact() {
    let mut p = params(SioScenario::JoinStorm);
    p.churners = 4;
    let programs = programs();
    let r = run_on_rust_nodes(&p, &programs).await;
    assert_eq!(r.delivered, 4 * 2 * 40 * 7, "{r:#?}");
    assert_eq!((r.seq.lost, r.seq.duplicates), (0, 0));
    let sio = r.sio.as_ref().unwrap();
    assert_eq!(sio.clients, 28 + 4);
    let joins = sio.joins.as_ref().unwrap();
    // Each churner's first join and leave always complete.
    assert!(joins.operations >= 4 * 2, "{joins:?}");
    assert_eq!(joins.latency.count, joins.operations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_are_stopped_on_drop_error_and_cancellation() {
    let programs = programs();
    let broker = in_process_broker();

    let cluster = Cluster::start(&broker, NodeKind::Rust, 2, &programs)
        .await
        .unwrap();
    let pids: Vec<u32> = cluster.nodes.iter().map(|n| n.pid()).collect();
    assert!(pids.iter().all(|&p| !gone(p)));
    drop(cluster);
    assert!(pids.iter().all(|&p| gone(p)), "dropped: {pids:?}");

    let mut seen = Vec::new();
    let result: anyhow::Result<()> = async {
        let cluster = Cluster::start(&broker, NodeKind::Rust, 2, &programs).await?;
        seen.extend(cluster.nodes.iter().map(|n| n.pid()));
        anyhow::bail!("scenario failed")
    }
    .await;
    assert!(result.is_err());
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|&p| gone(p)), "error: {seen:?}");

    // Ctrl-C in main drops the benchmark future mid-flight.
    let (pid_tx, pid_rx) = tokio::sync::oneshot::channel();
    let run = async {
        let cluster = Cluster::start(&broker, NodeKind::Rust, 2, &programs).await?;
        let _ = pid_tx.send(cluster.nodes.iter().map(|n| n.pid()).collect::<Vec<_>>());
        std::future::pending::<()>().await;
        anyhow::Ok(())
    };
    let mut pid_rx = pid_rx;
    let pids = tokio::select! {
        r = run => panic!("the run ended by itself: {r:?}"),
        pids = &mut pid_rx => pids.unwrap(),
    };
    assert!(pids.iter().all(|&p| gone(p)), "cancelled: {pids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_cannot_start_fails_the_cluster_with_its_reason() {
    let mut programs = programs();
    programs.rust_exe = PathBuf::from("/bin/false");
    let err = Cluster::start(&in_process_broker(), NodeKind::Rust, 2, &programs)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("before printing"), "{err:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_exits_when_its_stdin_closes() {
    // What protects against a load tester killed by SIGKILL, which cannot
    // stop its children: their stdin pipe closes with it.
    let exe = crate::tests::built("respub-loadtest", "respub-loadtest");
    let broker = in_process_broker().start().await.unwrap();
    let mut child = Command::new(exe)
        .args(["sio-node", "--redis", &format!("redis://{}", broker.addr)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line
    });
    let line = tokio::time::timeout(GUARD, ready).await.unwrap().unwrap();
    assert!(line.starts_with("READY "), "{line:?}");
    drop(child.stdin.take());
    let status = tokio::time::timeout(GUARD, tokio::task::spawn_blocking(move || child.wait()))
        .await
        .expect("the node did not exit after its stdin closed")
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polling_direct_and_through_real_balancers_reaches_every_member_once() {
    let programs = programs();
    let ways = [
        (Transport::Polling, ProxyKind::None),
        (Transport::Polling, ProxyKind::Nginx),
        (Transport::Polling, ProxyKind::Haproxy),
        (Transport::Websocket, ProxyKind::Nginx),
    ];
    for (transport, proxy) in ways {
        let mut p = params(SioScenario::Rooms);
        (p.transport, p.proxy, p.messages) = (transport, proxy, Some(20));
        let r = run_on_rust_nodes(&p, &programs).await;
        let way = format!("{transport:?} via {proxy:?}");
        assert_eq!(r.delivered, 4 * 2 * 20 * 7, "{way}: {r:#?}");
        assert_eq!(
            (r.seq.lost, r.seq.duplicates, r.seq.reordered),
            (0, 0, 0),
            "{way}"
        );
        assert_eq!(r.subscriber_failures, 0, "{way}: {:?}", r.first_failure);
        let sio = r.sio.as_ref().unwrap();
        // Where each client is comes from the balancer's header: a client
        // it did not name would count on no node.
        assert_eq!(sio.clients_per_node.iter().sum::<usize>(), 28, "{way}");
        assert!(
            sio.clients_per_node.iter().filter(|&&n| n > 0).count() > 1,
            "{way}: all on one node {:?}",
            sio.clients_per_node
        );
        assert!(sio.cross_node_expected > 0, "{way}");
        assert_eq!(sio.cross_node_delivered, sio.cross_node_expected, "{way}");
        assert_eq!(sio.proxy.is_some(), proxy != ProxyKind::None, "{way}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_s_clients_come_back_and_the_others_lose_nothing() {
    let programs = programs();
    for (transport, proxy) in [
        (Transport::Websocket, ProxyKind::None),
        (Transport::Polling, ProxyKind::Haproxy),
    ] {
        let mut p = params(SioScenario::NodeFailure);
        (p.transport, p.proxy, p.messages) = (transport, proxy, None);
        (p.rate, p.duration) = (50.0, Duration::from_secs(3));
        let r = run_on_rust_nodes(&p, &programs).await;
        let way = format!("{transport:?} via {proxy:?}");
        let f = r.sio.as_ref().unwrap().node_failure.clone().unwrap();
        assert_eq!(f.killed_node, 3);
        assert!(f.clients_on_killed > 0, "{way}: {f:?}");
        assert_eq!(f.reconnected, f.clients_on_killed, "{way}: {f:?}");
        assert_eq!(f.rejoin.count, f.clients_on_killed as u64, "{way}");
        if proxy == ProxyKind::None {
            assert_eq!(f.first_message.count, f.clients_on_killed as u64, "{way}");
            // Through HAProxy a new polling session may break until the
            // health check takes the node out: its requests are
            // redispatched one by one.
            assert_eq!(f.requests_unanswered, 0, "{way}");
        } else {
            // ...and a client that rejoined that late may see the run end
            // before the next message (8 of 9 once in CI, 3 s at 50 msg/s).
            let got = f.first_message.count;
            assert!(got > 0 && got <= f.clients_on_killed as u64, "{way}: {f:?}");
        }
        assert_eq!(f.others_disconnected, 0, "{way}");
        assert_eq!(f.lost_by_others, 0, "{way}: {f:?}");
        assert_eq!(
            r.seq.lost,
            f.lost_by_killed_clients + f.lost_by_others_from_killed_emitters,
            "{way}: every loss is the killed node's"
        );
        assert_eq!(r.seq.duplicates, 0, "{way}");
        assert!(f.restart_ready_ms.is_some(), "{way}");
        assert!(
            f.restart_delivery_ms.is_some(),
            "{way}: the restarted node never delivered across nodes"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_accepts_connections_once_started_and_stops_with_its_cluster() {
    let programs = programs();
    assert!(Proxy::start(ProxyKind::None, &[]).await.unwrap().is_none());
    for kind in [ProxyKind::Nginx, ProxyKind::Haproxy] {
        let mut cluster = Cluster::start(&in_process_broker(), NodeKind::Rust, 2, &programs)
            .await
            .unwrap();
        let addrs: Vec<_> = cluster.nodes.iter().map(|n| n.addr).collect();
        cluster.proxy = Proxy::start(kind, &addrs).await.unwrap();
        let proxy = cluster.proxy.as_ref().unwrap();
        let pid = proxy.pid();
        tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
        assert!(!gone(pid), "{kind:?}");
        drop(cluster);
        assert!(gone(pid), "{kind:?} outlived its cluster");
    }
}
