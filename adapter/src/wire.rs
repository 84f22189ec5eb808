//! The wire protocol of `@socket.io/redis-adapter` 8.x as this crate writes it: message
//! type numbers, channel names, ids and the message encodings every sender shares.
//!
//! Nothing here knows socketioxide, so a process that publishes into a cluster without
//! a Socket.IO server of its own can build the same messages.

use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use rmpv::Value as Mp;
use serde_json::{Value as Json, json};

use crate::codec::{self, json_to_mp, mp_map, mp_strings};

/// Classic request and response types (`RequestType` in `@socket.io/redis-adapter`).
pub(crate) mod classic {
    pub(crate) const SOCKETS: u64 = 0;
    pub(crate) const ALL_ROOMS: u64 = 1;
    pub(crate) const REMOTE_JOIN: u64 = 2;
    pub(crate) const REMOTE_LEAVE: u64 = 3;
    pub(crate) const REMOTE_DISCONNECT: u64 = 4;
    pub(crate) const REMOTE_FETCH: u64 = 5;
    pub(crate) const SERVER_SIDE_EMIT: u64 = 6;
    pub(crate) const BROADCAST: u64 = 7;
    pub(crate) const BROADCAST_CLIENT_COUNT: u64 = 8;
    pub(crate) const BROADCAST_ACK: u64 = 9;
}

/// Sharded message types (`MessageType` in `socket.io-adapter`'s cluster adapter).
pub(crate) mod sharded {
    pub(crate) const BROADCAST: u64 = 3;
    pub(crate) const SOCKETS_JOIN: u64 = 4;
    pub(crate) const SOCKETS_LEAVE: u64 = 5;
    pub(crate) const DISCONNECT_SOCKETS: u64 = 6;
    pub(crate) const FETCH_SOCKETS: u64 = 7;
    pub(crate) const FETCH_SOCKETS_RESPONSE: u64 = 8;
    pub(crate) const SERVER_SIDE_EMIT: u64 = 9;
    pub(crate) const SERVER_SIDE_EMIT_RESPONSE: u64 = 10;
    pub(crate) const BROADCAST_CLIENT_COUNT: u64 = 11;
    pub(crate) const BROADCAST_ACK: u64 = 12;
}

/// Channel names of one namespace.
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    /// `<prefix>#<nsp>#`: classic broadcast base, sharded common channel.
    pub(crate) base: String,
    /// Classic `<prefix>-request#<nsp>#`.
    pub(crate) request: String,
    /// Classic `<prefix>-response#<nsp>#`.
    pub(crate) response: String,
    /// Classic `<prefix>-response#<nsp>#<uid>#`; sharded `<prefix>#<nsp>#<uid>#`.
    pub(crate) own_response: String,
}

impl Channels {
    pub(crate) fn new(prefix: &str, nsp: &str, uid: &str, sharded: bool) -> Self {
        let base = format!("{prefix}#{nsp}#");
        let response = format!("{prefix}-response#{nsp}#");
        let own_response = if sharded {
            format!("{base}{uid}#")
        } else {
            format!("{response}{uid}#")
        };
        Self {
            request: format!("{prefix}-request#{nsp}#"),
            response,
            own_response,
            base,
        }
    }

    /// `<prefix>#<nsp>#<room>#`: a classic single-room broadcast, a sharded room channel.
    pub(crate) fn room(&self, room: &str) -> String {
        format!("{}{room}#", self.base)
    }
}

const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `uid2(6)`-style id: 6 URL-safe characters.
pub(crate) fn uid2(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| {
            let i = rng.random_range(0..ID_CHARS.len());
            char::from(ID_CHARS.get(i).copied().unwrap_or(b'x'))
        })
        .collect()
}

/// `randomBytes(8).toString("hex")`: 16 lowercase hex characters.
pub(crate) fn hex_id() -> String {
    let v: u64 = rand::rng().random();
    format!("{v:016x}")
}

/// Sharded envelope `{type, data, uid, nsp}`: JSON, or MessagePack when `data` holds
/// binary (as `ShardedRedisAdapter.encode` does).
pub(crate) fn envelope(uid: &str, nsp: &str, kind: u64, data: Json, bins: &[Bytes]) -> Bytes {
    let msg = json!({"type": kind, "data": data, "uid": uid, "nsp": nsp});
    if bins.is_empty() {
        Bytes::from(msg.to_string())
    } else {
        codec::encode_msgpack(&json_to_mp(&msg, bins))
    }
}

/// The `flags` of broadcast options, as Node reads them.
pub(crate) fn flags_json(volatile: bool, timeout: Option<Duration>) -> Json {
    let mut flags = serde_json::Map::new();
    if volatile {
        flags.insert("volatile".into(), Json::Bool(true));
    }
    if let Some(t) = timeout {
        flags.insert(
            "timeout".into(),
            Json::from(u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        );
    }
    Json::Object(flags)
}

/// An event as a classic broadcast carries it: `{type: 2, data, nsp}` (msgpack).
pub(crate) fn classic_packet(nsp: &str, data: &Json, bins: &[Bytes]) -> Mp {
    event_packet(nsp, json_to_mp(data, bins))
}

/// `{type: 2, data, nsp}` around the event array `data` (`[event, ...args]`): always type
/// 2 (EVENT), binary or not; the receiving server makes it a BINARY_EVENT when needed.
pub(crate) fn event_packet(nsp: &str, data: Mp) -> Mp {
    mp_map([
        ("type", Mp::from(2)),
        ("data", data),
        ("nsp", Mp::from(nsp)),
    ])
}

/// Broadcast options as a classic broadcast carries them: `{rooms, except, flags}`.
pub(crate) fn classic_opts(rooms: &[String], except: &[String], flags: &Json) -> Mp {
    mp_map([
        ("rooms", mp_strings(rooms.iter().map(String::as_str))),
        ("except", mp_strings(except.iter().map(String::as_str))),
        ("flags", json_to_mp(flags, &[])),
    ])
}
