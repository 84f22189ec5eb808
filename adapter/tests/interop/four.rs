//! The cluster of the failure tests: two Rust nodes and two Node nodes on one broker URL,
//! a socket.io-client client on each, all of them in `room`. The broker fails under it
//! (restarted, or its master killed behind Sentinel) and no node is restarted.

use std::net::SocketAddr;

use respub_socketio::{Config, Mode, SubscriptionMode};
use serde_json::{Value as Json, json};

use super::{
    NodeClient, NodeServer,
    clients::{Clients, Ev},
    rust_server::RustServer,
};
use crate::fixture::{raw::wait_count, within};

/// The clients, one per node, named after their node.
pub const NAMES: [&str; 4] = ["r1", "r2", "n1", "n2"];

pub struct Four {
    pub r1: RustServer,
    pub r2: RustServer,
    pub n1: NodeServer,
    pub n2: NodeServer,
    pub c: Clients,
    pub mode: Mode,
    pub prefix: String,
}

impl Four {
    /// The four nodes on `url` (the Node nodes with `clients`), their clients in `room`.
    pub async fn start(url: &str, mode: Mode, clients: [NodeClient; 2]) -> Self {
        let prefix = format!("r{:016x}", rand::random::<u64>());
        let config = Config::default()
            .with_mode(mode)
            .with_prefix(prefix.clone());
        let r1 = RustServer::start(url, config.clone()).await;
        let r2 = RustServer::start(url, config).await;
        let n1 = NodeServer::start(url, mode, clients[0], &prefix).await;
        let n2 = NodeServer::start(url, mode, clients[1], &prefix).await;
        let mut c = Clients::start().await;
        let ports = [r1.port, r2.port, n1.port, n2.port];
        for (name, port) in NAMES.iter().zip(ports) {
            c.connect(name, port).await;
            assert_eq!(c.call(name, "join", json!("room")).await, json!("ok"));
        }
        Self {
            r1,
            r2,
            n1,
            n2,
            c,
            mode,
            prefix,
        }
    }

    /// A `tick` from every node, which may be lost while the broker is away; sending it
    /// must not break a node.
    pub async fn tick(&mut self, k: u64) {
        self.r1.io.to("room").emit("tick", &k).await.ok();
        self.r2.io.emit("tick", &k).await.ok();
        for origin in ["n1", "n2"] {
            let arg = json!({"rooms": ["room"], "event": "tick", "data": k});
            assert_eq!(self.c.call(origin, "broadcast", arg).await, json!("ok"));
        }
    }

    /// Every node resubscribed on its own at the broker at `addr`: 4 nodes on the request
    /// (or common) channel and on the pattern (or room channel).
    pub async fn wait_resubscribed(&self, addr: SocketAddr) {
        let prefix = &self.prefix;
        match self.mode {
            Mode::Classic => {
                let request = format!("{prefix}-request#/#");
                wait_count(addr, &["PUBSUB", "NUMSUB", &request], 4).await;
                // NUMPAT counts distinct patterns; PUBLISH counts receivers. Nodes drop a
                // message for a room they do not have before decoding it.
                let probe = format!("{prefix}#/#no-such-room#");
                wait_count(addr, &["PUBLISH", &probe, "probe"], 4).await;
            }
            Mode::Sharded(sub) => {
                let common = format!("{prefix}#/#");
                wait_count(addr, &["PUBSUB", "SHARDNUMSUB", &common], 4).await;
                if sub != SubscriptionMode::Static {
                    let room = format!("{prefix}#/#room#");
                    wait_count(addr, &["PUBSUB", "SHARDNUMSUB", &room], 4).await;
                }
            }
        }
    }

    /// Every node counts the others (its publisher reaches the broker too), then room
    /// broadcasts (event `<tag>-<origin>`) and fetches flow from every node to every node.
    pub async fn check_all_to_all(&mut self, tag: &str) {
        let c = &mut self.c;
        for name in NAMES {
            within("server count", async {
                while c.call(name, "serverCount", json!(null)).await != json!(4) {
                    tokio::task::yield_now().await;
                }
            })
            .await;
        }
        for origin in NAMES {
            let event = format!("{tag}-{origin}");
            let arg = json!({"rooms": ["room"], "event": event, "data": origin});
            assert_eq!(c.call(origin, "broadcast", arg).await, json!("ok"));
            for name in NAMES {
                assert_eq!(
                    event_named(c, name, &event).await,
                    json!([event, origin]),
                    "{name}: {tag}"
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

    /// Stops the Node processes and the clients.
    pub async fn stop(self) {
        drop(self.c);
        self.n1.kill().await;
        self.n2.kill().await;
    }
}

/// The next event of `name` called `event` (others, such as ticks sent while the broker
/// was away, which may or may not arrive, are skipped).
pub async fn event_named(c: &mut Clients, name: &str, event: &str) -> Json {
    loop {
        match c.next(name).await {
            Ev::Event(e, v) if e == event => return v,
            Ev::Event(..) => {}
            Ev::Disconnect(r) => panic!("{name} disconnected: {r}"),
        }
    }
}
