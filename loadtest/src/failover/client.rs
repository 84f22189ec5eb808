//! A Sentinel-aware connection, as Redis' Sentinel client guidelines
//! describe and ioredis and fred do it: ask a sentinel for the master's
//! address, connect, check with ROLE that the node is the master, and on
//! any failure ask the next sentinel.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;

use super::sentinel::master_addr;
use crate::resp::Conn;

/// One attempt to find and reach the master gives up after this long: a
/// sentinel or a node that hangs must not stall a client for longer.
const ATTEMPT: Duration = Duration::from_secs(1);

/// Finds the master through the sentinels, keeping one connection to the
/// sentinel it asks.
#[derive(Debug)]
pub(super) struct Resolver {
    sentinels: Vec<SocketAddr>,
    name: String,
    /// The sentinel asked next.
    next: usize,
    /// The connection to that sentinel, once opened.
    conn: Option<Conn>,
}

impl Resolver {
    /// Asks `sentinels` about `name`, starting with the one at `first`
    /// (clients start at different ones, so no sentinel answers them all).
    pub(super) fn new(sentinels: &[SocketAddr], name: &str, first: usize) -> Self {
        Self {
            sentinels: sentinels.to_vec(),
            name: name.to_owned(),
            next: first,
            conn: None,
        }
    }

    /// One attempt; on failure the next attempt asks the next sentinel.
    pub(super) async fn connect_master(&mut self) -> anyhow::Result<(Conn, SocketAddr)> {
        let result = match tokio::time::timeout(ATTEMPT, self.attempt()).await {
            Ok(r) => r,
            Err(_) => Err(anyhow::anyhow!("no master within {ATTEMPT:?}")),
        };
        if result.is_err() {
            self.conn = None;
            self.next = self.next.wrapping_add(1);
        }
        result
    }

    /// Attempts every `retry` until one succeeds; `None` once `stop` fires.
    pub(super) async fn until_connected(
        &mut self,
        retry: Duration,
        stop: &CancellationToken,
    ) -> Option<(Conn, SocketAddr)> {
        loop {
            if stop.is_cancelled() {
                return None;
            }
            match self.connect_master().await {
                Ok(found) => return Some(found),
                Err(e) => tracing::debug!("looking for the master: {e:#}"),
            }
            tokio::select! {
                () = stop.cancelled() => return None,
                () = tokio::time::sleep(retry) => {}
            }
        }
    }

    async fn attempt(&mut self) -> anyhow::Result<(Conn, SocketAddr)> {
        let Some(&sentinel) = self.sentinels.get(self.next % self.sentinels.len().max(1)) else {
            bail!("no sentinel to ask");
        };
        let conn = match &mut self.conn {
            Some(c) => c,
            slot => slot.insert(Conn::connect(sentinel, false).await?),
        };
        let addr = master_addr(conn, &self.name)
            .await
            .with_context(|| format!("asking sentinel {sentinel}"))?
            .with_context(|| format!("sentinel {sentinel} does not know {:?}", self.name))?;
        let mut node = Conn::connect(addr, false).await?;
        let role = node.command(&[b"ROLE"]).await?;
        let first = role.head();
        if first != Some(b"master") {
            bail!("{addr} (from sentinel {sentinel}) is not the master: ROLE = {role:?}");
        }
        Ok((node, addr))
    }
}
