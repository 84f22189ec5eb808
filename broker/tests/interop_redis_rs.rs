//! redis-rs (the `redis` crate) against respub: PubSub in RESP2, and RESP3
//! push subscriptions on a multiplexed connection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{GUARD, TestServer};
use futures_util::StreamExt;
use redis::{AsyncCommands, PushKind, Value};

async fn numsub(con: &mut redis::aio::MultiplexedConnection, channels: &[&str]) -> Vec<i64> {
    let reply: Vec<Value> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channels)
        .query_async(con)
        .await
        .unwrap();
    reply
        .chunks(2)
        .map(|pair| match pair.get(1) {
            Some(Value::Int(n)) => *n,
            other => panic!("NUMSUB count is not an integer: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn resp2_pubsub_subscribe_receive_unsubscribe() {
    let server = TestServer::start();
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", server.port)).unwrap();
    let mut publisher = client.get_multiplexed_async_connection().await.unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe(&["interop:a", "interop:b"]).await.unwrap();
    pubsub.psubscribe("interop:p*").await.unwrap();
    assert_eq!(
        numsub(&mut publisher, &["interop:a", "interop:b", "interop:zzz"]).await,
        [1, 1, 0]
    );

    let sent: [(&str, &str); 3] = [
        ("interop:a", "one"),
        ("interop:b", "two"),
        ("interop:p1", "héllo ✓"),
    ];
    for (channel, payload) in sent {
        let n: i64 = publisher.publish(channel, payload).await.unwrap();
        assert_eq!(n, 1);
    }
    {
        let mut messages = pubsub.on_message();
        for (channel, payload) in sent {
            let msg = tokio::time::timeout(GUARD, messages.next())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(msg.get_channel_name(), channel);
            assert_eq!(msg.get_payload::<String>().unwrap(), payload);
            assert_eq!(msg.from_pattern(), channel == "interop:p1");
        }
    }
    pubsub.unsubscribe("interop:a").await.unwrap();
    pubsub.punsubscribe("interop:p*").await.unwrap();
    assert_eq!(
        numsub(&mut publisher, &["interop:a", "interop:b"]).await,
        [0, 1]
    );
    let n: i64 = publisher.publish("interop:a", "gone").await.unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn resp3_push_messages_on_a_multiplexed_connection() {
    let server = TestServer::start();
    let url = format!("redis://127.0.0.1:{}/?protocol=resp3", server.port);
    let client = redis::Client::open(url).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let config = redis::AsyncConnectionConfig::new().set_push_sender(tx);
    let mut sub = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap();
    let mut publisher = client.get_multiplexed_async_connection().await.unwrap();
    sub.subscribe("interop:r3").await.unwrap();
    sub.psubscribe("interop:q*").await.unwrap();
    // The subscribed connection keeps working for ordinary commands in RESP3.
    let pong: String = redis::cmd("PING").query_async(&mut sub).await.unwrap();
    assert_eq!(pong, "PONG");
    assert_eq!(numsub(&mut publisher, &["interop:r3"]).await, [1]);
    let n: i64 = publisher.publish("interop:r3", "pushed").await.unwrap();
    assert_eq!(n, 1);
    let n: i64 = publisher.publish("interop:q9", "by pattern").await.unwrap();
    assert_eq!(n, 1);
    let mut got = Vec::new();
    while got.len() < 2 {
        let push = tokio::time::timeout(GUARD, rx.recv())
            .await
            .unwrap()
            .unwrap();
        match push.kind {
            PushKind::Message | PushKind::PMessage => got.push((push.kind, push.data)),
            PushKind::Subscribe | PushKind::PSubscribe => {}
            other => panic!("unexpected push {other:?}"),
        }
    }
    assert_eq!(got[0].0, PushKind::Message);
    assert_eq!(
        got[0].1.last(),
        Some(&Value::BulkString(b"pushed".to_vec()))
    );
    assert_eq!(got[1].0, PushKind::PMessage);
    assert_eq!(
        got[1].1.last(),
        Some(&Value::BulkString(b"by pattern".to_vec()))
    );
    sub.unsubscribe("interop:r3").await.unwrap();
    assert_eq!(numsub(&mut publisher, &["interop:r3"]).await, [0]);
}
