//! Publishing into a Socket.IO cluster from a process that has no Socket.IO server: a cron
//! job, a queue worker, an HTTP handler. The messages are those of Node's
//! `@socket.io/redis-emitter` 5.x, byte for byte, so Node servers with
//! `@socket.io/redis-adapter` and Rust servers with this crate's adapter (classic mode) both
//! act on them.
//!
//! ```no_run
//! use respub_socketio::{Emitter, FredDriver};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let emitter = Emitter::new(FredDriver::connect("redis://127.0.0.1:6379").await?);
//! emitter.emit("tick", &1).await?;
//! emitter.to("room1").except("room2").emit("news", &("a", 2)).await?;
//! emitter.of("admin").to(["a".to_owned(), "b".to_owned()]).emit("alert", &()).await?;
//! emitter.to("room1").sockets_join("room2").await?;
//! emitter.server_side_emit("hello", &"world").await?;
//! # Ok(()) }
//! ```
//!
//! # Wire format
//!
//! With the prefix (Node's `key`, default `socket.io`) and the namespace (default `/`):
//!
//! * `emit`: PUBLISH on `<prefix>#<nsp>#<room>#` when exactly one room is selected, else
//!   on `<prefix>#<nsp>#`, the MessagePack of
//!   `["emitter", {type: 2, data: [event, ...args], nsp}, {rooms, flags, except}]`;
//! * `sockets_join`, `sockets_leave`, `disconnect_sockets`: PUBLISH on
//!   `<prefix>-request#<nsp>#` of the JSON `{"type":2|3|4,"opts":{"rooms","except"},
//!   "rooms"|"close"}`, with no uid and no request id: nobody answers;
//! * `server_side_emit`: the same channel, `{"uid":"emitter","type":6,"data":[...]}`.
//!
//! An emitter only publishes: it cannot receive answers, so there is no fetch sockets, no
//! server count and no acknowledgement, as in Node. Each operation resolves once the
//! broker took the message, with PUBLISH's reply: how many broker connections received it
//! (each classic server counts once or twice: its pattern subscription, plus its request
//! channel subscription for requests).
//!
//! # Arguments
//!
//! `emit` takes one `serde::Serialize` value: a tuple stands for several arguments, `()`
//! for none, anything else for one argument (the convention of socketioxide's `emit`).
//! Values keep serde_json's data model (structs as objects, unit variants as strings),
//! written as the MessagePack that Node's notepack.io would write for them (integral
//! numbers as integers). Whatever serde serialises as bytes becomes MessagePack `bin`,
//! which servers deliver to their clients as binary (a Node `Buffer`, a socketioxide
//! binary attachment): [`bytes::Bytes`] or `serde_bytes::ByteBuf`, at the top level or
//! nested. A `Vec<u8>` or `&[u8]` stays an array of numbers, as in serde_json.
//!
//! ```no_run
//! # async fn run(emitter: respub_socketio::Emitter<respub_socketio::FredDriver>)
//! # -> Result<(), respub_socketio::EmitterError> {
//! use bytes::Bytes;
//! // Node's `emitter.emit("ev", 1, "2", [3], Buffer.from([4]))`:
//! emitter.emit("ev", &(1, "2", [3], Bytes::from_static(&[4]))).await?;
//! # Ok(()) }
//! ```
//!
//! `server_side_emit` sends JSON, as Node's emitter does: binary arrives as the JSON of a
//! Buffer, `{"type":"Buffer","data":[...]}`.
//!
//! # Sharded clusters
//!
//! Classic mode only, like Node's emitter (socketio/socket.io-redis-emitter#127 asks for
//! sharded support): **servers in a sharded mode ([`crate::Mode::Sharded`], Node's
//! `createShardedAdapter`) do not receive anything an emitter sends**. They listen with
//! SSUBSCRIBE, and Redis (respub alike) delivers a PUBLISH only to SUBSCRIBE and
//! PSUBSCRIBE subscribers, never to shard channel subscribers, even of the same name; and
//! they expect the sharded envelope `{type, data, uid, nsp}`, not the classic array. The
//! emit still succeeds, with PUBLISH's count of 0 receivers.

mod args;
mod operator;

use std::sync::Arc;

use serde::Serialize;

pub use self::{args::ArgError, operator::BroadcastOperator};
use crate::driver::Driver;
/// What `to`, `within`, `except` and the room operations take (socketioxide-core's trait):
/// `&'static str`, `String`, `Vec<String>`, arrays, a socketioxide `Sid`.
pub use socketioxide_core::adapter::RoomParam;

/// Why an emitter operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EmitterError {
    /// Socket.IO keeps this event name for itself (`connect`, `connect_error`,
    /// `disconnect`, `disconnecting`, `newListener`, `removeListener`); Node's emitter
    /// throws for it too.
    #[error("\"{0}\" is a reserved event name")]
    ReservedEvent(String),
    /// The arguments could not be serialised.
    #[error("cannot serialise the arguments: {0}")]
    Serialize(#[from] args::ArgError),
    /// The driver failed (broker unreachable, command rejected); nothing was sent.
    #[error("driver error: {0}")]
    Driver(Box<dyn std::error::Error + Send + Sync>),
}

/// Where an emitter publishes: its driver, prefix and namespace.
#[derive(Debug)]
struct Target<D> {
    driver: Arc<D>,
    prefix: Arc<str>,
    nsp: String,
}

impl<D> Clone for Target<D> {
    fn clone(&self) -> Self {
        Self {
            driver: self.driver.clone(),
            prefix: self.prefix.clone(),
            nsp: self.nsp.clone(),
        }
    }
}

/// A publisher of Socket.IO events, room changes and disconnections into a cluster of
/// classic-mode servers (see the [module docs](self)). Cheap to clone; clones share the
/// driver.
#[derive(Debug)]
pub struct Emitter<D> {
    target: Target<D>,
}

impl<D> Clone for Emitter<D> {
    fn clone(&self) -> Self {
        Self {
            target: self.target.clone(),
        }
    }
}

impl<D: Driver> Emitter<D> {
    /// An emitter for the namespace `/` with the prefix `socket.io`. Only the driver's
    /// publishing side is used: an emitter subscribes to nothing, so it is not counted
    /// as a server.
    pub fn new(driver: D) -> Self {
        Self::from_shared(Arc::new(driver))
    }

    /// As [`Self::new`], with a driver shared with other emitters or code.
    pub fn from_shared(driver: Arc<D>) -> Self {
        Self {
            target: Target {
                driver,
                prefix: Arc::from("socket.io"),
                nsp: "/".to_owned(),
            },
        }
    }

    /// Sets the channel prefix: the servers' `key` (Node) or [`crate::Config::prefix`].
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.target.prefix = Arc::from(prefix.into());
        self
    }

    /// An emitter for namespace `nsp`, sharing this one's driver and prefix. A missing
    /// leading `/` is added, as Node's `of` does.
    #[must_use]
    pub fn of(&self, nsp: &str) -> Self {
        let mut target = self.target.clone();
        target.nsp = if nsp.starts_with('/') {
            nsp.to_owned()
        } else {
            format!("/{nsp}")
        };
        Self { target }
    }

    /// The namespace this emitter publishes to.
    pub fn nsp(&self) -> &str {
        &self.target.nsp
    }

    /// The channel prefix.
    pub fn prefix(&self) -> &str {
        &self.target.prefix
    }

    fn op(&self) -> BroadcastOperator<D> {
        BroadcastOperator::new(self.target.clone())
    }

    /// Selects the sockets in `rooms` (room names or socket ids); see
    /// [`BroadcastOperator::to`].
    #[must_use]
    pub fn to(&self, rooms: impl RoomParam) -> BroadcastOperator<D> {
        self.op().to(rooms)
    }

    /// Node's `in`: the same as [`Self::to`].
    #[must_use]
    pub fn within(&self, rooms: impl RoomParam) -> BroadcastOperator<D> {
        self.op().to(rooms)
    }

    /// Leaves out the sockets in `rooms`.
    #[must_use]
    pub fn except(&self, rooms: impl RoomParam) -> BroadcastOperator<D> {
        self.op().except(rooms)
    }

    /// See [`BroadcastOperator::volatile`].
    #[must_use]
    pub fn volatile(&self) -> BroadcastOperator<D> {
        self.op().volatile()
    }

    /// See [`BroadcastOperator::compress`].
    #[must_use]
    pub fn compress(&self, compress: bool) -> BroadcastOperator<D> {
        self.op().compress(compress)
    }

    /// Emits to every socket of the namespace; see [`BroadcastOperator::emit`].
    ///
    /// # Errors
    /// As [`BroadcastOperator::emit`].
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<u64, EmitterError> {
        self.op().emit(event, args).await
    }

    /// Makes every socket of the namespace join `rooms`.
    ///
    /// # Errors
    /// [`EmitterError::Driver`] when the broker cannot be reached.
    pub async fn sockets_join(&self, rooms: impl RoomParam) -> Result<u64, EmitterError> {
        self.op().sockets_join(rooms).await
    }

    /// Makes every socket of the namespace leave `rooms`.
    ///
    /// # Errors
    /// [`EmitterError::Driver`] when the broker cannot be reached.
    pub async fn sockets_leave(&self, rooms: impl RoomParam) -> Result<u64, EmitterError> {
        self.op().sockets_leave(rooms).await
    }

    /// Disconnects every socket of the namespace; `close` also closes the underlying
    /// connections.
    ///
    /// # Errors
    /// [`EmitterError::Driver`] when the broker cannot be reached.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<u64, EmitterError> {
        self.op().disconnect_sockets(close).await
    }

    /// Sends `[event, ...args]` to the server-side handlers of every server of the
    /// namespace (Node's `io.on(event, ...)` on the namespace). No acknowledgement: an
    /// emitter cannot receive one.
    ///
    /// # Errors
    /// [`EmitterError::Serialize`] for arguments serde cannot serialise,
    /// [`EmitterError::Driver`] when the broker cannot be reached.
    pub async fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<u64, EmitterError> {
        self.target.server_side_emit(event, args).await
    }
}
