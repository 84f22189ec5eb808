//! The master side of Redis replication: replicas (real redis-servers or
//! respub) attach with `PSYNC`/`SYNC`, load an empty RDB and then receive
//! every PUBLISH and SPUBLISH exactly as it was sent, so that their own
//! subscribers get every message, as on a Redis master.
//!
//! The stream and its offsets are Redis' byte for byte: `SELECT 0` before
//! the first command after a full resynchronisation, each command as the
//! client wrote it (letter case included), `ping` every
//! `repl-ping-replica-period`, and `master_repl_offset` counting exactly
//! those bytes, so `INFO replication`, `ROLE` and the replicas' `REPLCONF
//! ACK` agree with Redis' and a replica can continue from the backlog
//! after a reconnection. Each command is encoded once, into a buffer
//! kept for the next, and copied into every replica's queue and the
//! backlog's block: nothing is allocated per command.
//!
//! Nothing is paid while no replica ever attached: `feed` is one atomic
//! load until the first `PSYNC` creates the backlog.

mod backlog;
pub mod failover;
pub mod link;
mod rdb;
mod replica;
mod role;
mod wait;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use parking_lot::Mutex;

use self::backlog::Backlog;
pub(crate) use self::rdb::EMPTY_RDB;
pub(crate) use self::replica::spawn as follow;
pub use self::role::{LinkState, Master};
pub use self::wait::Wait;
use crate::client::Client;
use crate::config::OutputLimit;
use crate::outbound::Frame;

/// `master_replid2` when there is no previous history.
const NO_REPLID: &str = "0000000000000000000000000000000000000000";

/// One attached replica.
#[derive(Debug, Clone)]
pub struct Replica {
    /// Its connection.
    pub client: Arc<Client>,
    /// `REPLCONF listening-port`: the port its own clients use.
    pub port: u16,
    /// `REPLCONF ip-address`, else its peer address.
    pub ip: String,
    /// The offset it last acknowledged (`REPLCONF ACK`).
    pub ack: i64,
    /// When it last did.
    pub ack_at: Instant,
    /// Attached with PSYNC (sends ACKs); false for the old SYNC.
    pub psync: bool,
}

/// How a replica's `PSYNC` is answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Sync {
    /// `+FULLRESYNC <replid> <offset>`, then the RDB.
    Full {
        /// The replication id the replica adopts.
        replid: String,
        /// The offset its stream starts after.
        offset: i64,
    },
    /// `+CONTINUE <replid>`, then the stream from the backlog.
    Continue {
        /// The current replication id.
        replid: String,
        /// The bytes the replica missed.
        missed: Vec<Bytes>,
    },
}

#[derive(Debug)]
struct State {
    replid: String,
    replid2: String,
    /// The last offset valid under `replid2` (`second_repl_offset`).
    second_offset: i64,
    /// `master_repl_offset`.
    offset: i64,
    backlog: Option<Backlog>,
    /// `SELECT 0` was sent since the last full resynchronisation.
    selected: bool,
    replicas: Vec<Replica>,
    /// `REPLICAOF host port`: this server's master, while it has one.
    master: Option<Master>,
    /// Where `feed` encodes a command.
    scratch: BytesMut,
}

/// What INFO replication and ROLE show of the master side.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// `master_replid`.
    pub replid: String,
    /// `master_replid2`.
    pub replid2: String,
    /// `second_repl_offset`.
    pub second_offset: i64,
    /// `master_repl_offset`.
    pub offset: i64,
    /// `(repl_backlog_first_byte_offset, repl_backlog_histlen)`, when a
    /// backlog exists.
    pub backlog: Option<(i64, usize)>,
    /// The attached replicas.
    pub replicas: Vec<Replica>,
    /// This server's master, when it is a replica.
    pub master: Option<Master>,
}

/// The replication state of one server.
#[derive(Debug)]
pub struct Replication {
    /// A backlog exists: commands must be fed.
    active: AtomicBool,
    state: Mutex<State>,
    /// INFO stats `sync_full`: full resynchronisations served.
    pub sync_full: AtomicU64,
    /// `sync_partial_ok`: `+CONTINUE`s.
    pub sync_partial_ok: AtomicU64,
    /// `sync_partial_err`: a PSYNC naming a history that had to start over.
    pub sync_partial_err: AtomicU64,
    /// Woken by every `REPLCONF ACK`, for the clients blocked in WAIT.
    acked: tokio::sync::Notify,
}

/// 40 random hex digits, as Redis' replication and run ids.
pub fn random_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    (0..3)
        .map(|i| {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u32(i);
            format!("{:016x}", h.finish())
        })
        .collect::<String>()
        .chars()
        .take(40)
        .collect()
}

impl Default for Replication {
    fn default() -> Self {
        Self {
            active: AtomicBool::new(false),
            state: Mutex::new(State {
                replid: random_id(),
                replid2: NO_REPLID.to_owned(),
                second_offset: -1,
                offset: 0,
                backlog: None,
                selected: false,
                replicas: Vec::new(),
                master: None,
                scratch: BytesMut::new(),
            }),
            sync_full: AtomicU64::new(0),
            sync_partial_ok: AtomicU64::new(0),
            sync_partial_err: AtomicU64::new(0),
            acked: tokio::sync::Notify::new(),
        }
    }
}

/// `argv` as a RESP multibulk, as a replica reads it.
pub(super) fn encode<A: AsRef<[u8]>>(argv: &[A]) -> Bytes {
    let mut out = BytesMut::new();
    encode_into(&mut out, argv);
    out.freeze()
}

/// Appends `argv` as a RESP multibulk to `out`.
fn encode_into<A: AsRef<[u8]>>(out: &mut BytesMut, argv: &[A]) {
    let len: usize = argv.iter().map(|a| a.as_ref().len() + 16).sum();
    out.reserve(len + 16);
    out.put_u8(b'*');
    out.put_slice(itoa::Buffer::new().format(argv.len()).as_bytes());
    out.put_slice(b"\r\n");
    for arg in argv {
        let arg = arg.as_ref();
        out.put_u8(b'$');
        out.put_slice(itoa::Buffer::new().format(arg.len()).as_bytes());
        out.put_slice(b"\r\n");
        out.put_slice(arg);
        out.put_slice(b"\r\n");
    }
}

impl State {
    /// Appends one frame to the stream: the backlog, every replica's queue,
    /// the offset.
    fn append(&mut self, frame: Frame<'_>, limit: &OutputLimit, wake: &mut Vec<Arc<Client>>) {
        let bytes = frame.as_slice();
        self.offset += i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        for replica in &self.replicas {
            if replica.client.send_deferred(frame, limit) {
                wake.push(Arc::clone(&replica.client));
            }
        }
        if let Some(backlog) = self.backlog.as_mut() {
            backlog.push(bytes);
        }
    }

    /// Redis' `masterTryPartialResynchronization`: the missed bytes if the
    /// replica's history is ours up to `offset - 1` and the backlog still
    /// holds what follows.
    fn partial(&self, replid: &[u8], offset: i64) -> Option<Vec<Bytes>> {
        let ours = replid == self.replid.as_bytes();
        let before = replid == self.replid2.as_bytes() && offset <= self.second_offset;
        if !(ours || before) {
            return None;
        }
        self.backlog.as_ref()?.since(offset)
    }
}

impl Replication {
    /// Whether commands are fed to a backlog (a replica attached once).
    pub fn active(&self) -> bool {
        self.active.load(Relaxed)
    }

    /// Feeds a propagated command (a PUBLISH or SPUBLISH, as received),
    /// preceded by `SELECT 0` when the stream needs it. Replicas to wake are
    /// added to `wake`. Returns the offset after it, which WAIT waits for
    /// (0 when nothing was fed).
    pub fn feed(&self, argv: &[Bytes], limit: &OutputLimit, wake: &mut Vec<Arc<Client>>) -> i64 {
        if !self.active() {
            return 0;
        }
        let mut state = self.state.lock();
        // A replica proxies its master's stream instead (what is published
        // on it stays local, as in Redis).
        if state.master.is_some() {
            return 0;
        }
        if !state.selected {
            state.selected = true;
            let select = encode(&[&b"SELECT"[..], b"0"]);
            state.append(Frame::Shared(&select), limit, wake);
        }
        // Encoded into a buffer kept for the next command: the replicas'
        // queues and the backlog copy it, so nothing is allocated.
        let mut scratch = std::mem::take(&mut state.scratch);
        scratch.clear();
        encode_into(&mut scratch, argv);
        state.append(Frame::Borrowed(&scratch), limit, wake);
        state.scratch = scratch;
        state.offset
    }

    /// The keepalive `ping` of `replicationCron`, when replicas are
    /// attached (it needs no SELECT).
    pub fn ping(&self, limit: &OutputLimit) -> Vec<Arc<Client>> {
        let mut wake = Vec::new();
        let mut state = self.state.lock();
        if !state.replicas.is_empty() && state.master.is_none() {
            state.append(Frame::Shared(&encode(&[b"ping"])), limit, &mut wake);
        }
        wake
    }

    /// Answers a replica's `PSYNC <replid> <offset>` (`None` for SYNC or
    /// `PSYNC ? -1`) and attaches it; a full resynchronisation creates the
    /// backlog (of `backlog_size` bytes) the first time, with a new
    /// replication id, as Redis does.
    pub fn attach(
        &self,
        mut replica: Replica,
        request: Option<(&[u8], i64)>,
        backlog_size: usize,
    ) -> Sync {
        let mut state = self.state.lock();
        state.replicas.retain(|r| r.client.id != replica.client.id);
        let partial = request.and_then(|(id, offset)| Some((state.partial(id, offset)?, offset)));
        // A PSYNC naming a history counts as a failed partial sync when it
        // must start over (`PSYNC ? -1` asks for a full one).
        match (&partial, request) {
            (Some(_), _) => self.sync_partial_ok.fetch_add(1, Relaxed),
            (None, Some((id, _))) if id != b"?" => {
                self.sync_partial_err.fetch_add(1, Relaxed);
                self.sync_full.fetch_add(1, Relaxed)
            }
            _ => self.sync_full.fetch_add(1, Relaxed),
        };
        let sync = match partial {
            Some((missed, offset)) => {
                replica.ack = offset - 1;
                Sync::Continue {
                    replid: state.replid.clone(),
                    missed,
                }
            }
            None => {
                if state.backlog.is_none() {
                    state.replid = random_id();
                    state.replid2 = NO_REPLID.to_owned();
                    state.second_offset = -1;
                    state.backlog = Some(Backlog::new(state.offset + 1, backlog_size));
                    self.active.store(true, Relaxed);
                }
                state.selected = false;
                Sync::Full {
                    replid: state.replid.clone(),
                    offset: state.offset,
                }
            }
        };
        state.replicas.push(replica);
        sync
    }

    /// `REPLCONF ACK <offset>` from replica `id`.
    pub fn ack(&self, id: u64, offset: i64) {
        let mut state = self.state.lock();
        if let Some(r) = state.replicas.iter_mut().find(|r| r.client.id == id) {
            r.ack = offset;
            r.ack_at = Instant::now();
        }
        drop(state);
        self.acked.notify_waiters();
    }

    /// A replica's connection closed.
    pub fn detach(&self, id: u64) {
        self.state.lock().replicas.retain(|r| r.client.id != id);
    }

    /// CONFIG SET repl-backlog-size.
    pub fn resize(&self, size: usize) {
        if let Some(backlog) = self.state.lock().backlog.as_mut() {
            backlog.resize(size);
        }
    }

    /// What INFO replication and ROLE show.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.state.lock();
        Snapshot {
            replid: state.replid.clone(),
            replid2: state.replid2.clone(),
            second_offset: state.second_offset,
            offset: state.offset,
            backlog: state.backlog.as_ref().map(|b| (b.first(), b.len())),
            replicas: state.replicas.clone(),
            master: state.master.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
