//! Failures other than a broker restart: a node that dies in the middle of a
//! fetch-sockets request, the broker lost while a request waits, and emits while the
//! broker is down.
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

use std::{collections::BTreeSet, time::Duration};

use fixture::{
    Broker,
    raw::{silent_peer, wait_count, wait_request},
    within,
};
use interop::{NodeClient, NodeServer, clients::Clients, rust_server::RustServer};
use respub_socketio::{Config, Mode, SubscriptionMode};

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
    let mut dying = silent_peer(broker.addr, &prefix, mode, 3).await;
    assert_eq!(r1.cluster.server_count("/").await.unwrap(), 3);

    let cluster = r1.cluster.clone();
    let fetch = tokio::spawn(async move { cluster.fetch_sockets("/", vec![], vec![]).await });
    // Wait until the request reached the dying node, then close its connection.
    wait_request(
        &mut dying,
        "the fetch request at the dying node",
        "the broker closed the dying node's connection",
    )
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
    let mut silent = silent_peer(broker.addr, &prefix, mode, 2).await;

    let cluster = r1.cluster.clone();
    let fetch = tokio::spawn(async move { cluster.fetch_sockets("/", vec![], vec![]).await });
    wait_request(
        &mut silent,
        "the fetch request at the silent peer",
        "the broker closed the silent peer's connection early",
    )
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
