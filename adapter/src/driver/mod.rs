//! The transport under the adapter: a small trait over a Redis-protocol pub/sub connection.
//!
//! A driver owns (at least) two connections: one in subscribed mode that delivers
//! [`DriverEvent`]s, and one for `PUBLISH`, `SPUBLISH` and `PUBSUB NUMSUB`/`SHARDNUMSUB`.
//! Node's adapter counts servers with NUMSUB, which counts *connections*, so every node must
//! subscribe from exactly one connection.
//!
//! * [`FredDriver`] talks to respub, redis-server or valkey-server (RESP2 or RESP3) through
//!   the `fred` client, reconnects with backoff and restores every subscription.
//! * [`MemoryDriver`] runs several nodes in one process with no server, for unit tests.

use std::future::Future;

use bytes::Bytes;
use tokio::sync::mpsc;

mod fred;
mod memory;

pub use self::fred::{FredDriver, FredDriverError};
pub use memory::{MemoryBus, MemoryDriver};

/// One subscription held by the subscriber connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subscription {
    /// `SUBSCRIBE <channel>`
    Channel(String),
    /// `PSUBSCRIBE <pattern>` (Redis glob syntax)
    Pattern(String),
    /// `SSUBSCRIBE <channel>` (sharded pub/sub)
    Shard(String),
}

/// What the subscriber side of a driver reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverEvent {
    /// A message arrived on `channel` (through a channel, pattern or shard subscription).
    Message {
        /// The channel the message was published on (not the pattern).
        channel: String,
        /// The raw payload.
        payload: Bytes,
    },
    /// The connection to the broker was lost. Messages published meanwhile are gone;
    /// requests waiting for replies should fail now rather than wait for their timeout.
    Disconnected,
    /// The connection is back and every subscription has been restored.
    Resubscribed,
    /// The driver dropped `count` messages because the adapter did not keep up.
    Lagged {
        /// How many messages were lost.
        count: u64,
    },
}

/// A Redis-protocol pub/sub transport.
///
/// Implementations must deliver a node's own publications to its own subscriptions (Redis
/// does), keep messages of one publisher in order, and keep [`Driver::num_sub`] exact.
pub trait Driver: Send + Sync + 'static {
    /// The driver's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Adds a subscription; resolves once the broker confirmed it.
    fn subscribe(&self, sub: Subscription) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Removes a subscription.
    fn unsubscribe(
        &self,
        sub: Subscription,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// `PUBLISH` (or `SPUBLISH` when `sharded`); returns the receiver count.
    fn publish(
        &self,
        channel: String,
        payload: Bytes,
        sharded: bool,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// `PUBSUB NUMSUB <channel>` (or `SHARDNUMSUB` when `sharded`).
    fn num_sub(
        &self,
        channel: String,
        sharded: bool,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// Takes the event stream of the subscriber connection. The first call gets it; later
    /// calls get `None`.
    fn take_events(&self) -> Option<mpsc::Receiver<DriverEvent>>;
}

/// Redis glob matching (`*`, `?`, `[...]`, `\` escapes), as PSUBSCRIBE uses it.
pub(crate) fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some(b'?') => {
                p += 1;
                t += 1;
                continue;
            }
            Some(b'[') => {
                if let Some((true, next)) = class_match(pattern, p, text.get(t).copied()) {
                    p = next;
                    t += 1;
                    continue;
                }
            }
            Some(b'\\') if pattern.get(p + 1).is_some() && pattern.get(p + 1) == text.get(t) => {
                p += 2;
                t += 1;
                continue;
            }
            Some(c) if Some(c) == text.get(t) => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// Matches a `[...]` class at `pattern[start]`; returns (matched, index after the class).
fn class_match(pattern: &[u8], start: usize, c: Option<u8>) -> Option<(bool, usize)> {
    let c = c?;
    let mut i = start + 1;
    let negate = pattern.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    loop {
        match pattern.get(i) {
            None => return None,
            Some(b']') => break,
            Some(b'\\') => {
                if pattern.get(i + 1) == Some(&c) {
                    matched = true;
                }
                i += 2;
            }
            Some(&lo)
                if pattern.get(i + 1) == Some(&b'-')
                    && pattern.get(i + 2).is_some_and(|&x| x != b']') =>
            {
                let hi = pattern.get(i + 2).copied().unwrap_or(lo);
                let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
                if (lo..=hi).contains(&c) {
                    matched = true;
                }
                i += 3;
            }
            Some(&x) => {
                if x == c {
                    matched = true;
                }
                i += 1;
            }
        }
    }
    Some((matched != negate, i + 1))
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs_behave_like_redis() {
        assert!(glob_match(b"socket.io#/#*", b"socket.io#/#"));
        assert!(glob_match(b"socket.io#/#*", b"socket.io#/#room#"));
        assert!(!glob_match(b"socket.io#/#*", b"socket.io#/admin#"));
        assert!(glob_match(b"f?o", b"foo"));
        assert!(!glob_match(b"f?o", b"fo"));
        assert!(glob_match(b"h[ae]llo", b"hallo"));
        assert!(!glob_match(b"h[^e]llo", b"hello"));
        assert!(glob_match(b"h[a-c]llo", b"hbllo"));
        assert!(glob_match(b"a\\*b", b"a*b"));
        assert!(!glob_match(b"a\\*b", b"axb"));
        assert!(glob_match(b"*a*b", b"xxaxxb"));
    }
}
