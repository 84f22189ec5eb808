//! Real client libraries against respub: node-redis 5 (RESP2) and 6 (RESP3),
//! ioredis 5, valkey-glide 2 (RESP3, also run against a real redis-server),
//! redis-py (RESP2 and RESP3) and redis-cli (non-interactive and
//! interactive, compared with a real redis-server). The scenarios live in
//! `tests/interop/`; each prints `N passed, M failed` and exits non-zero on
//! failure. `./scripts/test` installs the libraries; `RESPUB_PYTHON` names
//! the Python that has redis-py.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{RedisServer, TestServer};

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("interop")
}

fn python() -> String {
    std::env::var("RESPUB_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Runs one interop script and fails the test with its output unless it
/// exits 0.
fn run(program: &str, args: &[String]) {
    let output = Command::new(program)
        .args(args)
        .current_dir(interop_dir())
        .output()
        .unwrap_or_else(|e| panic!("could not run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

fn node(script: &str, extra: &[&str]) {
    let server = TestServer::start();
    node_on(server.port, script, extra);
}

fn node_on(port: u16, script: &str, extra: &[&str]) {
    let modules = interop_dir().join("node").join("node_modules");
    assert!(
        modules.is_dir(),
        "node packages missing: run `npm ci --prefix broker/tests/interop/node` (./scripts/test does)"
    );
    let mut args = vec![format!("node/{script}"), "--port".into(), port.to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    run("node", &args);
}

#[test]
fn node_redis_5_resp2() {
    node("node_redis.mjs", &["--major", "5"]);
}

#[test]
fn node_redis_6_resp3() {
    node("node_redis.mjs", &["--major", "6"]);
}

#[test]
fn ioredis_5() {
    node("ioredis.mjs", &[]);
}

/// The same checks against redis-server first, so that a check which fails
/// there is known to be wrong about Redis rather than about respub.
#[test]
fn valkey_glide_2_resp3() {
    let reference = RedisServer::start();
    node_on(reference.port, "valkey_glide.mjs", &[]);
    let server = TestServer::start();
    node_on(server.port, "valkey_glide.mjs", &[]);
}

fn redis_py(protocol: &str) {
    let server = TestServer::start();
    run(
        &python(),
        &[
            "python/redis_py_interop.py".into(),
            "--port".into(),
            server.port.to_string(),
            "--protocol".into(),
            protocol.into(),
        ],
    );
}

#[test]
fn redis_py_resp2() {
    redis_py("2");
}

#[test]
fn redis_py_resp3() {
    redis_py("3");
}

#[test]
fn redis_cli_matches_redis_server() {
    let server = TestServer::start();
    let reference = RedisServer::start();
    run(
        &python(),
        &[
            "redis_cli.py".into(),
            "--port".into(),
            server.port.to_string(),
            "--reference-port".into(),
            reference.port.to_string(),
        ],
    );
}
