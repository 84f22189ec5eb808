//! A Sentinel deployment on loopback: a master and two replicas (respub-server binaries or
//! redis-servers) watched by three real `redis-sentinel` processes, with the short
//! timeouts that keep a failover within a few seconds.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::OnceLock,
};

use tokio::process::{Child, Command};

use super::{free_port, wait_line};
use crate::fixture::{
    poll,
    raw::{Reply, command},
};

/// The monitored master's name.
pub const SERVICE: &str = "mymaster";

/// What the master and the replicas run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Respub,
    Redis,
}

/// `respub-server`, built on demand (once per test binary): a test of this crate cannot
/// depend on another crate's binary, so it is built next to this test binary, as
/// `cargo build` would.
pub fn respub_server_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/<test binary>
        let profile = exe.parent().and_then(Path::parent).unwrap().to_owned();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = std::process::Command::new(cargo);
        build.args(["build", "--quiet", "-p", "respub-broker"]);
        build.args(["--bin", "respub-server"]);
        if profile.ends_with("release") {
            build.arg("--release");
        }
        // What cargo set for this test's package: build scripts that watch these (ring's
        // does) would otherwise run again, and the next `cargo test` rebuild their crates.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_MANIFEST_")
                || [
                    "CARGO_CRATE_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                ]
                .contains(&key.as_ref())
            {
                build.env_remove(key.as_ref());
            }
        }
        let built = build.status().unwrap().success();
        assert!(built, "building respub-server failed");
        profile.join("respub-server")
    })
    .clone()
}

/// A master or replica, killed (SIGKILL) on drop.
pub struct DataNode {
    pub port: u16,
    child: Child,
}

impl DataNode {
    /// `dir` holds what a redis-server writes (a replica's copy of the RDB).
    async fn start(kind: Kind, dir: &Path, replica_of: Option<u16>) -> Self {
        let port = free_port();
        let (mut cmd, ready) = match kind {
            Kind::Respub => (
                Command::new(respub_server_bin()),
                "ready to accept connections",
            ),
            Kind::Redis => {
                let mut cmd = Command::new("redis-server");
                cmd.args(["--save", "", "--appendonly", "no"]);
                cmd.args(["--dbfilename", &format!("dump-{port}.rdb")]);
                (cmd, "Ready to accept connections")
            }
        };
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
        cmd.arg("--dir").arg(dir);
        if let Some(master) = replica_of {
            cmd.args(["--replicaof", "127.0.0.1", &master.to_string()]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the data node could not be started");
        wait_line(&mut child, &format!("{kind:?}:{port}"), ready).await;
        Self { port, child }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

/// A `redis-sentinel` with its own configuration file, killed on drop.
pub struct Sentinel {
    pub port: u16,
    _child: Child,
}

impl Sentinel {
    async fn start(dir: &Path, master: u16) -> Self {
        let port = free_port();
        let conf = dir.join(format!("sentinel-{port}.conf"));
        let text = format!(
            "port {port}\nbind 127.0.0.1\ndaemonize no\nlogfile \"\"\ndir {}\n\
             sentinel monitor {SERVICE} 127.0.0.1 {master} 2\n\
             sentinel down-after-milliseconds {SERVICE} 1000\n\
             sentinel failover-timeout {SERVICE} 5000\n",
            dir.display()
        );
        std::fs::write(&conf, text).unwrap();
        let mut child = Command::new("redis-sentinel")
            .arg(&conf)
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-sentinel (apt-get install redis-sentinel) could not be started");
        wait_line(&mut child, &format!("sentinel:{port}"), "+monitor master").await;
        Self {
            port,
            _child: child,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `SENTINEL <sub> mymaster`.
    async fn ask(&self, sub: &str) -> Option<Reply> {
        command(self.addr(), &["SENTINEL", sub, SERVICE]).await
    }

    /// The master's port as this sentinel reports it.
    async fn master_port(&self) -> Option<u16> {
        match self.ask("get-master-addr-by-name").await? {
            Reply::Array(items) => match items.get(1)? {
                Reply::Bulk(Some(port)) => port.parse().ok(),
                _ => None,
            },
            _ => None,
        }
    }

    /// Every entry of `SENTINEL <sub>` is healthy (flags exactly `want`), and there are
    /// `n` of them.
    async fn sees(&self, sub: &str, want: &str, n: usize) -> bool {
        let Some(Reply::Array(entries)) = self.ask(sub).await else {
            return false;
        };
        entries.len() == n
            && entries
                .iter()
                .all(|e| e.field("flags").as_deref() == Some(want))
    }
}

/// Master, two replicas and three sentinels; everything is killed on drop.
pub struct Deployment {
    /// The data nodes, the first master at first.
    pub nodes: Vec<DataNode>,
    pub sentinels: Vec<Sentinel>,
    dir: PathBuf,
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Deployment {
    /// Starts everything and returns once every sentinel sees both replicas and the two
    /// other sentinels, so that a failover can start right away.
    pub async fn start(kind: Kind) -> Self {
        let dir =
            std::env::temp_dir().join(format!("respub-sentinel-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let master = DataNode::start(kind, &dir, None).await;
        let mut nodes = vec![
            DataNode::start(kind, &dir, Some(master.port)).await,
            DataNode::start(kind, &dir, Some(master.port)).await,
        ];
        nodes.insert(0, master);
        // A sentinel learns the replicas from the master's first INFO; if they were not
        // listed yet it would only see them ten seconds later.
        let master_addr = nodes[0].addr();
        poll("both replicas online on the master", async || {
            let info = command(master_addr, &["INFO", "replication"]).await;
            let Some(Reply::Bulk(Some(info))) = info else {
                return None;
            };
            (info.matches("state=online").count() == 2).then_some(())
        })
        .await;
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            sentinels.push(Sentinel::start(&dir, master_addr.port()).await);
        }
        let deployment = Self {
            nodes,
            sentinels,
            dir,
        };
        for s in &deployment.sentinels {
            poll(
                "each sentinel to see 2 replicas and 2 sentinels",
                async || {
                    let ready = s.sees("replicas", "slave", 2).await
                        && s.sees("sentinels", "sentinel", 2).await;
                    ready.then_some(())
                },
            )
            .await;
        }
        deployment
    }

    /// fred's Sentinel URL naming every sentinel.
    pub fn url(&self) -> String {
        let mut ports = self.sentinels.iter().map(|s| s.port);
        let first = ports.next().unwrap();
        let mut url = format!("redis-sentinel://127.0.0.1:{first}/0?sentinelServiceName={SERVICE}");
        for port in ports {
            url.push_str(&format!("&node=127.0.0.1:{port}"));
        }
        url
    }

    /// The master every sentinel agrees on, once they agree on one other than `old`.
    async fn agreed_master(&self, old: Option<u16>) -> SocketAddr {
        let what = if old.is_some() {
            "the sentinels to agree on a new master"
        } else {
            "the sentinels to agree on the master"
        };
        poll(what, async || {
            let mut ports = Vec::new();
            for s in &self.sentinels {
                ports.push(s.master_port().await?);
            }
            let port = *ports.first()?;
            let agreed = Some(port) != old && ports.iter().all(|p| *p == port);
            agreed.then(|| SocketAddr::from(([127, 0, 0, 1], port)))
        })
        .await
    }

    /// The current master.
    pub async fn master(&self) -> SocketAddr {
        self.agreed_master(None).await
    }

    /// `kill -9` of the current master; returns its address.
    pub async fn kill_master(&mut self) -> SocketAddr {
        let old = self.master().await;
        let i = self.nodes.iter().position(|n| n.addr() == old).unwrap();
        let mut dead = self.nodes.remove(i);
        dead.child.kill().await.unwrap();
        old
    }

    /// Waits for `+switch-master`: every sentinel names a master other than `old`, which
    /// must be one of the replicas. Returns it.
    pub async fn wait_switch(&self, old: SocketAddr) -> SocketAddr {
        let new = self.agreed_master(Some(old.port())).await;
        assert!(
            self.nodes.iter().any(|n| n.addr() == new),
            "the new master {new} is not one of the replicas"
        );
        new
    }
}
