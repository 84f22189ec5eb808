//! What production does to a server: thousands of clients that subscribe
//! and vanish, and garbage on the socket. Afterwards nothing is left behind
//! and the server still serves everyone else.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::{Conn, RedisServer, TestServer, eventually};

fn rss() -> u64 {
    respub_broker::stats::process_rss()
}

#[test]
fn ten_thousand_subscribe_disconnect_cycles_leave_nothing_behind() {
    const CYCLES: usize = 10_000;
    const BATCH: usize = 100;
    let server = TestServer::start();
    let mut probe = Conn::connect(server.port);
    // Warm up allocator pools with one round, so that the comparison below
    // measures what the cycles leave behind rather than first-use growth.
    let port = server.port;
    let one_round = |probe: &mut Conn, round: usize| {
        let mut conns: Vec<TcpStream> = (0..BATCH)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        for (i, s) in conns.iter_mut().enumerate() {
            let ch = format!("cycle:{round}:{i}");
            let req = [
                common::encode_cmd(&["SUBSCRIBE", &ch, "shared"]),
                common::encode_cmd(&["PSUBSCRIBE", &format!("p:{i}:*")]),
                common::encode_cmd(&["SSUBSCRIBE", &format!("s:{i}")]),
            ]
            .concat();
            s.write_all(&req).unwrap();
        }
        // Wait until the server holds every subscription of this batch.
        eventually(|| {
            probe.call(&["PUBSUB", "NUMSUB", "shared"])
                == format!("*2\r\n$6\r\nshared\r\n:{BATCH}\r\n").into_bytes()
        });
        for (i, s) in conns.into_iter().enumerate() {
            if i % 2 == 0 {
                // Abrupt: RST instead of FIN.
                socket2::SockRef::from(&s)
                    .set_linger(Some(Duration::ZERO))
                    .unwrap();
            }
            drop(s);
        }
    };
    one_round(&mut probe, 0);
    eventually(|| probe.call(&["PUBSUB", "NUMPAT"]) == b":0\r\n");
    let before = rss();
    for round in 1..=CYCLES / BATCH {
        one_round(&mut probe, round);
    }
    eventually(|| {
        probe.call(&["PUBSUB", "CHANNELS"]) == b"*0\r\n"
            && probe.call(&["PUBSUB", "NUMPAT"]) == b":0\r\n"
            && probe.call(&["PUBSUB", "SHARDCHANNELS"]) == b"*0\r\n"
            && String::from_utf8(probe.call(&["INFO", "clients"]))
                .unwrap()
                .contains("connected_clients:1\r\n")
    });
    let after = rss();
    println!("RSS before {before} B, after {CYCLES} cycles {after} B");
    // The test process holds both ends; allow 16 MiB of allocator slack for
    // 10,000 cycles (a leak of even 2 KiB per cycle would be 20 MiB).
    assert!(
        after < before + 16 * 1024 * 1024,
        "RSS grew from {before} to {after} bytes over {CYCLES} cycles"
    );
    let info = String::from_utf8(probe.call(&["INFO", "stats"])).unwrap();
    assert!(
        info.contains(&format!(
            "total_connections_received:{}\r\n",
            CYCLES + BATCH + 1
        )),
        "{info}"
    );
}

/// Malformed inputs, each sent on its own connection to respub and to
/// redis-server: both must answer the same bytes and close the same way,
/// and respub must keep serving a neighbour throughout.
#[test]
fn malformed_inputs_get_redis_replies_and_the_server_keeps_serving() {
    let respub = TestServer::start();
    let redis = RedisServer::start();
    let mut corpus: Vec<(&str, Vec<u8>)> = vec![
        ("bad count", b"*abc\r\n".to_vec()),
        ("negative bulk", b"*1\r\n$-7\r\n".to_vec()),
        ("huge bulk", b"*1\r\n$99999999999\r\n".to_vec()),
        ("count overflow", b"*99999999999999999999\r\n".to_vec()),
        ("plus sign count", b"*+1\r\n$4\r\nPING\r\n".to_vec()),
        ("leading zero bulk", b"*1\r\n$04\r\nPING\r\n".to_vec()),
        ("array in array", b"*1\r\n*1\r\n$4\r\nPING\r\n".to_vec()),
        ("integer arg", b"*2\r\n$4\r\nECHO\r\n:5\r\n".to_vec()),
        ("unbalanced single quote", b"SUBSCRIBE 'a\r\n".to_vec()),
        ("quote glued to text", b"SUBSCRIBE \"a\"b\r\n".to_vec()),
        (
            "binary junk then newline",
            b"\x01\x02\xff\xfe\r\n*x\r\n".to_vec(),
        ),
        (
            "pipeline then junk",
            b"PING\r\nECHO ok\r\n*1\r\n%3\r\n".to_vec(),
        ),
        ("space in count", b"* 1\r\n$4\r\nPING\r\n".to_vec()),
        ("CR only lines", b"*1\r$4\rPING\r".to_vec()),
    ];
    corpus.push(("inline over 64 KiB", vec![b'x'; 65 * 1024]));
    corpus.push((
        "bulk header over 64 KiB",
        [&b"*1\r\n$"[..], &vec![b'9'; 65 * 1024]].concat(),
    ));
    let mut neighbour = Conn::connect(respub.port);
    neighbour.call(&["SUBSCRIBE", "n"]);
    for (name, input) in &corpus {
        let send = |port: u16| -> Vec<u8> {
            let mut c = Conn::connect(port);
            c.send_raw(input);
            // Half-close our side so that a server waiting for more bytes
            // sees EOF; both servers then close, with or without a reply.
            c.stream.shutdown(std::net::Shutdown::Write).unwrap();
            c.read_to_eof()
        };
        let (ours, theirs) = (send(respub.port), send(redis.port));
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "input '{name}'"
        );
        let mut publisher = Conn::connect(respub.port);
        assert_eq!(
            publisher.call(&["PUBLISH", "n", name]),
            b":1\r\n",
            "after '{name}'"
        );
        let f = neighbour.frame().unwrap();
        assert!(f.raw.ends_with(format!("{name}\r\n").as_bytes()));
    }
}
