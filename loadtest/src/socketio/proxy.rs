//! A real load balancer in front of the nodes (`--proxy nginx|haproxy`):
//! Debian's nginx or HAProxy as a child process on a free 127.0.0.1 port,
//! sticky by source address as Socket.IO's long-polling needs (every
//! request of a session must reach the node that created it), with the
//! websocket upgrade passed through.
//!
//! nginx uses `hash $remote_addr consistent` rather than `ip_hash`, which
//! hashes only the first three octets and so puts every 127.0.0.x client
//! on one node; HAProxy `balance source` with `hash-type consistent`, so
//! that a node going down moves only its own clients (the default map
//! would move others too, whose polling sessions the new node does not
//! know). Both name the node that answered in an `x-respub-node` response
//! header, which is how the load tester learns the spread.
//!
//! Both run single-threaded (`master_process off`, `nbthread 1`): on a
//! shared machine the proxy then takes at most one core from the nodes,
//! and its one process is the one whose CPU is measured.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use super::client::{Dial, NODE_HEADER, Transport};
use super::node::Cluster;
use crate::child::{Process, Stdin, free_port};
pub(crate) use crate::figures::ProxyKind;
use crate::figures::ServerFigures;
use crate::measure::Mark;

/// How long the proxy may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause between two connection attempts while the proxy starts.
const READY_STEP: Duration = Duration::from_millis(20);

/// The descriptors the proxy may open: as many as this process may (its
/// limit is inherited). A proxied connection takes two.
fn max_files() -> u64 {
    rlimit::Resource::NOFILE
        .get()
        .map_or(1024, |(soft, _)| soft)
        .min(1 << 20)
}

/// nginx's configuration for a proxy on `port` in front of `nodes`, with
/// every file it writes under `dir`.
pub(crate) fn nginx_conf(dir: &Path, port: u16, nodes: &[SocketAddr], files: u64) -> String {
    let d = dir.display();
    let mut servers = String::new();
    for n in nodes {
        let _ = writeln!(servers, "        server {n};");
    }
    format!(
        "master_process off;
worker_rlimit_nofile {files};
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' ''; }}
    upstream nodes {{
        hash $remote_addr consistent;
{servers}        keepalive 1024;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location /socket.io/ {{
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_buffering off;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            add_header {NODE_HEADER} $upstream_addr always;
        }}
    }}
}}
",
        connections = files.saturating_sub(64).max(64),
    )
}

/// HAProxy's configuration for a proxy on `port` in front of `nodes`.
/// Health checks every 200 ms take a killed node out of the hash; until
/// then a refused connection is retried on another node at once
/// (`option redispatch 1`; by default only the last of the retries,
/// each after a one-second turn-around, would be).
pub(crate) fn haproxy_conf(port: u16, nodes: &[SocketAddr], files: u64) -> String {
    let mut servers = String::new();
    for (i, n) in nodes.iter().enumerate() {
        let _ = writeln!(
            servers,
            "    server n{} {n} check inter 200ms fall 1 rise 1",
            i + 1
        );
    }
    format!(
        "global
    maxconn {maxconn}
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    timeout http-keep-alive 1h
    option redispatch 1
    retries 3
frontend clients
    bind 127.0.0.1:{port}
    default_backend nodes
backend nodes
    balance source
    hash-type consistent
    http-response set-header {NODE_HEADER} %si:%sp
{servers}",
        maxconn = (files.saturating_sub(64) / 2).max(32),
    )
}

/// The loopback address client `index` connects from through a proxy:
/// 127.1.0.1 on, one each, so that a source-address hash spreads them.
pub(crate) fn source_address(index: usize) -> Ipv4Addr {
    let n = u32::try_from(index).unwrap_or(u32::MAX - 1) + 1;
    // Within 127.1.0.1 ..= 127.255.255.255.
    Ipv4Addr::from(0x7f01_0000 + n % 0x00ff_0000)
}

/// A running proxy; stopped (and its files removed) on drop.
#[derive(Debug)]
pub(crate) struct Proxy {
    /// Where clients connect.
    pub(crate) addr: SocketAddr,
    process: Process,
    _dir: tempfile::TempDir,
}

impl Proxy {
    /// Starts `kind` in front of `nodes` and waits until it accepts
    /// connections; `None` for [`ProxyKind::None`].
    pub(crate) async fn start(
        kind: ProxyKind,
        nodes: &[SocketAddr],
    ) -> anyhow::Result<Option<Self>> {
        if kind == ProxyKind::None {
            return Ok(None);
        }
        let dir = tempfile::Builder::new()
            .prefix("respub-loadtest-proxy-")
            .tempdir()?;
        // nginx workers and HAProxy may drop privileges: they must still
        // reach their files.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
        let port = free_port()?;
        let conf = dir.path().join("proxy.conf");
        let (cmd, name) = match kind {
            ProxyKind::Nginx => {
                std::fs::write(&conf, nginx_conf(dir.path(), port, nodes, max_files()))?;
                let mut cmd = Command::new("/usr/sbin/nginx");
                cmd.arg("-p")
                    .arg(dir.path())
                    .arg("-e")
                    .arg(dir.path().join("error.log"))
                    .arg("-c")
                    .arg(&conf)
                    .args(["-g", "daemon off;"]);
                (cmd, "nginx")
            }
            _ => {
                std::fs::write(&conf, haproxy_conf(port, nodes, max_files()))?;
                let mut cmd = Command::new("/usr/sbin/haproxy");
                cmd.arg("-f").arg(&conf).arg("-db");
                (cmd, "haproxy")
            }
        };
        let process = Process::spawn(cmd, name, Stdin::Null, false)
            .with_context(|| format!("starting {name} (apt-get install {name})"))?;
        let mut proxy = Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            process,
            _dir: dir,
        };
        proxy
            .ready()
            .await
            .with_context(|| format!("{name} on port {port}"))?;
        Ok(Some(proxy))
    }

    /// Its pid, for `/proc`.
    pub(crate) fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Waits until the proxy accepts a connection.
    async fn ready(&mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            self.process.check_alive()?;
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "not accepting connections after {READY_TIMEOUT:?}:\n{}",
                    self.process.log_tail()
                );
            }
            tokio::time::sleep(READY_STEP).await;
        }
    }
}

impl Cluster {
    /// How client `index`, placed on node `node`, connects: to that node,
    /// or through the proxy from its own source address (the proxy then
    /// picks the node).
    pub(crate) fn dial(
        &self,
        index: usize,
        node: usize,
        transport: Transport,
    ) -> anyhow::Result<Dial> {
        Ok(match &self.proxy {
            Some(p) => Dial {
                addr: p.addr,
                source: Some(source_address(index)),
                transport,
            },
            None => Dial {
                addr: self.nodes.get(node).map(|n| n.addr).context("no node")?,
                source: None,
                transport,
            },
        })
    }
}

/// The proxy's CPU mark, when there is one.
pub(super) fn proxy_mark(cluster: &Cluster) -> Option<Mark> {
    cluster
        .proxy
        .as_ref()
        .and_then(|p| Mark::take(p.pid()).ok())
}

/// What the proxy cost since `mark`, for `delivered` deliveries.
pub(super) fn proxy_cost(mark: Option<Mark>, delivered: u64) -> Option<ServerFigures> {
    let mark = mark?;
    let (cpu, rss) = mark.since().ok()?;
    Some(ServerFigures::over(cpu, Some(mark.rss), rss, delivered))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn nodes() -> Vec<SocketAddr> {
        vec![
            "127.0.0.1:4001".parse().unwrap(),
            "127.0.0.1:4002".parse().unwrap(),
        ]
    }

    #[test]
    fn nginx_hashes_the_whole_source_address_and_keeps_its_files_in_its_folder() {
        let conf = nginx_conf(Path::new("/tmp/p"), 8080, &nodes(), 20_000);
        assert!(conf.contains("worker_rlimit_nofile 20000;"));
        assert!(conf.contains("worker_connections 19936;"));
        assert!(conf.contains("hash $remote_addr consistent;"));
        assert!(
            !conf.contains("ip_hash"),
            "ip_hash would put 127.0.0.x on one node"
        );
        assert!(conf.contains("server 127.0.0.1:4001;\n"));
        assert!(conf.contains("server 127.0.0.1:4002;\n"));
        assert!(conf.contains("listen 127.0.0.1:8080 "));
        assert!(conf.contains("proxy_set_header Upgrade $http_upgrade;"));
        assert!(conf.contains("add_header x-respub-node $upstream_addr always;"));
        for line in conf
            .lines()
            .filter(|l| l.contains("_path ") || l.contains("error_log") || l.starts_with("pid"))
        {
            assert!(line.contains("/tmp/p/"), "outside the folder: {line}");
        }
        assert_eq!(conf.matches('{').count(), conf.matches('}').count());
    }

    #[test]
    fn haproxy_balances_by_source_with_a_consistent_hash() {
        let conf = haproxy_conf(8080, &nodes(), 20_000);
        assert!(conf.contains("maxconn 9968\n"));
        assert!(conf.contains("balance source\n"));
        assert!(conf.contains("hash-type consistent\n"));
        assert!(conf.contains("option redispatch 1\n"));
        assert!(conf.contains("bind 127.0.0.1:8080\n"));
        assert!(conf.contains("server n1 127.0.0.1:4001 check"));
        assert!(conf.contains("server n2 127.0.0.1:4002 check"));
        assert!(conf.contains("set-header x-respub-node %si:%sp"));
    }

    #[test]
    fn clients_get_distinct_loopback_sources() {
        assert_eq!(source_address(0), Ipv4Addr::new(127, 1, 0, 1));
        assert_eq!(source_address(255), Ipv4Addr::new(127, 1, 1, 0));
        let all: std::collections::HashSet<_> = (0..70_000).map(source_address).collect();
        assert_eq!(all.len(), 70_000);
        assert!(
            all.iter()
                .all(|a| a.is_loopback() && *a != Ipv4Addr::LOCALHOST)
        );
    }
}
