//! Protected mode as Redis 7.2 does it: while the `default` user has no
//! password, a TCP or TLS client that is not on a loopback address gets
//! Redis' `-DENIED ...` text and is closed, whatever `bind` says.
//!
//! A non-loopback client needs a non-loopback address. The tests that need
//! one run again inside a network namespace of their own (`unshare --net`,
//! as root), where 10.99.0.1 and fd99::1 are added to the namespace's own
//! loopback device: nothing leaves the machine, and nothing outside the
//! namespace can reach them. The real redis-server runs in the same
//! namespace, and its bytes and counters are compared with respub's.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::Command;

use common::certs::{certs, tls_over};
use common::{Conn, GUARD, RedisServer, TestServer, tcp_listener};
use respub_broker::server::PROTECTED_MODE_DENIED;
use respub_broker::tls::Acceptor;
use respub_broker::{Config, Listener};

const REMOTE: &str = "10.99.0.1";
const REMOTE6: &str = "fd99::1";

/// Runs `test` again in a network namespace of its own and returns false,
/// or, when already inside one, gives its loopback device the non-loopback
/// addresses above and returns true.
fn in_own_network_namespace(test: &str) -> bool {
    if std::env::var_os("RESPUB_IN_NETNS").is_some() {
        for args in [
            &["link", "set", "lo", "up"][..],
            &["addr", "add", &format!("{REMOTE}/32"), "dev", "lo"],
            &[
                "-6",
                "addr",
                "add",
                &format!("{REMOTE6}/128"),
                "dev",
                "lo",
                "nodad",
            ],
        ] {
            let status = Command::new("ip").args(args).status().unwrap();
            assert!(status.success(), "ip {args:?} failed");
        }
        return true;
    }
    let out = Command::new("unshare")
        .args(["--net", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("RESPUB_IN_NETNS", "1")
        .output()
        .expect("unshare (util-linux) is needed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test} in its own network namespace (needs root for unshare --net, and iproute2):\n{stdout}\n{stderr}"
    );
    false
}

/// A client connected to `to` from the address `from`.
fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let from: IpAddr = from.parse().unwrap();
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(to),
        socket2::Type::STREAM,
        None,
    )
    .unwrap();
    socket.bind(&SocketAddr::new(from, 0).into()).unwrap();
    socket.connect(&to.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    stream
}

/// What a client from `from` gets when it connects to `host:port` and
/// sends PING: everything until the server closes, or the first reply.
fn first_reply(from: &str, host: &str, port: u16) -> Vec<u8> {
    let to = SocketAddr::new(host.parse().unwrap(), port);
    let mut c = Conn::over(connect_from(from, to));
    c.send(&["PING"]);
    c.frame().expect("closed without a reply").raw
}

/// respub on `addrs` (port 0 each) with `config`.
fn respub_on(config: Config, addrs: &'static [&'static str]) -> TestServer {
    TestServer::start_on(config, move || {
        addrs
            .iter()
            .map(|a| Listener::Tcp(tcp_listener(a)))
            .collect()
    })
}

/// redis-server on every interface with `extra` directives.
fn redis_on_all(extra: &[&str]) -> RedisServer {
    let mut args = vec!["--bind", "0.0.0.0", "--protected-mode", "yes"];
    args.extend_from_slice(extra);
    RedisServer::start_with(&args)
}

/// Redis 7.0's text has a typo that 7.2 fixed; respub sends 7.2's.
fn as_7_2(redis: &RedisServer, reply: Vec<u8>) -> Vec<u8> {
    if !redis.is_7_0() {
        return reply;
    }
    String::from_utf8(reply)
        .unwrap()
        .replace(
            "4) Setup a an authentication",
            "4) Set up an authentication",
        )
        .into_bytes()
}

/// `rejected_connections` and `total_connections_received`, read on a new
/// loopback connection (which is itself counted as received).
fn counters(port: u16) -> [String; 2] {
    let info = String::from_utf8(Conn::connect(port).call(&["INFO", "stats"])).unwrap();
    ["rejected_connections", "total_connections_received"].map(|field| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap()
            .to_owned()
    })
}

#[test]
fn a_remote_client_is_denied_with_redis_bytes_and_counted() {
    if !in_own_network_namespace("a_remote_client_is_denied_with_redis_bytes_and_counted") {
        return;
    }
    let respub = respub_on(Config::default(), &["0.0.0.0:0", "[::]:0"]);
    let redis = redis_on_all(&[]);

    let ours = first_reply(REMOTE, REMOTE, respub.ports[0]);
    let theirs = first_reply(REMOTE, REMOTE, redis.port);
    assert_eq!(ours, PROTECTED_MODE_DENIED);
    assert!(ours.starts_with(b"-DENIED Redis is running in protected mode"));
    assert_eq!(ours, as_7_2(&redis, theirs));
    // The server closes the connection after the error.
    let mut closed = Conn::over(connect_from(
        REMOTE,
        SocketAddr::new(REMOTE.parse().unwrap(), respub.ports[0]),
    ));
    assert_eq!(closed.read_to_eof(), PROTECTED_MODE_DENIED);
    assert_eq!(
        first_reply(REMOTE6, REMOTE6, respub.ports[1]),
        PROTECTED_MODE_DENIED
    );

    // Counted as Redis counts it: rejected, not received (the INFO
    // connection itself is the one received).
    assert_eq!(counters(redis.port), ["1", "1"]);
    assert_eq!(counters(respub.port), ["3", "1"]);
    // Loopback clients are served all along.
    assert_eq!(
        first_reply("127.0.0.1", "127.0.0.1", respub.port),
        b"+PONG\r\n"
    );
    assert_eq!(first_reply("::1", "::1", respub.ports[1]), b"+PONG\r\n");
}

#[test]
fn a_password_or_protected_mode_no_lets_remote_clients_in() {
    if !in_own_network_namespace("a_password_or_protected_mode_no_lets_remote_clients_in") {
        return;
    }
    let config = Config {
        requirepass: Some("secret".into()),
        ..Config::default()
    };
    let respub = respub_on(config, &["0.0.0.0:0"]);
    let redis = redis_on_all(&["--requirepass", "secret"]);
    let ours = first_reply(REMOTE, REMOTE, respub.port);
    assert_eq!(ours, b"-NOAUTH Authentication required.\r\n");
    assert_eq!(ours, first_reply(REMOTE, REMOTE, redis.port));

    let config = Config {
        protected_mode: false,
        ..Config::default()
    };
    let respub = respub_on(config, &["0.0.0.0:0"]);
    let redis = redis_on_all(&["--protected-mode", "no"]);
    assert_eq!(first_reply(REMOTE, REMOTE, respub.port), b"+PONG\r\n");
    assert_eq!(first_reply(REMOTE, REMOTE, redis.port), b"+PONG\r\n");

    // CONFIG SET from the loopback interface, as the DENIED text advises,
    // takes effect for the next connection.
    let respub = respub_on(Config::default(), &["0.0.0.0:0"]);
    let mut admin = Conn::connect(respub.port);
    assert_eq!(
        first_reply(REMOTE, REMOTE, respub.port),
        PROTECTED_MODE_DENIED
    );
    assert_eq!(
        admin.call(&["CONFIG", "SET", "protected-mode", "no"]),
        b"+OK\r\n"
    );
    assert_eq!(
        admin.call(&["CONFIG", "GET", "protected-mode"]),
        b"*2\r\n$14\r\nprotected-mode\r\n$2\r\nno\r\n"
    );
    assert_eq!(first_reply(REMOTE, REMOTE, respub.port), b"+PONG\r\n");
    assert_eq!(
        admin.call(&["CONFIG", "SET", "protected-mode", "yes"]),
        b"+OK\r\n"
    );
    assert_eq!(
        first_reply(REMOTE, REMOTE, respub.port),
        PROTECTED_MODE_DENIED
    );
}

#[test]
fn an_explicit_bind_does_not_lift_protected_mode() {
    // Redis 6 skipped protected mode when `bind` was set; Redis 7 does not.
    if !in_own_network_namespace("an_explicit_bind_does_not_lift_protected_mode") {
        return;
    }
    let respub = respub_on(Config::default(), &["10.99.0.1:0"]);
    let redis = RedisServer::start_with(&["--bind", REMOTE]);
    let theirs = first_reply(REMOTE, REMOTE, redis.port);
    assert_eq!(as_7_2(&redis, theirs), PROTECTED_MODE_DENIED);
    assert_eq!(
        first_reply(REMOTE, REMOTE, respub.port),
        PROTECTED_MODE_DENIED
    );
}

#[test]
fn a_remote_tls_client_is_denied_after_the_handshake() {
    if !in_own_network_namespace("a_remote_tls_client_is_denied_after_the_handshake") {
        return;
    }
    let certs = certs();
    let config = Config {
        tls_cert_file: Some(certs.server.0.clone()),
        tls_key_file: Some(certs.server.1.clone()),
        tls_ca_cert_file: Some(certs.ca.clone()),
        ..Config::default()
    };
    let acceptor = Acceptor::from_config(&config).unwrap();
    let respub = TestServer::start_on(config, move || {
        vec![Listener::Tls(tcp_listener("0.0.0.0:0"), acceptor)]
    });
    let to = |host: &str| SocketAddr::new(host.parse().unwrap(), respub.port);
    let mut remote = tls_over(
        connect_from(REMOTE, to(REMOTE)),
        &certs.ca,
        Some(&certs.client),
    );
    remote.send(&["PING"]);
    assert_eq!(remote.frame().unwrap().raw, PROTECTED_MODE_DENIED);
    let mut local = tls_over(
        connect_from("127.0.0.1", to("127.0.0.1")),
        &certs.ca,
        Some(&certs.client),
    );
    assert_eq!(local.call(&["PING"]), b"+PONG\r\n");
}

#[test]
fn loopback_addresses_and_the_unix_socket_are_never_refused() {
    let sock = tempfile::tempdir().unwrap();
    let path = sock.path().join("respub.sock");
    let unix_path = path.clone();
    let respub = TestServer::start_on(Config::default(), move || {
        vec![
            Listener::Tcp(tcp_listener("0.0.0.0:0")),
            Listener::Unix(tokio::net::UnixListener::bind(&unix_path).unwrap()),
        ]
    });
    assert_eq!(
        first_reply("127.0.0.1", "127.0.0.1", respub.port),
        b"+PONG\r\n"
    );
    // All of 127.0.0.0/8 is loopback to Redis 7.2 (7.0 accepted only
    // 127.0.0.1 itself).
    assert_eq!(
        first_reply("127.0.0.2", "127.0.0.1", respub.port),
        b"+PONG\r\n"
    );
    let redis = redis_on_all(&[]);
    let theirs = first_reply("127.0.0.2", "127.0.0.1", redis.port);
    if redis.is_7_0() {
        assert_eq!(as_7_2(&redis, theirs), PROTECTED_MODE_DENIED);
    } else {
        assert_eq!(theirs, b"+PONG\r\n");
    }
    let unix = std::os::unix::net::UnixStream::connect(&path).unwrap();
    unix.set_read_timeout(Some(GUARD)).unwrap();
    assert_eq!(Conn::over(unix).call(&["PING"]), b"+PONG\r\n");
}
