//! Interop harness: a real redis-server child, socketioxide nodes served over HTTP with the
//! test event contract, Node Socket.IO nodes (`tests/node/node_server.mjs`) and
//! socket.io-client clients (`tests/node/node_client.mjs`).
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::{path::PathBuf, process::Stdio};

use respub_socketio::{Mode, RespubAdapter, SubscriptionMode};
use socketioxide::{SocketIo, adapter::Emitter};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, ChildStdin, Command},
};

use crate::fixture::within;

pub mod clients;
pub mod four;
pub mod rust_server;
pub mod sentinel;

pub type Io = SocketIo<RespubAdapter<Emitter>>;

/// `adapter/tests/node`, after checking that `npm ci` was run there.
pub fn node_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    for pkg in [
        "socket.io",
        "socket.io-client",
        "@socket.io/redis-adapter",
        "redis",
        "ioredis",
    ] {
        assert!(
            dir.join("node_modules")
                .join(pkg)
                .join("package.json")
                .exists(),
            "adapter/tests/node/node_modules/{pkg} is missing: run npm ci --prefix adapter/tests/node"
        );
    }
    dir
}

/// Failure guard for a whole scenario (its steps have their own guards).
pub async fn whole(fut: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(std::time::Duration::from_secs(180), fut)
        .await
        .expect("scenario timed out");
}

/// A port that was free a moment ago (for servers that must be told their port).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Reads `child`'s stdout until a line starts with `prefix`; returns that line. The rest of
/// the output keeps being drained (and echoed to stderr) in the background.
async fn wait_line(child: &mut Child, what: &str, prefix: &str) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = within(what, async {
        loop {
            match lines.next_line().await.unwrap() {
                Some(l) if l.contains(prefix) => return l,
                Some(l) => eprintln!("[{what}] {l}"),
                None => panic!("{what} exited before printing {prefix:?}"),
            }
        }
    })
    .await;
    let what = what.to_owned();
    tokio::spawn(async move {
        while let Ok(Some(l)) = lines.next_line().await {
            eprintln!("[{what}] {l}");
        }
    });
    line
}

/// A real redis-server on a free port, stopped on drop.
pub struct RedisServer {
    pub port: u16,
    child: Child,
}

impl RedisServer {
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    pub async fn start_on(port: u16) -> Self {
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server (apt-get install redis-server) could not be started");
        wait_line(&mut child, "redis-server", "Ready to accept connections").await;
        Self { port, child }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Which Redis client the Node node uses.
#[derive(Debug, Clone, Copy)]
pub enum NodeClient {
    NodeRedis,
    Ioredis,
}

impl NodeClient {
    pub fn arg(self) -> &'static str {
        match self {
            Self::NodeRedis => "node-redis",
            Self::Ioredis => "ioredis",
        }
    }
}

pub fn mode_arg(mode: Mode) -> &'static str {
    match mode {
        Mode::Classic => "classic",
        Mode::Sharded(SubscriptionMode::Static) => "static",
        Mode::Sharded(SubscriptionMode::Dynamic) => "dynamic",
        Mode::Sharded(SubscriptionMode::DynamicPrivate) => "dynamic-private",
    }
}

/// A Node Socket.IO server (`node_server.mjs`), stopped on drop.
pub struct NodeServer {
    pub port: u16,
    pub uid: String,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl NodeServer {
    pub async fn start(redis_url: &str, mode: Mode, client: NodeClient, prefix: &str) -> Self {
        Self::start_with(redis_url, mode, client, prefix, &[]).await
    }

    /// As [`Self::start`], with more arguments for `node_server.mjs` (`--specific`...).
    pub async fn start_with(
        redis_url: &str,
        mode: Mode,
        client: NodeClient,
        prefix: &str,
        extra: &[&str],
    ) -> Self {
        let dir = node_dir();
        let mut child = Command::new("node")
            .current_dir(&dir)
            .arg("node_server.mjs")
            .args([
                "--port",
                "0",
                "--redis",
                redis_url,
                "--client",
                client.arg(),
            ])
            .args(["--mode", mode_arg(mode), "--prefix", prefix])
            .args(extra)
            .stdout(Stdio::piped())
            .stdin(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node could not be started");
        let stdin = child.stdin.take();
        let line = wait_line(&mut child, "node server", "READY ").await;
        let mut parts = line.split_whitespace().skip(1);
        let port = parts.next().unwrap().parse().unwrap();
        let uid = parts.next().unwrap().to_owned();
        Self {
            port,
            uid,
            child,
            stdin,
        }
    }

    /// Kills the process at once (no adapter close): a node dying.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}
