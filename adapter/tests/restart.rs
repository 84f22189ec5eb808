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

use fixture::Broker;
use interop::{
    NodeClient, RedisServer,
    four::{Four, NAMES, event_named},
};
use respub_socketio::{Mode, SubscriptionMode};

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

async fn restart_scenario(respub: bool, mode: Mode) {
    eprintln!("--- respub={respub} {mode:?}");
    let server = Server::start(respub).await;
    let clients = [NodeClient::NodeRedis, NodeClient::Ioredis];
    let mut four = Four::start(&server.url(), mode, clients).await;

    // Traffic from every node while the server goes away and comes back.
    four.tick(0).await;
    for name in NAMES {
        for _ in 0..4 {
            assert_eq!(event_named(&mut four.c, name, "tick").await[0], "tick");
        }
    }
    four.tick(1).await;
    // Ticks race the restart; any of them may be lost, none may break a node.
    let mut k = 2;
    let (server, ()) = tokio::join!(server.restart(), async {
        for _ in 0..3 {
            four.tick(k).await;
            k += 1;
        }
    });
    four.tick(k).await;

    four.wait_resubscribed(server.addr()).await;
    four.check_all_to_all("after").await;
    four.stop().await;
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
