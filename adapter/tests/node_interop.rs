//! Interop with real Node servers: one socketioxide node with the adapter and one Node
//! `socket.io` 4.8 node with `@socket.io/redis-adapter` 8.3 (node-redis and ioredis), in the
//! same cluster, through respub (in process) and through a real redis-server, classic and
//! sharded (static, dynamic, dynamic-private). Clients are socket.io-client 4.8.
//!
//! Needs `npm ci --prefix adapter/tests/node` and `/usr/bin/redis-server`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod fixture;
mod interop;

use std::collections::{BTreeMap, BTreeSet};

use fixture::{Broker, within};
use interop::{
    NodeClient, NodeServer, RedisServer,
    clients::{Clients, Ev},
    rust_server::RustServer,
    whole,
};
use respub_socketio::{Config, Mode, SubscriptionMode};
use serde_json::{Value as Json, json};

/// Fetches (through `by`) until `pred` holds for the ids in `room` (remote join and leave
/// are asynchronous).
async fn wait_fetch(
    c: &mut Clients,
    by: &str,
    room: &str,
    pred: impl Fn(&BTreeSet<String>) -> bool,
) {
    within("membership", async {
        loop {
            let got = c.call(by, "fetch", json!({"rooms": [room]})).await;
            if let Some(list) = got.as_array() {
                let ids = list
                    .iter()
                    .map(|s| s["id"].as_str().unwrap().to_owned())
                    .collect();
                if pred(&ids) {
                    return;
                }
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
}

fn fetched_ids(v: &Json) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("fetch failed: {v}"))
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

const NAMES: [&str; 4] = ["r1", "r2", "n1", "n2"];

/// Every client named in `got` receives `event` then `marker`; the others receive `marker`
/// next (so they did not get `event`).
async fn expect(c: &mut Clients, got: &[&str], event: Json, marker: &Json) {
    for name in NAMES {
        if got.contains(&name) {
            assert_eq!(c.event(name).await, event, "client {name}");
        }
        assert_eq!(&c.event(name).await, marker, "client {name}");
    }
}

/// `origin` broadcasts `event` (its data: `origin`) to `rooms` except `except`.
async fn bcast(c: &mut Clients, origin: &str, rooms: Json, except: Json, event: &str) {
    let arg = json!({"rooms": rooms, "except": except, "event": event, "data": origin});
    assert_eq!(c.call(origin, "broadcast", arg).await, json!("ok"));
}

type Ids = BTreeMap<&'static str, String>;

/// Broadcasts from `origin` to all, to rooms, to socket ids and with binary data.
async fn check_broadcasts(c: &mut Clients, origin: &str, ids: &Ids) {
    let marker = json!(["marker", origin]);
    // Broadcast to all.
    bcast(c, origin, json!([]), json!([]), "all").await;
    for name in NAMES {
        assert_eq!(c.event(name).await, json!(["all", origin]), "client {name}");
    }

    // One room, then a marker to all (a client that must not get the first sees the
    // marker first).
    bcast(c, origin, json!(["a"]), json!([]), "in-a").await;
    bcast(c, origin, json!([]), json!([]), "marker").await;
    expect(c, &["r1", "n1"], json!(["in-a", origin]), &marker).await;

    // Two rooms except one.
    bcast(c, origin, json!(["a", "b"]), json!(["a"]), "ab").await;
    bcast(c, origin, json!([]), json!([]), "marker").await;
    expect(c, &["r2", "n2"], json!(["ab", origin]), &marker).await;

    // To each socket id (a socket's private room), on either node.
    for target in NAMES {
        bcast(c, origin, json!([ids[target]]), json!([]), "to-sid").await;
        bcast(c, origin, json!([]), json!([]), "marker").await;
        expect(c, &[target], json!(["to-sid", origin]), &marker).await;
    }

    // Binary data, to a room (msgpack on the wire in both modes).
    let arg = json!({"rooms": ["b"], "event": "bin", "data": origin, "binary": true});
    assert_eq!(c.call(origin, "broadcast", arg).await, json!("ok"));
    bcast(c, origin, json!([]), json!([]), "marker").await;
    let bytes: Vec<u8> = origin.bytes().collect();
    expect(c, &["r2", "n2"], json!(["bin", {"$bin": bytes}]), &marker).await;
}

/// Acks, fetched sockets and emits to fetched sockets, from `origin`.
async fn check_acks_and_fetch(c: &mut Clients, origin: &str, ids: &Ids) {
    let marker = json!(["marker", origin]);
    // Broadcast with acks, answered by clients of both nodes.
    let all = c
        .call(origin, "broadcastAck", json!({"rooms": [], "event": "ask"}))
        .await;
    assert_eq!(all, json!(["n1", "n2", "r1", "r2"]), "acks from all");
    let in_a = c
        .call(
            origin,
            "broadcastAck",
            json!({"rooms": ["a"], "event": "ask"}),
        )
        .await;
    assert_eq!(in_a, json!(["n1", "r1"]), "acks from room a");

    // Fetch sockets across nodes, with their rooms.
    let got = c.call(origin, "fetch", json!({"rooms": ["a"]})).await;
    assert_eq!(
        fetched_ids(&got),
        BTreeSet::from([ids["r1"].clone(), ids["n1"].clone()])
    );
    for s in got.as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        let mut want = vec!["a", id];
        want.sort_unstable();
        assert_eq!(s["rooms"], json!(want), "rooms of {id}");
    }
    let got = c.call(origin, "fetch", json!({"rooms": []})).await;
    assert_eq!(
        fetched_ids(&got),
        ids.values().cloned().collect::<BTreeSet<_>>()
    );

    // Fetched sockets used directly: emit to each socket of room b.
    let n = c
        .call(
            origin,
            "emitTo",
            json!({"rooms": ["b"], "event": "direct", "data": origin}),
        )
        .await;
    assert_eq!(n, json!(2));
    bcast(c, origin, json!([]), json!([]), "marker").await;
    expect(c, &["r2", "n2"], json!(["direct", origin]), &marker).await;
}

/// Remote join then leave, from `origin`, of `far2`, a socket of the other node.
async fn check_remote_join_leave(c: &mut Clients, origin: &str, far2: &str, ids: &Ids) {
    let marker = json!(["marker", origin]);
    // Remote join of a socket of the other node (through the broadcast operator),
    // then a room broadcast reaches it.
    let room = format!("j-{origin}");
    let arg = json!({"rooms": [ids[far2]], "room": room});
    assert_eq!(c.call(origin, "remoteJoin", arg).await, json!("ok"));
    let id = ids[far2].clone();
    wait_fetch(c, origin, &room, |s| s.contains(&id)).await;
    assert_eq!(c.call(far2, "sync", json!(null)).await, json!("ok"));
    bcast(c, origin, json!([room]), json!([]), "in-j").await;
    bcast(c, origin, json!([]), json!([]), "marker").await;
    expect(c, &[far2], json!(["in-j", origin]), &marker).await;

    // Remote leave (through the fetched socket): the room broadcast no longer reaches it.
    let arg = json!({"rooms": [ids[far2]], "room": room, "via": "fetch"});
    assert_eq!(c.call(origin, "remoteLeave", arg).await, json!("ok"));
    wait_fetch(c, origin, &room, |s| !s.contains(&id)).await;
    assert_eq!(c.call(far2, "sync", json!(null)).await, json!("ok"));
    bcast(c, origin, json!([room]), json!([]), "in-j").await;
    bcast(c, origin, json!([]), json!([]), "marker").await;
    expect(c, &[], json!(null), &marker).await;
}

/// Remote disconnect, both ways, through the operator and through fetched sockets; the
/// sockets left are `r1` and `n1`.
async fn check_remote_disconnect(c: &mut Clients, ids: &Ids) {
    for (origin, victim, via) in [
        ("r1", "n2", "operator"),
        ("n1", "r2", "fetch"),
        ("r1", "n3", "fetch"),
        ("n1", "r3", "operator"),
    ] {
        let arg = json!({"rooms": [ids[victim]], "via": via});
        assert_eq!(c.call(origin, "remoteDisconnect", arg).await, json!("ok"));
        match c.next(victim).await {
            Ev::Disconnect(reason) => assert_eq!(reason, "io server disconnect"),
            other => panic!("{victim}: expected a disconnect, got {other:?}"),
        }
    }
    let got = c.call("r1", "fetch", json!({"rooms": []})).await;
    assert_eq!(
        fetched_ids(&got),
        BTreeSet::from([ids["r1"].clone(), ids["n1"].clone()])
    );
    let got = c.call("n1", "fetch", json!({"rooms": []})).await;
    assert_eq!(
        fetched_ids(&got),
        BTreeSet::from([ids["r1"].clone(), ids["n1"].clone()])
    );
}

/// `rust_url` may ask for RESP3 (`?protocol=resp3`); the Node clients speak RESP3 by
/// default (node-redis 6, ioredis 6). `specific`: classic responses on the requester's own
/// channel (`publishOnSpecificResponseChannel`) on both nodes.
async fn scenario(url: &str, rust_url: &str, mode: Mode, client: NodeClient, specific: bool) {
    eprintln!("--- {mode:?} with {client:?}, Rust node on {rust_url}, specific {specific}");
    let prefix = format!("i{:016x}", rand::random::<u64>());
    let config = Config::default()
        .with_mode(mode)
        .with_prefix(prefix.clone())
        .with_specific_response_channel(specific);
    let rust = RustServer::start(rust_url, config).await;
    let extra: &[&str] = if specific { &["--specific"] } else { &[] };
    let node = NodeServer::start_with(url, mode, client, &prefix, extra).await;
    let mut c = Clients::start().await;
    let mut ids = BTreeMap::new();
    for name in NAMES {
        let port = if name.starts_with('r') {
            rust.port
        } else {
            node.port
        };
        ids.insert(name, c.connect(name, port).await);
    }
    assert_eq!(c.call("r1", "join", json!("a")).await, json!("ok"));
    assert_eq!(c.call("n1", "join", json!("a")).await, json!("ok"));
    assert_eq!(c.call("r2", "join", json!("b")).await, json!("ok"));
    assert_eq!(c.call("n2", "join", json!("b")).await, json!("ok"));
    assert_eq!(c.call("r1", "serverCount", json!(null)).await, json!(2));
    assert_eq!(c.call("n1", "serverCount", json!(null)).await, json!(2));

    // Server-side events with ack, both ways (answered on the requester's own response
    // channel when `specific`); tests/server_side_emit.rs has the rest.
    for (origin, other) in [("r1", node.port), ("n1", rust.port)] {
        let got = c
            .call(
                origin,
                "serverSideEmitWithAck",
                json!({"event": "node-info"}),
            )
            .await;
        assert_eq!(got, json!([{"node": other}]), "node-info from {origin}");
    }

    // Node's allRooms waits for the Rust node's answer (classic ALL_ROOMS).
    if mode == Mode::Classic {
        for origin in ["r1", "n1"] {
            let got = c.call(origin, "allRooms", json!(null)).await;
            let rooms = got.as_array().unwrap_or_else(|| panic!("allRooms: {got}"));
            assert!(
                rooms.contains(&json!("a")) && rooms.contains(&json!("b")),
                "{got}"
            );
        }
    }

    for (origin, far2) in [("r1", "n2"), ("n1", "r2")] {
        eprintln!("origin {origin}");
        check_broadcasts(&mut c, origin, &ids).await;
        check_acks_and_fetch(&mut c, origin, &ids).await;
        check_remote_join_leave(&mut c, origin, far2, &ids).await;
    }
    ids.insert("r3", c.connect("r3", rust.port).await);
    ids.insert("n3", c.connect("n3", node.port).await);
    check_remote_disconnect(&mut c, &ids).await;
    drop(c);
    node.kill().await;
}

/// The Rust node speaks RESP2 beside node-redis and RESP3 beside ioredis; classic
/// responses go to the common channel with node-redis, to the requester's with ioredis.
const RUNS: [(NodeClient, &str, bool); 2] = [
    (NodeClient::NodeRedis, "", false),
    (NodeClient::Ioredis, "?protocol=resp3", true),
];

async fn on_respub(mode: Mode) {
    for (client, query, specific) in RUNS {
        let broker = Broker::start().await;
        let url = broker.url();
        whole(scenario(
            &url,
            &format!("{url}{query}"),
            mode,
            client,
            specific,
        ))
        .await;
        broker.stop().await;
    }
}

async fn on_redis(mode: Mode) {
    let redis = RedisServer::start().await;
    let url = redis.url();
    for (client, query, specific) in RUNS {
        whole(scenario(
            &url,
            &format!("{url}{query}"),
            mode,
            client,
            specific,
        ))
        .await;
    }
    redis.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respub_classic() {
    on_respub(Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respub_sharded_static() {
    on_respub(Mode::Sharded(SubscriptionMode::Static)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respub_sharded_dynamic() {
    on_respub(Mode::Sharded(SubscriptionMode::Dynamic)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respub_sharded_dynamic_private() {
    on_respub(Mode::Sharded(SubscriptionMode::DynamicPrivate)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_classic() {
    on_redis(Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sharded_static() {
    on_redis(Mode::Sharded(SubscriptionMode::Static)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sharded_dynamic() {
    on_redis(Mode::Sharded(SubscriptionMode::Dynamic)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sharded_dynamic_private() {
    on_redis(Mode::Sharded(SubscriptionMode::DynamicPrivate)).await;
}
