//! An in-process pub/sub bus with Redis semantics, for unit tests of multi-node clusters.

use std::{
    collections::{HashMap, HashSet},
    convert::Infallible,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::{Driver, DriverEvent, Subscription, glob_match};

/// Queue length of each in-memory subscriber.
const QUEUE: usize = 65_536;

/// A shared in-memory broker. Each [`MemoryDriver`] made from it is one connection.
#[derive(Debug, Clone, Default)]
pub struct MemoryBus {
    inner: Arc<Mutex<BusState>>,
}

#[derive(Debug, Default)]
struct BusState {
    next_id: u64,
    conns: HashMap<u64, Conn>,
}

#[derive(Debug)]
struct Conn {
    subs: HashSet<Subscription>,
    tx: mpsc::Sender<DriverEvent>,
}

impl MemoryBus {
    /// Creates an empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens a new connection on this bus.
    pub fn connect(&self) -> MemoryDriver {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut state = self.lock();
        state.next_id += 1;
        let id = state.next_id;
        state.conns.insert(
            id,
            Conn {
                subs: HashSet::new(),
                tx,
            },
        );
        MemoryDriver {
            bus: self.clone(),
            id,
            events: Mutex::new(Some(rx)),
            dropped: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BusState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One connection to a [`MemoryBus`]. Dropping it removes its subscriptions at once, like a
/// closed Redis connection.
#[derive(Debug)]
pub struct MemoryDriver {
    bus: MemoryBus,
    id: u64,
    events: Mutex<Option<mpsc::Receiver<DriverEvent>>>,
    dropped: AtomicU64,
}

impl MemoryDriver {
    fn with_conn<T>(&self, f: impl FnOnce(&mut Conn) -> T) -> Option<T> {
        self.bus.lock().conns.get_mut(&self.id).map(f)
    }
}

impl Drop for MemoryDriver {
    fn drop(&mut self) {
        self.bus.lock().conns.remove(&self.id);
    }
}

impl Driver for MemoryDriver {
    type Error = Infallible;

    async fn subscribe(&self, sub: Subscription) -> Result<(), Infallible> {
        self.with_conn(|c| c.subs.insert(sub));
        Ok(())
    }

    async fn unsubscribe(&self, sub: Subscription) -> Result<(), Infallible> {
        self.with_conn(|c| c.subs.remove(&sub));
        Ok(())
    }

    async fn publish(
        &self,
        channel: String,
        payload: Bytes,
        sharded: bool,
    ) -> Result<u64, Infallible> {
        let state = self.bus.lock();
        let mut receivers = 0;
        for conn in state.conns.values() {
            for sub in &conn.subs {
                let hit = match sub {
                    Subscription::Channel(c) => !sharded && *c == channel,
                    Subscription::Pattern(p) => {
                        !sharded && glob_match(p.as_bytes(), channel.as_bytes())
                    }
                    Subscription::Shard(c) => sharded && *c == channel,
                };
                if !hit {
                    continue;
                }
                receivers += 1;
                let event = DriverEvent::Message {
                    channel: channel.clone(),
                    payload: payload.clone(),
                };
                if conn.tx.try_send(event).is_err() {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("memory bus: subscriber queue full, message dropped");
                }
            }
        }
        Ok(receivers)
    }

    async fn num_sub(&self, channel: String, sharded: bool) -> Result<u64, Infallible> {
        let wanted = if sharded {
            Subscription::Shard(channel)
        } else {
            Subscription::Channel(channel)
        };
        let state = self.bus.lock();
        Ok(state
            .conns
            .values()
            .filter(|c| c.subs.contains(&wanted))
            .count() as u64)
    }

    fn take_events(&self) -> Option<mpsc::Receiver<DriverEvent>> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn patterns_channels_and_shards_are_separate() {
        let bus = MemoryBus::new();
        let a = bus.connect();
        let b = bus.connect();
        let mut rx = a.take_events().unwrap();
        a.subscribe(Subscription::Pattern("p#*".into()))
            .await
            .unwrap();
        a.subscribe(Subscription::Channel("req".into()))
            .await
            .unwrap();
        b.subscribe(Subscription::Shard("req".into()))
            .await
            .unwrap();
        assert_eq!(b.num_sub("req".into(), false).await.unwrap(), 1);
        assert_eq!(b.num_sub("req".into(), true).await.unwrap(), 1);
        assert_eq!(
            b.publish("p#x".into(), Bytes::from_static(b"1"), false)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            b.publish("req".into(), Bytes::from_static(b"2"), true)
                .await
                .unwrap(),
            1
        );
        let ev = rx.recv().await.unwrap();
        assert_eq!(
            ev,
            DriverEvent::Message {
                channel: "p#x".into(),
                payload: Bytes::from_static(b"1")
            }
        );
        drop(b);
        assert_eq!(a.num_sub("req".into(), true).await.unwrap(), 0);
    }
}
