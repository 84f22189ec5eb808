//! Real balancers in front of Socket.IO nodes: nginx and HAProxy as children of the test,
//! on free 127.0.0.1 ports, with generated configurations, and what they logged about
//! where each request went. Clients leave from 127.0.0.2, .3, ... so that a balancer
//! hashing the source address spreads them.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

pub mod haproxy;
pub mod http;
pub mod members;
pub mod mixed;
pub mod nginx;
pub mod outage;
pub mod rust_child;
pub mod traffic;

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
};

use tokio::process::Child;

use crate::fixture::poll;

/// One request as a balancer logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub client: IpAddr,
    /// The port of the node that answered; `None` when none did.
    pub upstream: Option<u16>,
    pub status: u16,
    /// Path and query.
    pub target: String,
}

impl Route {
    /// A line of the balancers' log formats, `client|upstream|status|target`.
    fn parse(line: &str) -> Option<Self> {
        let mut f = line.splitn(4, '|');
        Some(Self {
            client: f.next()?.parse().ok()?,
            // `-` or `<NOSRV>` when no node was chosen.
            upstream: f.next().and_then(port_of),
            status: f.next()?.parse().ok()?,
            target: f.next()?.to_owned(),
        })
    }

    /// An engine.io handshake: a polling request without a session id.
    pub fn is_handshake(&self) -> bool {
        self.target.contains("transport=polling") && !self.target.contains("sid=")
    }
}

pub enum Balancer {
    Nginx(nginx::Nginx),
    Haproxy(haproxy::Haproxy),
}

impl Balancer {
    pub fn addr(&self) -> SocketAddr {
        let port = match self {
            Self::Nginx(n) => n.port,
            Self::Haproxy(h) => h.port,
        };
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    pub fn routes(&self) -> Vec<Route> {
        match self {
            Self::Nginx(n) => n.routes(),
            Self::Haproxy(h) => h.routes(),
        }
    }

    /// The nodes that took `client`'s handshakes, in order.
    pub fn handshakes(&self, client: IpAddr) -> Vec<u16> {
        self.routes()
            .into_iter()
            .filter(|r| r.client == client && r.is_handshake())
            .filter_map(|r| r.upstream)
            .collect()
    }

    /// The node that took `client`'s `n`-th handshake (from 0), waiting for the balancer to
    /// log it, which it may do just after the client saw the answer.
    pub async fn nth_node_of(&self, client: IpAddr, n: usize) -> u16 {
        poll("a handshake in the balancer's log", async || {
            self.handshakes(client).get(n).copied()
        })
        .await
    }

    /// The node that took `client`'s first handshake.
    pub async fn node_of(&self, client: IpAddr) -> u16 {
        self.nth_node_of(client, 0).await
    }
}

/// The `i`-th client source address: 127.0.0.2, 127.0.0.3, ...
pub fn source(i: usize) -> IpAddr {
    let i = u8::try_from(i + 2).unwrap();
    assert!(i < 255, "out of loopback source addresses");
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, i))
}

/// The port in an upstream as the balancers name it: nginx's `127.0.0.1:P` (or
/// `127.0.0.1:P, 127.0.0.1:Q` when the first refused and the second answered) and HAProxy's
/// server names, `pP`.
pub fn port_of(v: &str) -> Option<u16> {
    let last = v.rsplit(", ").next()?;
    let port = last
        .strip_prefix('p')
        .or_else(|| last.rsplit_once(':').map(|x| x.1))?;
    port.parse().ok()
}

/// A fresh directory for a balancer's configuration and files.
pub fn temp_dir(what: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{what}-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits until `child` accepts on 127.0.0.1:`port`; fails with `log` if it exits first.
pub async fn wait_listening(child: &mut Child, port: u16, what: &str, log: &Path) {
    poll(&format!("{what} to listen"), async || {
        if let Some(status) = child.try_wait().unwrap() {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{what} exited ({status}) before listening:\n{log}");
        }
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
            .map(drop)
    })
    .await;
}
