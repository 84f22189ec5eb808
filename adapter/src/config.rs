//! Adapter configuration: a plain struct with `Default` and checking `with_*` builders.

use std::time::Duration;

/// Which Node adapter this one interoperates with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// `createAdapter` of `@socket.io/redis-adapter`: PSUBSCRIBE, PUBLISH, request and
    /// response channels.
    #[default]
    Classic,
    /// `createShardedAdapter`: SSUBSCRIBE and SPUBLISH only.
    Sharded(SubscriptionMode),
}

/// The `subscriptionMode` of `createShardedAdapter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionMode {
    /// Two channels per namespace; everything goes through the common channel.
    Static,
    /// Plus one channel per public room (Node's default).
    #[default]
    Dynamic,
    /// Plus one channel per room, socket-id rooms included.
    DynamicPrivate,
}

/// Adapter options, shared by every namespace of one server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Channel prefix: Node's `key` (classic) or `channelPrefix` (sharded). Default `socket.io`.
    pub prefix: String,
    /// How long a request (fetch sockets, all rooms) waits for answers. Default 5 s, as Node.
    pub request_timeout: Duration,
    /// Classic mode: answer on the requester's own `-response#<nsp>#<uid>#` channel
    /// (Node's `publishOnSpecificResponseChannel`). Default `false`, as Node.
    pub specific_response_channel: bool,
    /// Classic or sharded.
    pub mode: Mode,
    /// While a request waits, how often the peer count is taken again, so that a node that
    /// died mid-request does not make the caller wait for the whole timeout.
    pub recount_interval: Duration,
    /// Sharded dynamic modes: how often room channels are reconciled with local rooms.
    /// socketioxide gives adapters no room-created hook, see [`crate::Cluster::sync_rooms`].
    pub room_sync_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            prefix: "socket.io".to_owned(),
            request_timeout: Duration::from_secs(5),
            specific_response_channel: false,
            mode: Mode::Classic,
            recount_interval: Duration::from_millis(250),
            room_sync_interval: Duration::from_millis(100),
        }
    }
}

impl Config {
    /// Sets the channel prefix.
    ///
    /// # Panics
    /// If the prefix is empty.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        assert!(!prefix.is_empty(), "prefix must not be empty");
        self.prefix = prefix;
        self
    }

    /// Sets the request timeout.
    ///
    /// # Panics
    /// If the timeout is zero.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        assert!(!timeout.is_zero(), "request timeout must be greater than 0");
        self.request_timeout = timeout;
        self
    }

    /// Answers requests on the requester's specific response channel (classic mode).
    pub fn with_specific_response_channel(mut self, on: bool) -> Self {
        self.specific_response_channel = on;
        self
    }

    /// Selects classic or sharded mode.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the peer recount interval.
    ///
    /// # Panics
    /// If the interval is zero.
    pub fn with_recount_interval(mut self, interval: Duration) -> Self {
        assert!(
            !interval.is_zero(),
            "recount interval must be greater than 0"
        );
        self.recount_interval = interval;
        self
    }

    /// Sets the room reconciliation interval of the sharded dynamic modes.
    ///
    /// # Panics
    /// If the interval is zero.
    pub fn with_room_sync_interval(mut self, interval: Duration) -> Self {
        assert!(
            !interval.is_zero(),
            "room sync interval must be greater than 0"
        );
        self.room_sync_interval = interval;
        self
    }
}
