//! # respub-socketio
//!
//! A [socketioxide] adapter that speaks the wire protocol of Node's
//! `@socket.io/redis-adapter` 8.x, so Rust and Node Socket.IO servers can share one
//! cluster: broadcasts, rooms, acknowledgements, fetch sockets, remote join, leave and
//! disconnect, through [respub] or any Redis (redis-server, valkey-server), RESP2 or RESP3.
//!
//! ```no_run
//! use respub_socketio::{Cluster, Config, FredDriver, RespubAdapter};
//! use socketioxide::{SocketIo, adapter::Emitter, extract::SocketRef};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let driver = FredDriver::connect("redis://127.0.0.1:6379").await?;
//! let cluster = Cluster::new(driver, Config::default());
//! let (layer, io) = SocketIo::builder()
//!     .with_adapter::<RespubAdapter<_>>(cluster)
//!     .build_layer();
//! io.ns("/", async |s: SocketRef<RespubAdapter<Emitter>>| s.join("lobby"))
//!     .await?;
//! # let _ = layer; Ok(()) }
//! ```
//!
//! To publish into a cluster from a process with no Socket.IO server (a cron job, a worker),
//! use [`Emitter`]: the messages of Node's `@socket.io/redis-emitter`, classic mode only.
//!
//! # How it works
//!
//! One [`Cluster`] per server holds a [`driver::Driver`] (two connections: a subscriber and
//! a publisher) and a dispatcher task that routes incoming messages to the adapter of each
//! namespace. Each namespace has a wire uid: 6 URL-safe characters in classic mode (Node's
//! `uid2(6)`), 16 lowercase hex characters in sharded mode (`randomBytes(8)`).
//!
//! ## Classic mode (`createAdapter`)
//!
//! ```text
//! PSUBSCRIBE <prefix>#<nsp>#*
//! SUBSCRIBE  <prefix>-request#<nsp>#  <prefix>-response#<nsp>#  <prefix>-response#<nsp>#<uid>#
//! ```
//!
//! * Broadcast: msgpack `[uid, {type:2, data:[event, ...args], nsp}, {rooms, except, flags}]`
//!   published on `<prefix>#<nsp>#<room>#` when there is exactly one room, else on
//!   `<prefix>#<nsp>#`. Receivers drop a room channel message before decoding when they
//!   do not have the room, then drop their own uid and other namespaces.
//! * Requests on `<prefix>-request#<nsp>#`, JSON except type 7: `0` SOCKETS (answered),
//!   `1` ALL_ROOMS, `2` REMOTE_JOIN, `3` REMOTE_LEAVE, `4` REMOTE_DISCONNECT, `5`
//!   REMOTE_FETCH, `6` SERVER_SIDE_EMIT (answered `{type: 6, requestId, data}` when it has
//!   a `requestId`), `7` BROADCAST with ack (msgpack). Responses (JSON, `9` msgpack) go to
//!   `<prefix>-response#<nsp>#` or, with [`Config::specific_response_channel`], to
//!   `<prefix>-response#<nsp>#<requester uid>#`: `8` BROADCAST_CLIENT_COUNT then one `9`
//!   BROADCAST_ACK per client ack.
//! * Every payload is sniffed: first byte `{` means JSON, anything else msgpack.
//!
//! ## Sharded mode (`createShardedAdapter`)
//!
//! `SSUBSCRIBE <prefix>#<nsp>#` and `<prefix>#<nsp>#<uid>#`, plus in the dynamic modes
//! one `<prefix>#<nsp>#<room>#` per local room and socket id. Messages are
//! `{"type","data","uid","nsp"}` (JSON, or msgpack when `data` holds binary), types 3 to
//! 12 of socket.io-adapter's `MessageType`; responses go to the requester's
//! `<prefix>#<nsp>#<uid>#`.
//!
//! ## Server counting and timeouts
//!
//! The number of servers is `PUBSUB NUMSUB <prefix>-request#<nsp>#` (classic) or
//! `PUBSUB SHARDNUMSUB <prefix>#<nsp>#` (sharded), as in Node. A request expects
//! `count - 1` answers and finishes as soon as they are in. While it waits it takes the
//! count again every [`Config::recount_interval`]: when a node died (its connection is
//! gone, and respub drops a closed connection's subscriptions at once), the expectation
//! drops and the request finishes without waiting for [`Config::request_timeout`]. A
//! timeout gives [`Error::Timeout`] naming how many answered out of how many; a dropped
//! broker connection gives [`Error::ConnectionLost`] at once.
//!
//! ## Server-side events
//!
//! Node's `io.serverSideEmit`, `serverSideEmitWithAck` and `io.on(event)` have no
//! socketioxide counterpart, so they are methods of [`Cluster`]:
//! [`Cluster::on_server_side`] registers a handler per namespace and event name (it gets
//! the arguments and, when the sender waits, a [`ServerSideAck`] to answer once);
//! [`Cluster::server_side_emit`] and [`Cluster::server_side_emit_with_ack`] send to every
//! other server, Node or Rust. A Rust server answers every request it is counted for;
//! an event with no handler is not answered, as on a Node server with no listener.
//!
//! ## What socketioxide's adapter API does not allow
//!
//! * socketioxide sockets are not in a room named by their id, as Node's are: the adapter
//!   emulates it, so `to(<socket id>)` (and `except`, remote join, leave, disconnect, fetch)
//!   selects that socket on every node, the local one included, whoever sent it.
//! * socketioxide `Sid`s are 16 characters; Node socket ids are 20. `fetch_sockets`
//!   returns Node sockets under an alias `Sid` that the adapter maps back when the
//!   socket is used (emit, join, leave, disconnect). [`Cluster::fetch_sockets`] gives the
//!   real ids with handshake, rooms and data.
//! * Server-side events are not reachable through `SocketIo` (no `io.on(event)` or
//!   `io.server_side_emit`): use [`Cluster::on_server_side`] and
//!   [`Cluster::server_side_emit`].
//! * No handshake or `data` for socketioxide sockets in fetch answers (neutral values).
//! * `socket.join` does not reach the adapter: in the sharded dynamic modes room channels
//!   are reconciled in the background, or at once with [`Cluster::sync_rooms`].
//! * Only socketioxide's common (JSON) parser is supported.
//!
//! [socketioxide]: https://docs.rs/socketioxide
//! [respub]: https://example.invalid/respub

mod ack_stream;
mod adapter;
mod cluster;
mod codec;
mod config;
pub mod driver;
pub mod emitter;
mod error;
mod incoming;
mod server_side;
mod stats;
mod wire;

pub use ack_stream::AckStream;
pub use adapter::{CustomRespubAdapter, InitRes};
pub use cluster::{Cluster, SocketInfo};
pub use codec::CodecError;
pub use config::{Config, Mode, SubscriptionMode};
pub use driver::{FredDriver, MemoryBus, MemoryDriver};
pub use emitter::{BroadcastOperator, Emitter, EmitterError};
pub use error::Error;
/// The `fred` the driver is built on, for [`FredDriver::with_config`] without a second copy
/// of fred in the dependency tree.
pub use fred;
pub use server_side::{ServerSideAck, ServerSideEmitError, ServerSideEvent};
pub use stats::StatsSnapshot;

/// The adapter over the production [`FredDriver`]: use it as
/// `with_adapter::<RespubAdapter<_>>(cluster)`.
pub type RespubAdapter<E> = CustomRespubAdapter<E, FredDriver>;

/// The adapter over the in-memory driver, for tests.
pub type MemoryAdapter<E> = CustomRespubAdapter<E, MemoryDriver>;
