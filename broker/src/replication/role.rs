//! A server's role: master, or replica of `REPLICAOF host port`, and how
//! the replication history changes with it, as Redis'
//! `replicationSetMaster`, `replicationUnsetMaster` and
//! `shiftReplicationId` change it.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::backlog::Backlog;
use super::{NO_REPLID, Replication, random_id};
use crate::client::Client;
use crate::config::OutputLimit;
use crate::outbound::Frame;

/// Where the link to the master is, as ROLE names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Not connected; connecting again soon.
    Connect,
    /// Connecting.
    Connecting,
    /// Connected, in the handshake.
    Handshake,
    /// Loading (skipping) the master's RDB.
    Sync,
    /// In sync, reading the stream.
    Connected,
}

impl LinkState {
    /// ROLE's word for it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Connecting => "connecting",
            Self::Handshake => "handshake",
            Self::Sync => "sync",
            Self::Connected => "connected",
        }
    }
}

/// This server's master.
#[derive(Debug, Clone)]
pub struct Master {
    /// `REPLICAOF <host>`.
    pub host: String,
    /// `REPLICAOF <port>`.
    pub port: u16,
    /// The link's state.
    pub state: LinkState,
    /// When bytes last came from the master.
    pub last_io: Option<Instant>,
    /// Since when the link is down; `None` once it was up and still is.
    pub down_since: Option<Instant>,
    /// Whether the link was ever up (INFO's `-1` before that).
    pub was_up: bool,
    /// Stops the link's task.
    pub cancel: CancellationToken,
}

impl Replication {
    /// `REPLICAOF host port`: false when it is the master already followed.
    /// The returned token stops the new link (the old one is stopped).
    pub fn set_master(&self, host: &str, port: u16) -> Option<CancellationToken> {
        let mut state = self.state.lock();
        if let Some(m) = &state.master {
            if m.host == host && m.port == port {
                return None;
            }
            m.cancel.cancel();
        }
        let cancel = CancellationToken::new();
        state.master = Some(Master {
            host: host.to_owned(),
            port,
            state: LinkState::Connect,
            last_io: None,
            down_since: Some(Instant::now()),
            was_up: false,
            cancel: cancel.clone(),
        });
        Some(cancel)
    }

    /// `REPLICAOF NO ONE`: a master again, with a new history that
    /// remembers the old one up to here (`shiftReplicationId`), so that
    /// replicas of the old master can continue from this one.
    pub fn unset_master(&self) {
        let mut state = self.state.lock();
        let Some(master) = state.master.take() else {
            return;
        };
        master.cancel.cancel();
        state.replid2 = std::mem::replace(&mut state.replid, random_id());
        state.second_offset = state.offset + 1;
        // As Redis does: replicas reconnect at once, continue from the
        // previous id and learn the new one.
        for replica in state.replicas.drain(..) {
            replica.client.kill.cancel();
        }
        state.selected = false;
        self.active.store(
            state.backlog.is_some(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// The history to continue with PSYNC: the master's id and offset.
    pub fn cached(&self) -> Option<(String, i64)> {
        let state = self.state.lock();
        state.backlog.as_ref()?;
        Some((state.replid.clone(), state.offset))
    }

    /// The link reached `link`; bytes came now.
    pub fn link_state(&self, link: LinkState) {
        let mut state = self.state.lock();
        if let Some(m) = state.master.as_mut() {
            m.state = link;
            if link == LinkState::Connected {
                m.down_since = None;
                m.was_up = true;
            } else if m.down_since.is_none() {
                m.down_since = Some(Instant::now());
            }
        }
    }

    /// Bytes came from the master.
    pub fn touched(&self) {
        if let Some(m) = self.state.lock().master.as_mut() {
            m.last_io = Some(Instant::now());
        }
    }

    /// The link is in sync with the master's history `replid` at
    /// `offset`. After a full resynchronisation the history is the
    /// master's from scratch, so sub-replicas must start over too; after a
    /// change of id they are dropped to learn it. Returns the dropped.
    pub fn synced(
        &self,
        replid: &str,
        offset: i64,
        full: bool,
        backlog_size: usize,
    ) -> Vec<Arc<Client>> {
        let mut state = self.state.lock();
        let mut dropped = Vec::new();
        if full {
            state.replid = replid.to_owned();
            state.replid2 = NO_REPLID.to_owned();
            state.second_offset = -1;
            state.offset = offset;
            state.backlog = Some(Backlog::new(offset + 1, backlog_size));
            dropped = state.replicas.drain(..).map(|r| r.client).collect();
        } else if state.replid != replid {
            // The master changed history (it was promoted): keep ours as
            // the previous one, and disconnect sub-replicas, as Redis does,
            // so that they reconnect and learn the new id (continuing
            // from the previous one).
            state.replid2 = std::mem::replace(&mut state.replid, replid.to_owned());
            state.second_offset = offset + 1;
            dropped = state.replicas.drain(..).map(|r| r.client).collect();
        }
        if state.backlog.is_none() {
            state.backlog = Some(Backlog::new(offset + 1, backlog_size));
        }
        self.active
            .store(true, std::sync::atomic::Ordering::Relaxed);
        dropped
    }

    /// Passes the master's stream on to sub-replicas and the backlog, as
    /// received, so that they share its history and offsets.
    pub fn proxy(&self, raw: Bytes, limit: &OutputLimit, wake: &mut Vec<Arc<Client>>) {
        self.state.lock().append(Frame::Shared(&raw), limit, wake);
    }
}
