//! Configuration as an operator uses it: a redis.conf file plus
//! `--directive` options, fatal errors, several bind addresses, a Unix
//! socket, CONFIG GET/SET at runtime, SHUTDOWN, and the idle timeout.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;

use common::{Binary, Conn, GUARD, TestServer, free_port};
use respub_broker::Config;

/// SIGTERM, then the exit status must be success.
fn stop(server: Binary) {
    assert!(server.stop("-TERM").success());
}

fn start(args: &[&str]) -> Binary {
    Binary::start(args)
}

#[test]
fn config_file_then_options_like_redis_server() {
    let dir = std::env::temp_dir().join(format!("respub-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("redis.conf");
    let port = free_port();
    std::fs::write(
        &file,
        "# an operator's redis.conf\nport 1\nbind 127.0.0.1\nmaxclients 123\nsave 900 1\nappendonly no\n\
         client-output-buffer-limit pubsub 16mb 4mb 30\ntimeout 300\n",
    )
    .unwrap();
    let child = start(&[
        file.to_str().unwrap(),
        "--port",
        &port.to_string(),
        "--tcp-keepalive",
        "60",
    ]);
    let mut c = Conn::connect(port);
    assert_eq!(
        c.call(&["CONFIG", "GET", "maxclients"]),
        b"*2\r\n$10\r\nmaxclients\r\n$3\r\n123\r\n"
    );
    assert_eq!(
        c.call(&["CONFIG", "GET", "tcp-keepalive"]),
        b"*2\r\n$13\r\ntcp-keepalive\r\n$2\r\n60\r\n"
    );
    let limits = c.call(&["CONFIG", "GET", "client-output-buffer-limit"]);
    assert!(String::from_utf8_lossy(&limits).contains("pubsub 16777216 4194304 30"));
    let info = String::from_utf8(c.call(&["INFO", "server"])).unwrap();
    assert!(info.contains("config_file:/"), "{info}");
    stop(child);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_directive_is_fatal_with_its_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_respub-server"))
        .args(["--port", "0", "--maxclients", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("*** FATAL CONFIG FILE ERROR"), "{err}");
    assert!(err.contains(">>> 'maxclients \"x\"'"), "{err}");
    assert!(
        err.contains("argument couldn't be parsed into an integer"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_respub-server"))
        .args(["--no-such-directive", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Bad directive or wrong number of arguments")
    );
}

#[test]
fn several_bind_addresses_and_a_unix_socket() {
    let port = free_port();
    let sock = std::env::temp_dir().join(format!("respub-{}.sock", std::process::id()));
    let child = start(&[
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "127.0.0.2",
        "--unixsocket",
        sock.to_str().unwrap(),
        "--unixsocketperm",
        "700",
    ]);
    for host in ["127.0.0.1", "127.0.0.2"] {
        let mut s = std::net::TcpStream::connect((host, port)).unwrap();
        s.write_all(b"PING\r\n").unwrap();
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"+PONG\r\n", "on {host}");
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let mut u = UnixStream::connect(&sock).unwrap();
    u.set_read_timeout(Some(GUARD)).unwrap();
    u.write_all(b"*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nu\r\n")
        .unwrap();
    let expect = |u: &mut UnixStream, want: &[u8]| {
        let mut buf = vec![0u8; want.len()];
        u.read_exact(&mut buf).unwrap();
        assert_eq!(buf, want);
    };
    expect(&mut u, b"*3\r\n$9\r\nsubscribe\r\n$1\r\nu\r\n:1\r\n");
    let mut tcp = Conn::connect(port);
    assert_eq!(tcp.call(&["PUBLISH", "u", "via tcp"]), b":1\r\n");
    expect(
        &mut u,
        b"*3\r\n$7\r\nmessage\r\n$1\r\nu\r\n$7\r\nvia tcp\r\n",
    );
    stop(child);
    assert!(!sock.exists(), "the socket file is removed at exit");
}

#[test]
fn shutdown_command_stops_the_server() {
    let port = free_port();
    let mut server = start(&["--port", &port.to_string()]);
    let mut sub = Conn::connect(port);
    sub.call(&["SUBSCRIBE", "s"]);
    let mut admin = Conn::connect(port);
    assert_eq!(
        admin.call(&["SHUTDOWN", "ABORT"]),
        b"-ERR No shutdown in progress.\r\n"
    );
    assert_eq!(admin.call(&["SHUTDOWN", "BOGUS"]), b"-ERR syntax error\r\n");
    admin.send(&["SHUTDOWN", "NOSAVE"]);
    assert_eq!(admin.read_to_eof(), b"");
    assert_eq!(sub.read_to_eof(), b"");
    assert!(server.0.take().unwrap().wait().unwrap().success());
}

#[test]
fn config_set_changes_limits_at_runtime_atomically() {
    let server = TestServer::start();
    let mut c = Conn::connect(server.port);
    assert!(
        c.call(&["CONFIG", "SET", "maxclients", "2", "timeout", "x"])
            .starts_with(b"-ERR CONFIG SET failed")
    );
    assert_eq!(
        c.call(&["CONFIG", "GET", "maxclients"]),
        b"*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n"
    );
    assert_eq!(c.call(&["CONFIG", "SET", "maxclients", "2"]), b"+OK\r\n");
    let mut second = Conn::connect(server.port);
    assert_eq!(second.call(&["PING"]), b"+PONG\r\n");
    let mut third = Conn::connect(server.port);
    assert_eq!(
        third.read_to_eof(),
        b"-ERR max number of clients reached\r\n"
    );
}

#[test]
fn idle_clients_time_out_but_subscribers_do_not() {
    let server = TestServer::start_with(Config {
        timeout: 1,
        ..Config::default()
    });
    let mut sub = Conn::connect(server.port);
    sub.call(&["SUBSCRIBE", "keep"]);
    let mut idle = Conn::connect(server.port);
    assert_eq!(idle.call(&["PING"]), b"+PONG\r\n");
    // Blocks until the server closes the idle client (guarded by GUARD).
    assert_eq!(idle.read_to_eof(), b"");
    // The subscriber has been idle as long, and is still served.
    assert_eq!(sub.call(&["PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

#[test]
fn config_set_loglevel_changes_what_is_logged() {
    let port = free_port();
    let (server, lines) = Binary::start_logged(&["--port", &port.to_string()]);
    let protocol_error = |conn: &mut Conn| {
        let id = String::from_utf8(conn.call(&["CLIENT", "ID"])).unwrap();
        conn.send_raw(b"*1\r\n!\r\n");
        conn.read_to_eof();
        format!("client={}", id.trim_start_matches(':').trim_end())
    };
    // At the default level (notice) a protocol error is not logged...
    let quiet = protocol_error(&mut Conn::connect(port));
    let mut admin = Conn::connect(port);
    assert_eq!(
        admin.call(&["CONFIG", "SET", "loglevel", "debug"]),
        b"+OK\r\n"
    );
    // ...at debug it is. Lines arrive in order, so once the second error's
    // line is here, the first one's would have been too.
    let loud = protocol_error(&mut Conn::connect(port));
    let mut seen = Vec::new();
    loop {
        let line = lines.recv_timeout(GUARD).expect("no protocol error logged");
        if line.contains("protocol error") && line.contains(&loud) {
            break;
        }
        seen.push(line);
    }
    assert!(
        !seen
            .iter()
            .any(|l| l.contains("protocol error") && l.contains(&quiet)),
        "{seen:?}"
    );
    stop(server);
}
