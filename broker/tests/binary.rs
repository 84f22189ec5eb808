//! The `respub-server` binary itself: flags, readiness, serving, and a
//! clean exit (status 0) on SIGINT and SIGTERM.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::process::Command;

use common::{Binary, Conn, free_port};

fn serves_then_exits_cleanly_on(signal: &str) {
    let port = free_port();
    let server = Binary::start(&["--port", &port.to_string(), "--bind", "127.0.0.1"]);
    let mut c = Conn::connect(port);
    assert_eq!(c.call(&["PING"]), b"+PONG\r\n");
    assert_eq!(
        c.call(&["SUBSCRIBE", "x"]),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n"
    );
    let pid = server.pid();
    let exit = server.stop(signal);
    // The subscriber saw an orderly close, and the process exited with 0.
    assert_eq!(c.read_to_eof(), b"", "pid {pid}");
    assert!(exit.success(), "respub-server exited with {exit}");
}

#[test]
fn exits_cleanly_on_sigint() {
    serves_then_exits_cleanly_on("-INT");
}

#[test]
fn exits_cleanly_on_sigterm() {
    serves_then_exits_cleanly_on("-TERM");
}

#[test]
fn rejects_a_bad_bind_address() {
    let out = Command::new(env!("CARGO_BIN_EXE_respub-server"))
        .args(["--bind", "not-an-address"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not-an-address"));
}
