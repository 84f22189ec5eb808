//! Failures: the broker (respub in process, or redis-server) restarted on the same port in
//! the middle of traffic, with Rust and Node nodes that are not restarted; and a node that
//! dies in the middle of a fetch-sockets request; and the broker lost while a request waits.
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

use std::{collections::BTreeSet, net::SocketAddr, time::Duration};

use fixture::{Broker, within};
use interop::{Clients, Ev, NodeClient, NodeServer, RedisServer, RustServer};
use respub_socketio::{Config, Mode, SubscriptionMode};
use serde_json::{Value as Json, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n{a}\r\n", a.len()).into_bytes());
    }
    out
}

/// One command on a fresh connection; the last integer of the reply (NUMPAT, NUMSUB...).
/// `None` while the server is unreachable.
async fn count(addr: SocketAddr, args: &[&str]) -> Option<i64> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.write_all(&resp(args)).await.ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        // A reply is complete once it ends with an integer line.
        if text.ends_with("\r\n")
            && let Some(last) = text.trim_end().rsplit("\r\n").next()
            && let Some(n) = last.strip_prefix(':')
        {
            return n.parse().ok();
        }
    }
}

/// Waits until `args` counts `want` on the server at `addr`.
async fn wait_count(addr: SocketAddr, args: &[&str], want: i64) {
    within(&format!("{args:?} to reach {want}"), async {
        while count(addr, args).await != Some(want) {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

/// The server behind `url` for the restart test.
enum Server {
    Respub(Broker),
    Redis(RedisServer),
}

impl Server {
    async fn start(respub: bool) -> Self {
        if respub {
            Self::Respub(Broker::start().await)
        } else {
            Self::Redis(RedisServer::start().await)
        }
    }
    fn addr(&self) -> SocketAddr {
        match self {
            Self::Respub(b) => b.addr,
            Self::Redis(r) => SocketAddr::from(([127, 0, 0, 1], r.port)),
        }
    }
    fn url(&self) -> String {
        format!("redis://{}", self.addr())
    }
    /// Stops the server and starts a new one on the same port.
    async fn restart(self) -> Self {
        match self {
            Self::Respub(b) => {
                let addr = b.addr;
                b.stop().await;
                Self::Respub(Broker::start_on(&addr.to_string()).await)
            }
            Self::Redis(r) => {
                let port = r.port;
                r.stop().await;
                Self::Redis(RedisServer::start_on(port).await)
            }
        }
    }
    async fn stop(self) {
        match self {
            Self::Respub(b) => b.stop().await,
            Self::Redis(r) => r.stop().await,
        }
    }
}

/// The next event of `name` called `event` (others, such as ticks sent around the
/// restart, which may or may not arrive, are skipped).
async fn event_named(c: &mut Clients, name: &str, event: &str) -> Json {
    loop {
        match c.next(name).await {
            Ev::Event(e, v) if e == event => return v,
            Ev::Event(..) => {}
            Ev::Disconnect(r) => panic!("{name} disconnected: {r}"),
        }
    }
}

const NAMES: [&str; 4] = ["r1", "r2", "n1", "n2"];

async fn restart_scenario(respub: bool, mode: Mode) {
    eprintln!("--- respub={respub} {mode:?}");
    let server = Server::start(respub).await;
    let url = server.url();
    let prefix = format!("r{:016x}", rand::random::<u64>());
    let config = Config::default()
        .with_mode(mode)
        .with_prefix(prefix.clone());
    let r1 = RustServer::start(&url, config.clone()).await;
    let r2 = RustServer::start(&url, config).await;
    let n1 = NodeServer::start(&url, mode, NodeClient::NodeRedis, &prefix).await;
    let n2 = NodeServer::start(&url, mode, NodeClient::Ioredis, &prefix).await;
    let mut c = Clients::start().await;
    let ports = [r1.port, r2.port, n1.port, n2.port];
    for (name, port) in NAMES.iter().zip(ports) {
        c.connect(name, port).await;
        assert_eq!(c.call(name, "join", json!("room")).await, json!("ok"));
    }

    // Traffic from every node while the server goes away and comes back.
    let tick = async |c: &mut Clients, k: u64| {
        r1.io.to("room").emit("tick", &k).await.ok();
        r2.io.emit("tick", &k).await.ok();
        for origin in ["n1", "n2"] {
            let arg = json!({"rooms": ["room"], "event": "tick", "data": k});
            assert_eq!(c.call(origin, "broadcast", arg).await, json!("ok"));
        }
    };
    tick(&mut c, 0).await;
    for name in NAMES {
        for _ in 0..4 {
            assert_eq!(event_named(&mut c, name, "tick").await[0], "tick");
        }
    }
    tick(&mut c, 1).await;
    // Ticks race the restart; any of them may be lost, none may break a node.
    let mut k = 2;
    let (server, ()) = tokio::join!(server.restart(), async {
        for _ in 0..3 {
            tick(&mut c, k).await;
            k += 1;
        }
    });
    tick(&mut c, k).await;

    // Every node resubscribed on its own: 4 nodes on the request (or common) channel and
    // on the pattern (or room channel).
    let addr = server.addr();
    match mode {
        Mode::Classic => {
            wait_count(
                addr,
                &["PUBSUB", "NUMSUB", &format!("{prefix}-request#/#")],
                4,
            )
            .await;
            // NUMPAT counts distinct patterns; PUBLISH counts receivers. Nodes drop a
            // message for a room they do not have before decoding it.
            let probe = format!("{prefix}#/#no-such-room#");
            wait_count(addr, &["PUBLISH", &probe, "probe"], 4).await;
        }
        Mode::Sharded(sub) => {
            wait_count(addr, &["PUBSUB", "SHARDNUMSUB", &format!("{prefix}#/#")], 4).await;
            if sub != SubscriptionMode::Static {
                let room = format!("{prefix}#/#room#");
                wait_count(addr, &["PUBSUB", "SHARDNUMSUB", &room], 4).await;
            }
        }
    }
    // Every node counts the others again (its publisher is back too), then broadcasts,
    // room broadcasts and fetches flow from every node to every node.
    for name in NAMES {
        within("server count", async {
            while c.call(name, "serverCount", json!(null)).await != json!(4) {
                tokio::task::yield_now().await;
            }
        })
        .await;
    }
    for origin in NAMES {
        let event = format!("after-{origin}");
        let arg = json!({"rooms": ["room"], "event": event, "data": origin});
        assert_eq!(c.call(origin, "broadcast", arg).await, json!("ok"));
        for name in NAMES {
            assert_eq!(
                event_named(&mut c, name, &event).await,
                json!([event, origin]),
                "{name} after the restart"
            );
        }
        let got = c.call(origin, "fetch", json!({"rooms": ["room"]})).await;
        assert_eq!(
            got.as_array().map(Vec::len),
            Some(4),
            "fetch from {origin}: {got}"
        );
    }
    drop(c);
    n1.kill().await;
    n2.kill().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respub_restart_mid_traffic_classic() {
    restart_scenario(true, Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respub_restart_mid_traffic_sharded_dynamic() {
    restart_scenario(true, Mode::Sharded(SubscriptionMode::Dynamic)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_mid_traffic_classic() {
    restart_scenario(false, Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_mid_traffic_sharded_dynamic() {
    restart_scenario(false, Mode::Sharded(SubscriptionMode::Dynamic)).await;
}

/// A node that dies after it got a fetch request and before it answered: the requester
/// finishes with the answers of the living nodes, long before its request timeout.
async fn dying_node_scenario(mode: Mode) {
    eprintln!("--- {mode:?}");
    let broker = Broker::start().await;
    let url = broker.url();
    let prefix = format!("d{:016x}", rand::random::<u64>());
    // The request timeout is far beyond the failure guard: waiting for it fails the test.
    let config = Config::default()
        .with_mode(mode)
        .with_prefix(prefix.clone())
        .with_request_timeout(Duration::from_secs(600));
    let r1 = RustServer::start(&url, config).await;
    let n1 = NodeServer::start(&url, mode, NodeClient::NodeRedis, &prefix).await;
    let mut c = Clients::start().await;
    let a = c.connect("a", r1.port).await;
    let b = c.connect("b", n1.port).await;

    // The dying node: subscribed where requests arrive, never answering.
    let (cmd, channel) = match mode {
        Mode::Classic => ("SUBSCRIBE", format!("{prefix}-request#/#")),
        Mode::Sharded(_) => ("SSUBSCRIBE", format!("{prefix}#/#")),
    };
    let mut dying = TcpStream::connect(broker.addr).await.unwrap();
    dying.write_all(&resp(&[cmd, &channel])).await.unwrap();
    let count_cmd = match mode {
        Mode::Classic => "NUMSUB",
        Mode::Sharded(_) => "SHARDNUMSUB",
    };
    wait_count(broker.addr, &["PUBSUB", count_cmd, &channel], 3).await;
    assert_eq!(r1.cluster.server_count("/").await.unwrap(), 3);

    let cluster = r1.cluster.clone();
    let fetch = tokio::spawn(async move { cluster.fetch_sockets("/", vec![], vec![]).await });
    // Wait until the request reached the dying node, then close its connection.
    within("the fetch request at the dying node", async {
        let mut seen = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = dying.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the broker closed the dying node's connection");
            seen.extend_from_slice(&chunk[..n]);
            if String::from_utf8_lossy(&seen).contains("requestId") {
                return;
            }
        }
    })
    .await;
    drop(dying);

    let got = within("fetch_sockets after a node died", fetch)
        .await
        .unwrap()
        .unwrap();
    let ids: BTreeSet<String> = got.into_iter().map(|s| s.id).collect();
    assert_eq!(ids, BTreeSet::from([a, b]));
    drop(c);
    n1.kill().await;
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_dying_mid_fetch_classic() {
    dying_node_scenario(Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_dying_mid_fetch_sharded() {
    dying_node_scenario(Mode::Sharded(SubscriptionMode::Static)).await;
}

/// The broker goes away while a request waits for an answer that will never
/// come: the request fails at once with `ConnectionLost`, naming how many
/// answers it had, instead of hanging until its (here 600 s) timeout.
async fn broker_lost_mid_fetch(mode: Mode) {
    let broker = Broker::start().await;
    let url = broker.url();
    let prefix = format!("l{:016x}", rand::random::<u64>());
    let config = Config::default()
        .with_mode(mode)
        .with_prefix(prefix.clone())
        .with_request_timeout(Duration::from_secs(600));
    let r1 = RustServer::start(&url, config).await;

    // A peer that is counted but never answers keeps the request pending.
    let (cmd, channel, count_cmd) = match mode {
        Mode::Classic => ("SUBSCRIBE", format!("{prefix}-request#/#"), "NUMSUB"),
        Mode::Sharded(_) => ("SSUBSCRIBE", format!("{prefix}#/#"), "SHARDNUMSUB"),
    };
    let mut silent = TcpStream::connect(broker.addr).await.unwrap();
    silent.write_all(&resp(&[cmd, &channel])).await.unwrap();
    wait_count(broker.addr, &["PUBSUB", count_cmd, &channel], 2).await;

    let cluster = r1.cluster.clone();
    let fetch = tokio::spawn(async move { cluster.fetch_sockets("/", vec![], vec![]).await });
    within("the fetch request at the silent peer", async {
        let mut seen = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = silent.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "the broker closed the silent peer's connection early"
            );
            seen.extend_from_slice(&chunk[..n]);
            if String::from_utf8_lossy(&seen).contains("requestId") {
                return;
            }
        }
    })
    .await;

    broker.stop().await;
    let result = within("fetch_sockets after the broker went away", fetch)
        .await
        .unwrap();
    match result {
        Err(respub_socketio::Error::ConnectionLost { .. }) => {}
        other => panic!("expected ConnectionLost, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_lost_mid_fetch_classic() {
    broker_lost_mid_fetch(Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_lost_mid_fetch_sharded() {
    broker_lost_mid_fetch(Mode::Sharded(SubscriptionMode::Static)).await;
}

/// An event emitted while the broker is down is not silently lost: the
/// emit returns an error, the failure is counted (and logged), and once the
/// broker is back events flow again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_during_an_outage_are_reported() {
    let broker = Broker::start().await;
    let addr = broker.addr;
    let prefix = format!("o{:016x}", rand::random::<u64>());
    let config = Config::default().with_prefix(prefix.clone());
    let r1 = RustServer::start(&broker.url(), config).await;
    r1.io.emit("before", &"ok").await.unwrap();
    let failed_before = r1.cluster.stats().publish_failed;

    broker.stop().await;
    let outcome = r1.io.emit("during", &"lost").await;
    assert!(
        outcome.is_err(),
        "an emit during the outage must fail, not vanish"
    );
    assert_eq!(r1.cluster.stats().publish_failed, failed_before + 1);

    let broker = Broker::start_on(&addr.to_string()).await;
    // Back: the node resubscribes by itself, and an emit is published again.
    wait_count(
        broker.addr,
        &["PUBSUB", "NUMSUB", &format!("{prefix}-request#/#")],
        1,
    )
    .await;
    within("an emit after the broker is back", async {
        loop {
            if r1.io.emit("after", &"ok").await.is_ok() {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    // Every failed attempt was counted; once back, emits are not.
    let failed_after = r1.cluster.stats().publish_failed;
    assert!(failed_after > failed_before);
    r1.io.emit("after", &"again").await.unwrap();
    assert_eq!(r1.cluster.stats().publish_failed, failed_after);
    broker.stop().await;
}
