//! The clusters the load tester starts for the stacks under test:
//! a broker (through [`crate::target`]) and N Socket.IO nodes as child
//! processes, each connected to the broker and listening on a free
//! 127.0.0.1 port it reports with a `READY <port>` line.
//!
//! Rust nodes are this very executable re-run as `respub-loadtest sio-node`
//! (see [`super::server`]); Node nodes are `node loadtest/node/sio_node.mjs`,
//! whose npm packages the load tester installs with `npm ci` when they are
//! missing. Dropping a [`Cluster`] stops the nodes, then the broker.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use super::stack::{Nodes, Stack};
use crate::child::{Process, Stdin};
use crate::target::{Running, Source, Target};

/// How long a node may take to connect, subscribe and listen.
pub(super) const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The npm packages `sio_node.mjs` imports.
const NODE_PACKAGES: [&str; 4] = ["socket.io", "@socket.io/redis-adapter", "redis", "ioredis"];

/// Which program a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    /// `respub-loadtest sio-node`.
    Rust,
    /// `node sio_node.mjs`.
    Node,
}

/// Where node programs come from.
#[derive(Debug, Clone)]
pub(crate) struct Programs {
    /// The executable that runs `sio-node` (normally this one).
    pub(crate) rust_exe: PathBuf,
    /// The folder with `sio_node.mjs`, `package.json` and `node_modules`.
    pub(crate) node_dir: PathBuf,
    /// How long a node waits for the acks of a broadcast with acks.
    pub(crate) ack_timeout: Duration,
}

impl Programs {
    /// The folder `sio_node.mjs` ships in, in the source tree this binary
    /// was built from.
    pub(crate) fn default_node_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("node")
    }

    /// Checks what `kind` needs, installing the npm packages of Node nodes
    /// with `npm ci` when they are missing.
    pub(crate) fn prepare(&self, kind: NodeKind) -> anyhow::Result<()> {
        match kind {
            NodeKind::Rust => {
                if !self.rust_exe.is_file() {
                    bail!("{} does not exist", self.rust_exe.display());
                }
            }
            NodeKind::Node => {
                let script = self.node_dir.join("sio_node.mjs");
                if !script.is_file() {
                    bail!(
                        "{} not found: give the folder of sio_node.mjs with --node-dir",
                        script.display()
                    );
                }
                if !self.npm_installed() {
                    self.npm_ci()?;
                }
            }
        }
        Ok(())
    }

    fn npm_installed(&self) -> bool {
        NODE_PACKAGES.iter().all(|p| {
            self.node_dir
                .join("node_modules")
                .join(p)
                .join("package.json")
                .is_file()
        })
    }

    fn npm_ci(&self) -> anyhow::Result<()> {
        let dir = self.node_dir.display();
        let command = format!("npm ci --no-audit --no-fund --prefix {dir}");
        eprintln!("installing socket.io and @socket.io/redis-adapter: {command}");
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&self.node_dir)
            .status();
        match status {
            Ok(s) if s.success() && self.npm_installed() => Ok(()),
            Ok(s) => bail!("`{command}` failed ({s}); run it yourself, then retry"),
            Err(e) => bail!(
                "could not run npm ({e}): install Node.js 20 or later with npm, then run `{command}`"
            ),
        }
    }

    /// The command that starts one node running `nodes` on the broker at
    /// `redis`.
    fn command(&self, nodes: Nodes, redis: SocketAddr) -> Command {
        self.command_on(nodes, redis, 0)
    }

    /// The same, listening on `port` (0: a free one).
    pub(super) fn command_on(&self, nodes: Nodes, redis: SocketAddr, port: u16) -> Command {
        let url = format!("redis://{redis}");
        let ack_ms = self.ack_timeout.as_millis().to_string();
        let mode = nodes.mode.flag();
        let port = port.to_string();
        match nodes.kind {
            NodeKind::Rust => {
                let mut cmd = Command::new(&self.rust_exe);
                cmd.args(["sio-node", "--redis", &url, "--ack-timeout-ms", &ack_ms])
                    .args(["--mode", mode, "--port", &port]);
                cmd
            }
            NodeKind::Node => {
                let mut cmd = Command::new("node");
                cmd.current_dir(&self.node_dir)
                    .args(["sio_node.mjs", "--redis", &url, "--ack-timeout", &ack_ms])
                    .args(["--client", nodes.client.flag(), "--mode", mode])
                    .args(["--port", &port]);
                cmd
            }
        }
    }
}

/// One started node.
#[derive(Debug)]
pub(crate) struct Node {
    /// Where its clients connect.
    pub(crate) addr: SocketAddr,
    pub(super) process: Process,
}

impl Node {
    /// Its pid, for `/proc`.
    pub(crate) fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Its process, to see whether it is still alive.
    pub(crate) fn process(&mut self) -> &mut Process {
        &mut self.process
    }
}

/// A broker and its nodes. Fields drop in order: the nodes stop first, so
/// none of them sees its broker vanish and starts reconnecting.
#[derive(Debug)]
pub(crate) struct Cluster {
    /// A balancer in front of the nodes (`--proxy`), stopped first.
    pub(crate) proxy: Option<super::proxy::Proxy>,
    /// The nodes, in the order clients are spread over them.
    pub(crate) nodes: Vec<Node>,
    /// The broker.
    pub(crate) broker: Running,
}

impl Cluster {
    /// Starts `broker`, then `n` nodes running `nodes` on it, all at once.
    pub(crate) async fn start(
        broker: &Target,
        nodes: impl Into<Nodes>,
        n: usize,
        programs: &Programs,
    ) -> anyhow::Result<Self> {
        let nodes: Nodes = nodes.into();
        let broker = broker
            .start()
            .await
            .with_context(|| format!("starting the broker {}", broker.name))?;
        let mut starting = Vec::with_capacity(n);
        for i in 0..n {
            let name = format!("sio-node-{}", i + 1);
            let process = Process::spawn(
                programs.command(nodes, broker.addr),
                &name,
                Stdin::Pipe,
                true,
            )
            .with_context(|| format!("starting node {}", i + 1))?;
            starting.push(process);
        }
        let mut nodes = Vec::with_capacity(n);
        for (i, mut process) in starting.into_iter().enumerate() {
            let rest = process
                .wait_line("READY ", READY_TIMEOUT)
                .await
                .with_context(|| format!("node {}", i + 1))?;
            let port: u16 = rest
                .trim()
                .parse()
                .with_context(|| format!("node {}: READY {rest:?}", i + 1))?;
            nodes.push(Node {
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                process,
            });
        }
        Ok(Self {
            proxy: None,
            nodes,
            broker,
        })
    }
}

/// The broker of `stack`, found where `--spawn` finds it, or `explicit`.
pub(crate) fn broker_target(stack: Stack, explicit: Option<&Path>) -> anyhow::Result<Target> {
    let kind = stack.broker();
    Ok(Target {
        name: kind.name().to_owned(),
        source: Source::Spawn {
            kind,
            bin: kind.locate(explicit)?,
        },
    })
}
