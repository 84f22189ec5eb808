//! CONFIG as redis-server 7.2 answers it at runtime: `CONFIG SET port` and
//! `bind` move the listeners without dropping clients (and fail as Redis
//! fails, keeping the old ones), immutable directives stay so,
//! `notify-keyspace-events` is checked and shown as Redis does, every
//! directive respub accepts shows Redis' default with CONFIG GET, and the
//! directives respub accepts unused take, refuse and show back values as
//! Redis does. Each
//! check runs against a real redis-server too, and the bytes are compared.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::net::TcpStream;

use common::{Binary, Conn, REDIS_ARGS, RedisServer, free_port};
use respub_broker::Config;

/// respub-server started as the harness starts redis-server.
fn respub() -> (Binary, u16) {
    let port = free_port();
    let port_arg = port.to_string();
    let mut args = vec!["--port", port_arg.as_str()];
    args.extend_from_slice(REDIS_ARGS);
    let server = Binary::start(&args);
    (server, port)
}

fn refused(host: &str, port: u16) -> bool {
    TcpStream::connect((host, port)).is_err()
}

/// What a client sees of `CONFIG SET port`: the reply, the old port closed,
/// the new one serving, a subscriber of before still served, INFO
/// `tcp_port` and CONFIG GET following.
fn moves_port(port: u16) -> Vec<Vec<u8>> {
    let mut sub = Conn::connect(port);
    sub.call(&["SUBSCRIBE", "moved"]);
    let mut admin = Conn::connect(port);
    let next = free_port();
    let mut seen = vec![admin.call(&["CONFIG", "SET", "port", &next.to_string()])];
    assert!(refused("127.0.0.1", port), "the old port still accepts");
    let mut fresh = Conn::connect(next);
    seen.push(fresh.call(&["PUBLISH", "moved", "hi"]));
    seen.push(sub.frame().unwrap().raw);
    seen.push(admin.call(&["PING"]));
    let info = String::from_utf8(fresh.call(&["INFO", "server"])).unwrap();
    assert!(info.contains(&format!("tcp_port:{next}\r\n")), "{info}");
    let get = fresh.call(&["CONFIG", "GET", "port"]);
    assert!(String::from_utf8_lossy(&get).ends_with(&format!("{next}\r\n")));
    seen
}

#[test]
fn config_set_port_moves_the_listener_and_keeps_clients() {
    let redis = RedisServer::start();
    let (_respub, port) = respub();
    assert_eq!(moves_port(port), moves_port(redis.port));
}

/// `CONFIG SET port` to a port in use: Redis' error, and the old port
/// still serves.
fn port_in_use(port: u16) -> Vec<u8> {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port().to_string();
    let mut c = Conn::connect(port);
    let reply = c.call(&["CONFIG", "SET", "PORT", &busy]);
    assert_eq!(Conn::connect(port).call(&["PING"]), b"+PONG\r\n");
    let get = c.call(&["CONFIG", "GET", "port"]);
    assert!(String::from_utf8_lossy(&get).ends_with(&format!("{port}\r\n")));
    reply
}

#[test]
fn config_set_port_in_use_fails_and_keeps_the_old_listener() {
    let redis = RedisServer::start();
    let (_respub, port) = respub();
    let ours = port_in_use(port);
    assert_eq!(ours, port_in_use(redis.port));
    assert!(ours.starts_with(b"-ERR CONFIG SET failed (possibly related to argument 'port')"));
}

/// `CONFIG SET bind`: from `*` to one loopback address on the same port
/// (the old wildcard must close first), a subscriber kept; then an address
/// that cannot be bound, which fails and keeps the previous bind.
fn rebinds(port: u16) -> Vec<Vec<u8>> {
    let mut sub = Conn::connect(port);
    sub.call(&["SUBSCRIBE", "b"]);
    let mut seen = vec![sub.call(&["PING"])];
    let mut admin = Conn::connect(port);
    seen.push(admin.call(&["CONFIG", "SET", "bind", "* -::*"]));
    seen.push(Conn::connect(port).call(&["CONFIG", "GET", "bind"]));
    seen.push(admin.call(&["CONFIG", "SET", "bind", "127.0.0.2"]));
    assert!(refused("127.0.0.1", port), "127.0.0.1 still accepts");
    let mut moved = Conn::over(TcpStream::connect(("127.0.0.2", port)).unwrap());
    seen.push(moved.call(&["PUBLISH", "b", "x"]));
    seen.push(sub.frame().unwrap().raw);
    // TEST-NET-1 is never a local address.
    seen.push(admin.call(&["CONFIG", "SET", "bind", "192.0.2.1"]));
    seen.push(moved.call(&["CONFIG", "GET", "bind"]));
    let mut again = Conn::over(TcpStream::connect(("127.0.0.2", port)).unwrap());
    seen.push(again.call(&["PING"]));
    seen.push(admin.call(&["CONFIG", "SET", "bind", "127.0.0.1"]));
    seen
}

#[test]
fn config_set_bind_rebinds_and_a_failed_bind_keeps_the_old_addresses() {
    let redis = RedisServer::start();
    let (_respub, port) = respub();
    assert_eq!(rebinds(port), rebinds(redis.port));
}

/// Replies to CONFIG SET and GET of the process directives, which stay as
/// the server started, and of `notify-keyspace-events`, checked and shown
/// in Redis' canonical form.
fn process_and_keyspace_events(port: u16) -> Vec<Vec<u8>> {
    let mut c = Conn::connect(port);
    let mut seen = Vec::new();
    for name in ["daemonize", "supervised", "pidfile", "logfile", "dir"] {
        seen.push(c.call(&["CONFIG", "SET", name, "yes"]));
    }
    for value in [
        "Kx",
        "KEA",
        "A",
        "AKEmn",
        "ndtexg",
        "mEKndtexzhsl$g",
        "n$",
        "xx",
        "Kq",
        "",
        "E",
    ] {
        seen.push(c.call(&["CONFIG", "SET", "notify-keyspace-events", value]));
        seen.push(c.call(&["CONFIG", "GET", "notify-keyspace-events"]));
    }
    for value in ["99999", "-1", "abc"] {
        seen.push(c.call(&["CONFIG", "SET", "port", value]));
    }
    seen
}

#[test]
fn immutable_directives_and_keyspace_events_as_redis() {
    let redis = RedisServer::start();
    let (_respub, port) = respub();
    assert_eq!(
        process_and_keyspace_events(port),
        process_and_keyspace_events(redis.port)
    );
}

/// Directives whose value legitimately differs between two servers
/// started with the same arguments, and why; every other directive must
/// show the same bytes.
const MASKED: &[(&str, &str)] = &[("port", "each server has its own free port")];

/// Directives Redis 7.2 has and Debian's 7.0.15 does not, with 7.2's
/// default (the one place this test knows about 7.0).
const ONLY_7_2: &[(&str, &str)] = &[
    ("set-max-listpack-entries", "128"),
    ("set-max-listpack-value", "64"),
    ("locale-collate", ""),
];

fn config_get(c: &mut Conn, name: &str) -> Vec<u8> {
    c.call(&["CONFIG", "GET", name])
}

#[test]
fn config_get_shows_redis_defaults_for_every_accepted_directive() {
    // In respub's working directory, which `dir` shows (this one saves
    // nothing).
    let cwd = std::env::current_dir().unwrap();
    let redis = RedisServer::start_with(&["--dir", cwd.to_str().unwrap()]);
    let (_respub, port) = respub();
    let mut ours = Conn::connect(port);
    let mut theirs = Conn::connect(redis.port);
    let mut mismatches = Vec::new();
    for name in Config::accepted() {
        if MASKED.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let mine = config_get(&mut ours, name);
        let mut want = config_get(&mut theirs, name);
        if let Some((_, value)) = ONLY_7_2.iter().find(|(n, _)| *n == name) {
            if redis.is_7_0() {
                want = common::encode_cmd(&[name, value]);
            }
        }
        if mine != want {
            mismatches.push(format!(
                "{name}: respub {:?}, redis {:?}",
                String::from_utf8_lossy(&mine),
                String::from_utf8_lossy(&want)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Values tried on every directive respub accepts unused: each kind's good
/// and bad spellings (booleans, numbers as `string2ll` and `memtoull` read
/// them, percentages, enums, `save` pairs, templates, paths).
const PROBES: &[&str] = &[
    "yes",
    "NO",
    "0",
    "1",
    "7",
    "-1",
    "05",
    "+5",
    "abc",
    "1kb",
    "2M",
    "5%",
    "101%",
    "",
    "kb",
    "everysec",
    "ALLKEYS-LRU",
    "swapdb",
    "clients",
    "absolute",
    "3600 1 300 100",
    "100 -1",
    "1 2 3",
    "-2001 0 0",
    "{title} x",
    "{title",
    "{nosuch}",
    " {server-mode} ",
    "a/b",
    "h 6380",
    "no one",
    "99999999999999999999",
    "9223372036854775807",
    "18446744073709551615",
];

/// Directives left out of the probe, and why.
const UNPROBED: &[(&str, &str)] = &[
    (
        "maxmemory-clients",
        "a small limit makes redis-server evict the probing client; probed with SAFE_CLIENT_LIMITS",
    ),
    (
        "tls-replication",
        "redis-server without certificates refuses it (TLS setup fails); the TLS tests cover TLS",
    ),
    ("tls-cluster", "as tls-replication"),
];

/// `maxmemory-clients` values that leave the probing client alone.
const SAFE_CLIENT_LIMITS: &[&str] = &["0", "abc", "-1", "5%", "101%", "-5%", "1%x", ""];

/// Every probe on `name`, each followed by CONFIG GET, then the value it
/// started with back.
fn probe(c: &mut Conn, name: &str, values: &[&str], seen: &mut Vec<Vec<u8>>) {
    let start = config_get(c, name);
    for value in values {
        seen.push(c.call(&["CONFIG", "SET", name, value]));
        seen.push(config_get(c, name));
    }
    // `*2 name value`: the value is the second element.
    if let Ok(Some((common::Value::Agg(_, Some(items)), _))) = common::parse_value(&start) {
        if let Some(value) = items.get(1).and_then(common::bulk_of) {
            c.call(&[b"CONFIG".as_slice(), b"SET", name.as_bytes(), value]);
        }
    }
}

fn probe_unused(port: u16, is_7_0: bool) -> Vec<(String, Vec<Vec<u8>>)> {
    let mut c = Conn::connect(port);
    let mut all = Vec::new();
    for name in Config::unused() {
        let only_7_2 = ONLY_7_2.iter().any(|(n, _)| *n == name);
        if (is_7_0 && only_7_2) || UNPROBED.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let mut seen = Vec::new();
        probe(&mut c, name, PROBES, &mut seen);
        all.push((name.to_owned(), seen));
    }
    let mut seen = Vec::new();
    probe(&mut c, "maxmemory-clients", SAFE_CLIENT_LIMITS, &mut seen);
    all.push(("maxmemory-clients".to_owned(), seen));
    all
}

#[test]
fn unused_directives_take_refuse_and_show_values_as_redis() {
    let dir = tempfile::tempdir().unwrap();
    // appendonly yes makes redis-server write files: into a directory of ours.
    let redis = RedisServer::start_with(&["--dir", dir.path().to_str().unwrap()]);
    let (_respub, port) = respub();
    let ours = probe_unused(port, redis.is_7_0());
    let theirs = probe_unused(redis.port, redis.is_7_0());
    let mut mismatches = Vec::new();
    for ((name, mine), (_, want)) in ours.iter().zip(&theirs) {
        for (i, (a, b)) in mine.iter().zip(want).enumerate() {
            if a != b {
                let value = PROBES.get(i / 2).unwrap_or(&"?");
                mismatches.push(format!(
                    "{name} {value:?}: respub {:?}, redis {:?}",
                    String::from_utf8_lossy(a),
                    String::from_utf8_lossy(b)
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
