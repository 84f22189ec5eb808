//! The shared half of a connection: what publishers, `CLIENT LIST` and
//! `CLIENT KILL` need to reach from other tasks.
//!
//! The connection task owns everything else (its subscription sets, its
//! decoder); only the fields here are shared, and each is either immutable,
//! atomic, or behind a lock that is never held across an `.await`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use dashmap::DashMap;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::config::OutputLimit;
use crate::outbound::{Frame, Outbound, Pushed};

use crate::stats::Stats;

/// Mutable descriptive fields, read by `CLIENT LIST` and `CLIENT INFO`.
#[derive(Debug, Clone)]
pub struct Meta {
    /// `CLIENT SETNAME`.
    pub name: Option<Bytes>,
    /// `CLIENT SETINFO LIB-NAME`.
    pub lib_name: Bytes,
    /// `CLIENT SETINFO LIB-VER`.
    pub lib_ver: Bytes,
    /// The last command's full name, for `cmd=`.
    pub last_cmd: &'static str,
    /// Selected database (pub/sub ignores it, SELECT records it).
    pub db: u32,
    /// Unparsed bytes in the read buffer (`qbuf=`).
    pub qbuf: usize,
    /// Room left in the read buffer (`qbuf-free=`).
    pub qbuf_free: usize,
    /// The ACL user the client is logged in as.
    pub user: Bytes,
    /// Commands queued since MULTI (`multi=`), -1 outside a transaction.
    pub multi: i64,
    /// Bytes of their arguments (`multi-mem=`).
    pub multi_mem: usize,
}

impl Default for Meta {
    fn default() -> Self {
        Self {
            name: None,
            lib_name: Bytes::new(),
            lib_ver: Bytes::new(),
            last_cmd: "",
            db: 0,
            qbuf: 0,
            qbuf_free: 0,
            user: Bytes::new(),
            multi: -1,
            multi_mem: 0,
        }
    }
}

/// `CLIENT NO-EVICT ON`: flag `e`.
pub const NO_EVICT: u8 = 1;
/// `CLIENT NO-TOUCH ON`: flag `T`.
pub const NO_TOUCH: u8 = 2;
/// A command of this client waits for `CLIENT PAUSE` to end: flag `b`.
pub const BLOCKED: u8 = 4;
/// A replica, after PSYNC or SYNC: flag `S`.
pub const REPLICA: u8 = 8;

/// One connected client, as seen from outside its own task.
#[derive(Debug)]
pub struct Client {
    /// Redis' client id: unique, increasing from 1 in accept order.
    pub id: u64,
    /// Peer address, `ip:port`.
    pub addr: String,
    /// Local address, `ip:port`.
    pub laddr: String,
    /// The socket's descriptor (`fd=`), -1 when there is none.
    pub fd: i32,
    /// Connected over the Unix socket (flag `U`).
    pub unix: bool,
    /// When the connection was accepted.
    pub created: Instant,
    /// Everything this client will be sent.
    pub out: Outbound,
    /// Cancelled to disconnect the client from anywhere (CLIENT KILL,
    /// output limits, shutdown).
    pub kill: CancellationToken,
    resp3: AtomicBool,
    subscribed: AtomicBool,
    /// Channel, pattern and shard-channel counts, for `sub=`, `psub=`, `ssub=`.
    pub counts: [AtomicUsize; 3],
    /// Milliseconds since `created` of the last command, for `idle=`.
    last_active_ms: AtomicU64,
    /// Descriptive fields.
    pub meta: Mutex<Meta>,
    /// [`NO_EVICT`], [`NO_TOUCH`], [`BLOCKED`].
    flags: AtomicU8,
    /// Bytes of the arguments of the request being run or read (`argv-mem=`).
    pub argv_mem: AtomicUsize,
    stats: Arc<Stats>,
    killed_for_limit: AtomicBool,
}

impl Client {
    /// A new client handle.
    pub fn new(id: u64, addr: String, laddr: String, stats: Arc<Stats>) -> Self {
        Self {
            id,
            addr,
            laddr,
            fd: -1,
            unix: false,
            created: Instant::now(),
            out: Outbound::new(),
            kill: CancellationToken::new(),
            resp3: AtomicBool::new(false),
            subscribed: AtomicBool::new(false),
            counts: Default::default(),
            last_active_ms: AtomicU64::new(0),
            meta: Mutex::new(Meta::default()),
            flags: AtomicU8::new(0),
            argv_mem: AtomicUsize::new(0),
            stats,
            killed_for_limit: AtomicBool::new(false),
        }
    }

    /// The client's socket: its descriptor and whether it is a Unix socket.
    #[must_use]
    pub fn with_socket(mut self, fd: i32, unix: bool) -> Self {
        self.fd = fd;
        self.unix = unix;
        self
    }

    /// Sets or clears one of [`NO_EVICT`], [`NO_TOUCH`], [`BLOCKED`].
    pub fn set_flag(&self, flag: u8, on: bool) {
        if on {
            self.flags.fetch_or(flag, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!flag, Ordering::Relaxed);
        }
    }

    /// Whether a flag is set.
    pub fn flag(&self, flag: u8) -> bool {
        self.flags.load(Ordering::Relaxed) & flag != 0
    }

    /// Whether the client speaks RESP3, which decides the frames it is sent.
    pub fn resp3(&self) -> bool {
        self.resp3.load(Ordering::Relaxed)
    }

    /// Records a protocol switch (HELLO, RESET).
    pub fn set_resp3(&self, on: bool) {
        self.resp3.store(on, Ordering::Relaxed);
    }

    /// Records whether the client holds any subscription, which puts it in
    /// the `pubsub` output-limit class.
    pub fn set_subscribed(&self, on: bool) {
        self.subscribed.store(on, Ordering::Relaxed);
    }

    /// Whether the client holds any subscription.
    pub fn subscribed(&self) -> bool {
        self.subscribed.load(Ordering::Relaxed)
    }

    /// Marks the client active now.
    pub fn touch(&self) {
        let ms = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_active_ms.store(ms, Ordering::Relaxed);
    }

    /// Seconds since the last command.
    pub fn idle_secs(&self) -> u64 {
        let now = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX);
        now.saturating_sub(self.last_active_ms.load(Ordering::Relaxed)) / 1000
    }

    /// Queues a frame for this client under the output-buffer `limit` of its
    /// class, without waking its writer; returns true when the writer needs
    /// a wake-up ([`Outbound::wake`]) for it. A client over its limit is
    /// disconnected and logged once.
    pub fn send_deferred(&self, frame: Frame<'_>, limit: &OutputLimit) -> bool {
        match self.out.push_deferred(frame, limit) {
            Pushed::Queued { wake } => wake,
            Pushed::Closed => false,
            Pushed::OverLimit => {
                self.close_for_limit("scheduled to be closed ASAP");
                false
            }
        }
    }

    /// The periodic soft-limit check (Redis' cron path).
    pub fn enforce_soft_limit(&self, limit: &OutputLimit, now: std::time::Instant) {
        if self.out.check_limit(limit, now) {
            self.close_for_limit("closed");
        }
    }

    fn close_for_limit(&self, how: &str) {
        if !self.killed_for_limit.swap(true, Ordering::Relaxed) {
            Stats::add(&self.stats.output_limit_disconnections, 1);
            tracing::warn!(
                "Client {} {how} for overcoming of output buffer limits.",
                self.info_line()
            );
        }
        self.kill.cancel();
    }

    /// The `CLIENT LIST` / `CLIENT INFO` line for this client: Redis 7.2's
    /// fields in its order, so that parsers written against Redis work;
    /// each value is respub's counterpart of Redis' (see docs/protocol.md).
    pub fn info_line(&self) -> String {
        let meta = self.meta.lock().clone();
        let [sub, psub, ssub] = [0, 1, 2].map(|i| {
            self.counts
                .get(i)
                .map(|c| c.load(Ordering::Relaxed))
                .unwrap_or_default()
        });
        let out = self.out.usage(Instant::now());
        let argv = self.argv_mem.load(Ordering::Relaxed);
        let tot_mem = std::mem::size_of::<Self>()
            + std::mem::size_of::<crate::session::Session>()
            + meta.qbuf
            + meta.qbuf_free
            + argv
            + out.rbs
            + out.omem;
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={sub} psub={psub} \
             ssub={ssub} multi={} qbuf={} qbuf-free={} argv-mem={argv} multi-mem={} rbs={} rbp={} obl={} \
             oll={} omem={} tot-mem={tot_mem} events={} cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            String::from_utf8_lossy(meta.name.as_deref().unwrap_or_default()),
            self.created.elapsed().as_secs(),
            self.idle_secs(),
            self.flags_field(sub + psub + ssub > 0, meta.multi >= 0),
            meta.db,
            meta.multi,
            meta.qbuf,
            meta.qbuf_free,
            meta.multi_mem,
            out.rbs,
            out.rbp,
            out.obl,
            out.oll,
            out.omem,
            if out.writing { "rw" } else { "r" },
            if meta.last_cmd.is_empty() {
                "NULL"
            } else {
                meta.last_cmd
            },
            String::from_utf8_lossy(&meta.user),
            if self.resp3() { 3 } else { 2 },
            String::from_utf8_lossy(&meta.lib_name),
            String::from_utf8_lossy(&meta.lib_ver),
        )
    }

    /// `flags=`: the letters of the flags respub has, in Redis' order, or `N`.
    fn flags_field(&self, pubsub: bool, multi: bool) -> String {
        let flags = self.flags.load(Ordering::Relaxed);
        let letters = [
            (flags & REPLICA != 0, 'S'),
            (pubsub, 'P'),
            (multi, 'x'),
            (flags & BLOCKED != 0, 'b'),
            (self.unix, 'U'),
            (flags & NO_EVICT != 0, 'e'),
            (flags & NO_TOUCH != 0, 'T'),
        ];
        let out: String = letters
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, c)| c)
            .collect();
        if out.is_empty() { "N".to_owned() } else { out }
    }
}

/// Every connected client by id, for CLIENT LIST/KILL and INFO.
#[derive(Debug, Default)]
pub struct Clients {
    map: DashMap<u64, Arc<Client>>,
    next_id: AtomicU64,
}

impl Clients {
    /// An empty table whose first id will be 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next client id.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Adds a client.
    pub fn insert(&self, client: Arc<Client>) {
        self.map.insert(client.id, client);
    }

    /// Removes a client.
    pub fn remove(&self, id: u64) {
        self.map.remove(&id);
    }

    /// How many clients are connected.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no client is connected.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// A snapshot of all clients, sorted by id as Redis lists them.
    pub fn snapshot(&self) -> Vec<Arc<Client>> {
        let mut all: Vec<_> = self.map.iter().map(|e| Arc::clone(e.value())).collect();
        all.sort_by_key(|c| c.id);
        all
    }

    /// Disconnects every client (used at shutdown).
    pub fn kill_all(&self) {
        for entry in &self.map {
            entry.value().kill.cancel();
        }
    }
}
