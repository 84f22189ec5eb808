//! Three socketioxide nodes through an in-process respub broker, every adapter operation,
//! in classic mode and in the three sharded subscription modes.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod fixture;

use std::collections::BTreeSet;

use fixture::{Broker, Client, Frame, nodes, within};
use futures_util::StreamExt;
use respub_socketio::Mode;
use serde_json::json;

async fn for_each_mode<F, Fut>(f: F)
where
    F: Fn(String, Mode) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for (name, mode) in fixture::modes() {
        eprintln!("--- mode {name}");
        // RESPUB_SOCKETIO_TEST_URL runs the same cases against an external server
        // (redis-server, valkey-server), e.g. redis://127.0.0.1:6390?protocol=resp3.
        if let Ok(url) = std::env::var("RESPUB_SOCKETIO_TEST_URL") {
            f(url, mode).await;
            continue;
        }
        let broker = Broker::start().await;
        f(broker.url(), mode).await;
        broker.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_rooms_except_and_local() {
    for_each_mode(|url, mode| async move {
        let n = nodes(&url, mode, 3).await;
        let mut c1 = Client::connect(&n[0], "c1").await;
        let mut c2 = Client::connect(&n[1], "c2").await;
        let mut c3 = Client::connect(&n[2], "c3").await;
        let mut c4 = Client::connect(&n[2], "c4").await;
        c1.join("a").await;
        c2.join("a").await;
        c4.join("a").await;
        c4.join("b").await;

        // To all, from node 1.
        n[0].io.emit("hello", "world").await.unwrap();
        for c in [&mut c1, &mut c2, &mut c3, &mut c4] {
            assert_eq!(c.event().await, json!(["hello", "world"]), "{}", c.name);
        }

        // To a room except another room, from node 2; then a marker to all from node 2:
        // a client that must not get the first sees the marker first.
        n[1].io.to("a").except("b").emit("room", &1).await.unwrap();
        n[1].io.emit("marker", &0).await.unwrap();
        assert_eq!(c1.event().await, json!(["room", 1]));
        assert_eq!(c2.event().await, json!(["room", 1]));
        assert_eq!(c3.event().await, json!(["marker", 0]));
        assert_eq!(c4.event().await, json!(["marker", 0]));
        assert_eq!(c1.event().await, json!(["marker", 0]));
        assert_eq!(c2.event().await, json!(["marker", 0]));

        // Two rooms at once (base channel), from node 3.
        n[2].io.to(["a", "b"]).emit("two", &2).await.unwrap();
        for c in [&mut c1, &mut c2, &mut c4] {
            assert_eq!(c.event().await, json!(["two", 2]), "{}", c.name);
        }

        // Local only: node 1's clients, nobody else.
        n[0].io.local().emit("local", &3).await.unwrap();
        n[0].io.emit("marker", &0).await.unwrap();
        assert_eq!(c1.event().await, json!(["local", 3]));
        assert_eq!(c1.event().await, json!(["marker", 0]));
        for c in [&mut c2, &mut c3, &mut c4] {
            assert_eq!(c.event().await, json!(["marker", 0]), "{}", c.name);
        }

        // Binary arguments survive the trip.
        n[0].io
            .to("b")
            .emit("bin", &bytes::Bytes::from_static(&[1, 2, 3]))
            .await
            .unwrap();
        let frame = c4.frame().await;
        assert!(matches!(frame, Frame::Event { .. }), "{frame:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_count_fetch_sockets_and_rooms() {
    for_each_mode(|url, mode| async move {
        let n = nodes(&url, mode, 3).await;
        let mut c1 = Client::connect(&n[0], "c1").await;
        let mut c2 = Client::connect(&n[1], "c2").await;
        let c3 = Client::connect(&n[2], "c3").await;
        c1.join("a").await;
        c2.join("a").await;
        c2.join("b").await;

        for node in &n {
            assert_eq!(node.cluster.server_count("/").await.unwrap(), 3);
        }

        let ids: BTreeSet<String> = within("fetch", n[2].io.within("a").fetch_sockets())
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.data().id.to_string())
            .collect();
        assert_eq!(ids, BTreeSet::from([c1.id.clone(), c2.id.clone()]));

        let all: BTreeSet<String> = n[0]
            .io
            .fetch_sockets()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.data().id.to_string())
            .collect();
        assert_eq!(
            all,
            BTreeSet::from([c1.id.clone(), c2.id.clone(), c3.id.clone()])
        );

        let detailed = n[0]
            .cluster
            .fetch_sockets("/", vec!["b".into()], vec![])
            .await
            .unwrap();
        assert_eq!(detailed.len(), 1);
        assert_eq!(detailed[0].id, c2.id);
        assert!(detailed[0].rooms.contains(&"a".to_owned()));

        let rooms: BTreeSet<String> = n[2]
            .io
            .rooms()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.to_string())
            .collect();
        assert!(rooms.contains("a") && rooms.contains("b"), "{rooms:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_across_nodes() {
    for_each_mode(|url, mode| async move {
        let n = nodes(&url, mode, 3).await;
        let mut clients = vec![
            Client::connect(&n[0], "c1").await,
            Client::connect(&n[1], "c2").await,
            Client::connect(&n[2], "c3").await,
        ];
        // The clients answer `ask` while they wait for the final marker.
        let stream = n[0]
            .io
            .emit_with_ack::<_, String>("ask", &())
            .await
            .unwrap();
        let waiters: Vec<_> = clients
            .drain(..)
            .map(|mut c| {
                tokio::spawn(async move {
                    assert_eq!(c.event().await, json!(["done", 0]));
                })
            })
            .collect();
        let answers: BTreeSet<String> =
            within("acks", stream.map(|(_, r)| r.unwrap()).collect::<Vec<_>>())
                .await
                .into_iter()
                .collect();
        assert_eq!(
            answers,
            BTreeSet::from(["c1".into(), "c2".into(), "c3".into()])
        );
        n[0].io.emit("done", &0).await.unwrap();
        for w in waiters {
            within("client", w).await.unwrap();
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_emit_join_leave_disconnect() {
    for_each_mode(|url, mode| async move {
        let n = nodes(&url, mode, 3).await;
        let mut c1 = Client::connect(&n[0], "c1").await;
        let mut c3 = Client::connect(&n[2], "c3").await;
        c3.join("x").await;

        let remote = within("fetch", n[0].io.within("x").fetch_sockets())
            .await
            .unwrap();
        assert_eq!(remote.len(), 1);
        let s3 = remote.into_iter().next().unwrap();

        s3.emit("direct", &"hi").await.unwrap();
        assert_eq!(c3.event().await, json!(["direct", "hi"]));

        // Remote join, then a broadcast to the new room from another node.
        s3.join("y").await.unwrap();
        wait_member(&n[1], "y", &c3.id).await;
        n[2].cluster.sync_rooms("/").await.unwrap();
        n[1].io.to("y").emit("in-y", &0).await.unwrap();
        assert_eq!(c3.event().await, json!(["in-y", 0]));

        // Remote leave.
        s3.leave("y").await.unwrap();
        wait_not_member(&n[1], "y", &c3.id).await;
        n[1].io.to("y").emit("in-y", &0).await.unwrap();
        n[1].io.emit("marker", &0).await.unwrap();
        assert_eq!(c3.event().await, json!(["marker", 0]));
        assert_eq!(c1.event().await, json!(["marker", 0]));

        // Remote disconnect.
        s3.disconnect().await.unwrap();
        loop {
            if c3.frame().await == Frame::Disconnect {
                break;
            }
        }
    })
    .await;
}

/// Waits until `node` sees `sid` in `room` through a cluster fetch (remote join and leave
/// are asynchronous, as in Node).
async fn wait_member(node: &fixture::Node, room: &str, sid: &str) {
    within("membership", async {
        loop {
            let got = node
                .cluster
                .fetch_sockets("/", vec![room.into()], vec![])
                .await
                .unwrap();
            if got.iter().any(|s| s.id == sid) {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
}

async fn wait_not_member(node: &fixture::Node, room: &str, sid: &str) {
    within("membership", async {
        loop {
            let got = node
                .cluster
                .fetch_sockets("/", vec![room.into()], vec![])
                .await
                .unwrap();
            if !got.iter().any(|s| s.id == sid) {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
}
