//! A connection's command state: what it is subscribed to, which protocol
//! it speaks, and the replies the current command produced.
//!
//! Commands never touch the socket. They write into two buffers that the
//! session hands to the client's outbound queue after each command:
//! `out` for ordinary replies, which `CLIENT REPLY OFF|SKIP` suppresses, and
//! `pushes` for subscribe confirmations and self-deliveries, which Redis
//! always sends (its `CLIENT_PUSHING` writes).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use indexmap::IndexSet;

use crate::acl::User;
use crate::client::Client;
use crate::outbound::Frame;
use crate::registry::{Fanout, Kind};
use crate::reply::Reply;
use crate::stats::Stats;

mod shared;
mod timing;

pub use shared::{Monitors, Shared};
pub use timing::Run;

/// Reply buffers larger than this are given back after the reply is queued.
const SCRATCH_KEEP: usize = 16 * 1024;

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
    /// The MONITOR lines of the current command (and of the commands an
    /// EXEC ran, first), fed after its reply.
    pub monitor_lines: Vec<Bytes>,
    /// The transaction MULTI opened, until EXEC, DISCARD or RESET.
    pub(crate) multi: Option<crate::cmd::Transaction>,
    /// EXEC is running its queue (Redis' `CLIENT_DENY_BLOCKING`).
    pub in_exec: bool,
    /// What it said of itself with REPLCONF.
    pub(crate) announced: crate::cmd::Announced,
    /// Error replies so far: a command that added one failed
    /// (commandstats' `failed_calls`).
    pub errors: u64,
    /// The run of calls of one command being timed; see [`Session::begin_run`].
    pub run: Option<Run>,
    /// `latency-tracking`, as the configuration of this read had it.
    pub track_latency: bool,
    /// `slowlog-log-slower-than`, as the configuration of this read had it.
    pub slowlog_us: i64,
    /// `latency-monitor-threshold`, as the configuration of this read had
    /// it, or as CONFIG SET just set it (Redis samples that call with the
    /// new threshold).
    pub latency_ms: u64,
    /// The current command passed every check but is held by `CLIENT
    /// PAUSE`: the connection waits for the pause to end, then runs it again.
    pub postponed: Option<Postponed>,
    /// `master_repl_offset` after this client's last propagated command
    /// (Redis' `woff`): what WAIT waits for the replicas to acknowledge.
    pub woff: i64,
}

/// A command held by `CLIENT PAUSE`, as the connection must wait for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Postponed {
    /// Redis' `may-replicate`, which a `WRITE` pause holds.
    pub may_replicate: bool,
    /// Not a pause: WAIT blocked until these acknowledgements (or its
    /// timeout), then answers with their count.
    pub acks: Option<crate::replication::Wait>,
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
            monitor_lines: Vec::new(),
            multi: None,
            in_exec: false,
            announced: crate::cmd::Announced::default(),
            errors: 0,
            run: None,
            track_latency: true,
            slowlog_us: -1,
            latency_ms: 0,
            postponed: None,
            woff: 0,
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

    /// This connection is a replica (after PSYNC or SYNC): it gets the
    /// replication stream and no replies.
    pub fn replica(&self) -> bool {
        self.client.flag(crate::client::REPLICA)
    }

    /// Shows the transaction's state in CLIENT LIST (`flags=x`, `multi=`,
    /// `multi-mem=`), after MULTI, each queued command and its end.
    pub fn sync_multi(&self) {
        let size = self.multi.as_ref().map(crate::cmd::Transaction::size);
        let mut meta = self.client.meta.lock();
        meta.multi = size.map_or(-1, |(n, _)| i64::try_from(n).unwrap_or(i64::MAX));
        meta.multi_mem = size.map_or(0, |(_, bytes)| bytes);
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
        for line in self.monitor_lines.drain(..) {
            self.shared.monitors.feed(&line);
        }
    }

    /// Hands the replies so far to the outbound queue (see [`Session::flush`]).
    pub(crate) fn flush_replies(&mut self) {
        if self.out.is_empty() && self.pushes.is_empty() {
            return;
        }
        let config = self.shared.config.load();
        let limit = if self.subscribed() {
            &config.output_limit_pubsub
        } else {
            &config.output_limit_normal
        };
        // A replica is sent the stream only (Redis never replies to one).
        let suppressed = self.reply_off || self.skip_this || self.replica();
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
    /// the [`Flusher`](crate::flush::Flusher), once whatever the number of publishers.
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
