//! Broadcasting an event: to the local sockets, and to the other nodes on the channel
//! Node would use (a classic room channel, or the sharded channel of [`super::rooms`]).

use bytes::Bytes;
use serde_json::{Value as Json, json};
use socketioxide_core::{
    adapter::{
        BroadcastFlags, BroadcastOptions, SocketEmitter,
        errors::{AdapterError, BroadcastError, SocketError},
    },
    packet::{Packet, PacketData},
};

use super::{state::CustomRespubAdapter, targets::Targets};
use crate::{
    codec::{self, CodecError},
    driver::Driver,
    wire::{self, sharded},
};

/// Extracts the event array of an EVENT packet.
pub(crate) fn event_data(packet: &Packet) -> Option<Result<(Json, Vec<Bytes>), CodecError>> {
    match &packet.inner {
        PacketData::Event(v, _) | PacketData::BinaryEvent(v, _) => Some(codec::value_to_json(v)),
        _ => None,
    }
}

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    /// `CoreAdapter::broadcast`: local sockets first, then the other nodes; a local
    /// failure is reported before a remote one.
    pub(crate) async fn broadcast_impl(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> Result<(), BroadcastError> {
        let volatile = opts.has_flag(BroadcastFlags::Volatile);
        if opts.is_local(self.local.server_id()) {
            return self
                .local_broadcast(packet, self.local_targets(opts), volatile)
                .map_err(BroadcastError::from);
        }
        let wire = self.encode_broadcast(&packet, &opts);
        let local = self.local_broadcast(packet, self.local_targets(opts), volatile);
        let remote = match wire {
            Some((channel, payload)) => self.publish(channel, payload).await,
            None => Ok(()),
        };
        local.map_err(BroadcastError::from)?;
        remote.map_err(|e| BroadcastError::Adapter(AdapterError::from(e)))
    }

    /// The channel and payload of a broadcast for the other nodes; `None` when it selects
    /// no socket, is not an event, or cannot be encoded.
    fn encode_broadcast(
        &self,
        packet: &Packet,
        opts: &BroadcastOptions,
    ) -> Option<(String, Bytes)> {
        let (data, bins) = match event_data(packet)? {
            Ok(event) => event,
            Err(err) => {
                tracing::warn!(cause = %err, "cannot encode packet for other nodes");
                return None;
            }
        };
        let (rooms, except) = self.wire_targets(opts)?;
        let flags = wire::flags_json(opts.has_flag(BroadcastFlags::Volatile), None);
        if self.is_sharded() {
            let channel = self.sharded_channel(true, &rooms);
            let body = json!({
                "packet": {"type": 2, "data": data},
                "opts": {"rooms": rooms, "except": except, "flags": flags},
            });
            return Some((channel, self.envelope(sharded::BROADCAST, body, &bins)));
        }
        let channel = match rooms.as_slice() {
            [room] => self.ch.room(room),
            _ => self.ch.base.clone(),
        };
        let msg = rmpv::Value::Array(vec![
            rmpv::Value::from(self.uid.as_str()),
            wire::classic_packet(&self.nsp, &data, &bins),
            wire::classic_opts(&rooms, &except, &flags),
        ]);
        Some((channel, codec::encode_msgpack(&msg)))
    }

    /// Broadcasts to local sockets, private rooms emulated.
    pub(crate) fn local_broadcast(
        &self,
        packet: Packet,
        targets: Targets,
        volatile: bool,
    ) -> Result<(), Vec<SocketError>> {
        let mut errors = Vec::new();
        for o in Self::per_target(targets, volatile) {
            if let Err(e) = self.local.broadcast(packet.clone(), o) {
                errors.extend(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
