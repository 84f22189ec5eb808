//! What the clients of a run record as messages arrive.
//!
//! Every message event carries `[emitter, room, seq, sent ns]` (then
//! padding). Each client checks its own streams (one per emitter it should
//! hear) for loss, duplicates and reordering; latency and arrivals over
//! time go to a few shared, locked [`Deliveries`] rather than one per
//! client, so that ten thousand clients do not hold ten thousand
//! histograms.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use anyhow::{Context, bail};
use serde::Deserialize;
use serde::de::IgnoredAny;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::client::{Finished, Handler};
use crate::measure::{Clock, Deliveries, SeqTracker};

/// Locks over the shared figures: enough that two cores rarely meet on one.
const SHARDS: usize = 16;

/// The stamp at the start of every message.
#[derive(Debug, Deserialize)]
struct Stamp(u32, u32, u64, u64, IgnoredAny);

/// What a client is there for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Member of this room: must get every message sent to it, once.
    Room(u32),
    /// Must get every message of every emitter, once (`broadcast`, `acks`).
    All,
    /// Joins and leaves rooms: what it gets is counted, not checked.
    Unchecked,
}

/// Drain bookkeeping of one checked client: once sending has stopped and
/// its target is known, the client reports reaching it exactly once.
#[derive(Debug)]
struct Inbox {
    received: AtomicU64,
    target: AtomicU64,
    reached: AtomicBool,
}

/// State every client of a run shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Set when sending starts; a message before that is an error.
    pub(crate) clock: OnceLock<Clock>,
    /// The client index of each emitter, to count cross-node deliveries
    /// (`None`: a broker emitter, on no node).
    emitter_clients: Vec<Option<usize>>,
    /// The nodes' addresses, in order.
    nodes: Vec<SocketAddr>,
    /// The node each client is connected to, as far as it knows.
    client_nodes: Vec<AtomicU16>,
    shards: Vec<Mutex<Deliveries>>,
    inboxes: Vec<Inbox>,
    /// Checked deliveries so far, for the progress bar.
    pub(crate) delivered: AtomicU64,
    /// Deliveries to unchecked clients.
    pub(crate) unchecked: AtomicU64,
    reached: AtomicUsize,
    notify: Notify,
}

impl Shared {
    /// For `clients` clients (indexed from 0) of the nodes at `nodes`,
    /// emitter `e` being client `emitter_clients[e]`.
    pub(crate) fn new(
        clients: usize,
        emitter_clients: Vec<Option<usize>>,
        nodes: Vec<SocketAddr>,
    ) -> anyhow::Result<Self> {
        let shards = (0..SHARDS)
            .map(|_| Deliveries::new(3).map(Mutex::new))
            .collect::<anyhow::Result<_>>()?;
        let inboxes = (0..clients)
            .map(|_| Inbox {
                received: AtomicU64::new(0),
                target: AtomicU64::new(u64::MAX),
                reached: AtomicBool::new(false),
            })
            .collect();
        Ok(Self {
            clock: OnceLock::new(),
            emitter_clients,
            nodes,
            client_nodes: (0..clients).map(|_| AtomicU16::new(u16::MAX)).collect(),
            shards,
            inboxes,
            delivered: AtomicU64::new(0),
            unchecked: AtomicU64::new(0),
            reached: AtomicUsize::new(0),
            notify: Notify::new(),
        })
    }

    fn reach(&self, inbox: &Inbox) {
        if !inbox.reached.swap(true, Ordering::AcqRel) {
            self.reached.fetch_add(1, Ordering::AcqRel);
            self.notify.notify_one();
        }
    }

    /// Client `index` should receive `target` messages in all (sending has
    /// stopped).
    pub(crate) fn set_target(&self, index: usize, target: u64) {
        if let Some(inbox) = self.inboxes.get(index) {
            // SeqCst here and in `on_event`: of the two sides, store then
            // load each, at least one must see the other's store.
            inbox.target.store(target, Ordering::SeqCst);
            if inbox.received.load(Ordering::SeqCst) >= target {
                self.reach(inbox);
            }
        }
    }

    /// Waits until `clients` clients reached their target, or `deadline`.
    pub(crate) async fn drained(&self, clients: usize, deadline: tokio::time::Instant) {
        while self.reached.load(Ordering::Acquire) < clients {
            tokio::select! {
                () = self.notify.notified() => {}
                () = tokio::time::sleep_until(deadline) => return,
            }
        }
    }

    /// The node client `index` is on (`u16::MAX` before it connects).
    pub(crate) fn node_of(&self, index: usize) -> u16 {
        self.client_nodes
            .get(index)
            .map_or(u16::MAX, |n| n.load(Ordering::Relaxed))
    }

    /// The node emitter `e`'s client is on (`u16::MAX`: none).
    pub(crate) fn emitter_node(&self, e: u32) -> u16 {
        let client = self.emitter_clients.get(e as usize).copied().flatten();
        client.map_or(u16::MAX, |c| self.node_of(c))
    }

    /// The index of the node at `addr` (`u16::MAX`: none of them).
    pub(crate) fn node_index(&self, addr: SocketAddr) -> u16 {
        let index = self.nodes.iter().position(|&n| n == addr);
        index.map_or(u16::MAX, super::layout::node_id)
    }

    /// Clients per node, by where they connected.
    pub(crate) fn spread(&self) -> Vec<usize> {
        let mut per = vec![0; self.nodes.len()];
        for i in 0..self.client_nodes.len() {
            if let Some(n) = per.get_mut(usize::from(self.node_of(i))) {
                *n += 1;
            }
        }
        per
    }

    /// Everything the clients recorded, merged.
    pub(crate) fn deliveries(&self) -> anyhow::Result<Deliveries> {
        let mut all = Deliveries::new(3)?;
        for shard in &self.shards {
            all.merge(&shard.lock().unwrap_or_else(PoisonError::into_inner))?;
        }
        Ok(all)
    }
}

/// A client's task, which ends with what its receiver saw.
pub(super) type ClientTask = JoinHandle<Finished<Receiver>>;

/// One client's [`Handler`].
#[derive(Debug)]
pub(crate) struct Receiver {
    /// The client's index in the run.
    pub(crate) index: usize,
    /// The node it is connected to.
    pub(crate) node: u16,
    /// What it should receive.
    pub(crate) expect: Expect,
    /// Its streams, `(emitter, room)`.
    pub(crate) seq: SeqTracker,
    /// Deliveries from an emitter on another node.
    pub(crate) cross_node: u64,
    /// The run's shared state.
    pub(crate) shared: std::sync::Arc<Shared>,
}

impl Handler for Receiver {
    fn on_event(&mut self, json: &str) -> anyhow::Result<()> {
        let (name, Stamp(emitter, room, seq, sent, _)): (&str, Stamp) =
            serde_json::from_str(json).with_context(|| format!("unexpected event {json}"))?;
        if name != "m" && name != "q" {
            bail!("unexpected event {name:?}");
        }
        let shared = &*self.shared;
        let clock = shared
            .clock
            .get()
            .context("a message arrived before sending started")?;
        let now = clock.now_ns();
        if self.expect == Expect::Unchecked {
            shared.unchecked.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        self.seq.observe((emitter, room), seq);
        if shared.emitter_node(emitter) != self.node {
            self.cross_node += 1;
        }
        if let Some(shard) = shared.shards.get(self.index % SHARDS) {
            let mut d = shard.lock().unwrap_or_else(PoisonError::into_inner);
            d.observe(clock, sent, now);
            d.arrived(clock, now, 1);
        }
        shared.delivered.fetch_add(1, Ordering::Relaxed);
        if let Some(inbox) = shared.inboxes.get(self.index) {
            let n = inbox.received.fetch_add(1, Ordering::SeqCst) + 1;
            if n >= inbox.target.load(Ordering::SeqCst) {
                shared.reach(inbox);
            }
        }
        Ok(())
    }

    fn on_node(&mut self, node: SocketAddr) {
        let shared = &*self.shared;
        self.node = shared.node_index(node);
        if let Some(n) = shared.client_nodes.get(self.index) {
            n.store(self.node, Ordering::Relaxed);
        }
    }
}
