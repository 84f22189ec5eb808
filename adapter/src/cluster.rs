//! [`Cluster`]: the adapter state shared by every namespace of one server. It owns the
//! driver and one dispatcher task that routes incoming messages to namespace adapters.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{Arc, PoisonError, RwLock, Weak},
    time::Duration,
};

use bytes::Bytes;
use serde_json::Value as Json;

use crate::{
    Config, Error,
    driver::{Driver, DriverEvent},
    server_side::{Handlers, ServerSideEmitError},
    stats::{Stats, StatsSnapshot},
};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One socket as returned by a cluster-wide fetch, with the fields Node's `fetchSockets`
/// gives (`id`, `handshake`, `rooms`, `data`).
#[derive(Debug, Clone, PartialEq)]
pub struct SocketInfo {
    /// The socket id as its server knows it: 16 characters for socketioxide, 20 for Node.
    pub id: String,
    /// The handshake object (`headers`, `time`, `address`, `xdomain`, `secure`, `issued`,
    /// `url`, `query`, `auth`).
    pub handshake: Json,
    /// The socket's rooms, its own id included (as Node reports them).
    pub rooms: Vec<String>,
    /// The socket's `data` object.
    pub data: Json,
}

/// What the dispatcher needs from a namespace adapter (object safe, so adapters of any
/// emitter type fit in one registry).
pub(crate) trait NsNode: Send + Sync {
    fn accepts(&self, channel: &str) -> bool;
    fn on_message(&self, channel: &str, payload: Bytes);
    fn on_disconnect(&self);
    fn fetch_detailed(
        &self,
        rooms: Vec<String>,
        except: Vec<String>,
    ) -> BoxFuture<'_, Result<Vec<SocketInfo>, Error>>;
    fn sync_rooms(&self) -> BoxFuture<'_, Result<(), Error>>;
    fn wire_uid(&self) -> String;
    fn server_count(&self) -> BoxFuture<'_, Result<u64, Error>>;
    /// Publishes `[event, ...args]`; with a timeout, waits for every other server's answer.
    fn server_side_emit(
        &self,
        packet: Vec<Json>,
        ack_timeout: Option<Duration>,
    ) -> BoxFuture<'_, Result<Vec<Json>, ServerSideEmitError>>;
}

/// The adapter state: pass it to `SocketIo::builder().with_adapter::<RespubAdapter<_>>(cluster)`.
///
/// Cheap to clone. Dropping the last clone (and the `SocketIo` that holds one) closes the
/// driver's connections.
#[derive(Debug)]
pub struct Cluster<D: Driver> {
    pub(crate) inner: Arc<ClusterInner<D>>,
}

impl<D: Driver> Clone for Cluster<D> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

pub(crate) struct ClusterInner<D> {
    pub(crate) driver: D,
    pub(crate) config: Config,
    pub(crate) stats: Stats,
    pub(crate) handlers: Handlers,
    nodes: RwLock<HashMap<String, Weak<dyn NsNode>>>,
}

impl<D> std::fmt::Debug for ClusterInner<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterInner")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<D: Driver> Cluster<D> {
    /// Wraps a connected driver. Must be called inside a Tokio runtime: it spawns the
    /// dispatcher task, which ends when the driver's event stream ends.
    pub fn new(driver: D, config: Config) -> Self {
        let events = driver.take_events();
        let inner = Arc::new(ClusterInner {
            driver,
            config,
            stats: Stats::default(),
            handlers: Handlers::default(),
            nodes: RwLock::new(HashMap::new()),
        });
        match events {
            Some(rx) => {
                tokio::spawn(dispatch(Arc::downgrade(&inner), rx));
            }
            None => {
                tracing::error!("driver events already taken: this cluster will receive nothing")
            }
        }
        Self { inner }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The driver.
    pub fn driver(&self) -> &D {
        &self.inner.driver
    }

    /// A copy of the counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot()
    }

    /// The wire uid of namespace `nsp` on this node (what Node peers see as `uid`).
    pub fn uid(&self, nsp: &str) -> Option<String> {
        self.node(nsp).map(|n| n.wire_uid())
    }

    /// Fetches every socket of namespace `nsp` in any of `rooms` (all sockets when empty)
    /// and in none of `except`, across the cluster, with the fields Node reports: real
    /// socket ids (Node's are 20 characters and do not fit socketioxide's `Sid`),
    /// handshake, rooms and data.
    ///
    /// # Errors
    /// As for socketioxide's `fetch_sockets`; also fails when `nsp` has no adapter here.
    pub async fn fetch_sockets(
        &self,
        nsp: &str,
        rooms: Vec<String>,
        except: Vec<String>,
    ) -> Result<Vec<SocketInfo>, Error> {
        let node = self.node(nsp).ok_or(Error::Closed)?;
        node.fetch_detailed(rooms, except).await
    }

    /// The number of servers in the cluster for namespace `nsp`, this one included, counted
    /// as Node counts them (`PUBSUB NUMSUB` of the request channel, or `SHARDNUMSUB` of the
    /// common channel). socketioxide does not expose the adapter's `server_count`.
    ///
    /// # Errors
    /// When the driver fails, or `nsp` has no adapter here.
    pub async fn server_count(&self, nsp: &str) -> Result<u64, Error> {
        let node = self.node(nsp).ok_or(Error::Closed)?;
        node.server_count().await
    }

    /// Sharded dynamic modes: subscribes the room channels of every local room now and
    /// returns once the broker confirmed them. socketioxide's `socket.join` does not reach
    /// the adapter, so call this after joining when the next message to that room must
    /// not be missed; otherwise a background task catches up within
    /// [`Config::room_sync_interval`]. A no-op in the other modes.
    ///
    /// # Errors
    /// When the driver fails to subscribe.
    pub async fn sync_rooms(&self, nsp: &str) -> Result<(), Error> {
        match self.node(nsp) {
            Some(node) => node.sync_rooms().await,
            None => Ok(()),
        }
    }

    pub(crate) fn node(&self, nsp: &str) -> Option<Arc<dyn NsNode>> {
        self.inner
            .nodes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(nsp)
            .and_then(Weak::upgrade)
    }

    pub(crate) fn register(&self, node: Weak<dyn NsNode>, nsp: &str) {
        self.inner
            .nodes
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(nsp.to_owned(), node);
    }

    pub(crate) fn unregister(&self, nsp: &str) {
        self.inner
            .nodes
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(nsp);
    }
}

impl<D> ClusterInner<D> {
    fn live_nodes(&self) -> Vec<Arc<dyn NsNode>> {
        self.nodes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter_map(Weak::upgrade)
            .collect()
    }
}

async fn dispatch<D: Driver>(
    inner: Weak<ClusterInner<D>>,
    mut rx: tokio::sync::mpsc::Receiver<DriverEvent>,
) {
    while let Some(event) = rx.recv().await {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        match event {
            DriverEvent::Message { channel, payload } => {
                Stats::incr(&inner.stats.received);
                for node in inner.live_nodes() {
                    if node.accepts(&channel) {
                        node.on_message(&channel, payload.clone());
                    }
                }
            }
            DriverEvent::Disconnected => {
                Stats::incr(&inner.stats.disconnects);
                for node in inner.live_nodes() {
                    node.on_disconnect();
                }
            }
            DriverEvent::Resubscribed => {
                Stats::incr(&inner.stats.resubscribes);
            }
            DriverEvent::Lagged { count } => {
                inner
                    .stats
                    .lagged
                    .fetch_add(count, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(
                    count,
                    "messages from the broker were lost (subscriber lagged)"
                );
            }
        }
    }
    tracing::debug!("driver event stream ended; dispatcher stops");
}
