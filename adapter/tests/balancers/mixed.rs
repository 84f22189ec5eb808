//! The three nodes behind the balancers: one socketioxide node with the adapter (in this
//! process) and two Node nodes with @socket.io/redis-adapter (`node_server.mjs`), one
//! cluster on one broker, all implementing the interop event contract.

use std::time::Duration;

use respub_socketio::{Config, Mode};

use crate::interop::{NodeClient, NodeServer, rust_server::RustServer};

pub struct Mixed {
    pub rust: RustServer,
    pub node1: NodeServer,
    /// `None` while killed.
    pub node2: Option<NodeServer>,
    pub node2_port: u16,
    url: String,
    pub prefix: String,
    timeout: Duration,
}

/// engineioxide's answer to a request for a session it does not have: the code is a string.
pub const RUST_UNKNOWN_SID: &str = r#"{"code":"1","message":"Session ID unknown"}"#;
/// Node engine.io's answer: the code is a number.
pub const NODE_UNKNOWN_SID: &str = r#"{"code":1,"message":"Session ID unknown"}"#;

impl Mixed {
    /// The three nodes on the broker at `url`, classic mode, with `timeout` for requests
    /// (fetchSockets, broadcasts with acks) on every node.
    pub async fn start(url: &str, timeout: Duration) -> Self {
        let prefix = format!("s{:016x}", rand::random::<u64>());
        let config = Config::default()
            .with_mode(Mode::Classic)
            .with_prefix(prefix.clone())
            .with_request_timeout(timeout);
        let rust = RustServer::start(url, config).await;
        let node1 = start_node(url, &prefix, timeout, 0).await;
        let node2 = start_node(url, &prefix, timeout, 0).await;
        Self {
            rust,
            node1,
            node2_port: node2.port,
            node2: Some(node2),
            url: url.to_owned(),
            prefix,
            timeout,
        }
    }

    pub fn ports(&self) -> [u16; 3] {
        [self.rust.port, self.node1.port, self.node2_port]
    }

    pub fn is_rust(&self, port: u16) -> bool {
        port == self.rust.port
    }

    pub fn name(&self, port: u16) -> &'static str {
        match port {
            p if p == self.rust.port => "rust",
            p if p == self.node1.port => "node1",
            p if p == self.node2_port => "node2",
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

    /// `kill -9` of node2's process (no adapter close, no socket closed cleanly).
    pub async fn kill_node2(&mut self) {
        self.node2.take().expect("node2 is running").kill().await;
    }

    /// A new node2 process on the port of the killed one; the other nodes are not touched.
    pub async fn restart_node2(&mut self) {
        assert!(self.node2.is_none(), "node2 is running");
        let n = start_node(&self.url, &self.prefix, self.timeout, self.node2_port).await;
        assert_eq!(n.port, self.node2_port);
        self.node2 = Some(n);
    }

    pub async fn stop(self) {
        self.node1.kill().await;
        if let Some(n) = self.node2 {
            n.kill().await;
        }
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
