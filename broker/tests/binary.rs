//! The `respub-server` binary itself: flags, readiness, serving, and a
//! clean exit (status 0) on SIGINT and SIGTERM.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{Conn, GUARD, free_port};

fn serves_then_exits_cleanly_on(signal: &str) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_respub-server"))
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("ready to accept connections") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(GUARD)
        .expect("respub-server did not report readiness");
    let mut c = Conn::connect(port);
    assert_eq!(c.call(&["PING"]), b"+PONG\r\n");
    assert_eq!(
        c.call(&["SUBSCRIBE", "x"]),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n"
    );
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The subscriber sees an orderly close, and the process exits with 0.
    assert_eq!(c.read_to_eof(), b"");
    let exit = child.wait().unwrap();
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
