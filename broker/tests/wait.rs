//! WAIT against redis-server 7.0.15: the errors, the answers without
//! replicas, inside MULTI and on a replica, byte for byte; a respub master
//! and a redis-server master, each with two redis-server replicas, answer
//! WAIT alike and end at the same offset (each blocked WAIT puts one
//! `REPLCONF GETACK *` in the stream). And what a respub replica announces
//! (`replica-announce-ip/port`, `replica-priority`, `replica-announced`)
//! as a redis-server replica announces it; `min_slaves_good_slaves` in
//! INFO.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::replication::{info, same};
use common::{Conn, RedisServer, TestServer, eventually, free_port};

#[test]
fn wait_without_replicas_and_its_errors_match_redis() {
    let server = TestServer::start();
    let redis = RedisServer::start();
    let mut a = Conn::connect(server.port);
    let mut b = Conn::connect(redis.port);
    same(
        &mut a,
        &mut b,
        &[
            &["WAIT", "0", "0"],
            &["WAIT", "1", "10"],
            &["WAIT", "x", "10"],
            &["WAIT", "1", "-1"],
            &["WAIT", "1", "x"],
            &["WAIT", "1", "99999999999999999999"],
            &["WAIT", "1"],
            &["MULTI"],
            &["WAIT", "5", "0"],
            &["EXEC"],
            &["CONFIG", "SET", "min-replicas-to-write", "1"],
            &["PUBLISH", "c", "m"],
            &["SPUBLISH", "c", "m"],
            &["CONFIG", "SET", "min-slaves-max-lag", "0"],
            &["CONFIG", "GET", "min-replicas-max-lag"],
        ],
    );
    // Only while both are set does INFO count good replicas.
    assert_eq!(info(&mut a, "min_slaves_good_slaves"), "");
    same(
        &mut a,
        &mut b,
        &[&["CONFIG", "SET", "min-slaves-max-lag", "10"]],
    );
    assert_eq!(info(&mut a, "min_slaves_good_slaves"), "0");
    assert_eq!(info(&mut b, "min_slaves_good_slaves"), "0");

    let nowhere = free_port().to_string();
    same(
        &mut a,
        &mut b,
        &[&["REPLICAOF", "127.0.0.1", &nowhere], &["WAIT", "0", "0"]],
    );
}

/// A master's connection with two redis-server replicas of it online.
fn with_replicas(port: u16) -> (Conn, [RedisServer; 2]) {
    let master = port.to_string();
    let replicas =
        [(); 2].map(|()| RedisServer::start_with(&["--replicaof", "127.0.0.1", &master]));
    let mut conn = Conn::connect(port);
    eventually(|| info(&mut conn, "connected_slaves") == "2");
    for r in &replicas {
        let mut c = Conn::connect(r.port);
        eventually(|| info(&mut c, "master_link_status") == "up");
    }
    (conn, replicas)
}

#[test]
fn wait_with_redis_replicas_matches_a_redis_master() {
    let server = TestServer::start();
    let redis = RedisServer::start_with(&[
        "--repl-ping-replica-period",
        "3600",
        "--repl-diskless-sync-delay",
        "0",
    ]);
    let mut setup = Conn::connect(server.port);
    setup.call(&["CONFIG", "SET", "repl-ping-replica-period", "3600"]);
    let (mut a, _ours) = with_replicas(server.port);
    let (mut b, _theirs) = with_replicas(redis.port);
    same(
        &mut a,
        &mut b,
        &[
            &["PUBLISH", "c", "one"],
            &["WAIT", "3", "500"],
            &["WAIT", "2", "0"],
            &["PUBLISH", "c", "two"],
            &["WAIT", "3", "500"],
            &["WAIT", "0", "0"],
        ],
    );
    let offset = info(&mut a, "master_repl_offset");
    assert_eq!(offset, info(&mut b, "master_repl_offset"));
    // A replica that stops acknowledging no longer counts.
    drop(_ours);
    eventually(|| info(&mut a, "connected_slaves") == "0");
    assert_eq!(a.call(&["WAIT", "1", "20"]), b":0\r\n");
}

#[test]
fn a_respub_replica_announces_what_it_is_told_as_redis_does() {
    let master = RedisServer::start_with(&["--repl-diskless-sync-delay", "0"]);
    let ours = TestServer::start();
    let theirs = RedisServer::start();
    let mut a = Conn::connect(ours.port);
    let mut b = Conn::connect(theirs.port);
    same(
        &mut a,
        &mut b,
        &[
            &["CONFIG", "SET", "replica-announce-ip", "10.9.8.7"],
            &["CONFIG", "SET", "slave-announce-port", "7777"],
            &["CONFIG", "SET", "slave-priority", "42"],
            &["CONFIG", "SET", "replica-announced", "no"],
            &["CONFIG", "GET", "replica-announce-port"],
        ],
    );
    let port = master.port.to_string();
    for c in [&mut a, &mut b] {
        assert_eq!(c.call(&["REPLICAOF", "127.0.0.1", &port]), b"+OK\r\n");
        eventually(|| info(c, "master_link_status") == "up");
    }
    for name in ["slave_priority", "replica_announced"] {
        assert_eq!(info(&mut a, name), info(&mut b, name), "{name}");
    }
    assert_eq!(info(&mut a, "replica_announced"), "0");
    let mut m = Conn::connect(master.port);
    eventually(|| info(&mut m, "connected_slaves") == "2");
    let slave = |m: &mut Conn, i: usize| {
        let line = info(m, &format!("slave{i}"));
        line.split(",state=").next().unwrap_or_default().to_owned()
    };
    assert_eq!(slave(&mut m, 0), "ip=10.9.8.7,port=7777");
    assert_eq!(slave(&mut m, 1), "ip=10.9.8.7,port=7777");
}
