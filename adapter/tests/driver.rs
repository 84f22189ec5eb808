//! `FredDriver::subscribe` and `unsubscribe` resolve once the broker ran the command, as the
//! `Driver` trait promises, not once fred wrote it (fred resolves SUBSCRIBE and its kin on
//! write). A node that finished its namespace init must already be counted by PUBSUB NUMSUB.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod fixture;

use fixture::{Broker, within};
use respub_socketio::FredDriver;
use respub_socketio::driver::{Driver, Subscription};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the broker holds every command: far longer than writing a command takes, so a
/// driver that returns on write returns inside the pause.
const PAUSE_MS: &str = "2000";

async fn send(conn: &mut TcpStream, args: &[&str]) {
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    conn.write_all(req.as_bytes()).await.unwrap();
}

/// Pauses every client, then queues a PING on `marker`: its answer is written when the pause
/// ends, before the answers of anything sent after it.
async fn pause_with_marker(broker: &Broker) -> TcpStream {
    let mut pauser = TcpStream::connect(broker.addr).await.unwrap();
    send(&mut pauser, &["CLIENT", "PAUSE", PAUSE_MS, "ALL"]).await;
    let mut ok = [0u8; 5];
    within("CLIENT PAUSE", pauser.read_exact(&mut ok))
        .await
        .unwrap();
    assert_eq!(&ok, b"+OK\r\n");
    let mut marker = TcpStream::connect(broker.addr).await.unwrap();
    send(&mut marker, &["PING"]).await;
    marker
}

/// Whether the pause is over as far as this test can see: the marker's answer has arrived.
fn answered(marker: &TcpStream) -> bool {
    let mut buf = [0u8; 16];
    matches!(marker.try_read(&mut buf), Ok(n) if n > 0)
}

#[tokio::test]
async fn subscribe_and_unsubscribe_resolve_once_the_broker_ran_them() {
    let broker = Broker::start().await;
    let driver = within("driver connect", FredDriver::connect(&broker.url()))
        .await
        .unwrap();
    let subs = [
        Subscription::Channel("ch".into()),
        Subscription::Pattern("p.*".into()),
        Subscription::Shard("sh".into()),
    ];
    for sub in subs {
        let marker = pause_with_marker(&broker).await;
        within("subscribe", driver.subscribe(sub.clone()))
            .await
            .unwrap();
        assert!(
            answered(&marker),
            "subscribe({sub:?}) returned while the broker held it"
        );
        let marker = pause_with_marker(&broker).await;
        within("unsubscribe", driver.unsubscribe(sub.clone()))
            .await
            .unwrap();
        assert!(
            answered(&marker),
            "unsubscribe({sub:?}) returned while the broker held it"
        );
    }
    broker.stop().await;
}
