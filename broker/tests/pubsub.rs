//! Delivery guarantees the differential test cannot show with one step at a
//! time: order under concurrent publishers, exact counts, cleanup after
//! abrupt disconnects, slow consumers, connection limits and shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use common::{Conn, GUARD, TestServer, bulk_of, eventually};
use respub_broker::{Config, OutputLimit};

/// Reads `n` deliveries and returns their payloads.
fn payloads(conn: &mut Conn, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let f = conn.frame().expect("subscriber disconnected");
            let items = f.items().expect("delivery is an array");
            bulk_of(items.last().unwrap()).unwrap().to_vec()
        })
        .collect()
}

#[test]
fn concurrent_publishers_one_order_for_every_subscriber() {
    const PUBLISHERS: usize = 4;
    const EACH: usize = 2000;
    let server = TestServer::start();
    let mut subs: Vec<Conn> = (0..3).map(|_| Conn::connect(server.port)).collect();
    subs[0].call(&["SUBSCRIBE", "ord"]);
    subs[1].call(&["SUBSCRIBE", "ord"]);
    subs[2].call(&["PSUBSCRIBE", "o*"]);

    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let port = server.port;
            std::thread::spawn(move || {
                let mut conn = Conn::connect(port);
                // Pipelined, so publishers really overlap inside the broker.
                let mut batch = Vec::new();
                for i in 0..EACH {
                    batch.extend(common::encode_cmd(&["PUBLISH", "ord", &format!("{p}:{i}")]));
                }
                conn.send_raw(&batch);
                (0..EACH)
                    .map(|_| conn.frame().unwrap().raw)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for p in publishers {
        for reply in p.join().unwrap() {
            assert_eq!(
                reply, b":3\r\n",
                "every PUBLISH reaches exactly three subscribers"
            );
        }
    }
    let seen: Vec<Vec<Vec<u8>>> = subs
        .iter_mut()
        .map(|s| payloads(s, PUBLISHERS * EACH))
        .collect();
    assert_eq!(seen[0], seen[1], "exact subscribers disagree on order");
    assert_eq!(seen[0], seen[2], "pattern subscriber disagrees on order");
    // Per publisher, messages arrive in publish order.
    let mut next = [0usize; PUBLISHERS];
    for m in &seen[0] {
        let text = String::from_utf8(m.clone()).unwrap();
        let (p, i) = text.split_once(':').unwrap();
        let (p, i): (usize, usize) = (p.parse().unwrap(), i.parse().unwrap());
        assert_eq!(i, next[p], "publisher {p} out of order");
        next[p] += 1;
    }
    assert_eq!(next, [EACH; PUBLISHERS]);
}

#[test]
fn abrupt_disconnects_leave_no_subscriptions() {
    let server = TestServer::start();
    for round in 0..10 {
        let mut conns: Vec<Conn> = (0..50).map(|_| Conn::connect(server.port)).collect();
        for (i, c) in conns.iter_mut().enumerate() {
            let mut req = Vec::new();
            for k in 0..10 {
                req.extend(common::encode_cmd(&[
                    "SUBSCRIBE",
                    &format!("c{round}:{i}:{k}"),
                ]));
                req.extend(common::encode_cmd(&["PSUBSCRIBE", &format!("p{k}*")]));
                req.extend(common::encode_cmd(&["SSUBSCRIBE", &format!("s{k}")]));
            }
            c.send_raw(&req);
            for _ in 0..30 {
                c.frame().unwrap();
            }
        }
        for (i, c) in conns.into_iter().enumerate() {
            // Half leave with a reset (RST), half with an orderly close (FIN).
            if i % 2 == 0 {
                socket2::SockRef::from(&c.stream)
                    .set_linger(Some(Duration::ZERO))
                    .unwrap();
            }
            drop(c);
        }
    }
    let mut probe = Conn::connect(server.port);
    eventually(|| {
        probe.call(&["PUBSUB", "CHANNELS"]) == b"*0\r\n"
            && probe.call(&["PUBSUB", "NUMPAT"]) == b":0\r\n"
            && probe.call(&["PUBSUB", "SHARDCHANNELS"]) == b"*0\r\n"
    });
    eventually(|| {
        let info = String::from_utf8(probe.call(&["INFO", "clients"])).unwrap();
        info.contains("connected_clients:1\r\n")
    });
}

/// Publishes `messages` 1 KiB messages to `feed` in batches of 100 while a
/// fast subscriber (already subscribed) reads them all; the publisher waits
/// for the fast reader after each batch, so only a client that does not
/// read can fall behind. Calls `after_batch` after each batch; returns the
/// PUBLISH replies and how many messages the fast subscriber received.
fn publish_past_a_slow_reader(
    port: u16,
    mut fast: Conn,
    messages: usize,
    mut after_batch: impl FnMut(),
) -> (Vec<Vec<u8>>, usize) {
    let (progress_tx, progress_rx) = std::sync::mpsc::channel();
    let fast_reader = std::thread::spawn(move || {
        let mut received = 0;
        for _ in 0..messages / 100 {
            let batch = payloads(&mut fast, 100);
            assert!(batch.iter().all(|p| p.len() == 1024));
            received += batch.len();
            progress_tx.send(()).unwrap();
        }
        received
    });
    let mut publisher = Conn::connect(port);
    let payload = "x".repeat(1024);
    let one = common::encode_cmd(&["PUBLISH", "feed", &payload]);
    let mut counts = Vec::new();
    for _ in 0..messages / 100 {
        publisher.send_raw(&one.repeat(100));
        counts.extend((0..100).map(|_| publisher.frame().unwrap().raw));
        progress_rx
            .recv_timeout(GUARD)
            .expect("fast subscriber stalled");
        after_batch();
    }
    (counts, fast_reader.join().unwrap())
}

#[test]
fn slow_subscriber_is_cut_off_and_others_receive_everything() {
    // 20 MiB in all: far more than loopback socket buffers can absorb.
    const MESSAGES: usize = 20_000;
    let config = Config {
        output_limit_pubsub: OutputLimit {
            hard: 1024 * 1024,
            soft: 0,
            soft_seconds: Duration::ZERO,
        },
        ..Config::default()
    };
    let server = TestServer::start_with(config);
    let mut slow = Conn::connect(server.port);
    let mut fast = Conn::connect(server.port);
    slow.call(&["SUBSCRIBE", "feed"]);
    fast.call(&["SUBSCRIBE", "feed"]);
    let (counts, received) = publish_past_a_slow_reader(server.port, fast, MESSAGES, || {});
    assert_eq!(received, MESSAGES);
    // The publisher was never refused; the slow client was counted until it
    // was cut off, then not any more.
    assert_eq!(counts.first().unwrap(), b":2\r\n");
    assert_eq!(counts.last().unwrap(), b":1\r\n");
    let info = String::from_utf8(Conn::connect(server.port).call(&["INFO", "stats"])).unwrap();
    assert!(
        info.contains("client_output_buffer_limit_disconnections:1\r\n"),
        "{info}"
    );
    // What the slow client does get ends in EOF, and is far less than was published.
    let got = slow.read_to_eof();
    assert!(
        got.len() < MESSAGES * 1024,
        "slow client received {} bytes",
        got.len()
    );
}

/// The server's resident memory, from /proc.
fn rss_bytes(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// The server process's memory stays near the output limit while 50 MiB
/// are published past a subscriber that never reads (unbounded, its queue
/// would hold most of them).
#[test]
fn slow_subscriber_keeps_server_memory_bounded() {
    const MESSAGES: usize = 50_000;
    let port = common::free_port();
    let server = common::Binary::start(&[
        "--port",
        &port.to_string(),
        "--client-output-buffer-limit",
        "pubsub 1mb 0 0",
    ]);
    let mut slow = Conn::connect(port);
    let mut fast = Conn::connect(port);
    slow.call(&["SUBSCRIBE", "feed"]);
    fast.call(&["SUBSCRIBE", "feed"]);
    let before = rss_bytes(server.pid());
    let mut peak = before;
    let (_, received) = publish_past_a_slow_reader(port, fast, MESSAGES, || {
        peak = peak.max(rss_bytes(server.pid()));
    });
    assert_eq!(received, MESSAGES);
    assert!(
        peak - before < 16 * 1024 * 1024,
        "server RSS grew by {} bytes (from {before})",
        peak - before
    );
    assert!(slow.read_to_eof().len() < MESSAGES * 1024);
}

#[test]
fn maxclients_rejects_with_redis_error() {
    let server = TestServer::start_with(Config {
        maxclients: 2,
        ..Config::default()
    });
    let mut a = Conn::connect(server.port);
    let mut b = Conn::connect(server.port);
    assert_eq!(a.call(&["PING"]), b"+PONG\r\n");
    assert_eq!(b.call(&["PING"]), b"+PONG\r\n");
    let mut c = Conn::connect(server.port);
    assert_eq!(c.read_to_eof(), b"-ERR max number of clients reached\r\n");
    drop(a);
    eventually(|| {
        let mut d = Conn::connect(server.port);
        d.send(&["PING"]);
        d.frame().is_some_and(|f| f.raw == b"+PONG\r\n")
    });
}

#[test]
fn quit_flushes_pipelined_replies_before_closing() {
    let server = TestServer::start();
    let mut c = Conn::connect(server.port);
    c.send_raw(b"PING\r\nECHO hi\r\nQUIT\r\nPING\r\n");
    assert_eq!(c.read_to_eof(), b"+PONG\r\n$2\r\nhi\r\n+OK\r\n");
}

#[test]
fn half_frames_then_close_leave_the_server_serving() {
    let server = TestServer::start();
    for junk in [
        &b"*3\r\n$9\r\nsubscribe\r\n$1\r\na"[..],
        b"*1\r\n$100\r\nabc",
        b"\x00\x01\x02",
        b"*",
    ] {
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.write_all(junk).unwrap();
        s.shutdown(Shutdown::Both).unwrap();
    }
    let mut c = Conn::connect(server.port);
    assert_eq!(c.call(&["PING"]), b"+PONG\r\n");
    eventually(|| c.call(&["PUBSUB", "NUMSUB", "a"]) == b"*2\r\n$1\r\na\r\n:0\r\n");
}

#[test]
fn shutdown_flushes_subscribers_then_returns() {
    let server = TestServer::start();
    let mut sub = Conn::connect(server.port);
    sub.call(&["SUBSCRIBE", "bye"]);
    let mut publisher = Conn::connect(server.port);
    for i in 0..100 {
        assert_eq!(
            publisher.call(&["PUBLISH", "bye", &i.to_string()]),
            b":1\r\n"
        );
    }
    server.stop();
    // Everything published before the stop arrives, then EOF.
    let rest = sub.read_to_eof();
    let expected: Vec<u8> = (0..100)
        .flat_map(|i: i32| {
            let p = i.to_string();
            format!(
                "*3\r\n$7\r\nmessage\r\n$3\r\nbye\r\n${}\r\n{p}\r\n",
                p.len()
            )
            .into_bytes()
        })
        .collect();
    assert_eq!(rest, expected);
    assert!(
        TcpStream::connect(("127.0.0.1", publisher.stream.peer_addr().unwrap().port())).is_err()
    );
}
