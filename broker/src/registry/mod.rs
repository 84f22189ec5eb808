//! Who is subscribed to what, and the fan-out of a published message.
//!
//! Three independent namespaces, as in Redis: channels (SUBSCRIBE), patterns
//! (PSUBSCRIBE) and shard channels (SSUBSCRIBE). A name leaves its map as
//! soon as its last subscriber does, so an idle broker holds no garbage.
//!
//! # Ordering
//!
//! Every PUBLISH to a channel takes that channel's *stripe* lock (one of
//! [`STRIPES`] mutexes chosen by hashing the name) for the whole fan-out,
//! exact subscribers and pattern subscribers alike. Two publishers to one
//! channel therefore deliver in one total order, and every subscriber of that
//! channel, direct or by pattern, sees the same order. Publishers to
//! different channels rarely share a stripe and run in parallel.
//!
//! # Cost per delivery
//!
//! A message is encoded at most once per frame kind (RESP2/RESP3, and per
//! matching pattern) and each subscriber receives a refcounted clone of the
//! same `Bytes`; a delivery is one short lock on the subscriber's queue.

use std::collections::{BTreeMap, HashMap};

use foldhash::fast::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use dashmap::DashMap;
use indexmap::IndexMap;
use parking_lot::{Mutex, RwLock};

use crate::client::Client;
use crate::config::OutputLimit;
use crate::glob;
use crate::outbound::{COPY_BELOW, Frame};
use crate::reply::{put_bulk, put_header};

/// Number of publish-ordering stripes.
pub const STRIPES: usize = 1024;

/// The three subscription namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE / PUBLISH.
    Channel,
    /// PSUBSCRIBE.
    Pattern,
    /// SSUBSCRIBE / SPUBLISH.
    Shard,
}

/// Subscribers of one name, in insertion order, removable in O(1).
type Subscribers = IndexMap<u64, Arc<Client>>;

/// Patterns bucketed by their literal prefix ([`glob::literal_prefix`]).
///
/// A channel can only match a pattern whose literal prefix it starts with,
/// so a PUBLISH looks up one bucket per distinct prefix *length* held (a
/// handful in practice: `socket.io#/#*` and the like) and glob-matches only
/// the patterns in those buckets, instead of every pattern held. Redis scans
/// them all, which is why its PUBLISH rate falls with the pattern count.
#[derive(Debug, Default)]
struct PatternIndex {
    buckets: HashMap<Bytes, IndexMap<Bytes, Subscribers>, RandomState>,
    /// Prefix length -> number of buckets with a prefix of that length.
    lengths: BTreeMap<usize, usize>,
    /// Distinct patterns held (PUBSUB NUMPAT).
    count: usize,
}

impl PatternIndex {
    fn subscribe(&mut self, pattern: Bytes, client: &Arc<Client>) {
        let prefix = Bytes::copy_from_slice(glob::literal_prefix(&pattern));
        let len = prefix.len();
        let bucket = self.buckets.entry(prefix).or_insert_with(|| {
            *self.lengths.entry(len).or_default() += 1;
            IndexMap::new()
        });
        let subs = bucket.entry(pattern).or_insert_with(|| {
            self.count += 1;
            Subscribers::default()
        });
        subs.insert(client.id, Arc::clone(client));
    }

    fn unsubscribe(&mut self, pattern: &[u8], id: u64) {
        let prefix = glob::literal_prefix(pattern);
        let Some(bucket) = self.buckets.get_mut(prefix) else {
            return;
        };
        let Some(subs) = bucket.get_mut(pattern) else {
            return;
        };
        subs.swap_remove(&id);
        if !subs.is_empty() {
            return;
        }
        bucket.swap_remove(pattern);
        self.count -= 1;
        if bucket.is_empty() {
            self.buckets.remove(prefix);
            if let Some(n) = self.lengths.get_mut(&prefix.len()) {
                *n -= 1;
                if *n == 0 {
                    self.lengths.remove(&prefix.len());
                }
            }
        }
    }

    fn get(&self, pattern: &[u8]) -> Option<&Subscribers> {
        self.buckets
            .get(glob::literal_prefix(pattern))?
            .get(pattern)
    }

    fn iter(&self) -> impl Iterator<Item = (&Bytes, &Subscribers)> {
        self.buckets.values().flat_map(|bucket| bucket.iter())
    }

    /// Every (pattern, subscribers) that matches `channel`.
    fn matching<'a>(
        &'a self,
        channel: &'a [u8],
    ) -> impl Iterator<Item = (&'a Bytes, &'a Subscribers)> {
        self.lengths
            .range(..=channel.len())
            .filter_map(move |(len, _)| self.buckets.get(channel.get(..*len)?))
            .flat_map(|bucket| bucket.iter())
            .filter(move |(pattern, _)| glob::matches(pattern, channel))
    }
}

/// The subscription registry shared by all connections.
#[derive(Debug)]
pub struct Registry {
    // foldhash, seeded per process: SipHash showed as 8% of a publisher's
    // profile, and a per-process seed still keeps hash flooding out.
    channels: DashMap<Bytes, Subscribers, RandomState>,
    shard: DashMap<Bytes, Subscribers, RandomState>,
    patterns: RwLock<PatternIndex>,
    stripes: Box<[Mutex<()>; STRIPES]>,
    hasher: RandomState,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a publisher's fan-outs go. Its session keeps one and reuses it for
/// every PUBLISH, so that publishing a small message allocates nothing.
#[derive(Debug, Default)]
pub struct Fanout {
    /// Subscribers whose writer must be woken: the publisher wakes them at
    /// the end of its batch of requests, not once per message.
    pub wake: Vec<Arc<Client>>,
    /// Frames for the publisher itself, held back so that they follow its
    /// `:N` reply, as Redis 7.2+ orders them.
    pub to_self: BytesMut,
    /// Bytes queued to other clients since the writers were last woken.
    pub queued_bytes: usize,
    /// Encoding buffers for small frames, RESP2 and RESP3: queues copy small
    /// frames, so they need not be encoded into a buffer of their own.
    scratch: [BytesMut; 2],
}

/// A frame encoded lazily, once per protocol version: into the publisher's
/// scratch buffer when small, into a shared `Bytes` when large.
struct Lazy<'a> {
    parts: &'a [&'a [u8]],
    kind: &'a [u8],
    small: bool,
    encoded: [bool; 2],
    large: [Option<Bytes>; 2],
}

impl<'a> Lazy<'a> {
    fn new(kind: &'a [u8], parts: &'a [&'a [u8]]) -> Self {
        Self {
            parts,
            kind,
            small: size_bound(kind, parts) < COPY_BELOW,
            encoded: [false; 2],
            large: [None, None],
        }
    }

    fn get<'s>(&'s mut self, resp3: bool, scratch: &'s mut [BytesMut; 2]) -> Frame<'s> {
        let [r2, r3] = scratch;
        let [done2, done3] = &mut self.encoded;
        let [large2, large3] = &mut self.large;
        let (buf, done, large) = if resp3 {
            (r3, done3, large3)
        } else {
            (r2, done2, large2)
        };
        if self.small {
            if !*done {
                buf.clear();
                put_frame(buf, self.kind, self.parts, resp3);
                *done = true;
            }
            return Frame::Borrowed(buf);
        }
        Frame::Shared(large.get_or_insert_with(|| {
            let mut own = BytesMut::new();
            put_frame(&mut own, self.kind, self.parts, resp3);
            own.freeze()
        }))
    }
}

/// An upper bound of a message frame's encoded size: a header and a
/// `$<len>` line take well under 16 bytes each.
fn size_bound(kind: &[u8], parts: &[&[u8]]) -> usize {
    kind.len() + parts.iter().map(|p| p.len() + 16).sum::<usize>() + 32
}

fn put_frame(buf: &mut BytesMut, kind: &[u8], parts: &[&[u8]], resp3: bool) {
    buf.reserve(size_bound(kind, parts));
    put_header(buf, if resp3 { b'>' } else { b'*' }, parts.len() + 1);
    put_bulk(buf, kind);
    for part in parts {
        put_bulk(buf, part);
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self {
            channels: DashMap::with_hasher(RandomState::default()),
            shard: DashMap::with_hasher(RandomState::default()),
            patterns: RwLock::new(PatternIndex::default()),
            stripes: Box::new(std::array::from_fn(|_| Mutex::new(()))),
            hasher: RandomState::default(),
        }
    }

    fn map(&self, kind: Kind) -> Option<&DashMap<Bytes, Subscribers, RandomState>> {
        match kind {
            Kind::Channel => Some(&self.channels),
            Kind::Shard => Some(&self.shard),
            Kind::Pattern => None,
        }
    }

    /// Adds `client` to `name`. Idempotent.
    pub fn subscribe(&self, kind: Kind, name: Bytes, client: &Arc<Client>) {
        match self.map(kind) {
            Some(map) => {
                map.entry(name)
                    .or_default()
                    .insert(client.id, Arc::clone(client));
            }
            None => self.patterns.write().subscribe(name, client),
        }
    }

    /// Removes client `id` from `name`, dropping the name once unused.
    pub fn unsubscribe(&self, kind: Kind, name: &[u8], id: u64) {
        match self.map(kind) {
            Some(map) => {
                map.remove_if_mut(name, |_, subs| {
                    subs.swap_remove(&id);
                    subs.is_empty()
                });
            }
            None => self.patterns.write().unsubscribe(name, id),
        }
    }

    fn stripe(&self, channel: &[u8]) -> &Mutex<()> {
        // In range by the modulo, whatever the input.
        #[allow(clippy::indexing_slicing)]
        &self.stripes[(self.hasher.hash_one(channel) as usize) % STRIPES]
    }

    /// PUBLISH: delivers to the channel's subscribers, then to the
    /// subscribers of every matching pattern. Subscribers are in the
    /// `pubsub` output-limit class: `limit` is that class's limit.
    pub fn publish(
        &self,
        channel: &[u8],
        message: &[u8],
        publisher: u64,
        limit: &OutputLimit,
        out: &mut Fanout,
    ) -> usize {
        let _order = self.stripe(channel).lock();
        let mut receivers = 0;
        if let Some(subs) = self.channels.get(channel) {
            let parts: [&[u8]; 2] = [channel, message];
            let mut frame = Lazy::new(b"message", &parts);
            receivers += deliver(subs.values(), &mut frame, publisher, limit, out);
        }
        let patterns = self.patterns.read();
        for (pattern, subs) in patterns.matching(channel) {
            let parts: [&[u8]; 3] = [pattern, channel, message];
            let mut frame = Lazy::new(b"pmessage", &parts);
            receivers += deliver(subs.values(), &mut frame, publisher, limit, out);
        }
        receivers
    }

    /// SPUBLISH: delivers to the shard channel's subscribers.
    pub fn spublish(
        &self,
        channel: &[u8],
        message: &[u8],
        publisher: u64,
        limit: &OutputLimit,
        out: &mut Fanout,
    ) -> usize {
        let _order = self.stripe(channel).lock();
        let Some(subs) = self.shard.get(channel) else {
            return 0;
        };
        let parts: [&[u8]; 2] = [channel, message];
        let mut frame = Lazy::new(b"smessage", &parts);
        deliver(subs.values(), &mut frame, publisher, limit, out)
    }

    /// Calls `f` for every subscription held: ACL changes use it to find
    /// subscriptions a user is no longer allowed (rare, so a full scan).
    pub fn for_each_subscription(&self, mut f: impl FnMut(Kind, &[u8], &Arc<Client>)) {
        for (kind, map) in [(Kind::Channel, &self.channels), (Kind::Shard, &self.shard)] {
            for entry in map.iter() {
                for client in entry.value().values() {
                    f(kind, entry.key(), client);
                }
            }
        }
        for (pattern, subs) in self.patterns.read().iter() {
            for client in subs.values() {
                f(Kind::Pattern, pattern, client);
            }
        }
    }

    /// Names with at least one subscriber, optionally filtered by a glob.
    pub fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let keep = |name: &Bytes| pattern.is_none_or(|p| glob::matches(p, name));
        match self.map(kind) {
            Some(map) => map.iter().map(|e| e.key().clone()).filter(keep).collect(),
            None => self
                .patterns
                .read()
                .iter()
                .map(|(k, _)| k)
                .filter(|k| keep(k))
                .cloned()
                .collect(),
        }
    }

    /// Number of clients subscribed to `name` (not counting patterns).
    pub fn count(&self, kind: Kind, name: &[u8]) -> usize {
        match self.map(kind) {
            Some(map) => map.get(name).map(|s| s.len()).unwrap_or(0),
            None => self.patterns.read().get(name).map(|s| s.len()).unwrap_or(0),
        }
    }

    /// Number of distinct patterns (PUBSUB NUMPAT).
    pub fn pattern_count(&self) -> usize {
        self.patterns.read().count
    }

    /// Number of names in a namespace (INFO `pubsub_channels` and friends).
    pub fn len(&self, kind: Kind) -> usize {
        match self.map(kind) {
            Some(map) => map.len(),
            None => self.pattern_count(),
        }
    }

    /// Whether the registry holds nothing at all.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.shard.is_empty() && self.pattern_count() == 0
    }
}

/// Queues `frame` for each subscriber; returns the number of deliveries.
fn deliver<'c>(
    subs: impl Iterator<Item = &'c Arc<Client>>,
    frame: &mut Lazy<'_>,
    publisher: u64,
    limit: &OutputLimit,
    out: &mut Fanout,
) -> usize {
    let Fanout {
        wake,
        to_self,
        queued_bytes,
        scratch,
    } = out;
    let mut receivers = 0;
    for client in subs {
        let bytes = frame.get(client.resp3(), scratch);
        if client.id == publisher {
            to_self.extend_from_slice(bytes.as_slice());
        } else {
            *queued_bytes += bytes.as_slice().len();
            if client.send_deferred(bytes, limit) {
                wake.push(Arc::clone(client));
            }
        }
        receivers += 1;
    }
    receivers
}

#[cfg(test)]
mod tests;
