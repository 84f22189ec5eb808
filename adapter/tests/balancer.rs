//! Long-polling across three nodes (one socketioxide node with the adapter, two Node nodes
//! with @socket.io/redis-adapter, on an in-process respub broker) behind real balancers:
//! nginx without stickiness breaks polling sessions (`400 Session ID unknown`); nginx with
//! `hash $remote_addr consistent`, HAProxy with `balance source` and HAProxy's inserted
//! cookie keep each session on one node, and rooms and broadcasts work across nodes.
//!
//! Needs `npm ci --prefix adapter/tests/node` and Debian's nginx and haproxy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod balancers;
mod fixture;
mod interop;

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use balancers::{
    Balancer, haproxy, http,
    members::{Member, connect_until, merged},
    mixed::Mixed,
    nginx::{self, Nginx},
    source,
};
use fixture::{Broker, poll};
use interop::{
    clients::{Clients, Ev},
    four::event_named,
};
use serde_json::{Value as Json, json};

const TIMEOUT: Duration = Duration::from_secs(5);

/// Connects clients through `lb` until at least six are connected and at least two nodes
/// have some (a balancer that sends every client to one node fails here).
async fn spread(c: &mut Clients, lb: &Balancer, mixed: &Mixed, extra: &Json) -> Vec<Member> {
    let members = connect_until(c, lb, extra, 0, |ms| {
        ms.len() >= 6 && ms.iter().map(|m| m.node).collect::<BTreeSet<_>>().len() >= 2
    })
    .await;
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &members {
        *count.entry(mixed.name(m.node)).or_default() += 1;
    }
    eprintln!("spread of {} clients: {count:?}", members.len());
    members
}

/// Clients spread over the nodes through `lb` join a room, get broadcasts from every node
/// that has clients, and every request of a client went to its first node.
async fn sticky_scenario(lb: Balancer, mixed: Mixed, extra: Json) {
    let mut c = Clients::start().await;
    let members = spread(&mut c, &lb, &mixed, &extra).await;
    for m in &members {
        assert_eq!(c.call(&m.name, "join", json!("room")).await, json!("ok"));
        let want = if m.polling_only {
            "polling"
        } else {
            "websocket"
        };
        poll(&format!("{}'s transport", m.name), async || {
            (c.transport(&m.name).await == want).then_some(())
        })
        .await;
    }
    // One origin per node that has clients.
    let mut origins: BTreeMap<u16, &Member> = BTreeMap::new();
    for m in &members {
        origins.entry(m.node).or_insert(m);
    }
    for origin in origins.values() {
        let event = format!("hi-{}", origin.name);
        let arg = json!({"rooms": ["room"], "event": event, "data": origin.name});
        assert_eq!(c.call(&origin.name, "broadcast", arg).await, json!("ok"));
        for m in &members {
            let got = event_named(&mut c, &m.name, &event).await;
            assert_eq!(got, json!([event, origin.name]), "{}", m.name);
        }
    }
    for origin in origins.values() {
        let got = c
            .call(&origin.name, "fetch", json!({"rooms": ["room"]}))
            .await;
        let mut ids: Vec<&str> = got
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        let mut want: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
        want.sort_unstable();
        assert_eq!(ids, want, "fetch from {}", origin.name);
    }
    // Stickiness as the balancer saw it: every request of a client on one node, no 400.
    for m in &members {
        for r in lb.routes().into_iter().filter(|r| r.client == m.from) {
            assert_eq!(r.upstream, Some(m.node), "{} moved: {r:?}", m.name);
            assert_ne!(r.status, 400, "{}: {r:?}", m.name);
        }
    }
    drop(c);
    drop(lb);
    mixed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_hash_remote_addr_consistent_keeps_sessions() {
    let broker = Broker::start().await;
    let mixed = Mixed::start(&broker.url(), TIMEOUT).await;
    let lb = Nginx::start(&mixed.ports(), nginx::Policy::HashRemoteAddr, false).await;
    sticky_scenario(Balancer::Nginx(lb), mixed, json!({})).await;
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_balance_source_keeps_sessions() {
    let broker = Broker::start().await;
    let mixed = Mixed::start(&broker.url(), TIMEOUT).await;
    let lb = haproxy::Haproxy::start(&mixed.ports(), haproxy::Policy::Source).await;
    sticky_scenario(Balancer::Haproxy(lb), mixed, json!({})).await;
    broker.stop().await;
}

/// socket.io-client ≥ 4.7 in Node keeps cookies (HAProxy's `SERVERID`) only with
/// `withCredentials: true`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_inserted_cookie_keeps_sessions() {
    let broker = Broker::start().await;
    let mixed = Mixed::start(&broker.url(), TIMEOUT).await;
    let lb =
        Balancer::Haproxy(haproxy::Haproxy::start(&mixed.ports(), haproxy::Policy::Cookie).await);
    // Without the cookie, HAProxy's round-robin moves the session at its second request.
    polling_fails(&lb, json!({"withCredentials": false})).await;
    sticky_scenario(lb, mixed, json!({"withCredentials": true})).await;
    broker.stop().await;
}

/// With nginx's round-robin, a polling request of a session lands on a node that does not
/// have it: `400` with engine.io's "Session ID unknown" (a string code from socketioxide,
/// a number from Node).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_round_robin_breaks_polling() {
    let broker = Broker::start().await;
    let mixed = Mixed::start(&broker.url(), TIMEOUT).await;
    let lb = Balancer::Nginx(Nginx::start(&mixed.ports(), nginx::Policy::RoundRobin, false).await);
    let addr = lb.addr();
    let (mut rust_400, mut node_400) = (0, 0);
    for _ in 0..6 {
        let (sid, owner) = http::handshake(addr, source(0), &[]).await;
        // The socket.io CONNECT packet, the first thing a client posts.
        let target = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        let r = http::request(
            addr,
            source(0),
            "POST",
            &target,
            &[("Content-Type", "text/plain;charset=UTF-8")],
            "40",
        )
        .await;
        let node = http::upstream_of(&r);
        if node == owner {
            assert_eq!((r.status, r.body.as_str()), (200, "ok"), "{r:?}");
            continue;
        }
        assert_eq!(r.status, 400, "{r:?}");
        assert_eq!(r.body, mixed.unknown_sid_body(node), "{}", mixed.name(node));
        if mixed.is_rust(node) {
            rust_400 += 1;
        } else {
            node_400 += 1;
        }
    }
    assert!(
        rust_400 > 0 && node_400 > 0,
        "400s: rust {rust_400}, node {node_400}"
    );

    polling_fails(&lb, json!({})).await;
    drop(lb);
    mixed.stop().await;
    broker.stop().await;
}

/// A socket.io-client client, polling only, through `lb` (with `extra` options) never gets a
/// working session: its first post lands on a node without the session.
async fn polling_fails(lb: &Balancer, extra: Json) {
    let mut c = Clients::start().await;
    let o = json!({"transports": ["polling"], "localAddress": source(200).to_string()});
    let got = c.connect_with("p", &lb.url(), merged(o, &extra)).await;
    eprintln!("polling-only client without stickiness: {got:?}");
    // It may have read the CONNECT answer before its post failed; it is lost either way.
    if got.is_ok() {
        match c.next("p").await {
            Ev::Disconnect(reason) => eprintln!("then disconnected: {reason}"),
            other => panic!("expected a disconnect, got {other:?}"),
        }
    }
    assert!(
        lb.routes()
            .iter()
            .any(|r| r.client == source(200) && r.status == 400),
        "no 400 logged: {:?}",
        lb.routes()
    );
}

/// `ip_hash` hashes the first three octets of the address only: every 127.0.0.x client
/// lands on one node (which is why the docs use `hash $remote_addr consistent`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_ip_hash_puts_every_loopback_client_on_one_node() {
    let broker = Broker::start().await;
    let mixed = Mixed::start(&broker.url(), TIMEOUT).await;
    let lb = Balancer::Nginx(Nginx::start(&mixed.ports(), nginx::Policy::IpHash, false).await);
    let mut nodes = std::collections::BTreeSet::new();
    for i in 0..16 {
        nodes.insert(http::handshake(lb.addr(), source(i), &[]).await.1);
    }
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    drop(lb);
    mixed.stop().await;
    broker.stop().await;
}
