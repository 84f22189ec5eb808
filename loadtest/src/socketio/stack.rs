//! The stacks under test: which broker, which node program, which Redis
//! client the Node nodes use and which adapter mode, under one name each.
//!
//! Every combination is named `<base>[-sharded-<mode>]`: the base says who
//! talks to which broker (`respub`: Rust nodes on respub, `rust-redis`:
//! Rust nodes on redis-server, `node-redis` and `node-ioredis`: Node nodes
//! over that Redis client on redis-server), the suffix picks
//! `createShardedAdapter` with that `subscriptionMode` (respub-socketio's
//! `Mode::Sharded`) instead of the classic adapter.

use clap::builder::PossibleValue;

use super::node::NodeKind;
use crate::target::ServerKind;
// For the table of stacks.
use AdapterMode::{Dynamic, DynamicPrivate, Static};
use NodeKind::{Node, Rust};
use RedisClient::{Ioredis, NodeRedis};
use ServerKind::{Redis, Respub};

/// The Redis client of Node nodes (Rust nodes always use fred).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedisClient {
    /// node-redis (`redis` on npm).
    NodeRedis,
    /// ioredis.
    Ioredis,
}

impl RedisClient {
    /// `sio_node.mjs --client`.
    pub(crate) fn flag(self) -> &'static str {
        match self {
            RedisClient::NodeRedis => "node-redis",
            RedisClient::Ioredis => "ioredis",
        }
    }
}

/// Classic or sharded, and which `subscriptionMode` when sharded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum AdapterMode {
    /// `createAdapter`: PSUBSCRIBE and PUBLISH.
    #[default]
    Classic,
    /// `createShardedAdapter`, `static`: one SSUBSCRIBE channel per namespace.
    Static,
    /// `createShardedAdapter`, `dynamic`: plus one channel per public room.
    Dynamic,
    /// `createShardedAdapter`, `dynamic-private`: plus one per private room.
    DynamicPrivate,
}

impl AdapterMode {
    /// `--mode` of either node program.
    pub(crate) fn flag(self) -> &'static str {
        match self {
            AdapterMode::Classic => "classic",
            AdapterMode::Static => "static",
            AdapterMode::Dynamic => "dynamic",
            AdapterMode::DynamicPrivate => "dynamic-private",
        }
    }

    /// respub-socketio's mode.
    pub(crate) fn config(self) -> respub_socketio::Mode {
        use respub_socketio::{Mode, SubscriptionMode};
        match self {
            AdapterMode::Classic => Mode::Classic,
            AdapterMode::Static => Mode::Sharded(SubscriptionMode::Static),
            AdapterMode::Dynamic => Mode::Sharded(SubscriptionMode::Dynamic),
            AdapterMode::DynamicPrivate => Mode::Sharded(SubscriptionMode::DynamicPrivate),
        }
    }
}

/// What every node of a cluster runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Nodes {
    /// The program.
    pub(crate) kind: NodeKind,
    /// Node nodes' Redis client (ignored by Rust nodes).
    pub(crate) client: RedisClient,
    /// The adapter mode.
    pub(crate) mode: AdapterMode,
}

impl From<NodeKind> for Nodes {
    /// Classic mode, node-redis for Node nodes: the stacks users run most.
    fn from(kind: NodeKind) -> Self {
        Self {
            kind,
            client: RedisClient::NodeRedis,
            mode: AdapterMode::Classic,
        }
    }
}

/// A Socket.IO server implementation with its broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stack {
    name: &'static str,
    broker: ServerKind,
    nodes: Nodes,
}

const fn stack(name: &'static str, base: Stack, mode: AdapterMode) -> Stack {
    Stack {
        name,
        broker: base.broker,
        nodes: Nodes {
            kind: base.nodes.kind,
            client: base.nodes.client,
            mode,
        },
    }
}

const fn base(
    name: &'static str,
    broker: ServerKind,
    kind: NodeKind,
    client: RedisClient,
) -> Stack {
    Stack {
        name,
        broker,
        nodes: Nodes {
            kind,
            client,
            mode: AdapterMode::Classic,
        },
    }
}

const RESPUB: Stack = base("respub", Respub, Rust, NodeRedis);
const RUST_REDIS: Stack = base("rust-redis", Redis, Rust, NodeRedis);
const NODE_REDIS: Stack = base("node-redis", Redis, Node, NodeRedis);
const NODE_IOREDIS: Stack = base("node-ioredis", Redis, Node, Ioredis);

/// Every stack, in the order `--help` lists them.
const ALL: [Stack; 16] = [
    RESPUB,
    RUST_REDIS,
    NODE_REDIS,
    NODE_IOREDIS,
    stack("respub-sharded-static", RESPUB, Static),
    stack("respub-sharded-dynamic", RESPUB, Dynamic),
    stack("respub-sharded-dynamic-private", RESPUB, DynamicPrivate),
    stack("rust-redis-sharded-static", RUST_REDIS, Static),
    stack("rust-redis-sharded-dynamic", RUST_REDIS, Dynamic),
    stack(
        "rust-redis-sharded-dynamic-private",
        RUST_REDIS,
        DynamicPrivate,
    ),
    stack("node-redis-sharded-static", NODE_REDIS, Static),
    stack("node-redis-sharded-dynamic", NODE_REDIS, Dynamic),
    stack(
        "node-redis-sharded-dynamic-private",
        NODE_REDIS,
        DynamicPrivate,
    ),
    stack("node-ioredis-sharded-static", NODE_IOREDIS, Static),
    stack("node-ioredis-sharded-dynamic", NODE_IOREDIS, Dynamic),
    stack(
        "node-ioredis-sharded-dynamic-private",
        NODE_IOREDIS,
        DynamicPrivate,
    ),
];

impl Stack {
    /// The column header in the report, and the `--stack` value.
    pub(crate) fn name(self) -> &'static str {
        self.name
    }

    /// The broker it runs on.
    pub(crate) fn broker(self) -> ServerKind {
        self.broker
    }

    /// What its nodes run.
    pub(crate) fn nodes(self) -> Nodes {
        self.nodes
    }

    /// One line for `--help`.
    fn help(self) -> String {
        let nodes = match (self.nodes.kind, self.nodes.client) {
            (NodeKind::Rust, _) => "Rust nodes (socketioxide + respub-socketio)".to_owned(),
            (NodeKind::Node, c) => {
                format!(
                    "Node nodes (socket.io 4.8 + @socket.io/redis-adapter 8.3, {})",
                    c.flag()
                )
            }
        };
        let mode = match self.nodes.mode {
            AdapterMode::Classic => "classic adapter".to_owned(),
            m => format!("sharded adapter, {}", m.flag()),
        };
        format!("{nodes}, {mode}, on {}", self.broker.name())
    }
}

impl clap::ValueEnum for Stack {
    fn value_variants<'a>() -> &'a [Self] {
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name).help(self.help()))
    }
}
