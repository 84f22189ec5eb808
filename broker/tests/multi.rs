//! MULTI, EXEC, DISCARD, WATCH and UNWATCH compared with a real
//! redis-server byte for byte: queueing, errors at queue time and
//! EXECABORT, errors at run time inside EXEC's reply, nesting, DISCARD,
//! RESET, subscribe commands inside a transaction (RESP2 and RESP3), and
//! that EXEC runs its commands with no other client's command in between.
//!
//! The differential harness closes each step with a SUBSCRIBE barrier,
//! which a transaction would queue; here each script is sent whole and
//! read until the QUIT sent after it closes the connection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::diff::mask_hello;
use common::{Conn, RedisServer, TestServer};

/// One script: its name and its commands, each split at spaces.
type Script = (&'static str, &'static [&'static str]);

const SCRIPTS: &[Script] = &[
    (
        "queue and run",
        &[
            "MULTI",
            "PUBLISH ch a",
            "PING",
            "ECHO x",
            "PUBSUB NUMSUB ch",
            "EXEC",
        ],
    ),
    ("empty transaction", &["MULTI", "EXEC"]),
    (
        "nesting and strays",
        &["EXEC", "DISCARD", "MULTI", "MULTI", "PING", "EXEC", "EXEC"],
    ),
    (
        "unknown command aborts",
        &["MULTI", "PING", "NOSUCH a b", "PING", "EXEC", "PING"],
    ),
    (
        "unknown subcommand aborts",
        &["MULTI", "CLIENT NOSUCH", "EXEC"],
    ),
    ("arity error aborts", &["MULTI", "PUBLISH ch", "EXEC"]),
    (
        "no-multi command aborts",
        &["MULTI", "SHUTDOWN NOSAVE", "PING", "EXEC"],
    ),
    (
        "run-time errors stay inside EXEC's reply",
        &[
            "MULTI",
            "SELECT x",
            "PING",
            "CLIENT SETNAME a b",
            "ECHO y",
            "EXEC",
        ],
    ),
    (
        "discard",
        &["MULTI", "PUBLISH ch a", "DISCARD", "DISCARD", "PING"],
    ),
    (
        "watch",
        &[
            "WATCH k",
            "WATCH",
            "MULTI",
            "WATCH k",
            "UNWATCH",
            "PING",
            "EXEC",
            "UNWATCH",
            "UNWATCH x",
        ],
    ),
    (
        "reset ends the transaction",
        &["MULTI", "PING", "RESET", "EXEC"],
    ),
    (
        "subscribe inside a transaction",
        &[
            "MULTI",
            "SUBSCRIBE a b",
            "PSUBSCRIBE p*",
            "PUBSUB NUMSUB a",
            "EXEC",
            "MULTI",
            "UNSUBSCRIBE a b",
            "PUNSUBSCRIBE p*",
            "EXEC",
        ],
    ),
    (
        "subscribed RESP2 client refuses MULTI",
        &[
            "SUBSCRIBE a",
            "MULTI",
            "EXEC",
            "UNSUBSCRIBE a",
            "MULTI",
            "EXEC",
        ],
    ),
    (
        "RESP3 transaction",
        &[
            "HELLO 3",
            "MULTI",
            "SUBSCRIBE a",
            "PING",
            "PUBSUB NUMSUB a",
            "EXEC",
            "MULTI",
            "NOSUCH",
            "EXEC",
        ],
    ),
    ("monitor inside EXEC", &["MULTI", "MONITOR", "PING", "EXEC"]),
    (
        // What redis-sentinel sends to promote a replica (sentinel.c
        // sentinelSendSlaveOf): every command known at queue time, so EXEC
        // runs them all.
        "sentinel's promotion block",
        &[
            "MULTI",
            "SLAVEOF NO ONE",
            "CONFIG REWRITE",
            "CLIENT KILL TYPE normal",
            "CLIENT KILL TYPE pubsub",
            "EXEC",
        ],
    ),
    (
        "client reply off inside a transaction",
        &[
            "MULTI",
            "CLIENT REPLY OFF",
            "PING",
            "EXEC",
            "CLIENT REPLY ON",
        ],
    ),
];

/// Sends the script whole, then QUIT, and returns every byte read until
/// the server closes the connection (a reply stream that EXEC and CLIENT
/// REPLY leave unframed is compared as bytes).
fn run_script(port: u16, script: &[&str]) -> Vec<u8> {
    let mut conn = Conn::connect(port);
    for line in script {
        let args: Vec<&str> = line.split(' ').collect();
        conn.send(&args);
    }
    conn.send(&["QUIT"]);
    conn.read_to_eof()
}

#[test]
fn transactions_match_redis_byte_for_byte() {
    let redis = RedisServer::start();
    let respub = TestServer::start();
    let mut failures = Vec::new();
    for (name, script) in SCRIPTS {
        // HELLO's reply names each server's version and client id.
        let ours = mask_hello(&run_script(respub.port, script));
        let theirs = mask_hello(&run_script(redis.port, script));
        if ours != theirs {
            failures.push(format!(
                "{name}:\n  respub {:?}\n  redis  {:?}",
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What a subscriber sees when a client publishes in a transaction while
/// another publishes outside it: the transaction's messages together, in
/// order, after what was published before its EXEC.
fn interleaving(port: u16) -> Vec<Vec<u8>> {
    let mut sub = Conn::connect(port);
    sub.call(&["SUBSCRIBE", "ch"]);
    let mut tx = Conn::connect(port);
    let mut other = Conn::connect(port);
    let mut seen = vec![tx.call(&["MULTI"])];
    for i in 0..50 {
        seen.push(tx.call(&["PUBLISH", "ch", &format!("tx{i}")]));
    }
    seen.push(other.call(&["PUBLISH", "ch", "before"]));
    // EXEC and another client's publishes race; EXEC's fifty must arrive
    // as one block whatever the order the two are run in.
    tx.send(&["EXEC"]);
    for i in 0..20 {
        other.send(&["PUBLISH", "ch", &format!("other{i}")]);
    }
    seen.push(tx.frame().unwrap().raw);
    for _ in 0..20 {
        other.frame().unwrap();
    }
    let messages: Vec<String> = (0..71)
        .map(|_| {
            let frame = sub.frame().unwrap();
            let items = frame.items().unwrap();
            String::from_utf8(common::bulk_of(&items[2]).unwrap().to_vec()).unwrap()
        })
        .collect();
    let first_tx = messages.iter().position(|m| m == "tx0").unwrap();
    let block: Vec<&String> = messages.iter().skip(first_tx).take(50).collect();
    let expected: Vec<String> = (0..50).map(|i| format!("tx{i}")).collect();
    assert_eq!(block, expected.iter().collect::<Vec<_>>(), "{messages:?}");
    assert_eq!(messages[0], "before");
    seen
}

#[test]
fn exec_runs_without_other_clients_in_between() {
    let redis = RedisServer::start();
    let respub = TestServer::start();
    assert_eq!(interleaving(respub.port), interleaving(redis.port));
}

/// CLIENT LIST shows a transaction as Redis does: flag `x`, `multi=` the
/// commands queued; `multi=-1` outside one.
#[test]
fn client_list_shows_the_transaction() {
    let respub = TestServer::start();
    let mut c = Conn::connect(respub.port);
    let field = |c: &mut Conn, name: &str| {
        let line = common::text(&c.call(&["CLIENT", "INFO"]));
        common::field(line.trim_end(), name).to_owned()
    };
    assert_eq!(field(&mut c, "multi"), "-1");
    let mut other = Conn::connect(respub.port);
    c.call(&["MULTI"]);
    c.call(&["PUBLISH", "ch", "hello"]);
    c.call(&["PING"]);
    let list = common::text(&other.call(&["CLIENT", "LIST"]));
    let line = list
        .lines()
        .find(|l| common::field(l, "cmd") == "ping")
        .unwrap();
    assert_eq!(common::field(line, "flags"), "x");
    assert_eq!(common::field(line, "multi"), "2");
    assert_eq!(common::field(line, "multi-mem"), "18");
    c.call(&["EXEC"]);
    assert_eq!(field(&mut c, "multi"), "-1");
}

/// Refusals of EXEC itself end the transaction and are worded as Redis
/// words them: `EXECABORT ... because of: <reason>`, here before AUTH.
#[test]
fn refused_exec_aborts_as_redis() {
    let redis = RedisServer::start_with(&["--requirepass", "pw"]);
    let respub = TestServer::start_with(respub_broker::Config {
        requirepass: Some("pw".into()),
        ..Default::default()
    });
    let script = &[
        "EXEC", "AUTH pw", "MULTI", "EXEC x", "EXEC", "MULTI", "PING",
    ];
    assert_eq!(
        String::from_utf8(run_script(respub.port, script)).unwrap(),
        String::from_utf8(run_script(redis.port, script)).unwrap()
    );
}

/// Redis 7.2 sends what PUBLISH delivers to the publishing client itself
/// after the whole EXEC reply, not inside it (7.0 put it inline, see
/// docs/protocol.md, "Redis 7.0.15 versus 7.2"): checked against 7.2's
/// bytes.
#[test]
fn self_deliveries_follow_the_exec_reply() {
    let respub = TestServer::start();
    let got = run_script(
        respub.port,
        &[
            "HELLO 3",
            "SUBSCRIBE a",
            "MULTI",
            "PUBLISH a x",
            "PING",
            "EXEC",
        ],
    );
    let text = String::from_utf8(got).unwrap();
    let tail = text.split_once("+QUEUED\r\n+QUEUED\r\n").unwrap().1;
    assert_eq!(
        tail,
        "*2\r\n:1\r\n+PONG\r\n>3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nx\r\n+OK\r\n"
    );
}

/// `CLIENT PAUSE WRITE` holds a PUBLISH sent inside MULTI (before it is
/// queued, as Redis checks pauses before queueing) and lets an EXEC of
/// PINGs through; on UNPAUSE the held commands answer in order.
fn paused_transaction(port: u16) -> Vec<u8> {
    let mut admin = Conn::connect(port);
    let mut tx = Conn::connect(port);
    tx.call(&["CLIENT", "SETNAME", "tx"]);
    let mut seen = tx.call(&["MULTI"]);
    seen.extend(tx.call(&["PING"]));
    seen.extend(admin.call(&["CLIENT", "PAUSE", "100000", "WRITE"]));
    seen.extend(tx.call(&["EXEC"]));
    seen.extend(tx.call(&["MULTI"]));
    tx.send(&["PUBLISH", "ch", "held"]);
    tx.send(&["EXEC"]);
    common::eventually(|| {
        let list = common::text(&admin.call(&["CLIENT", "LIST"]));
        list.lines()
            .any(|l| common::field(l, "name") == "tx" && common::field(l, "flags").contains('b'))
    });
    seen.extend(admin.call(&["CLIENT", "UNPAUSE"]));
    seen.extend(tx.frame().unwrap().raw);
    seen.extend(tx.frame().unwrap().raw);
    seen
}

#[test]
fn client_pause_write_holds_publishes_in_a_transaction() {
    let redis = RedisServer::start();
    let respub = TestServer::start();
    assert_eq!(
        String::from_utf8(paused_transaction(respub.port)).unwrap(),
        String::from_utf8(paused_transaction(redis.port)).unwrap()
    );
}

/// A user's permissions revoked between MULTI and EXEC: EXEC's element is
/// Redis' NOPERM text, and ACL LOG records the denial in context `multi`.
fn revoked(port: u16) -> Vec<String> {
    let mut admin = Conn::connect(port);
    admin.call(&["ACL", "SETUSER", "u", "on", "nopass", "+@all", "&*"]);
    let mut c = Conn::connect(port);
    let mut seen = vec![c.call(&["AUTH", "u", "x"]), c.call(&["MULTI"])];
    seen.push(c.call(&["PUBLISH", "ch", "m"]));
    seen.push(c.call(&["PING"]));
    admin.call(&["ACL", "SETUSER", "u", "-publish"]);
    seen.push(c.call(&["EXEC"]));
    let mut seen: Vec<String> = seen
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect();
    let log = admin.call(&["ACL", "LOG", "1"]);
    let Ok(Some((common::Value::Agg(_, Some(entries)), _))) = common::parse_value(&log) else {
        panic!("ACL LOG: {log:?}");
    };
    let Some(common::Value::Agg(_, Some(fields))) = entries.first() else {
        panic!("ACL LOG entry: {log:?}");
    };
    for pair in fields.chunks(2) {
        let key = common::bulk_of(&pair[0]).unwrap();
        if [&b"count"[..], b"reason", b"context", b"object", b"username"].contains(&key) {
            seen.push(format!("{:?}", pair));
        }
    }
    seen
}

#[test]
fn permissions_revoked_before_exec_are_refused_and_logged_as_redis() {
    let redis = RedisServer::start();
    let respub = TestServer::start();
    assert_eq!(revoked(respub.port), revoked(redis.port));
}
