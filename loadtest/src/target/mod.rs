//! The servers under test: ones already running (`--target NAME=HOST:PORT`)
//! and ones the load tester starts itself (`--spawn KIND`).
//!
//! A spawned server gets a free 127.0.0.1 port and no persistence, is
//! started afresh before every scenario (Redis keeps pattern and channel
//! tables allocated after use, which would tilt the next scenario), and is
//! killed when its [`Running`] guard drops. Dropping is what happens on
//! success, on error (the `?` unwinds the stack of guards) and on Ctrl-C
//! (`main` drops the whole benchmark future), so no server outlives the load
//! tester unless the load tester itself is killed with SIGKILL.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::child::{Process, Stdin, free_port};
use crate::resp::{Conn, Frame};

/// How long a started server may take to answer PING.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Servers the load tester knows how to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ServerKind {
    /// respub's own `respub-server`.
    Respub,
    /// `redis-server`, with `--save '' --appendonly no`.
    #[value(name = "redis-server")]
    Redis,
    /// `valkey-server`, started like redis-server.
    #[value(name = "valkey-server")]
    Valkey,
}

impl ServerKind {
    /// The name the report shows.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ServerKind::Respub => "respub",
            ServerKind::Redis => "redis-server",
            ServerKind::Valkey => "valkey-server",
        }
    }

    /// The executable's file name.
    fn binary(self) -> &'static str {
        match self {
            ServerKind::Respub => "respub-server",
            ServerKind::Redis => "redis-server",
            ServerKind::Valkey => "valkey-server",
        }
    }

    /// Arguments that start it on `port`, loopback only, without
    /// persistence and with room for many clients (the `idle` scenario).
    fn args(self, port: u16) -> Vec<String> {
        let port = port.to_string();
        match self {
            ServerKind::Respub => vec![
                "--port".into(),
                port,
                "--bind".into(),
                "127.0.0.1".into(),
                "--maxclients".into(),
                "1000000".into(),
                "--loglevel".into(),
                "warning".into(),
            ],
            ServerKind::Redis | ServerKind::Valkey => vec![
                "--port".into(),
                port,
                "--bind".into(),
                "127.0.0.1".into(),
                "--save".into(),
                String::new(),
                "--appendonly".into(),
                "no".into(),
                "--maxclients".into(),
                "100000".into(),
                "--protected-mode".into(),
                "no".into(),
                "--loglevel".into(),
                "warning".into(),
            ],
        }
    }

    /// Finds the executable: `explicit` if given; respub-server next to the
    /// load tester's own binary (`target/<profile>/`, or its parent when
    /// running from `target/<profile>/deps/` as tests do), then `PATH`.
    pub(crate) fn locate(self, explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
        if let Some(p) = explicit {
            if p.is_file() {
                return Ok(p.to_owned());
            }
            bail!("{} binary {} does not exist", self.name(), p.display());
        }
        let mut candidates = Vec::new();
        if self == ServerKind::Respub
            && let Ok(exe) = std::env::current_exe()
        {
            for dir in exe.ancestors().skip(1).take(2) {
                candidates.push(dir.join(self.binary()));
            }
        }
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path).map(|d| d.join(self.binary())));
        }
        if let Some(found) = candidates.into_iter().find(|c| c.is_file()) {
            return Ok(found);
        }
        match self {
            ServerKind::Respub => bail!(
                "respub-server not found next to the load tester nor in PATH; build it with \
                 `cargo build --release -p respub-broker --bin respub-server` or pass --respub-bin PATH"
            ),
            ServerKind::Redis => {
                bail!("redis-server not found in PATH; install it or pass --redis-bin PATH")
            }
            ServerKind::Valkey => {
                bail!("valkey-server not found in PATH; install it or pass --valkey-bin PATH")
            }
        }
    }
}

/// Where a target comes from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Already running; never restarted, and CPU/RSS are not measured.
    External(SocketAddr),
    /// Started by the load tester from `bin`.
    Spawn {
        /// Which server.
        kind: ServerKind,
        /// Its executable.
        bin: PathBuf,
    },
    /// A respub broker inside the test process (tests only).
    #[cfg(test)]
    InProcess,
}

/// One server under test.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The column header in the report.
    pub(crate) name: String,
    /// How to reach or start it.
    pub(crate) source: Source,
}

impl Target {
    /// Parses `NAME=HOST:PORT`.
    pub(crate) fn parse_external(spec: &str) -> anyhow::Result<Self> {
        let (name, addr) = spec
            .split_once('=')
            .with_context(|| format!("--target {spec:?}: expected NAME=HOST:PORT"))?;
        let addr = std::net::ToSocketAddrs::to_socket_addrs(addr)
            .with_context(|| format!("--target {spec:?}: cannot resolve {addr:?}"))?
            .next()
            .with_context(|| format!("--target {spec:?}: {addr:?} has no address"))?;
        Ok(Self {
            name: name.to_owned(),
            source: Source::External(addr),
        })
    }

    /// Starts (or, for an external target, just checks) the server and
    /// returns the guard that stops it.
    pub(crate) async fn start(&self) -> anyhow::Result<Running> {
        match &self.source {
            Source::External(addr) => {
                // Already running: either it answers now or it never will.
                wait_ready(*addr, None, Duration::from_secs(3)).await?;
                Ok(Running {
                    addr: *addr,
                    process: None,
                    #[cfg(test)]
                    in_process: None,
                })
            }
            Source::Spawn { kind, bin } => spawn(*kind, bin, &[]).await,
            #[cfg(test)]
            Source::InProcess => in_process::start().await,
        }
    }
}

/// A started server. Dropping it stops the server.
#[derive(Debug)]
pub(crate) struct Running {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    process: Option<Process>,
    /// Keeps an in-process broker running; dropping it shuts it down.
    #[cfg(test)]
    #[allow(dead_code)]
    in_process: Option<in_process::Handle>,
}

impl Running {
    /// The server's pid, when it is a child process whose `/proc` entry the
    /// load tester may read.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Process::pid)
    }

    /// The server's process, when the load tester started it.
    pub(crate) fn process(&mut self) -> Option<&mut Process> {
        self.process.as_mut()
    }

    /// Kills a spawned server with SIGKILL now (a crash, for `failover`).
    pub(crate) fn kill(&mut self) -> anyhow::Result<()> {
        match &mut self.process {
            Some(p) => p.kill(),
            None => bail!("{} was not started by the load tester", self.addr),
        }
    }
}

/// Starts `kind` from `bin` on a free port with `extra` arguments after
/// its usual ones, and waits until it answers PING.
pub(crate) async fn spawn(
    kind: ServerKind,
    bin: &Path,
    extra: &[String],
) -> anyhow::Result<Running> {
    let mut last_err = None;
    for _attempt in 0..3 {
        let port = free_port()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut cmd = Command::new(bin);
        cmd.args(kind.args(port)).args(extra);
        let mut process = Process::spawn(cmd, kind.binary(), Stdin::Null, false)?;
        tracing::debug!(pid = process.pid(), %addr, "started {}", kind.name());
        match wait_ready(addr, Some(&mut process), READY_TIMEOUT).await {
            Ok(()) => {
                return Ok(Running {
                    addr,
                    process: Some(process),
                    #[cfg(test)]
                    in_process: None,
                });
            }
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| anyhow::anyhow!("could not start {}", kind.name())))
}

/// Waits until `addr` answers PING, failing early if `process` exits.
pub(crate) async fn wait_ready(
    addr: SocketAddr,
    mut process: Option<&mut Process>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(p) = process.as_deref_mut() {
            p.check_alive().context("server")?;
        }
        let attempt = tokio::time::timeout(Duration::from_secs(2), async {
            let mut conn = Conn::connect(addr, false).await?;
            conn.command(&[b"PING"]).await
        })
        .await;
        match attempt {
            Ok(Ok(Frame::Simple(s))) if s.as_ref() == b"PONG" => return Ok(()),
            Ok(Ok(other)) if Instant::now() >= deadline => {
                bail!("{addr} answered PING with {other:?}")
            }
            Ok(Err(e)) if Instant::now() >= deadline => {
                return Err(e.context(format!("{addr} is not answering")));
            }
            Err(_) if Instant::now() >= deadline => bail!("{addr}: PING timed out"),
            _ => {}
        }
        // Polling a process that is starting up; not a test synchronisation.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod in_process;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
