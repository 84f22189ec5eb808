//! Server-side events (`serverSideEmit`, `serverSideEmitWithAck`) in a cluster of two Rust
//! servers and two Node `socket.io` 4.8 servers (node-redis and ioredis) on one respub
//! broker, classic and sharded: every server sends to the three others, so each
//! direction is covered (Rust to Rust, Rust to Node, Node to Rust, and Node to Node as
//! the control).
//!
//! Every request timeout is 60 s (Node's sharded adapter has a fixed 5 s) and every wait
//! has the 20 s failure guard: a server that stays silent fails the test, it does not
//! slow it down.
//!
//! Needs `npm ci --prefix adapter/tests/node`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod fixture;
mod interop;

use std::{collections::BTreeMap, time::Duration};

use fixture::{
    Broker,
    raw::{self, silent_peer, wait_request},
    within,
};
use interop::{NodeClient, NodeServer, clients::Clients, rust_server::RustServer, whole};
use respub_socketio::{Config, Mode, SubscriptionMode};
use serde_json::{Value as Json, json};

const NAMES: [&str; 4] = ["r1", "r2", "n1", "n2"];
const LONG: Duration = Duration::from_secs(60);
/// The timeout of requests that are meant to time out.
const SHORT: Duration = Duration::from_millis(300);

/// The four servers, a client on each (named after its server) and the servers' ports.
struct World {
    broker: Broker,
    prefix: String,
    rust: Vec<RustServer>,
    node: Vec<NodeServer>,
    c: Clients,
    ports: BTreeMap<&'static str, u16>,
}

async fn world(mode: Mode) -> World {
    let broker = Broker::start().await;
    let url = broker.url();
    let prefix = format!("s{:016x}", rand::random::<u64>());
    let config = Config::default()
        .with_mode(mode)
        .with_prefix(prefix.clone())
        .with_request_timeout(LONG);
    let rust = vec![
        RustServer::start(&url, config.clone()).await,
        RustServer::start(&url, config).await,
    ];
    let extra = ["--timeout", "60000"];
    let node = vec![
        NodeServer::start_with(&url, mode, NodeClient::NodeRedis, &prefix, &extra).await,
        NodeServer::start_with(&url, mode, NodeClient::Ioredis, &prefix, &extra).await,
    ];
    let ports: BTreeMap<&str, u16> = NAMES
        .into_iter()
        .zip([rust[0].port, rust[1].port, node[0].port, node[1].port])
        .collect();
    let mut c = Clients::start().await;
    for (name, port) in &ports {
        c.connect(name, *port).await;
    }
    for name in NAMES {
        assert_eq!(c.call(name, "serverCount", json!(null)).await, json!(4));
    }
    World {
        broker,
        prefix,
        rust,
        node,
        c,
        ports,
    }
}

fn sorted_by_json(mut v: Vec<Json>) -> Json {
    v.sort_by_key(Json::to_string);
    Json::Array(v)
}

fn kind(name: &str) -> &'static str {
    if name.starts_with('r') {
        "rust"
    } else {
        "node"
    }
}

/// The next event of `name` is the `serverSide` report of an `echo` with `args`.
async fn expect_echo(c: &mut Clients, name: &str, args: &Json, ack: bool) {
    let got = c.event(name).await;
    let want = json!(["serverSide", {"event": "echo", "args": args, "ack": ack}]);
    assert_eq!(got, want, "{name}");
}

/// `origin` sends `node-info` and `echo` with and without ack; each of the three others
/// answers once and handles each event once. `origin`'s own handlers are not called:
/// the next origin's events are the first thing its client sees.
async fn from(w: &mut World, origin: &str) {
    let others: Vec<&str> = NAMES.into_iter().filter(|n| *n != origin).collect();
    let got =
        w.c.call(
            origin,
            "serverSideEmitWithAck",
            json!({"event": "node-info"}),
        )
        .await;
    let want = others.iter().map(|n| json!({"node": w.ports[n]})).collect();
    assert_eq!(got, sorted_by_json(want), "node-info from {origin}");

    let args = json!([origin, 2, {"three": [3]}, null]);
    let call = json!({"event": "echo", "args": args});
    let got = w.c.call(origin, "serverSideEmitWithAck", call).await;
    let want = others
        .iter()
        .map(|n| json!({"node": kind(n), "port": w.ports[n], "args": args}))
        .collect();
    assert_eq!(got, sorted_by_json(want), "echo with ack from {origin}");
    for n in &others {
        expect_echo(&mut w.c, n, &args, true).await;
    }

    let args = json!([origin, "no ack"]);
    let call = json!({"event": "echo", "args": args});
    assert_eq!(w.c.call(origin, "serverSideEmit", call).await, json!("ok"));
    for n in &others {
        expect_echo(&mut w.c, n, &args, false).await;
    }
}

/// A Node `Buffer` argument reaches Rust handlers as `{"type":"Buffer","data":[...]}` in
/// both modes (JSON in classic, MessagePack in sharded).
async fn node_buffer(w: &mut World) {
    let call = json!({"event": "echo", "args": ["bin"], "binary": "hi"});
    assert_eq!(w.c.call("n1", "serverSideEmit", call).await, json!("ok"));
    let args = json!(["bin", {"type": "Buffer", "data": [104, 105]}]);
    for n in ["r1", "r2"] {
        expect_echo(&mut w.c, n, &args, false).await;
    }
    // n2 got it too, in whatever form its adapter gives a Buffer; skip it.
    w.c.event("n2").await;
}

/// A plain connection publishes a server-side event as the emitter does
/// (`{"uid":"emitter","type":6,"data":[...]}`, no requestId); sharded, the same event in
/// the cluster adapter's envelope. Every server handles it.
async fn raw_emit(w: &mut World, mode: Mode) {
    let (cmd, channel, payload) = match mode {
        Mode::Classic => (
            "PUBLISH",
            format!("{}-request#/#", w.prefix),
            json!({"uid": "emitter", "type": 6, "data": ["echo", 1]}),
        ),
        Mode::Sharded(_) => (
            "SPUBLISH",
            format!("{}#/#", w.prefix),
            json!({"type": 9, "data": {"packet": ["echo", 1]}, "uid": "emitter", "nsp": "/"}),
        ),
    };
    let receivers = raw::count(w.broker.addr, &[cmd, &channel, &payload.to_string()]).await;
    assert_eq!(receivers, Some(4));
    for n in NAMES {
        expect_echo(&mut w.c, n, &json!([1]), false).await;
    }
}

/// A peer counted but never answering dies once the request reached it: the Rust
/// requester takes the count again and finishes with the three answers, long before its
/// 60 s timeout.
async fn dying_peer(w: &mut World, mode: Mode) {
    let mut dying = silent_peer(w.broker.addr, &w.prefix, mode, 5).await;
    let cluster = w.rust[0].cluster.clone();
    let ask = tokio::spawn(async move {
        cluster
            .server_side_emit_with_ack("/", "node-info", vec![], LONG)
            .await
    });
    wait_request(
        &mut dying,
        "the request at the dying peer",
        "the broker closed the dying peer's connection",
    )
    .await;
    drop(dying);
    let got = within("serverSideEmitWithAck after a peer died", ask)
        .await
        .unwrap()
        .unwrap();
    let want = ["r2", "n1", "n2"]
        .iter()
        .map(|n| json!({"node": w.ports[n]}))
        .collect();
    assert_eq!(sorted_by_json(got), sorted_by_json(want));
}

async fn scenario(mode: Mode) {
    eprintln!("--- {mode:?}");
    let mut w = world(mode).await;
    for origin in NAMES {
        from(&mut w, origin).await;
    }
    // The last origin's client saw nothing of its own events: the first one's come first.
    from(&mut w, "r1").await;
    node_buffer(&mut w).await;
    raw_emit(&mut w, mode).await;
    dying_peer(&mut w, mode).await;
    let stats = w.rust[0].cluster.stats();
    assert_eq!(stats.server_side_events_unhandled, 0);
    assert!(stats.server_side_events >= 10, "{stats:?}");
    drop(w.c);
    for n in w.node {
        n.kill().await;
    }
    drop(w.rust);
    w.broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_emit_classic() {
    whole(scenario(Mode::Classic)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_emit_sharded_static() {
    whole(scenario(Mode::Sharded(SubscriptionMode::Static))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_emit_sharded_dynamic() {
    whole(scenario(Mode::Sharded(SubscriptionMode::Dynamic))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_emit_sharded_dynamic_private() {
    whole(scenario(Mode::Sharded(SubscriptionMode::DynamicPrivate))).await;
}

/// Between Rust servers: alone, nothing is asked; an event with no handler is not
/// answered (as on a Node server with no listener), so the sender times out naming the
/// count; reserved names and unknown namespaces are refused; a panicking handler does not
/// stop the server from handling the next event; handlers are replaced and removed; a
/// timeout keeps the answers that came.
async fn rust_only(mode: Mode) {
    eprintln!("--- {mode:?}");
    let broker = Broker::start().await;
    let prefix = format!("o{:016x}", rand::random::<u64>());
    let config = Config::default().with_mode(mode).with_prefix(prefix);
    let a = fixture::node(&broker.url(), config.clone()).await;
    let alone = a
        .cluster
        .server_side_emit_with_ack("/", "ping", vec![], LONG);
    assert_eq!(within("alone", alone).await.unwrap(), Vec::<Json>::new());
    let b = fixture::node(&broker.url(), config.clone()).await;
    fixture::poll("two servers", async || {
        (a.cluster.server_count("/").await.ok() == Some(2)).then_some(())
    })
    .await;

    let err = a
        .cluster
        .server_side_emit_with_ack("/", "nobody", vec![], SHORT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.error,
            respub_socketio::Error::Timeout {
                answered: 0,
                expected: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.answers.is_empty());
    assert_eq!(
        err.to_string(),
        "timeout reached while waiting for serverSideEmit: only 0 responses received out of 1"
    );
    fixture::poll("the unhandled event counted", async || {
        (b.cluster.stats().server_side_events_unhandled == 1).then_some(())
    })
    .await;

    refusals(&a).await;
    handlers(&broker, config, &a, &b).await;
    broker.stop().await;
}

/// Reserved names and unknown namespaces.
async fn refusals(a: &fixture::Node) {
    let reserved = a.cluster.server_side_emit("/", "connection", vec![]).await;
    assert!(
        matches!(reserved, Err(respub_socketio::Error::ReservedEvent(ref e)) if e == "connection"),
        "{reserved:?}"
    );
    let closed = a.cluster.server_side_emit("/nowhere", "ping", vec![]).await;
    assert!(
        matches!(closed, Err(respub_socketio::Error::Closed)),
        "{closed:?}"
    );
}

/// A panicking handler, a replaced one, a timeout with one answer of two, a removal.
async fn handlers(broker: &Broker, config: Config, a: &fixture::Node, b: &fixture::Node) {
    b.cluster
        .on_server_side("/", "boom", |_| -> std::future::Ready<()> {
            panic!("a handler panics")
        });
    b.cluster.on_server_side("/", "ping", |ev| async move {
        ev.ack.unwrap().send(json!(["pong", ev.args]));
    });
    a.cluster
        .server_side_emit("/", "boom", vec![])
        .await
        .unwrap();
    let got = a
        .cluster
        .server_side_emit_with_ack("/", "ping", vec![json!(1)], LONG);
    assert_eq!(
        within("ping", got).await.unwrap(),
        vec![json!(["pong", [1]])]
    );

    b.cluster.on_server_side("/", "ping", |ev| async move {
        ev.ack.unwrap().send(json!("again"));
    });
    let got = a
        .cluster
        .server_side_emit_with_ack("/", "ping", vec![], LONG);
    assert_eq!(within("ping", got).await.unwrap(), vec![json!("again")]);

    // A third server without the handler: the timeout keeps the answer that came.
    let c = fixture::node(&broker.url(), config).await;
    fixture::poll("three servers", async || {
        (a.cluster.server_count("/").await.ok() == Some(3)).then_some(())
    })
    .await;
    let err = a
        .cluster
        .server_side_emit_with_ack("/", "ping", vec![], SHORT)
        .await
        .unwrap_err();
    assert_eq!(err.answers, vec![json!("again")]);
    assert_eq!(
        err.to_string(),
        "timeout reached while waiting for serverSideEmit: only 1 responses received out of 2"
    );
    drop(c);

    assert!(b.cluster.off_server_side("/", "ping"));
    assert!(!b.cluster.off_server_side("/", "ping"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_only_classic() {
    rust_only(Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_only_sharded() {
    rust_only(Mode::Sharded(SubscriptionMode::Static)).await;
}
