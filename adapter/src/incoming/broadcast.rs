//! Broadcasts from other nodes, delivered to the local sockets they select.

use std::collections::VecDeque;

use bytes::Bytes;
use serde_json::Value as Json;
use socketioxide_core::{
    Sid,
    adapter::{BroadcastOptions, SocketEmitter},
    packet::Packet,
};

use crate::{adapter::CustomRespubAdapter, codec, driver::Driver};

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    /// Does a room exist here? Checked on the channel name, before decoding, as Node does.
    pub(crate) fn has_room(&self, room: &str) -> bool {
        if let Ok(sid) = room.parse::<Sid>()
            && self.socket_exists(sid)
        {
            return true;
        }
        let mut opts = BroadcastOptions::default();
        opts.rooms.push(room.to_owned().into());
        !self.local.sockets(opts).is_empty()
    }

    /// The event packet of a wire `{data}` object, in this namespace.
    pub(crate) fn packet_from(&self, packet: &Json, bins: VecDeque<Bytes>) -> Packet {
        let data = packet
            .get("data")
            .cloned()
            .unwrap_or(Json::Array(Vec::new()));
        Packet::event(self.nsp.clone(), codec::json_to_value(&data, bins))
    }

    /// Delivers a remote broadcast to the local sockets its wire options select.
    pub(crate) fn deliver(&self, packet: Packet, opts: &Json) {
        let rooms = codec::rooms_of(opts.get("rooms"));
        let except = codec::rooms_of(opts.get("except"));
        let volatile = codec::is_true(opts.get("flags").and_then(|f| f.get("volatile")));
        let result =
            self.local_broadcast(packet, self.resolve(&rooms, &except, volatile), volatile);
        if let Err(errors) = result {
            tracing::debug!(
                ?errors,
                "some local sockets could not receive a remote broadcast"
            );
        }
    }
}
