//! The three nodes behind the balancers, one cluster on one broker, all implementing the
//! interop event contract: a socketioxide node with the adapter (in this process), a Node
//! node with @socket.io/redis-adapter (`node_server.mjs`), and a third one, Node or Rust, in
//! a process of its own that a test may kill and start again.

use std::time::Duration;

use respub_socketio::{Config, Mode};

use super::rust_child::RustChild;
use crate::interop::{NodeClient, NodeServer, rust_server::RustServer};

/// What the third node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Node,
    Rust,
}

pub enum Third {
    Node(NodeServer),
    Rust(RustChild),
}

pub struct Mixed {
    pub rust: RustServer,
    pub node1: NodeServer,
    /// `None` while killed.
    pub third: Option<Third>,
    pub third_port: u16,
    pub third_kind: Kind,
    url: String,
    pub prefix: String,
    timeout: Duration,
}

/// engineioxide's answer to a request for a session it does not have: the code is a string.
pub const RUST_UNKNOWN_SID: &str = r#"{"code":"1","message":"Session ID unknown"}"#;
/// Node engine.io's answer: the code is a number.
pub const NODE_UNKNOWN_SID: &str = r#"{"code":1,"message":"Session ID unknown"}"#;

impl Mixed {
    /// The three nodes (the third one a Node node) on the broker at `url`, classic mode,
    /// with `timeout` for requests (fetchSockets, broadcasts with acks) on every node.
    pub async fn start(url: &str, timeout: Duration) -> Self {
        Self::start_with(url, timeout, Kind::Node).await
    }

    /// As [`Self::start`], the third node of `kind`.
    pub async fn start_with(url: &str, timeout: Duration, kind: Kind) -> Self {
        let prefix = format!("s{:016x}", rand::random::<u64>());
        let config = Config::default()
            .with_mode(Mode::Classic)
            .with_prefix(prefix.clone())
            .with_request_timeout(timeout);
        let rust = RustServer::start(url, config).await;
        let node1 = start_node(url, &prefix, timeout, 0).await;
        let third = start_third(kind, url, &prefix, timeout, 0).await;
        Self {
            rust,
            node1,
            third_port: third.port(),
            third: Some(third),
            third_kind: kind,
            url: url.to_owned(),
            prefix,
            timeout,
        }
    }

    pub fn ports(&self) -> [u16; 3] {
        [self.rust.port, self.node1.port, self.third_port]
    }

    pub fn is_rust(&self, port: u16) -> bool {
        port == self.rust.port || (port == self.third_port && self.third_kind == Kind::Rust)
    }

    pub fn name(&self, port: u16) -> &'static str {
        match port {
            p if p == self.rust.port => "rust",
            p if p == self.node1.port => "node1",
            p if p == self.third_port && self.third_kind == Kind::Rust => "rust2",
            p if p == self.third_port => "node2",
            _ => "?",
        }
    }

    /// The 400 body of the node on `port` for an unknown session id.
    pub fn unknown_sid_body(&self, port: u16) -> &'static str {
        if self.is_rust(port) {
            RUST_UNKNOWN_SID
        } else {
            NODE_UNKNOWN_SID
        }
    }

    /// `kill -9` of the third node's process (no adapter close, no socket closed cleanly).
    pub async fn kill_third(&mut self) {
        match self.third.take().expect("the third node is running") {
            Third::Node(n) => n.kill().await,
            Third::Rust(r) => r.kill().await,
        }
    }

    /// A new third node on the port of the killed one; the other nodes are not touched.
    pub async fn restart_third(&mut self) {
        assert!(self.third.is_none(), "the third node is running");
        let (url, prefix, port) = (&self.url, &self.prefix, self.third_port);
        let third = start_third(self.third_kind, url, prefix, self.timeout, port).await;
        assert_eq!(third.port(), port);
        self.third = Some(third);
    }

    pub async fn stop(mut self) {
        if self.third.is_some() {
            self.kill_third().await;
        }
        self.node1.kill().await;
    }
}

impl Third {
    fn port(&self) -> u16 {
        match self {
            Self::Node(n) => n.port,
            Self::Rust(r) => r.port,
        }
    }
}

async fn start_third(kind: Kind, url: &str, prefix: &str, timeout: Duration, port: u16) -> Third {
    match kind {
        Kind::Node => Third::Node(start_node(url, prefix, timeout, port).await),
        Kind::Rust => Third::Rust(RustChild::start(url, prefix, timeout, port).await),
    }
}

/// A Node node on `port` (0: any). `node_server.mjs` takes the last `--port` given.
async fn start_node(url: &str, prefix: &str, timeout: Duration, port: u16) -> NodeServer {
    let (port, timeout) = (port.to_string(), timeout.as_millis().to_string());
    NodeServer::start_with(
        url,
        Mode::Classic,
        NodeClient::NodeRedis,
        prefix,
        &["--timeout", &timeout, "--port", &port],
    )
    .await
}
