//! A Socket.IO cluster behind Redis Sentinel: two Rust nodes (fred through the sentinels)
//! and two Node nodes (`@socket.io/redis-adapter` over ioredis with `sentinels`) share rooms
//! through a master with two replicas watched by three real `redis-sentinel`s. The master
//! is killed (`kill -9`); once Sentinel promoted a replica, every node, none of them
//! restarted, is subscribed on the new master and room broadcasts flow from every node to
//! every node again.
//!
//! The same deployment of redis-servers is the reference: a failure there is not respub's.
//!
//! Needs `npm ci --prefix adapter/tests/node`, `redis-server` and `redis-sentinel`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod fixture;
mod interop;

use interop::{
    NodeClient,
    four::Four,
    sentinel::{Deployment, Kind},
};
use respub_socketio::{Mode, SubscriptionMode};

async fn failover_scenario(kind: Kind, mode: Mode) {
    eprintln!("--- {kind:?} {mode:?}");
    let mut deployment = Deployment::start(kind).await;
    let url = deployment.url();
    let mut four = Four::start(&url, mode, [NodeClient::Ioredis; 2]).await;
    four.wait_resubscribed(deployment.master().await).await;
    four.check_all_to_all("before").await;

    let old_master = deployment.kill_master().await;
    // Broadcasts during the outage may be lost (pub/sub keeps nothing) or fail; they
    // must not break a node.
    four.tick(1).await;
    let new_master = deployment.wait_switch(old_master).await;

    // Pub/sub delivers to whoever is subscribed when a message is published, so the
    // broadcasts below wait until every node resubscribed on the new master and counts
    // the others from there (its publisher followed too).
    four.wait_resubscribed(new_master).await;
    four.check_all_to_all("after").await;
    four.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respub_failover_classic() {
    failover_scenario(Kind::Respub, Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respub_failover_sharded_dynamic() {
    failover_scenario(Kind::Respub, Mode::Sharded(SubscriptionMode::Dynamic)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_failover_classic() {
    failover_scenario(Kind::Redis, Mode::Classic).await;
}
