//! respub as a replica: of a real redis-server master holding keys (its
//! RDB, disk or diskless, skipped), of another respub, and in a chain of
//! three; every node's subscribers get what the master publishes, in
//! order; a dropped link continues from the backlog (`+CONTINUE`);
//! `REPLICAOF NO ONE` keeps clients and history; INFO replication and ROLE
//! have a Redis replica's shape.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{Conn, RedisServer, TestServer, eventually};

/// The value of `name:` in INFO `section`.
fn field(conn: &mut Conn, section: &str, name: &str) -> String {
    let text = common::text(&conn.call(&["INFO", section]));
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_default()
        .to_owned()
}

fn info(conn: &mut Conn, name: &str) -> String {
    field(conn, "replication", name)
}

fn stat(conn: &mut Conn, name: &str) -> String {
    field(conn, "stats", name)
}

/// Makes the server on `port` a replica of `master` and waits for the link.
fn follow(port: u16, master: u16) -> Conn {
    let mut c = Conn::connect(port);
    assert_eq!(
        c.call(&["REPLICAOF", "127.0.0.1", &master.to_string()]),
        b"+OK\r\n"
    );
    eventually(|| info(&mut c, "master_link_status") == "up");
    c
}

/// The message of the next frame a subscriber gets.
fn message(sub: &mut Conn) -> Vec<u8> {
    let frame = sub.frame().unwrap();
    let items = frame.items().unwrap();
    common::bulk_of(items.last().unwrap()).unwrap().to_vec()
}

fn with_keys(master: &mut Conn) {
    for i in 0..200 {
        master.call(&["SET", &format!("key{i}"), &"v".repeat(10_000)]);
    }
}

#[test]
fn respub_follows_a_redis_master_with_keys_disk_or_diskless() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().to_str().unwrap();
    for mode in [
        vec![
            "--repl-diskless-sync",
            "yes",
            "--repl-diskless-sync-delay",
            "0",
        ],
        vec!["--repl-diskless-sync", "no", "--dir", dir],
    ] {
        let redis = RedisServer::start_with(&mode);
        let mut on_master = Conn::connect(redis.port);
        with_keys(&mut on_master);
        let replica = TestServer::start();
        let mut admin = follow(replica.port, redis.port);
        let mut sub = Conn::connect(replica.port);
        sub.call(&["SUBSCRIBE", "ch"]);
        let mut ssub = Conn::connect(replica.port);
        ssub.call(&["SSUBSCRIBE", "sh"]);
        for i in 0..50 {
            on_master.call(&["PUBLISH", "ch", &format!("m{i}")]);
        }
        on_master.call(&["SPUBLISH", "sh", "s"]);
        for i in 0..50 {
            assert_eq!(message(&mut sub), format!("m{i}").as_bytes(), "{mode:?}");
        }
        assert_eq!(message(&mut ssub), b"s");
        let offset = info(&mut on_master, "master_repl_offset");
        eventually(|| info(&mut admin, "slave_repl_offset") == offset);
        // The master sees its replica, acknowledging that offset.
        eventually(|| info(&mut on_master, "slave0").contains(&format!("offset={offset},")));
    }
}

#[test]
fn a_chain_of_three_respub_nodes_delivers_everywhere_in_order() {
    let a = TestServer::start();
    let b = TestServer::start();
    let c = TestServer::start();
    let mut on_b = follow(b.port, a.port);
    let mut on_c = follow(c.port, b.port);
    let mut subs: Vec<Conn> = [a.port, b.port, c.port]
        .iter()
        .map(|p| {
            let mut s = Conn::connect(*p);
            s.call(&["SUBSCRIBE", "ch"]);
            s
        })
        .collect();
    let mut publisher = Conn::connect(a.port);
    for i in 0..100 {
        publisher.call(&["PUBLISH", "ch", &format!("m{i}")]);
    }
    for sub in &mut subs {
        for i in 0..100 {
            assert_eq!(message(sub), format!("m{i}").as_bytes());
        }
    }
    // One history: the same id and offset on every node.
    let mut on_a = Conn::connect(a.port);
    let (id, offset) = (
        info(&mut on_a, "master_replid"),
        info(&mut on_a, "master_repl_offset"),
    );
    for node in [&mut on_b, &mut on_c] {
        eventually(|| info(node, "master_repl_offset") == offset);
        assert_eq!(info(node, "master_replid"), id);
    }
    // What is published on a replica stays there.
    on_c.call(&["PUBLISH", "ch", "local"]);
    assert_eq!(message(&mut subs[2]), b"local");
    assert_eq!(info(&mut on_c, "master_repl_offset"), offset);
}

#[test]
fn a_dropped_link_continues_and_replicaof_no_one_keeps_clients() {
    let a = TestServer::start();
    let b = TestServer::start();
    let mut on_b = follow(b.port, a.port);
    let mut on_a = Conn::connect(a.port);
    let mut sub = Conn::connect(b.port);
    sub.call(&["SUBSCRIBE", "ch"]);
    on_a.call(&["PUBLISH", "ch", "one"]);
    assert_eq!(message(&mut sub), b"one");

    assert_eq!(on_a.call(&["CLIENT", "KILL", "TYPE", "replica"]), b":1\r\n");
    eventually(|| stat(&mut on_a, "sync_partial_ok") == "1");
    eventually(|| info(&mut on_b, "master_link_status") == "up");
    on_a.call(&["PUBLISH", "ch", "two"]);
    assert_eq!(message(&mut sub), b"two");
    assert_eq!(stat(&mut on_a, "sync_full"), "1");

    let old = info(&mut on_b, "master_replid");
    assert_eq!(on_b.call(&["REPLICAOF", "NO", "ONE"]), b"+OK\r\n");
    assert_eq!(info(&mut on_b, "master_replid2"), old);
    let role = on_b.call(&["ROLE"]);
    assert!(role.starts_with(b"*3\r\n$6\r\nmaster\r\n"), "{role:?}");
    on_b.call(&["PUBLISH", "ch", "three"]);
    assert_eq!(message(&mut sub), b"three");
}

/// The names of INFO replication's lines, in order.
fn shape(conn: &mut Conn) -> Vec<String> {
    let text = common::text(&conn.call(&["INFO", "replication"]));
    text.lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_owned()))
        .collect()
}

#[test]
fn a_replica_answers_info_and_role_as_a_redis_replica() {
    let master = RedisServer::start_with(&["--repl-diskless-sync-delay", "0"]);
    let ours = TestServer::start();
    let theirs = RedisServer::start();
    let mut ours = follow(ours.port, master.port);
    let mut theirs = follow(theirs.port, master.port);
    assert_eq!(shape(&mut ours), shape(&mut theirs));
    let role = |c: &mut Conn| {
        let text = String::from_utf8(c.call(&["ROLE"])).unwrap();
        text.rsplit_once(':').unwrap().0.to_owned()
    };
    assert_eq!(role(&mut ours), role(&mut theirs));
    for c in [&mut ours, &mut theirs] {
        assert_eq!(
            c.call(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]),
            b"+OK Already connected to specified master\r\n"
        );
    }
    assert_eq!(
        ours.call(&["REPLICAOF", "x", "99999"]),
        theirs.call(&["REPLICAOF", "x", "99999"])
    );
}

#[test]
fn a_replica_without_its_master_refuses_sync_as_redis() {
    // A master that is not there: the link stays down.
    let nobody = common::free_port().to_string();
    let redis = RedisServer::start_with(&["--replicaof", "127.0.0.1", &nobody]);
    let respub = TestServer::start();
    let mut on_respub = Conn::connect(respub.port);
    on_respub.call(&["REPLICAOF", "127.0.0.1", &nobody]);
    for cmd in [&["PSYNC", "?", "-1"][..], &["SYNC"]] {
        let want = Conn::connect(redis.port).call(cmd);
        assert_eq!(
            String::from_utf8_lossy(&Conn::connect(respub.port).call(cmd)),
            String::from_utf8_lossy(&want),
            "{cmd:?}"
        );
    }
}

#[test]
fn a_promoted_middle_node_passes_its_new_history_down_the_chain() {
    let x = TestServer::start();
    let a = TestServer::start();
    let b = TestServer::start();
    let c = TestServer::start();
    let mut on_a = follow(a.port, x.port);
    let mut on_b = follow(b.port, a.port);
    let mut on_c = follow(c.port, b.port);
    assert_eq!(on_a.call(&["REPLICAOF", "NO", "ONE"]), b"+OK\r\n");
    let id = info(&mut on_a, "master_replid");
    // B continues from A's backlog and learns the new id; so must C, which
    // only B tells.
    eventually(|| info(&mut on_b, "master_replid") == id);
    eventually(|| {
        info(&mut on_c, "master_replid") == id && info(&mut on_c, "master_link_status") == "up"
    });
    let mut sub = Conn::connect(c.port);
    sub.call(&["SUBSCRIBE", "ch"]);
    on_a.call(&["PUBLISH", "ch", "new history"]);
    assert_eq!(message(&mut sub), b"new history");
    assert_eq!(stat(&mut on_a, "sync_partial_ok"), "1");
    assert_eq!(stat(&mut on_b, "sync_partial_ok"), "1");
}
