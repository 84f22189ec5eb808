//! The broker (respub in process, or redis-server) restarted on the same port in the
//! middle of traffic, with Rust and Node nodes that are not restarted. Other failures are
//! in `failures.rs`.
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

use std::net::SocketAddr;

use fixture::{Broker, raw::wait_count, within};
use interop::{
    NodeClient, NodeServer, RedisServer,
    clients::{Clients, Ev},
    rust_server::RustServer,
};
use respub_socketio::{Config, Mode, SubscriptionMode};
use serde_json::{Value as Json, json};

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

/// Every node resubscribed on its own: 4 nodes on the request (or common) channel and
/// on the pattern (or room channel).
async fn wait_resubscribed(addr: SocketAddr, mode: Mode, prefix: &str) {
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
}

/// Every node counts the others again (its publisher is back too), then broadcasts,
/// room broadcasts and fetches flow from every node to every node.
async fn check_all_to_all(c: &mut Clients) {
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
                event_named(c, name, &event).await,
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

    wait_resubscribed(server.addr(), mode, &prefix).await;
    check_all_to_all(&mut c).await;
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
