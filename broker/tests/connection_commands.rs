//! Commands whose replies carry values that differ from run to run (client
//! ids, addresses, ages, counters), checked by shape and effect rather than
//! byte for byte: CLIENT KILL, INFO, TIME and MONITOR (CLIENT LIST and INFO
//! are in `client_list.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{Conn, GUARD, TestServer, Value, bulk_of, text};

#[test]
fn client_kill_by_id_addr_and_type() {
    let server = TestServer::start();
    let mut admin = Conn::connect(server.port);
    let mut victim = Conn::connect(server.port);
    let mut sub = Conn::connect(server.port);
    sub.call(&["SUBSCRIBE", "k"]);
    let victim_id = String::from_utf8(victim.call(&["CLIENT", "ID"])).unwrap();
    let victim_id = victim_id.trim_start_matches(':').trim_end();
    assert_eq!(admin.call(&["CLIENT", "KILL", "ID", victim_id]), b":1\r\n");
    assert_eq!(victim.read_to_eof(), b"");
    assert_eq!(admin.call(&["CLIENT", "KILL", "TYPE", "pubsub"]), b":1\r\n");
    assert_eq!(sub.read_to_eof(), b"");
    assert_eq!(
        admin.call(&["PUBSUB", "NUMSUB", "k"]),
        b"*2\r\n$1\r\nk\r\n:0\r\n"
    );
    // Old form, by address; and SKIPME keeps the caller alive by default.
    let mut other = Conn::connect(server.port);
    assert_eq!(other.call(&["PING"]), b"+PONG\r\n"); // accepted and registered
    let addr = other.stream.local_addr().unwrap().to_string();
    assert_eq!(admin.call(&["CLIENT", "KILL", &addr]), b"+OK\r\n");
    assert_eq!(other.read_to_eof(), b"");
    assert_eq!(
        admin.call(&["CLIENT", "KILL", "1.2.3.4:5"]),
        b"-ERR No such client\r\n"
    );
    assert_eq!(admin.call(&["CLIENT", "KILL", "TYPE", "normal"]), b":0\r\n");
    // Killing oneself replies first, then closes.
    let me = admin.stream.local_addr().unwrap().to_string();
    admin.send(&["CLIENT", "KILL", "ADDR", &me, "SKIPME", "no"]);
    assert_eq!(admin.read_to_eof(), b":1\r\n");
}

#[test]
fn info_has_redis_sections_and_counters() {
    let server = TestServer::start();
    let mut c = Conn::connect(server.port);
    let mut s = Conn::connect(server.port);
    s.call(&["SUBSCRIBE", "i"]);
    c.call(&["PUBLISH", "i", "m"]);
    let info = text(&c.call(&["INFO"]));
    for section in [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "CPU",
        "Cluster",
        "Keyspace",
    ] {
        assert!(
            info.contains(&format!("# {section}\r\n")),
            "no {section} in {info}"
        );
    }
    for line in [
        "redis_version:7.2.4",
        "redis_mode:standalone",
        "loading:0",
        "connected_clients:2",
        "pubsub_clients:1",
        "pubsub_channels:1",
        "role:master",
        "cluster_enabled:0",
        "respub_messages_published:1",
        "respub_messages_delivered:1",
    ] {
        assert!(info.contains(&format!("{line}\r\n")), "no {line} in {info}");
    }
    let server_only = text(&c.call(&["INFO", "server"]));
    assert!(server_only.starts_with("# Server\r\n") && !server_only.contains("# Clients"));
    assert_eq!(text(&c.call(&["INFO", "nosuchsection"])), "");
    c.call(&["HELLO", "3"]);
    let verbatim = c.call(&["INFO", "server"]);
    assert!(verbatim.starts_with(b"=") && verbatim.windows(4).any(|w| w == b"txt:"));
}

#[test]
fn time_is_two_bulk_integers_near_now() {
    let server = TestServer::start();
    let mut c = Conn::connect(server.port);
    let reply = c.call(&["TIME"]);
    let (value, _) = common::parse_value(&reply).unwrap().unwrap();
    let Value::Agg(b'*', Some(items)) = value else {
        panic!("{reply:?}")
    };
    let secs: u64 = String::from_utf8(bulk_of(&items[0]).unwrap().to_vec())
        .unwrap()
        .parse()
        .unwrap();
    let usecs: u64 = String::from_utf8(bulk_of(&items[1]).unwrap().to_vec())
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.abs_diff(now) <= GUARD.as_secs());
    assert!(usecs < 1_000_000);
}

/// MONITOR lines for the same commands from respub and redis-server, with
/// the timestamp and the client's port masked.
#[test]
fn monitor_matches_redis_format() {
    fn run(port: u16) -> Vec<String> {
        let mut mon = Conn::connect(port);
        assert_eq!(mon.call(&["MONITOR"]), b"+OK\r\n");
        let mut c = Conn::connect(port);
        c.call(&["ECHO", "a b\"\u{1}\\\n"]);
        c.call(&["AUTH", "x", "y"]);
        c.call(&["HELLO", "3", "AUTH", "default", "pw", "SETNAME", "n"]);
        c.call(&["NOSUCHX"]);
        c.call(&["PING", "a", "b"]);
        c.call(&["SELECT", "2"]);
        c.call(&["SUBSCRIBE", "q"]);
        // Everything fed before the monitor's own PING is answered.
        mon.send(&["PING"]);
        let fed = mon.frames_until(|f| f.raw == b"+PONG\r\n").unwrap();
        let mut lines = Vec::new();
        for f in fed {
            let line = String::from_utf8(f.raw).unwrap();
            // +1795434041.397762 [0 127.0.0.1:44250] ... -> +T [0 ADDR] ...
            let (_, rest) = line.split_once(' ').unwrap();
            let (db, rest) = rest.split_once(' ').unwrap();
            let (_, rest) = rest.split_once("] ").unwrap();
            lines.push(format!("+T {db} ADDR] {rest}"));
        }
        lines
    }
    let respub = TestServer::start();
    let redis = common::RedisServer::start();
    let ours = run(respub.port);
    assert_eq!(ours, run(redis.port));
    assert_eq!(ours.len(), 6, "{ours:?}");
}
