//! respub-broker: a Redis-protocol pub/sub broker.
//!
//! A drop-in for `redis-server` in the pub/sub role: SUBSCRIBE, PSUBSCRIBE,
//! SSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH, SPUBLISH, PUBSUB and the
//! connection commands client libraries send, byte-identical to Redis 7.2
//! in RESP2 and RESP3.
//!
//! # Architecture
//!
//! ```text
//! server::run ──accept──▶ connection::serve ─┬─ reader: parse::Decoder ─▶ cmd::execute ─▶ Session
//!                                             │                                   │
//!                                             │        registry::Registry ◀───────┘ (PUBLISH)
//!                                             │              │ one Bytes per frame kind
//!                                             │              ▼
//!                                             └─ writer: outbound::Outbound (per client, byte-counted)
//!                                                        drained in coalesced writes
//! ```
//!
//! * [`parse`] turns bytes into argument vectors with Redis' exact rules.
//! * `cmd` checks what Redis checks, in Redis' order, and runs commands
//!   against the connection's [`session::Session`].
//! * [`registry`] holds subscriptions and does the fan-out; a published
//!   message is encoded once per frame kind and shared as `Bytes`.
//! * [`outbound`] is each client's queue, counted in bytes against the
//!   `client-output-buffer-limit` policy, written by its own task.
//!
//! `docs/architecture.md` follows one PUBLISH through these modules.

pub mod acl;
pub mod client;
mod cmd;
pub mod cmdstats;
pub mod config;
pub mod connection;
pub mod error;
pub mod flush;
pub mod glob;
pub mod latency;
pub mod listen;
pub mod outbound;
pub mod parse;
pub mod pause;
pub mod registry;
pub mod replication;
pub mod reply;
pub mod runtime;
pub mod server;
pub mod service;
pub mod session;
pub mod slowlog;
pub mod socket;
pub mod stats;
pub mod tls;

#[doc(hidden)]
pub use cmd::execute;
pub use config::{Config, OutputLimit, TlsAuthClients};
pub use error::Error;
pub use server::{Listener, run, serve};
