//! Server configuration, with redis-server's defaults.
//!
//! Field names follow redis.conf directives so that an operator can map one
//! onto the other without a table.

use std::time::Duration;

/// One `client-output-buffer-limit` class: a client is closed when its
/// pending output reaches `hard` bytes, or stays at or above `soft` bytes for
/// more than `soft_seconds`. A zero disables that half of the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit {
    /// Bytes at which the client is closed at once.
    pub hard: usize,
    /// Bytes the client may stay above for `soft_seconds`.
    pub soft: usize,
    /// How long the soft limit may be exceeded.
    pub soft_seconds: Duration,
}

impl OutputLimit {
    /// No limit at all (Redis' `normal` class default).
    pub const UNLIMITED: Self = Self {
        hard: 0,
        soft: 0,
        soft_seconds: Duration::ZERO,
    };

    /// Redis' `pubsub` class default: `32mb 8mb 60`.
    pub const PUBSUB_DEFAULT: Self = Self {
        hard: 32 * 1024 * 1024,
        soft: 8 * 1024 * 1024,
        soft_seconds: Duration::from_secs(60),
    };
}

/// Everything `run` needs to know about how to serve.
#[derive(Debug, Clone)]
pub struct Config {
    /// `maxclients`: connections above this get `-ERR max number of clients reached`.
    pub maxclients: usize,
    /// `proto-max-bulk-len`: the longest bulk argument accepted.
    pub proto_max_bulk_len: i64,
    /// `client-query-buffer-limit`: a client whose unparsed input grows past
    /// this is closed.
    pub client_query_buffer_limit: usize,
    /// `client-output-buffer-limit normal`.
    pub output_limit_normal: OutputLimit,
    /// `client-output-buffer-limit pubsub`.
    pub output_limit_pubsub: OutputLimit,
    /// The version reported by HELLO and INFO. Clients gate features on it,
    /// so it names the Redis behaviour respub follows, not respub's own version.
    pub redis_version: String,
    /// How long a graceful shutdown waits for queued output to drain.
    pub shutdown_timeout: Duration,
    /// TCP port, reported by INFO.
    pub port: u16,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            maxclients: 10_000,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            output_limit_normal: OutputLimit::UNLIMITED,
            output_limit_pubsub: OutputLimit::PUBSUB_DEFAULT,
            redis_version: "7.2.4".to_owned(),
            shutdown_timeout: Duration::from_secs(10),
            port: 6379,
        }
    }
}
