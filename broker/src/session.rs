//! A connection's command state: what it is subscribed to, which protocol
//! it speaks, and the replies the current command produced.
//!
//! Commands never touch the socket. They write into two buffers that the
//! session hands to the client's outbound queue after each command:
//! `out` for ordinary replies, which `CLIENT REPLY OFF|SKIP` suppresses, and
//! `pushes` for subscribe confirmations and self-deliveries, which Redis
//! always sends (its `CLIENT_PUSHING` writes).

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use bytes::{Bytes, BytesMut};
use indexmap::IndexSet;
use tokio_util::sync::CancellationToken;

use crate::acl::{Acl, User};
use crate::client::{Client, Clients};
use crate::cmdstats::{CommandStats, SlotId};
use crate::config::Config;
use crate::flush::Flusher;
use crate::outbound::Frame;
use crate::registry::{Fanout, Kind, Registry};
use crate::reply::Reply;
use crate::stats::Stats;

/// Reply buffers larger than this are given back after the reply is queued.
const SCRATCH_KEEP: usize = 16 * 1024;

/// State shared by every connection of one server.
#[derive(Debug)]
pub struct Shared {
    /// Users and their permissions.
    pub acl: Acl,
    /// Subscriptions.
    pub registry: Registry,
    /// Connected clients.
    pub clients: Clients,
    /// Configuration; CONFIG SET swaps in a new one, readers load it once
    /// per command or per PUBLISH.
    pub config: ArcSwap<Config>,
    /// The TCP port actually bound (INFO `tcp_port`; 0 when not on TCP);
    /// `CONFIG SET port` changes it.
    pub port: std::sync::atomic::AtomicU16,
    /// The listening sockets, which `CONFIG SET port` and `bind` replace.
    pub listening: crate::listen::Listening,
    /// Counters.
    pub stats: Arc<Stats>,
    /// When the server started (INFO `uptime_in_seconds`).
    pub started: Instant,
    /// A random 40-hex-digit id per run (INFO `run_id`).
    pub run_id: String,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Cancelled to ask the server to shut down (the SHUTDOWN command).
    pub stop: CancellationToken,
    /// Clients that ran MONITOR.
    pub monitors: Monitors,
    /// INFO commandstats, latencystats and errorstats.
    pub cmdstats: CommandStats,
    /// Subscribers' writers, woken once per turn.
    pub flusher: Flusher,
    /// The `io-threads` writer pool, where each connection's writer task
    /// runs; `None` runs them beside the readers.
    pub writers: Option<tokio::runtime::Handle>,
    /// `CLIENT PAUSE`.
    pub pause: crate::pause::Pause,
}

impl Shared {
    /// Fresh shared state for one server run.
    pub fn new(config: Config, port: u16, shutdown: CancellationToken) -> Self {
        use std::hash::{BuildHasher, Hasher};
        let run_id: String = (0..3)
            .map(|i| {
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_u32(i);
                format!("{:016x}", h.finish())
            })
            .collect::<String>()
            .chars()
            .take(40)
            .collect();
        let acl = Acl::new(config.requirepass.as_deref(), config.acl_pubsub_default_all);
        let lines: Vec<(usize, Vec<String>)> = config
            .users
            .iter()
            .enumerate()
            .map(|(i, words)| {
                let mut line = vec!["user".to_owned()];
                line.extend(words.iter().cloned());
                (i + 1, line)
            })
            .collect();
        if !lines.is_empty() {
            // Checked line by line when the configuration was read.
            if let Err(e) = acl.load_lines(&lines, "config") {
                tracing::warn!("{e}");
            }
        }
        Self {
            acl,
            registry: Registry::new(),
            clients: Clients::new(),
            config: ArcSwap::from_pointee(config),
            port: port.into(),
            listening: crate::listen::Listening::default(),
            stats: Arc::new(Stats::default()),
            started: Instant::now(),
            run_id,
            shutdown,
            stop: CancellationToken::new(),
            monitors: Monitors::default(),
            writers: None,
            cmdstats: crate::cmd::command_stats(),
            flusher: Flusher::default(),
            pause: crate::pause::Pause::default(),
        }
    }
}

/// The clients that ran MONITOR. `any` is one atomic load, so commands pay
/// nothing while nobody monitors.
#[derive(Debug, Default)]
pub struct Monitors {
    clients: parking_lot::RwLock<Vec<Arc<Client>>>,
    count: std::sync::atomic::AtomicUsize,
}

impl Monitors {
    /// Whether any client is monitoring.
    pub fn any(&self) -> bool {
        self.count.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    /// Adds a monitoring client (idempotent).
    pub fn add(&self, client: &Arc<Client>) {
        let mut all = self.clients.write();
        if !all.iter().any(|c| c.id == client.id) {
            all.push(Arc::clone(client));
            self.count
                .store(all.len(), std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Removes a client (on RESET or disconnect).
    pub fn remove(&self, id: u64) {
        let mut all = self.clients.write();
        all.retain(|c| c.id != id);
        self.count
            .store(all.len(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Sends `line` to every monitor, waking each writer at once.
    pub fn feed(&self, line: &Bytes) {
        for c in self.clients.read().iter() {
            c.out
                .push(line.clone(), &crate::config::OutputLimit::UNLIMITED);
        }
    }
}

/// How the connection should end after the current command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// Keep serving.
    No,
    /// Write what is queued, then close (QUIT, protocol errors).
    AfterReply,
}

/// One connection's command state.
#[derive(Debug)]
pub struct Session {
    /// The shared half of this connection.
    pub client: Arc<Client>,
    /// Server-wide state.
    pub shared: Arc<Shared>,
    /// SUBSCRIBE channels, in subscription order.
    pub channels: IndexSet<Bytes>,
    /// PSUBSCRIBE patterns.
    pub patterns: IndexSet<Bytes>,
    /// SSUBSCRIBE shard channels.
    pub shards: IndexSet<Bytes>,
    /// RESP3 after `HELLO 3`.
    pub resp3: bool,
    /// Whether the client may run commands: true from the start when the
    /// `default` user has no password, else after AUTH or HELLO AUTH.
    pub authenticated: bool,
    /// The user the client is logged in as; re-read when the ACL changes.
    pub user: Arc<User>,
    /// The ACL generation `user` was read at.
    user_generation: u64,
    /// `CLIENT REPLY OFF`.
    pub reply_off: bool,
    /// `CLIENT REPLY SKIP` was the previous command.
    pub skip_next: bool,
    /// Whether the current command's ordinary reply is suppressed.
    pub skip_this: bool,
    /// Set by QUIT and protocol errors.
    pub close: Close,
    /// Ordinary replies of the current command.
    pub out: BytesMut,
    /// Push-flagged output of the current command, never suppressed.
    pub pushes: BytesMut,
    /// This client's PUBLISH output, reused across requests: the
    /// subscribers whose writers this batch of requests must wake, among it.
    pub fanout: Fanout,
    /// This client's own writer must be woken at the end of the batch.
    pub wake_self: bool,
    /// This client ran MONITOR.
    pub monitoring: bool,
    /// The MONITOR line of the current command, fed after its reply.
    pub monitor_line: Option<Bytes>,
    /// Error replies so far: a command that added one failed
    /// (commandstats' `failed_calls`).
    pub errors: u64,
    /// The run of calls of one command being timed; see [`Session::begin_run`].
    pub run: Option<Run>,
    /// `latency-tracking`, as the configuration of this read had it.
    pub track_latency: bool,
    /// The current command passed every check but is held by `CLIENT
    /// PAUSE`: the connection waits for the pause to end, then runs it again.
    pub postponed: Option<Postponed>,
}

/// Consecutive calls of one command within one read, timed together.
#[derive(Debug)]
pub struct Run {
    slot: SlotId,
    calls: u64,
    failed: u64,
    started: Instant,
}

/// A command held by `CLIENT PAUSE`, as the connection must wait for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Postponed {
    /// Redis' `may-replicate`, which a `WRITE` pause holds.
    pub may_replicate: bool,
}

impl Session {
    /// A session for a freshly accepted client.
    pub fn new(client: Arc<Client>, shared: Arc<Shared>) -> Self {
        let user_generation = shared.acl.generation();
        let user = shared.acl.default_user();
        let authenticated = user.nopass() && user.enabled();
        client.meta.lock().user = user.name.clone();
        Self {
            client,
            shared,
            channels: IndexSet::new(),
            patterns: IndexSet::new(),
            shards: IndexSet::new(),
            resp3: false,
            authenticated,
            user,
            user_generation,
            reply_off: false,
            skip_next: false,
            skip_this: false,
            close: Close::No,
            out: BytesMut::with_capacity(256),
            pushes: BytesMut::new(),
            fanout: Fanout::default(),
            wake_self: false,
            monitoring: false,
            monitor_line: None,
            errors: 0,
            run: None,
            track_latency: true,
            postponed: None,
        }
    }

    /// Picks up changes to this client's user (ACL SETUSER, CONFIG SET
    /// requirepass): one atomic load when nothing changed.
    pub fn refresh_user(&mut self) {
        let generation = self.shared.acl.generation();
        if generation != self.user_generation {
            self.user_generation = generation;
            if let Some(user) = self.shared.acl.get(&self.user.name) {
                self.user = user;
            }
        }
    }

    /// Logs the client in as `user` (AUTH, HELLO AUTH, RESET).
    pub fn set_user(&mut self, user: Arc<User>) {
        self.client.meta.lock().user = user.name.clone();
        self.user = user;
    }

    /// A writer for the ordinary reply.
    pub fn reply(&mut self) -> Reply<'_> {
        Reply::new(&mut self.out, self.resp3)
    }

    /// A writer for push-flagged output.
    pub fn push_reply(&mut self) -> Reply<'_> {
        Reply::new(&mut self.pushes, self.resp3)
    }

    /// Starts timing a call of the command counted in `slot`. Calls of one
    /// command in a row share one measurement: the clock is read where the
    /// command changes and at the end of each read, not twice per call, so
    /// a publisher streaming PUBLISHes pays for two clock reads per read
    /// (a clock read costs more than the rest of the accounting). Each call
    /// of a run is recorded with the run's mean time.
    pub fn begin_run(&mut self, slot: SlotId) {
        if self.run.as_ref().is_some_and(|r| r.slot == slot) {
            return;
        }
        let now = Instant::now();
        self.finish_run(now);
        self.run = Some(Run {
            slot,
            calls: 0,
            failed: 0,
            started: now,
        });
    }

    /// The call begun by [`Session::begin_run`] ran; `failed` if it replied
    /// with an error.
    pub fn count_call(&mut self, failed: bool) {
        if let Some(run) = self.run.as_mut() {
            run.calls += 1;
            run.failed += u64::from(failed);
        }
    }

    /// Records the run being timed, if any (at the end of a read, and
    /// before a request that is not a command).
    pub fn end_run(&mut self) {
        if self.run.is_some() {
            self.finish_run(Instant::now());
        }
    }

    fn finish_run(&mut self, end: Instant) {
        if let Some(run) = self.run.take() {
            let took = end.saturating_duration_since(run.started);
            self.shared.cmdstats.record(
                run.slot,
                took,
                (run.calls, run.failed),
                self.track_latency,
            );
        }
    }

    /// Replies with an error and counts it.
    pub fn error(&mut self, text: &[u8]) {
        Stats::add(&self.shared.stats.error_replies, 1);
        self.shared.cmdstats.error(text);
        self.errors += 1;
        self.reply().error(text);
    }

    /// Channels plus patterns: the count SUBSCRIBE-family replies carry.
    pub fn plain_count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Whether the client is in subscribed mode (any kind of subscription).
    pub fn subscribed(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shards.is_empty())
    }

    /// The subscription set of one namespace.
    pub fn set_of(&mut self, kind: Kind) -> &mut IndexSet<Bytes> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shards,
        }
    }

    /// Publishes the subscription counts to the shared half, after any change.
    pub fn sync_counts(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let sizes = [self.channels.len(), self.patterns.len(), self.shards.len()];
        for (slot, n) in self.client.counts.iter().zip(sizes) {
            slot.store(n, Relaxed);
        }
        self.client.set_subscribed(self.subscribed());
    }

    /// Switches protocol, for this session and for the frames publishers
    /// encode for it.
    pub fn set_resp3(&mut self, on: bool) {
        self.resp3 = on;
        self.client.set_resp3(on);
    }

    /// Stops monitoring (RESET, disconnect).
    pub fn stop_monitoring(&mut self) {
        if std::mem::take(&mut self.monitoring) {
            self.shared.monitors.remove(self.client.id);
        }
    }

    /// Drops every subscription without notification (RESET, disconnect).
    pub fn drop_subscriptions(&mut self) {
        let registry = &self.shared.registry;
        let id = self.client.id;
        for (kind, set) in [
            (Kind::Channel, &mut self.channels),
            (Kind::Pattern, &mut self.patterns),
            (Kind::Shard, &mut self.shards),
        ] {
            for name in set.drain(..) {
                registry.unsubscribe(kind, &name, id);
            }
        }
        self.sync_counts();
    }

    /// Hands the current command's output to the outbound queue, under the
    /// output limit of the client's class after the command, then feeds
    /// monitors (after the reply, as Redis does).
    pub fn flush(&mut self) {
        self.flush_replies();
        if let Some(line) = self.monitor_line.take() {
            self.shared.monitors.feed(&line);
        }
    }

    fn flush_replies(&mut self) {
        if self.out.is_empty() && self.pushes.is_empty() {
            return;
        }
        let config = self.shared.config.load();
        let limit = if self.subscribed() {
            &config.output_limit_pubsub
        } else {
            &config.output_limit_normal
        };
        let suppressed = self.reply_off || self.skip_this;
        if !self.out.is_empty() {
            if !suppressed {
                self.wake_self |= self.client.send_deferred(Frame::Borrowed(&self.out), limit);
            }
            self.out.clear();
        }
        if !self.pushes.is_empty() {
            self.wake_self |= self
                .client
                .send_deferred(Frame::Borrowed(&self.pushes), limit);
            self.pushes.clear();
        }
        // A large reply (COMMAND DOCS) must not pin its buffer for the
        // connection's lifetime.
        for buf in [&mut self.out, &mut self.pushes] {
            if buf.capacity() > SCRATCH_KEEP {
                *buf = BytesMut::new();
            }
        }
    }

    /// Wakes every writer this batch of requests queued frames for: this
    /// client's own now, so that a client waiting for its replies (a
    /// closed loop, a pipeline window) gets them before the subscribers'
    /// writes run, and the subscribers' at the end of the turn, through
    /// the [`Flusher`], once whatever the number of publishers.
    pub fn wake_all(&mut self) {
        self.fanout.queued_bytes = 0;
        if std::mem::take(&mut self.wake_self) {
            self.client.out.wake();
        }
        if !self.fanout.wake.is_empty() {
            self.shared.flusher.defer(self.fanout.wake.drain(..));
        }
    }
}
