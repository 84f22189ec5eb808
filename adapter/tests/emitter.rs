//! respub's [`Emitter`] against Node's `@socket.io/redis-emitter` 5.1.0: the same bytes on
//! the wire for every operation, and the same effect on a classic cluster of two
//! socketioxide nodes and two Node `socket.io` 4.8 nodes (`@socket.io/redis-adapter`),
//! whose socket.io-client clients see the events (binary as binary), the room changes and
//! the disconnections. Node's emitter drives the Rust nodes through the same steps.
//!
//! Needs `npm ci --prefix adapter/tests/node`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod emitter_harness;
mod fixture;
mod interop;

use std::collections::BTreeMap;

use bytes::Bytes;
use emitter_harness::{Via, any_kind_of_data, any_kind_of_data_received, emit};
use fixture::{Broker, raw, within};
use interop::{
    NodeClient, NodeServer, RedisServer,
    clients::{Clients, Ev},
    rust_server::RustServer,
};
use respub_socketio::{
    Config, Emitter, EmitterError, FredDriver, Mode, SubscriptionMode,
    driver::{Driver, DriverEvent, Subscription},
};
use serde_json::{Value as Json, json};
use tokio::sync::mpsc;

fn prefix() -> String {
    format!("e{:016x}", rand::random::<u64>())
}

/// The operations of the byte-level comparison, each publishing one message.
fn wire_ops() -> Vec<Json> {
    vec![
        emit("hello", json!(["world"])),
        emit("none", json!([])),
        emit("any", any_kind_of_data()),
        json!({"op": "emit", "event": "one", "to": ["r1"], "args": [1]}),
        json!({"op": "emit", "event": "two", "to": ["r1", "r2", "r1"], "in": ["r3"],
               "except": ["x", "y"], "args": [{"a": [0.1, -1]}]}),
        json!({"op": "emit", "event": "v", "volatile": true, "compress": false, "args": []}),
        json!({"op": "emit", "event": "c", "compress": true, "to": ["r"], "args": []}),
        json!({"op": "emit", "event": "ns", "nsp": "admin", "args": ["x"]}),
        json!({"op": "emit", "event": "ns2", "nsp": "/admin", "to": ["r"], "args": []}),
        json!({"op": "socketsJoin", "rooms": ["j"]}),
        json!({"op": "socketsJoin", "to": ["a"], "except": ["b"], "rooms": ["j", "k"]}),
        json!({"op": "socketsLeave", "in": ["a"], "rooms": ["j"]}),
        json!({"op": "disconnectSockets", "close": false}),
        json!({"op": "disconnectSockets", "to": ["a", "b"], "close": true}),
        json!({"op": "serverSideEmit", "event": "relay",
               "args": [1, "two", {"b": {"$bin": [1, 2]}}, [null, true, 2.5]]}),
        json!({"op": "serverSideEmit", "event": "admin", "nsp": "/admin", "args": []}),
    ]
}

/// A raw pattern subscription to everything under `prefix`: each message's channel and
/// exact bytes.
async fn tap(url: &str, prefix: &str) -> (FredDriver, mpsc::Receiver<DriverEvent>) {
    let driver = FredDriver::connect(url).await.unwrap();
    let events = driver.take_events().unwrap();
    driver
        .subscribe(Subscription::Pattern(format!("{prefix}*")))
        .await
        .unwrap();
    (driver, events)
}

async fn next_message(events: &mut mpsc::Receiver<DriverEvent>) -> (String, Bytes) {
    within("a published message", async {
        loop {
            if let Some(DriverEvent::Message { channel, payload }) = events.recv().await {
                return (channel, payload);
            }
        }
    })
    .await
}

/// Runs every op with `via`, then one last marker; returns what the tap saw.
async fn record(via: &mut Via, events: &mut mpsc::Receiver<DriverEvent>) -> Vec<(String, Bytes)> {
    let mut seen = Vec::new();
    for op in wire_ops() {
        via.run(&op).await.unwrap();
        seen.push(next_message(events).await);
    }
    // A reserved name publishes nothing: the next message is the marker.
    let refused = via.run(&emit("disconnect", json!([]))).await;
    assert_eq!(
        refused,
        Err("\"disconnect\" is a reserved event name".to_owned())
    );
    via.run(&emit("marker", json!([]))).await.unwrap();
    seen.push(next_message(events).await);
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_the_same_bytes_as_node_emitter() {
    let broker = Broker::start().await;
    same_bytes(&broker.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_the_same_bytes_as_node_emitter_through_redis_server() {
    let redis = RedisServer::start().await;
    same_bytes(&redis.url()).await;
}

async fn same_bytes(url: &str) {
    let prefix = prefix();
    let (_tap, mut events) = tap(url, &prefix).await;
    let mut rust = Via::rust(url, &prefix).await;
    let mut node = Via::node(url, &prefix).await;
    let ours = record(&mut rust, &mut events).await;
    let theirs = record(&mut node, &mut events).await;
    assert_eq!(ours.len(), theirs.len());
    for ((op, a), b) in wire_ops().iter().zip(&ours).zip(&theirs) {
        assert_eq!(a, b, "{op}: respub and Node published differently");
    }
    // Spot checks of the format itself, so equal-but-wrong cannot pass.
    assert_eq!(ours[0].0, format!("{prefix}#/#"));
    assert_eq!(ours[3].0, format!("{prefix}#/#r1#"));
    assert_eq!(ours[7].0, format!("{prefix}#/admin#"));
    assert_eq!(ours[9].0, format!("{prefix}-request#/#"));
    assert_eq!(
        ours[9].1,
        Bytes::from(r#"{"type":2,"opts":{"rooms":[],"except":[]},"rooms":["j"]}"#)
    );
    assert!(ours[0].1.starts_with(b"\x93\xa7emitter"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_event_names_are_a_typed_error() {
    let broker = Broker::start().await;
    let emitter = Emitter::new(FredDriver::connect(&broker.url()).await.unwrap());
    for name in [
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ] {
        let err = emitter.to("r").emit(name, &()).await.unwrap_err();
        assert!(
            matches!(&err, EmitterError::ReservedEvent(n) if n == name),
            "{err}"
        );
    }
    assert_eq!(emitter.emit("connected", &()).await.unwrap(), 0);
}

/// What the docs say of sharded clusters: PUBLISH reaches no shard-channel subscriber, so
/// a sharded server (here with a client in the room) receives nothing, while a classic
/// server on the same broker and prefix does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_servers_receive_nothing() {
    let broker = Broker::start().await;
    let prefix = prefix();
    let (mut receivers, mut kept) = (Vec::new(), Vec::new());
    for mode in [Mode::Sharded(SubscriptionMode::Dynamic), Mode::Classic] {
        let node = fixture::node(
            &broker.url(),
            Config::default()
                .with_prefix(prefix.clone())
                .with_mode(mode),
        )
        .await;
        let mut client = fixture::Client::connect(&node, "c").await;
        client.join("room").await;
        let emitter =
            Emitter::new(FredDriver::connect(&broker.url()).await.unwrap()).with_prefix(&prefix);
        let to_all = emitter.emit("ev", &()).await.unwrap();
        let to_room = emitter.to("room").emit("ev", &()).await.unwrap();
        let to_socket = emitter.to(client.id.clone()).emit("ev", &()).await.unwrap();
        receivers.push((to_all, to_room, to_socket));
        kept.push((node, client));
    }
    // With both servers up, only the classic one's pattern subscription gets anything.
    assert_eq!(receivers, [(0, 0, 0), (1, 1, 1)]);
}

/// Two Rust and two Node classic nodes, clients `r1`, `r2` (Rust) and `n1`, `n2` (Node);
/// `r1` and `n1` in room `a`, `r2` and `n2` in room `b`.
struct Cluster {
    broker: Broker,
    prefix: String,
    _rust: Vec<RustServer>,
    _node: Vec<NodeServer>,
    clients: Clients,
    ids: BTreeMap<&'static str, String>,
}

const NAMES: [&str; 4] = ["r1", "r2", "n1", "n2"];

async fn cluster() -> Cluster {
    let broker = Broker::start().await;
    let prefix = prefix();
    let config = Config::default().with_prefix(prefix.clone());
    let url = broker.url();
    let rust = vec![
        RustServer::start(&url, config.clone()).await,
        RustServer::start(&url, config).await,
    ];
    let mut node = Vec::new();
    for _ in 0..2 {
        let mode = Mode::Classic;
        node.push(NodeServer::start(&url, mode, NodeClient::NodeRedis, &prefix).await);
    }
    let request = format!("{prefix}-request#/#");
    raw::wait_count(broker.addr, &["PUBSUB", "NUMSUB", &request], 4).await;
    let mut clients = Clients::start().await;
    let ports = [rust[0].port, rust[1].port, node[0].port, node[1].port];
    let mut ids = BTreeMap::new();
    for (name, port) in NAMES.into_iter().zip(ports) {
        ids.insert(name, clients.connect(name, port).await);
        let room = if name.ends_with('1') { "a" } else { "b" };
        assert_eq!(clients.call(name, "join", json!(room)).await, json!("ok"));
    }
    Cluster {
        broker,
        prefix,
        _rust: rust,
        _node: node,
        clients,
        ids,
    }
}

/// What a client must see after a step, before the marker.
enum Want<'a> {
    Event(&'a [&'a str], Json),
    /// The event and the marker in either order: engineioxide queues a volatile packet
    /// apart from the others (a watch its websocket writer takes after its buffered
    /// queue), so a volatile packet may reach the client after the marker sent later.
    EventOrMarker(&'a [&'a str], Json),
    Disconnect(&'a [&'a str]),
}

/// Runs `op` with `via`, then a marker to everyone: each client of `live` named in `want`
/// sees the event (or its disconnection), then every client still connected sees the
/// marker, so the others did not get the event.
async fn step(c: &mut Cluster, via: &mut Via, live: &[&str], op: Json, want: Want<'_>) {
    via.run(&op).await.unwrap();
    let marker = json!(["marker", op.to_string()]);
    via.run(&emit("marker", json!([op.to_string()])))
        .await
        .unwrap();
    for name in live {
        let what = format!("{} after {op}: client {name}", via.name());
        match &want {
            Want::Event(got, event) if got.contains(name) => {
                assert_eq!(&c.clients.event(name).await, event, "{what}");
            }
            Want::EventOrMarker(got, event) if got.contains(name) => {
                let mut seen = [c.clients.event(name).await, c.clients.event(name).await];
                seen.sort_by_key(|e| e != event);
                assert_eq!(seen, [event.clone(), marker.clone()], "{what}");
                continue;
            }
            Want::Disconnect(gone) if gone.contains(name) => {
                assert!(
                    matches!(c.clients.next(name).await, Ev::Disconnect(_)),
                    "{what}"
                );
                continue;
            }
            _ => {}
        }
        assert_eq!(c.clients.event(name).await, marker, "{what}");
    }
}

/// Every operation, through `via`, on a fresh cluster.
async fn check_operations(c: &mut Cluster, via: &mut Via) {
    let all = NAMES;
    let ev = |name: &str, args: Json| {
        let mut v = vec![json!(name)];
        v.extend(args.as_array().unwrap().iter().cloned());
        Json::Array(v)
    };
    let any = any_kind_of_data_received();
    step(
        c,
        via,
        &all,
        emit("all", any_kind_of_data()),
        Want::Event(&all, ev("all", any)),
    )
    .await;
    let op = json!({"op": "emit", "event": "in-a", "to": ["a"], "args": [1]});
    step(
        c,
        via,
        &all,
        op,
        Want::Event(&["r1", "n1"], ev("in-a", json!([1]))),
    )
    .await;
    let op = json!({"op": "emit", "event": "ab", "in": ["a", "b"], "except": ["a"], "args": []});
    step(
        c,
        via,
        &all,
        op,
        Want::Event(&["r2", "n2"], ev("ab", json!([]))),
    )
    .await;
    for target in NAMES {
        let op = json!({"op": "emit", "event": "sid", "to": [c.ids[target]], "args": ["x"]});
        step(
            c,
            via,
            &all,
            op,
            Want::Event(&[target], ev("sid", json!(["x"]))),
        )
        .await;
    }
    // Volatile only to the Rust nodes' clients: a Node server drops a volatile packet
    // while a polling client has no request pending, which a test cannot control.
    let to = [c.ids["r1"].clone(), c.ids["r2"].clone()];
    let op = json!({"op": "emit", "event": "v", "to": to, "volatile": true, "compress": true, "args": []});
    step(
        c,
        via,
        &all,
        op,
        Want::EventOrMarker(&["r1", "r2"], ev("v", json!([]))),
    )
    .await;
    let op = json!({"op": "emit", "event": "nc", "to": ["b"], "compress": false, "args": []});
    step(
        c,
        via,
        &all,
        op,
        Want::Event(&["r2", "n2"], ev("nc", json!([]))),
    )
    .await;
    check_rooms_and_disconnects(c, via).await;
}

async fn check_rooms_and_disconnects(c: &mut Cluster, via: &mut Via) {
    let all = NAMES;
    let in_c = |args: Json| json!({"op": "emit", "event": "in-c", "to": ["c"], "args": args});
    let op = json!({"op": "socketsJoin", "to": ["a"], "rooms": ["c"]});
    step(c, via, &all, op, Want::Event(&[], json!(null))).await;
    step(
        c,
        via,
        &all,
        in_c(json!([1])),
        Want::Event(&["r1", "n1"], json!(["in-c", 1])),
    )
    .await;
    let op = json!({"op": "socketsLeave", "to": ["c"], "except": [c.ids["r1"]], "rooms": ["c"]});
    step(c, via, &all, op, Want::Event(&[], json!(null))).await;
    step(
        c,
        via,
        &all,
        in_c(json!([2])),
        Want::Event(&["r1"], json!(["in-c", 2])),
    )
    .await;
    let op = json!({"op": "socketsJoin", "rooms": ["d", "e"]});
    step(c, via, &all, op, Want::Event(&[], json!(null))).await;
    let op = json!({"op": "emit", "event": "in-e", "to": ["e"], "except": ["a"], "args": []});
    step(
        c,
        via,
        &all,
        op,
        Want::Event(&["r2", "n2"], json!(["in-e"])),
    )
    .await;
    // Every server relays the server-side `relay` to its own clients (node_server.mjs,
    // interop/rust_server.rs).
    let op = json!({"op": "serverSideEmit", "event": "relay", "args": [1, {"k": "v"}]});
    step(
        c,
        via,
        &all,
        op,
        Want::Event(&all, json!(["relayed", 1, {"k": "v"}])),
    )
    .await;
    let op = json!({"op": "disconnectSockets", "to": [c.ids["r1"]], "close": false});
    step(c, via, &all, op, Want::Disconnect(&["r1"])).await;
    let op = json!({"op": "disconnectSockets", "to": ["b"], "close": true});
    step(
        c,
        via,
        &["r2", "n1", "n2"],
        op,
        Want::Disconnect(&["r2", "n2"]),
    )
    .await;
    let op = json!({"op": "disconnectSockets", "close": false});
    step(c, via, &["n1"], op, Want::Disconnect(&["n1"])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respub_emitter_drives_node_and_rust_nodes() {
    let mut c = cluster().await;
    let mut via = Via::rust(&c.broker.url(), &c.prefix).await;
    check_operations(&mut c, &mut via).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_emitter_drives_rust_nodes() {
    let mut c = cluster().await;
    let mut via = Via::node(&c.broker.url(), &c.prefix).await;
    check_operations(&mut c, &mut via).await;
}
