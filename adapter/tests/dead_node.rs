//! A node that dies behind nginx (`hash $remote_addr consistent`, `proxy_next_upstream
//! error timeout`): three nodes (a socketioxide node with the adapter, a Node node, and a
//! third one, Node or Rust, in a process of its own) on an in-process respub broker, clients
//! spread over them (polling only and WebSocket), ticks flowing to their room from the Rust
//! node. The third node gets `kill -9`: its clients reconnect through
//! nginx to the others and rejoin; requests on the survivors finish without waiting for the
//! dead node (their timeout is 60 s); the ticks its clients missed are counted and printed.
//! Then the node starts again on its port, the others untouched: it gets clients, they get
//! broadcasts, and requests count it again.
//!
//! Needs `npm ci --prefix adapter/tests/node` and Debian's nginx.
//!
//! ```text
//! cargo test -p respub-socketio --test dead_node -- --nocapture
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod balancers;
mod fixture;
mod interop;

use std::{collections::BTreeMap, time::Instant};

use balancers::{
    Balancer,
    members::{Member, connect_until},
    mixed::{Kind, Mixed},
    nginx::{self, Nginx},
    outage::{REQUEST_TIMEOUT, Run, TICK_EVERY, ids, just_after_death, names, ranges},
    traffic::{Ledger, Ticker},
};
use fixture::{Broker, raw::wait_count};
use interop::clients::Clients;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_node_killed_behind_nginx_then_restarted() {
    killed_then_restarted(Kind::Node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_node_killed_behind_nginx_then_restarted() {
    killed_then_restarted(Kind::Rust).await;
}

/// Not a test: the Rust node that `rust_node_killed_behind_nginx_then_restarted` kills, run
/// in a process of its own (this binary again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of the dead-node tests"]
async fn rust_node_child() {
    balancers::rust_child::serve_from_env().await;
}

/// The scenario, the victim a node of `kind` (the survivors are a Rust node and a Node node).
async fn killed_then_restarted(kind: Kind) {
    eprintln!("--- the victim is a {kind:?} node");
    let broker = Broker::start().await;
    let mixed = Mixed::start_with(&broker.url(), REQUEST_TIMEOUT, kind).await;
    let lb =
        Balancer::Nginx(Nginx::start(&mixed.ports(), nginx::Policy::HashRemoteAddr, false).await);
    let mut c = Clients::start().await;
    // After a reconnection, each client joins "room" again by itself.
    let reconnecting = json!({
        "reconnection": true,
        "reconnectionDelay": 100,
        "reconnectionDelayMax": 1000,
        "rejoin": ["room"],
    });
    let victim = mixed.third_port;
    let ports = mixed.ports();
    // Every node has two clients, and the victim has one of each transport.
    let members = connect_until(&mut c, &lb, &reconnecting, 0, |ms| {
        let on = |p: u16| ms.iter().filter(move |m| m.node == p);
        ports.iter().all(|p| on(*p).count() >= 2)
            && on(victim).any(|m| m.polling_only)
            && on(victim).any(|m| !m.polling_only)
    })
    .await;
    // In the room before the first tick: they must get every tick.
    let mut must_from = BTreeMap::new();
    for m in &members {
        assert_eq!(c.call(&m.name, "join", json!("room")).await, json!("ok"));
        must_from.insert(m.name.clone(), 0);
    }
    let ticker = Ticker::start(mixed.rust.io.clone(), "room", TICK_EVERY);
    let ledger = Ledger::default();
    let mut run = Run {
        c,
        lb,
        mixed,
        ticker,
        ledger,
        must_from,
    };
    // Traffic flows: every client got a few ticks.
    for m in &members {
        for _ in 0..5 {
            run.ledger.until_tick(&mut run.c, &m.name).await;
        }
    }
    let (victims, survivors): (Vec<Member>, Vec<Member>) =
        members.into_iter().partition(|m| m.node == victim);
    eprintln!(
        "{} clients on the victim, {} on the survivors",
        victims.len(),
        survivors.len()
    );

    let victims = death(&mut run, &broker, victims, &survivors).await;
    let first_fresh = survivors.len() + victims.len();
    let (victims, fresh) = restart(&mut run, &victims, first_fresh).await;
    finish(run, [&survivors, &victims, &fresh]).await;
    broker.stop().await;
}

/// Kills the third node and checks the survivors' requests, then waits for its clients to
/// come back through nginx on the survivors; returns them with their new ids and nodes.
async fn death(
    run: &mut Run,
    broker: &Broker,
    victims: Vec<Member>,
    survivors: &[Member],
) -> Vec<Member> {
    let victim = run.mixed.third_port;
    let at_kill = run.ticker.sent();
    let t0 = Instant::now();
    run.mixed.kill_third().await;
    // At once, from the Rust node: the adapter recounts while it waits.
    let alive: Vec<&Member> = survivors.iter().collect();
    just_after_death(run.rust_view("room").await, &alive, &victims);
    // Node's adapter counts the servers once per request: ask once the broker dropped the
    // dead node's connection.
    let request = format!("{}-request#/#", run.mixed.prefix);
    wait_count(broker.addr, &["PUBSUB", "NUMSUB", &request], 2).await;
    let via = survivors
        .iter()
        .find(|m| m.node == run.mixed.node1.port)
        .unwrap()
        .name
        .clone();
    just_after_death(run.node_view(&via, "room").await, &alive, &victims);

    let mut back = Vec::new();
    for v in victims {
        let reason = run.ledger.until_disconnect(&mut run.c, &v.name).await;
        let id = run.c.reconnected(&v.name).await;
        let reconnected = t0.elapsed();
        let node = run.lb.nth_node_of(v.from, 1).await;
        assert_ne!(node, victim, "{} reconnected to the dead node", v.name);
        let v = Member { id, node, ..v };
        run.rejoined(&v).await;
        eprintln!(
            "{} ({}): {reason}, reconnected to {} by {reconnected:?}, in the room by {:?}",
            v.name,
            if v.polling_only {
                "polling"
            } else {
                "websocket"
            },
            run.mixed.name(node),
            t0.elapsed()
        );
        back.push(v);
    }
    eprintln!(
        "ticks sent from the kill until every client was back: {}",
        run.ticker.sent() - at_kill
    );
    back
}

/// Starts the third node again on its port. Polling-only clients it lost come back to it
/// (nginx's hash sends their next poll there, which does not know their session); new
/// clients reach it. Returns the victims as they are now and the new clients.
async fn restart(run: &mut Run, victims: &[Member], first: usize) -> (Vec<Member>, Vec<Member>) {
    let victim = run.mixed.third_port;
    run.mixed.restart_third().await;
    assert_eq!(run.mixed.rust.cluster.server_count("/").await.unwrap(), 3);
    let mut now = Vec::new();
    for v in victims {
        if !v.polling_only {
            now.push(v.clone());
            continue;
        }
        let reason = run.ledger.until_disconnect(&mut run.c, &v.name).await;
        let id = run.c.reconnected(&v.name).await;
        let node = run.lb.nth_node_of(v.from, 2).await;
        assert_eq!(
            node, victim,
            "{} did not go back to the restarted node",
            v.name
        );
        let v = Member {
            id,
            node,
            ..v.clone()
        };
        run.rejoined(&v).await;
        eprintln!(
            "{} (polling): {reason} after the restart, back on the restarted node",
            v.name
        );
        now.push(v);
    }
    let reconnecting = json!({"reconnection": true, "rejoin": ["room"]});
    let fresh = connect_until(&mut run.c, &run.lb, &reconnecting, first, |ms| {
        ms.iter().any(|m| m.node == victim)
    })
    .await;
    for m in &fresh {
        run.join(m).await;
    }
    (now, fresh)
}

/// Stops the ticks, checks every client got every tick it must have, and prints what the
/// victims missed.
async fn finish(mut run: Run, groups: [&[Member]; 3]) {
    let all: Vec<&Member> = groups.iter().flat_map(|g| g.iter()).collect();
    // The sessions the bounced polling clients left on the survivors are still in "room"
    // until their ping timeout (25 s + 20 s): a broadcast with acks there would wait for
    // them. Everyone living joins "room2".
    let in_room = run.rust_fetch("room").await;
    eprintln!(
        "sessions in the room after the restart: {} for {} clients",
        in_room.len(),
        all.len()
    );
    for m in &all {
        assert_eq!(
            run.c.call(&m.name, "join", json!("room2")).await,
            json!("ok")
        );
    }
    // Requests count the restarted node again, and its clients answer.
    assert_eq!(run.rust_view("room2").await, (names(&all), ids(&all)));
    let via = groups[0]
        .iter()
        .find(|m| m.node == run.mixed.node1.port)
        .unwrap()
        .name
        .clone();
    assert_eq!(run.c.call(&via, "serverCount", json!(null)).await, json!(3));
    assert_eq!(run.node_view(&via, "room2").await, (names(&all), ids(&all)));

    let (total, refused) = run.ticker.stop().await;
    // An error names the sockets that refused it; the others got the marker.
    let _ = run.mixed.rust.io.to("room").emit("end", &()).await;
    for m in &all {
        run.ledger.until_event(&mut run.c, &m.name, "end").await;
    }
    for m in groups[0] {
        assert_eq!(
            run.ledger.missed(&m.name, total),
            Vec::<u64>::new(),
            "survivor {}",
            m.name
        );
    }
    for m in &all {
        let from = run.must_from[&m.name];
        let missed = run.ledger.missed(&m.name, total);
        assert!(
            missed.iter().all(|k| *k < from),
            "{} missed {missed:?}, in the room from tick {from}",
            m.name
        );
    }
    eprintln!("{total} ticks, one every {TICK_EVERY:?}");
    eprintln!("{refused} ticks refused by a full session on the Rust node");
    eprintln!("missed by the dead node's clients:");
    for m in groups[1] {
        let missed = run.ledger.missed(&m.name, total);
        let bounces = run.ledger.disconnects.get(&m.name).map_or(0, Vec::len);
        eprintln!(
            "  {} ({}): {} ticks missed over {bounces} disconnections: {:?}",
            m.name,
            if m.polling_only {
                "polling"
            } else {
                "websocket"
            },
            missed.len(),
            ranges(&missed)
        );
    }
    drop(run.c);
    drop(run.lb);
    run.mixed.stop().await;
}
