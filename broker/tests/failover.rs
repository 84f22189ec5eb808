//! FAILOVER against redis-server 7.0.15: its errors, byte for byte, on a
//! master without replicas, with one, and on a replica; a failover that
//! waits for a replica that never catches up, ended by ABORT, by its
//! TIMEOUT, or forced to the target (then aborted, a master again), each
//! step answered as a redis-server master answers it, and a target that
//! refuses `PSYNC ... FAILOVER` (a respub master) ending it. Then real
//! failovers: a respub master to a respub and to a redis-server replica,
//! and a redis-server master to a respub replica (which accepts `PSYNC
//! ... FAILOVER`): the roles swap, and the old master's subscribers get
//! what is published on the new one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::replication::{info, same};
use common::{Conn, RedisServer, TestServer, eventually, free_port};

/// The errors any master gives, whatever its replicas.
const PARSING: &[&[&str]] = &[
    &["FAILOVER", "TIMEOUT", "0"],
    &["FAILOVER", "TIMEOUT", "-5"],
    &["FAILOVER", "TIMEOUT", "x"],
    &["FAILOVER", "TIMEOUT"],
    &["FAILOVER", "TIMEOUT", "1", "TIMEOUT", "2"],
    &["FAILOVER", "TO", "127.0.0.1"],
    &["FAILOVER", "TO", "127.0.0.1", "x"],
    &["FAILOVER", "TO", "a", "1", "TO", "b", "2"],
    &["FAILOVER", "FORCE", "FORCE"],
    &["FAILOVER", "ABORT", "TIMEOUT", "10"],
    &["FAILOVER", "bogus"],
    &["FAILOVER", "ABORT"],
];

#[test]
fn errors_without_replicas_and_on_a_replica_match_redis() {
    let server = TestServer::start();
    let redis = RedisServer::start();
    let mut a = Conn::connect(server.port);
    let mut b = Conn::connect(redis.port);
    same(&mut a, &mut b, PARSING);
    same(
        &mut a,
        &mut b,
        &[
            &["FAILOVER"],
            &["FAILOVER", "FORCE"],
            &["FAILOVER", "TO", "127.0.0.1", "1", "TIMEOUT", "5", "FORCE"],
        ],
    );
    assert_eq!(info(&mut a, "master_failover_state"), "no-failover");
    let nowhere = free_port().to_string();
    same(
        &mut a,
        &mut b,
        &[
            &["REPLICAOF", "127.0.0.1", &nowhere],
            &["FAILOVER"],
            &["FAILOVER", "TIMEOUT", "0"],
            &["FAILOVER", "ABORT"],
            &[
                "PSYNC",
                "0123456789012345678901234567890123456789",
                "1",
                "FAILOVER",
            ],
        ],
    );
}

/// A replica that attaches (announcing `port`) and acknowledges offset 0
/// once, so its master counts it online, and never again: a failover to
/// it waits for ever.
fn stuck_replica(master: u16, port: u16) -> Conn {
    let mut fake = Conn::connect(master);
    let port = port.to_string();
    assert_eq!(
        fake.call(&["REPLCONF", "listening-port", &port]),
        b"+OK\r\n"
    );
    let capa = fake.call(&["REPLCONF", "capa", "eof", "capa", "psync2"]);
    assert_eq!(capa, b"+OK\r\n");
    let reply = fake.call(&["PSYNC", "?", "-1"]);
    assert!(reply.starts_with(b"+FULLRESYNC"), "{reply:?}");
    let mut admin = Conn::connect(master);
    eventually(|| {
        fake.send(&["REPLCONF", "ACK", "0"]);
        info(&mut admin, "slave0").contains("state=online")
    });
    // The stream moves past what it acknowledged.
    admin.call(&["PUBLISH", "c", "m"]);
    fake
}

/// A master (respub or redis-server) with a stuck replica announcing
/// `port`, where nothing listens.
fn stuck(port: u16, redis: bool) -> (Box<dyn std::any::Any>, Conn, Conn) {
    let (server, master): (Box<dyn std::any::Any>, u16) = if redis {
        let r = RedisServer::start_with(&["--repl-diskless-sync-delay", "0"]);
        let p = r.port;
        (Box::new(r), p)
    } else {
        let s = TestServer::start();
        let p = s.port;
        (Box::new(s), p)
    };
    let fake = stuck_replica(master, port);
    (server, fake, Conn::connect(master))
}

#[test]
fn a_failover_that_cannot_complete_is_answered_as_redis_answers_it() {
    let nowhere = free_port();
    let (_ours, _fake_a, mut a) = stuck(nowhere, false);
    let (_theirs, _fake_b, mut b) = stuck(nowhere, true);
    let to = nowhere.to_string();
    same(&mut a, &mut b, PARSING);
    same(
        &mut a,
        &mut b,
        &[
            &["FAILOVER", "FORCE"],
            &["FAILOVER", "TO", "127.0.0.1", "1"],
            &["FAILOVER", "TO", "127.0.0.1", &to, "FORCE"],
            &["FAILOVER", "TO", "localhost", &to],
            &["FAILOVER", "TIMEOUT", "60000"],
            &["FAILOVER"],
            &["FAILOVER", "ABORT", "x"],
            &["REPLICAOF", "no", "one"],
            &["PSYNC", "?", "-1"],
        ],
    );
    assert_eq!(info(&mut a, "master_failover_state"), "waiting-for-sync");
    assert_eq!(info(&mut b, "master_failover_state"), "waiting-for-sync");
    same(
        &mut a,
        &mut b,
        &[&["FAILOVER", "ABORT"], &["FAILOVER", "ABORT"]],
    );
    assert_eq!(info(&mut a, "master_failover_state"), "no-failover");

    // TIMEOUT without FORCE gives up; the PUBLISH sent meanwhile was held
    // until then.
    for c in [&mut a, &mut b] {
        assert_eq!(c.call(&["FAILOVER", "TIMEOUT", "300"]), b"+OK\r\n");
    }
    let mut publisher = Conn::connect(a.stream.peer_addr().unwrap().port());
    assert_eq!(publisher.call(&["PUBLISH", "c", "held"]), b":0\r\n");
    assert_eq!(info(&mut a, "master_failover_state"), "no-failover");
    eventually(|| info(&mut b, "master_failover_state") == "no-failover");
    assert!(a.call(&["ROLE"]).starts_with(b"*3\r\n$6\r\nmaster\r\n"));

    // With FORCE it fails over anyway, to a target that is not there, until
    // ABORT makes it a master again.
    for c in [&mut a, &mut b] {
        let force = [
            "FAILOVER",
            "TO",
            "127.0.0.1",
            &to,
            "TIMEOUT",
            "100",
            "FORCE",
        ];
        assert_eq!(c.call(&force), b"+OK\r\n");
        eventually(|| info(c, "master_failover_state") == "failover-in-progress");
        assert_eq!(info(c, "role"), "slave");
        assert_eq!(info(c, "master_port"), to);
    }
    same(
        &mut a,
        &mut b,
        &[
            &["FAILOVER", "TIMEOUT", "5"],
            &["REPLICAOF", "no", "one"],
            &["FAILOVER", "ABORT"],
            &["FAILOVER", "ABORT"],
        ],
    );
    for c in [&mut a, &mut b] {
        assert_eq!(info(c, "role"), "master");
        assert_eq!(info(c, "master_failover_state"), "no-failover");
    }
}

/// The message of the next frame a subscriber gets.
fn message(sub: &mut Conn) -> Vec<u8> {
    let frame = sub.frame().unwrap();
    let items = frame.items().unwrap();
    common::bulk_of(items.last().unwrap()).unwrap().to_vec()
}

/// FAILOVER (with `args`) on the master at `old` with its one replica at
/// `new`: the roles swap, the old master follows the new one and its
/// subscriber gets what is published there.
fn fail_over(old: u16, new: u16, args: &[&str]) {
    let mut on_old = Conn::connect(old);
    let mut on_new = Conn::connect(new);
    eventually(|| info(&mut on_new, "master_link_status") == "up");
    let online = format!("port={new},state=online");
    eventually(|| info(&mut on_old, "slave0").contains(&online));
    let mut sub = Conn::connect(old);
    sub.call(&["SUBSCRIBE", "ch"]);
    on_old.call(&["PUBLISH", "ch", "before"]);
    assert_eq!(message(&mut sub), b"before");
    let mut command = vec!["FAILOVER"];
    command.extend_from_slice(args);
    assert_eq!(on_old.call(&command), b"+OK\r\n");
    eventually(|| info(&mut on_old, "master_link_status") == "up");
    assert_eq!(info(&mut on_old, "master_failover_state"), "no-failover");
    assert_eq!(info(&mut on_old, "master_port"), new.to_string());
    let role = on_new.call(&["ROLE"]);
    assert!(role.starts_with(b"*3\r\n$6\r\nmaster\r\n"), "{role:?}");
    eventually(|| info(&mut on_new, "slave0").contains(&format!("port={old},")));
    // The old master's history continues on the new one.
    assert_eq!(
        info(&mut on_old, "master_replid"),
        info(&mut on_new, "master_replid")
    );
    assert_eq!(on_new.call(&["PUBLISH", "ch", "after"]), b":0\r\n");
    assert_eq!(message(&mut sub), b"after");
    // And the old master's writes are no longer held.
    assert_eq!(on_old.call(&["PUBLISH", "ch", "local"]), b":1\r\n");
    assert_eq!(message(&mut sub), b"local");
}

#[test]
fn a_respub_master_fails_over_to_a_respub_replica() {
    let a = TestServer::start();
    let b = TestServer::start();
    let mut on_b = Conn::connect(b.port);
    let replicaof = ["REPLICAOF", "127.0.0.1", &a.port.to_string()];
    assert_eq!(on_b.call(&replicaof), b"+OK\r\n");
    fail_over(a.port, b.port, &[]);
    // And back, naming the target.
    let mut on_a = Conn::connect(a.port);
    eventually(|| info(&mut on_a, "master_link_status") == "up");
    fail_over(b.port, a.port, &["TO", "127.0.0.1", &a.port.to_string()]);
}

#[test]
fn a_respub_master_fails_over_to_a_redis_replica() {
    let dir = tempfile::tempdir().unwrap();
    let a = TestServer::start();
    let master = a.port.to_string();
    let dir = dir.path().to_str().unwrap();
    let r = RedisServer::start_with(&["--replicaof", "127.0.0.1", &master, "--dir", dir]);
    fail_over(a.port, r.port, &["TIMEOUT", "5000"]);
}

#[test]
fn a_redis_master_fails_over_to_a_respub_replica() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().to_str().unwrap();
    let r = RedisServer::start_with(&["--repl-diskless-sync-delay", "0", "--dir", dir]);
    let ours = TestServer::start();
    let mut on_ours = Conn::connect(ours.port);
    let replicaof = ["REPLICAOF", "127.0.0.1", &r.port.to_string()];
    assert_eq!(on_ours.call(&replicaof), b"+OK\r\n");
    fail_over(
        r.port,
        ours.port,
        &["TO", "127.0.0.1", &ours.port.to_string()],
    );
}

#[test]
fn a_target_that_refuses_the_psync_ends_the_failover_as_in_redis() {
    // The "replica" announces the port of a master, which refuses `PSYNC
    // ... FAILOVER`: respub answers it as Redis does.
    let refusing = TestServer::start();
    for redis in [false, true] {
        let (_server, mut fake, mut admin) = stuck(refusing.port, redis);
        assert_eq!(admin.call(&["FAILOVER"]), b"+OK\r\n");
        eventually(|| {
            let offset = info(&mut admin, "master_repl_offset");
            fake.send(&["REPLCONF", "ACK", &offset]);
            info(&mut admin, "master_failover_state") == "no-failover"
        });
        assert_eq!(info(&mut admin, "role"), "master", "redis: {redis}");
        assert_eq!(
            admin.call(&["PUBLISH", "c", "m"]),
            b":0\r\n",
            "redis: {redis}"
        );
    }
    let mut on_refusing = Conn::connect(refusing.port);
    assert_eq!(info(&mut on_refusing, "role"), "master");
}
