//! Test harness: respub in-process on port 0, a real redis-server on a free
//! port, and a small blocking RESP client that reads whole frames.
//!
//! Waits are on signals (the server's bound port, redis-server's "Ready to
//! accept connections" line, a reply frame); the timeouts only turn a hang
//! into a failure.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

pub mod certs;
pub mod diff;
pub mod replication;
mod resp;
pub mod sentinel;
mod servers;
mod wait;

// One flat namespace for the test files, each of which uses only part of it.
#[allow(unused_imports)]
pub use resp::*;
#[allow(unused_imports)]
pub use servers::*;
#[allow(unused_imports)]
pub use wait::{GUARD, eventually};
