//! CLIENT LIST and CLIENT INFO: Redis 7.2's fields in its order, compared
//! with a real redis-server's line, and values that are respub's real
//! state (descriptors, query buffer, output queue), checked by effect.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{Conn, RedisServer, TestServer, eventually, field, text};

/// Redis 7.2's CLIENT LIST fields, in order.
const FIELDS: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
    "lib-name",
    "lib-ver",
];

#[test]
fn client_list_has_redis_fields_in_order() {
    let server = TestServer::start();
    let mut a = Conn::connect(server.port);
    let mut b = Conn::connect(server.port);
    a.call(&["CLIENT", "SETNAME", "alpha"]);
    a.call(&["CLIENT", "SETINFO", "LIB-NAME", "mylib"]);
    b.call(&["SUBSCRIBE", "x", "y"]);
    b.frame().unwrap(); // the confirmation for y
    b.call(&["PSUBSCRIBE", "p*"]);
    let list = text(&a.call(&["CLIENT", "LIST"]));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(list.ends_with('\n'));
    for line in &lines {
        let names: Vec<&str> = line
            .split(' ')
            .map(|kv| kv.split('=').next().unwrap())
            .collect();
        assert_eq!(names, FIELDS);
    }
    let (la, lb) = (lines[0], lines[1]);
    assert_eq!(field(la, "name"), "alpha");
    assert_eq!(field(la, "lib-name"), "mylib");
    assert_eq!(field(la, "flags"), "N");
    assert_eq!(field(la, "cmd"), "client|list");
    assert_eq!(field(lb, "flags"), "P");
    assert_eq!(
        (field(lb, "sub"), field(lb, "psub"), field(lb, "ssub")),
        ("2", "1", "0")
    );
    // CLIENT INFO is this connection's line; CLIENT ID agrees with it.
    let info = text(&a.call(&["CLIENT", "INFO"]));
    let id = String::from_utf8(a.call(&["CLIENT", "ID"])).unwrap();
    assert_eq!(format!(":{}\r\n", field(info.trim_end(), "id")), id);
    // Filters.
    let pubsub = text(&a.call(&["CLIENT", "LIST", "TYPE", "pubsub"]));
    assert_eq!(pubsub.lines().count(), 1);
    assert_eq!(field(pubsub.trim_end(), "id"), field(lb, "id"));
    let by_id = text(&a.call(&["CLIENT", "LIST", "ID", field(la, "id")]));
    assert_eq!(by_id.lines().count(), 1);
    assert_eq!(
        a.call(&["CLIENT", "LIST", "TYPE", "bogus"]),
        b"-ERR Unknown client type 'bogus'\r\n"
    );
    assert_eq!(
        a.call(&["CLIENT", "LIST", "ID", "x"]),
        b"-ERR Invalid client ID\r\n"
    );
    // RESP3 gets a verbatim string.
    a.call(&["HELLO", "3"]);
    assert!(a.call(&["CLIENT", "INFO"]).starts_with(b"="));
}

/// The field names of a CLIENT LIST line, in order.
fn names(line: &str) -> Vec<&str> {
    line.trim_end()
        .split(' ')
        .map(|kv| kv.split('=').next().unwrap())
        .collect()
}

/// The field names and the values that do not vary between servers or runs
/// compare equal; 7.0.15 lacks 7.2's `lib-name` and `lib-ver`, which are
/// added to its line here and nowhere else.
#[test]
fn client_info_matches_redis_field_for_field() {
    fn line(port: u16, is_7_0: bool) -> (Vec<String>, Vec<String>) {
        let mut c = Conn::connect(port);
        let info = text(&c.call(&["CLIENT", "INFO"]));
        let mut names: Vec<String> = names(&info).into_iter().map(str::to_owned).collect();
        if is_7_0 {
            names.extend(["lib-name".to_owned(), "lib-ver".to_owned()]);
        }
        let stable = [
            "flags", "db", "sub", "psub", "ssub", "multi", "argv-mem", "cmd", "user",
        ]
        .map(|f| format!("{f}={}", field(info.trim_end(), f)));
        (names, stable.to_vec())
    }
    let respub = TestServer::start();
    let redis = RedisServer::start();
    let ours = line(respub.port, false);
    assert_eq!(ours, line(redis.port, redis.is_7_0()));
    assert_eq!(ours.0, FIELDS);
}

/// `fd` is the socket's descriptor in this process (the server runs in
/// the test's process), different for each client.
#[test]
fn fd_is_the_real_descriptor() {
    let server = TestServer::start();
    let mut a = Conn::connect(server.port);
    let b = Conn::connect(server.port);
    let list = text(&a.call(&["CLIENT", "LIST"]));
    let fds: Vec<i32> = list
        .lines()
        .map(|l| field(l, "fd").parse().unwrap())
        .collect();
    assert_eq!(fds.len(), 2);
    assert_ne!(fds[0], fds[1]);
    for fd in fds {
        let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        assert!(
            target.to_string_lossy().starts_with("socket:"),
            "{target:?}"
        );
    }
    drop(b);
}

/// A request still arriving is in `qbuf`, its complete arguments in
/// `argv-mem`; the caller's own command is in its `argv-mem`.
#[test]
fn query_buffer_fields_follow_input() {
    let server = TestServer::start();
    let mut admin = Conn::connect(server.port);
    let mut slow = Conn::connect(server.port);
    let id = String::from_utf8(slow.call(&["CLIENT", "ID"])).unwrap();
    let id = id.trim_start_matches(':').trim_end().to_owned();
    let own = text(&admin.call(&["CLIENT", "INFO"]));
    assert_eq!(field(&own, "argv-mem"), "10", "CLIENT + INFO");
    slow.send_raw(b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nx\r\n$5\r\nhel");
    let mut line = String::new();
    eventually(|| {
        line = text(&admin.call(&["CLIENT", "LIST", "ID", &id]));
        field(&line, "qbuf") != "0"
    });
    assert_eq!(field(&line, "argv-mem"), "8", "PUBLISH + x: {line}");
    assert_ne!(field(&line, "qbuf-free"), "0", "{line}");
    slow.send_raw(b"lo\r\n");
    assert_eq!(slow.frame().unwrap().raw, b":0\r\n");
    let line = text(&admin.call(&["CLIENT", "LIST", "ID", &id]));
    assert_eq!((field(&line, "qbuf"), field(&line, "argv-mem")), ("0", "0"));
}

/// A subscriber that stops reading: its queue shows in `omem` and `oll`,
/// a blocked write in `events=rw`, a small frame in `obl`, `rbs`, `rbp`.
#[test]
fn output_fields_follow_a_stuck_subscriber() {
    let server = TestServer::start();
    let mut publisher = Conn::connect(server.port);
    let mut stuck = Conn::connect(server.port);
    stuck.call(&["SUBSCRIBE", "s"]);
    let idle = text(&publisher.call(&["CLIENT", "LIST", "TYPE", "pubsub"]));
    assert_eq!(
        ["omem", "oll", "obl", "events"].map(|f| field(&idle, f)),
        ["0", "0", "0", "r"],
        "{idle}"
    );
    let big = vec![b'x'; 64 * 1024];
    let mut line = String::new();
    // Until the socket's buffers are full and the writer waits (well under
    // the 32 MiB output limit).
    eventually(|| {
        for _ in 0..8 {
            publisher.call(&[&b"PUBLISH"[..], b"s", &big]);
        }
        line = text(&publisher.call(&["CLIENT", "LIST", "TYPE", "pubsub"]));
        field(&line, "events") == "rw" && field(&line, "oll") != "0"
    });
    publisher.call(&["PUBLISH", "s", "small"]);
    let line = text(&publisher.call(&["CLIENT", "LIST", "TYPE", "pubsub"]));
    let n = |f: &str| field(&line, f).parse::<usize>().unwrap();
    assert!(n("omem") >= 64 * 1024, "{line}");
    assert!(
        n("obl") > 0 && n("rbs") >= n("obl") && n("rbp") >= n("obl"),
        "{line}"
    );
    assert!(n("tot-mem") > n("omem") + n("obl"), "{line}");
}

/// NO-EVICT and NO-TOUCH show as Redis shows them, `e` before `T`.
#[test]
fn no_evict_and_no_touch_flags() {
    let server = TestServer::start();
    let mut c = Conn::connect(server.port);
    let flags =
        |c: &mut Conn| field(text(&c.call(&["CLIENT", "INFO"])).trim_end(), "flags").to_owned();
    assert_eq!(c.call(&["CLIENT", "NO-TOUCH", "on"]), b"+OK\r\n");
    assert_eq!(flags(&mut c), "T");
    assert_eq!(c.call(&["CLIENT", "NO-EVICT", "ON"]), b"+OK\r\n");
    assert_eq!(flags(&mut c), "eT");
    c.call(&["HELLO", "3"]);
    c.call(&["SUBSCRIBE", "f"]);
    assert_eq!(flags(&mut c), "PeT");
    c.call(&["CLIENT", "NO-EVICT", "off"]);
    c.call(&["CLIENT", "NO-TOUCH", "off"]);
    c.call(&["UNSUBSCRIBE"]);
    assert_eq!(flags(&mut c), "N");
}
