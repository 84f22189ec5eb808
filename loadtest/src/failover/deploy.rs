//! One deployment under test: a master, two replicas of it and three
//! redis-sentinel processes watching it, all children of the load tester
//! in a temporary directory that goes away with them.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::sentinel;
use crate::child::{Process, Stdin, free_port};
use crate::figures::FailoverParams;
use crate::resp::{Conn, Frame};
use crate::target::{Running, ServerKind, spawn, wait_ready};

/// How long the deployment may take to be ready: replicas linked, every
/// sentinel aware of both replicas and of the two other sentinels (they
/// announce themselves every 2 s).
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Pause between two polls of a condition that is settling.
const POLL: Duration = Duration::from_millis(50);

/// A running deployment; dropping it kills every process.
#[derive(Debug)]
pub(super) struct Deployment {
    /// Killed by the scenario; dropped with the rest otherwise.
    pub(super) master: Running,
    pub(super) replicas: Vec<Running>,
    sentinels: Vec<Process>,
    /// Where the sentinels listen.
    pub(super) sentinel_addrs: Vec<SocketAddr>,
    /// Sentinel configurations and Redis' RDB files.
    _dir: tempfile::TempDir,
}

impl Deployment {
    /// Starts everything and waits until Sentinel could fail it over.
    pub(super) async fn start(
        kind: ServerKind,
        bin: &Path,
        sentinel_bin: &Path,
        params: &FailoverParams,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("respub-loadtest-failover-")
            .tempdir()
            .context("creating a temporary directory")?;
        let extra: Vec<String> = match kind {
            // Redis writes the RDB of a full resync into its directory and
            // waits 5 s for more replicas before a diskless one.
            ServerKind::Redis | ServerKind::Valkey => vec![
                "--dir".into(),
                dir.path().display().to_string(),
                "--repl-diskless-sync-delay".into(),
                "0".into(),
            ],
            ServerKind::Respub => Vec::new(),
        };
        let master = spawn(kind, bin, &extra)
            .await
            .context("starting the master")?;
        let mut replica_args = extra.clone();
        replica_args.extend([
            "--replicaof".into(),
            master.addr.ip().to_string(),
            master.addr.port().to_string(),
        ]);
        let mut replicas = Vec::new();
        for _ in 0..2 {
            replicas.push(
                spawn(kind, bin, &replica_args)
                    .await
                    .context("starting a replica")?,
            );
        }
        for r in &replicas {
            poll_until("a replica's link to its master", SETUP_TIMEOUT, || {
                info_says(r.addr, "master_link_status:up")
            })
            .await?;
        }
        let mut sentinels = Vec::new();
        let mut sentinel_addrs = Vec::new();
        for i in 0..3 {
            let (p, addr) =
                start_sentinel(sentinel_bin, dir.path(), i, params, master.addr).await?;
            sentinels.push(p);
            sentinel_addrs.push(addr);
        }
        for &addr in &sentinel_addrs {
            poll_until(
                "a sentinel to see 2 replicas and 2 sentinels",
                SETUP_TIMEOUT,
                || sentinel::ready(addr, &params.master_name, 2, 2),
            )
            .await?;
        }
        Ok(Self {
            master,
            replicas,
            sentinels,
            sentinel_addrs,
            _dir: dir,
        })
    }

    /// Fails if a sentinel has exited.
    pub(super) fn check_sentinels(&mut self) -> anyhow::Result<()> {
        for s in &mut self.sentinels {
            s.check_alive().context("redis-sentinel")?;
        }
        Ok(())
    }
}

/// Writes a configuration and starts one sentinel on it, on a free port.
async fn start_sentinel(
    bin: &Path,
    dir: &Path,
    index: usize,
    params: &FailoverParams,
    master: SocketAddr,
) -> anyhow::Result<(Process, SocketAddr)> {
    let mut last_err = None;
    for attempt in 0..3 {
        let port = free_port()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let name = &params.master_name;
        // Sentinel rewrites its configuration, so each gets a file of its own.
        let conf = dir.join(format!("sentinel-{index}-{attempt}.conf"));
        let text = format!(
            "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {}\n\
             sentinel monitor {name} {} {} 2\n\
             sentinel down-after-milliseconds {name} {}\n\
             sentinel failover-timeout {name} {}\n",
            dir.display(),
            master.ip(),
            master.port(),
            params.down_after_ms,
            params.failover_timeout_ms,
        );
        std::fs::write(&conf, text).with_context(|| format!("writing {}", conf.display()))?;
        let mut cmd = Command::new(bin);
        cmd.arg(&conf);
        let mut process = Process::spawn(cmd, "redis-sentinel", Stdin::Null, false)?;
        match wait_ready(addr, Some(&mut process), Duration::from_secs(10)).await {
            Ok(()) => return Ok((process, addr)),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| anyhow::anyhow!("could not start redis-sentinel")))
}

/// Whether `INFO replication` of `addr` has the line `line`.
async fn info_says(addr: SocketAddr, line: &'static str) -> anyhow::Result<bool> {
    let mut conn = Conn::connect(addr, false).await?;
    let reply = conn.command(&[b"INFO", b"replication"]).await?;
    let Frame::Bulk(text) = reply else {
        bail!("INFO replication: unexpected reply {reply:?}");
    };
    Ok(String::from_utf8_lossy(&text).lines().any(|l| l == line))
}

/// Polls `check` until it says yes, at most `timeout`; an error counts as
/// "not yet" and is what the timeout reports.
pub(super) async fn poll_until<F, Fut>(
    what: &str,
    timeout: Duration,
    mut check: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    let mut last = None;
    loop {
        match tokio::time::timeout(Duration::from_secs(2), check()).await {
            Ok(Ok(true)) => return Ok(()),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => last = Some(e),
            Err(_) => last = Some(anyhow::anyhow!("no answer within 2 s")),
        }
        if Instant::now() >= deadline {
            let why = last.map(|e| format!(": {e:#}")).unwrap_or_default();
            bail!("waited {timeout:?} for {what}{why}");
        }
        tokio::time::sleep(POLL).await;
    }
}
