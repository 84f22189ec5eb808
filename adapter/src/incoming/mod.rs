//! Messages from other nodes (Node or Rust), for both modes: this module decodes each
//! one and routes it by type to the module of its concept, which mirror
//! [`crate::adapter`]'s:
//!
//! * [`broadcast`]: remote broadcasts to local sockets;
//! * [`ack`]: remote broadcasts with ack, and the acks answering this node's;
//! * [`request`]: answers to this node's requests;
//! * [`fetch`]: answers about this node's sockets and rooms;
//! * [`socket_ops`]: remote join, leave and disconnect;
//! * [`server_emit`]: server-side events, given to the handlers of
//!   [`crate::Cluster::on_server_side`].

mod ack;
mod broadcast;
mod fetch;
mod request;
mod server_emit;
mod socket_ops;

use std::{collections::VecDeque, time::Duration};

use bytes::Bytes;
use serde_json::Value as Json;
use socketioxide_core::adapter::SocketEmitter;

use crate::{
    Error,
    adapter::{CustomRespubAdapter, socket_ops::SocketsOp},
    cluster::{BoxFuture, NsNode, SocketInfo},
    codec::{self, str_of},
    driver::Driver,
    server_side::ServerSideEmitError,
    stats::Stats,
    wire::{classic, sharded},
};

impl<E: SocketEmitter, D: Driver> NsNode for CustomRespubAdapter<E, D> {
    fn accepts(&self, channel: &str) -> bool {
        channel.starts_with(&self.ch.base)
            || (!self.is_sharded()
                && (channel.starts_with(&self.ch.request)
                    || channel.starts_with(&self.ch.response)))
    }

    fn on_message(&self, channel: &str, payload: Bytes) {
        if self.is_sharded() {
            self.on_sharded(channel, &payload);
        } else if channel.starts_with(&self.ch.response) {
            self.on_classic_response(&payload);
        } else if channel.starts_with(&self.ch.request) {
            self.on_classic_request(&payload);
        } else {
            self.on_classic_broadcast(channel, &payload);
        }
    }

    fn on_disconnect(&self) {
        self.fail_pending_requests();
        self.fail_pending_acks();
    }

    fn fetch_detailed(
        &self,
        rooms: Vec<String>,
        except: Vec<String>,
    ) -> BoxFuture<'_, Result<Vec<SocketInfo>, Error>> {
        Box::pin(self.fetch_detailed_impl(rooms, except))
    }

    fn sync_rooms(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(self.sync_rooms_impl())
    }

    fn wire_uid(&self) -> String {
        self.uid.clone()
    }

    fn server_count(&self) -> BoxFuture<'_, Result<u64, Error>> {
        Box::pin(self.count_servers())
    }

    fn server_side_emit(
        &self,
        packet: Vec<Json>,
        ack_timeout: Option<Duration>,
    ) -> BoxFuture<'_, Result<Vec<Json>, ServerSideEmitError>> {
        Box::pin(self.server_side_emit_impl(packet, ack_timeout))
    }
}

/// The operation of a classic remote join, leave or disconnect type.
fn classic_sockets_op(kind: u64) -> SocketsOp {
    match kind {
        classic::REMOTE_JOIN => SocketsOp::Join,
        classic::REMOTE_LEAVE => SocketsOp::Leave,
        _ => SocketsOp::Disconnect,
    }
}

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    fn decode_error(&self, what: &str, err: &dyn std::fmt::Display) {
        Stats::incr(&self.stats().decode_errors);
        tracing::debug!(what, cause = %err, nsp = %self.nsp, "ignoring malformed message");
    }

    // ---- classic ----

    fn on_classic_broadcast(&self, channel: &str, payload: &[u8]) {
        let Some(rest) = channel.strip_prefix(&self.ch.base) else {
            return;
        };
        let room = rest.strip_suffix('#').unwrap_or(rest);
        if !room.is_empty() && !self.has_room(room) {
            return;
        }
        let mp = match codec::decode_msgpack(payload) {
            Ok(mp) => mp,
            Err(err) => return self.decode_error("broadcast", &err),
        };
        let mut bins = VecDeque::new();
        let Json::Array(mut parts) = codec::mp_to_json(mp, &mut bins) else {
            return self.decode_error("broadcast", &"not an array");
        };
        if parts.len() < 3 {
            return self.decode_error("broadcast", &"fewer than 3 elements");
        }
        let opts = parts.swap_remove(2);
        let packet = parts.swap_remove(1);
        if parts.first().and_then(Json::as_str) == Some(self.uid.as_str()) {
            return;
        }
        let nsp = packet.get("nsp").and_then(Json::as_str).unwrap_or("/");
        if nsp != self.nsp {
            return;
        }
        let packet = self.packet_from(&packet, bins);
        self.deliver(packet, &opts);
    }

    fn on_classic_request(&self, payload: &[u8]) {
        let (req, bins) = match codec::decode_sniffed(payload) {
            Ok(v) => v,
            Err(err) => return self.decode_error("request", &err),
        };
        let kind = req.get("type").and_then(Json::as_u64);
        let uid = str_of(req.get("uid"));
        let own = uid.as_deref() == Some(self.uid.as_str());
        let request_id = str_of(req.get("requestId"));
        let id = request_id.as_ref();
        let requester = uid.unwrap_or_default();
        match kind {
            Some(classic::SOCKETS) if !own && !self.is_pending(id) => {
                self.answer_sockets(&req, id, &requester);
            }
            Some(classic::ALL_ROOMS) if !own && !self.is_pending(id) => {
                self.answer_all_rooms(id, &requester);
            }
            Some(classic::REMOTE_FETCH) if !own && !self.is_pending(id) => {
                self.answer_fetch(&req, id, &requester);
            }
            // This node's own request, come back to it: the others answer it.
            Some(classic::SOCKETS | classic::ALL_ROOMS | classic::REMOTE_FETCH) => {}
            // Applied locally when it was sent.
            Some(classic::REMOTE_JOIN | classic::REMOTE_LEAVE | classic::REMOTE_DISCONNECT)
                if own => {}
            Some(
                t @ (classic::REMOTE_JOIN | classic::REMOTE_LEAVE | classic::REMOTE_DISCONNECT),
            ) => {
                let op = classic_sockets_op(t);
                match req.get("opts") {
                    Some(opts) => {
                        self.apply_sockets_op(op, opts, codec::rooms_of(req.get("rooms")))
                    }
                    None => self.apply_legacy_sockets_op(op, &req, id, &requester),
                }
            }
            Some(classic::SERVER_SIDE_EMIT) if !own => {
                self.on_server_side_emit(req.get("data"), &bins, request_id, &requester);
            }
            Some(classic::SERVER_SIDE_EMIT) => {}
            Some(classic::BROADCAST) => {
                let Some(request_id) = request_id else { return };
                if own || self.is_own_ack_request(&request_id) {
                    return;
                }
                let Some(packet_json) = req.get("packet") else {
                    return;
                };
                let packet = self.packet_from(packet_json, bins);
                let opts = req.get("opts").cloned().unwrap_or(Json::Null);
                self.answer_broadcast_with_ack(requester, request_id, packet, &opts);
            }
            _ => tracing::trace!(?kind, "ignoring unknown request type"),
        }
    }

    fn on_classic_response(&self, payload: &[u8]) {
        let (resp, bins) = match codec::decode_sniffed(payload) {
            Ok(v) => v,
            Err(err) => return self.decode_error("response", &err),
        };
        let Some(request_id) = str_of(resp.get("requestId")) else {
            return;
        };
        match resp.get("type").and_then(Json::as_u64) {
            Some(classic::BROADCAST_CLIENT_COUNT) => self.on_ack_count(&request_id, &resp),
            Some(classic::BROADCAST_ACK) => self.on_ack(&request_id, &resp, bins),
            _ => self.route_reply(&request_id, resp),
        }
    }

    // ---- sharded ----

    fn on_sharded(&self, channel: &str, payload: &[u8]) {
        let (msg, bins) = match codec::decode_sniffed(payload) {
            Ok(v) => v,
            Err(err) => return self.decode_error("sharded message", &err),
        };
        if msg.get("uid").and_then(Json::as_str) == Some(self.uid.as_str()) {
            return;
        }
        if msg.get("nsp").and_then(Json::as_str) != Some(self.nsp.as_str()) {
            return;
        }
        let requester = str_of(msg.get("uid")).unwrap_or_default();
        let kind = msg.get("type").and_then(Json::as_u64);
        let data = msg.get("data").cloned().unwrap_or(Json::Null);
        let request_id = str_of(data.get("requestId"));
        let is_response = matches!(
            kind,
            Some(
                sharded::FETCH_SOCKETS_RESPONSE
                    | sharded::BROADCAST_CLIENT_COUNT
                    | sharded::BROADCAST_ACK
                    | sharded::SERVER_SIDE_EMIT_RESPONSE
            )
        );
        if channel == self.ch.own_response || is_response {
            if let Some(request_id) = request_id {
                self.on_sharded_response(kind, &request_id, data, bins);
            }
            return;
        }
        self.on_sharded_request(kind, request_id, &requester, &data, bins);
    }

    fn on_sharded_response(
        &self,
        kind: Option<u64>,
        request_id: &str,
        data: Json,
        bins: VecDeque<Bytes>,
    ) {
        match kind {
            Some(sharded::BROADCAST_CLIENT_COUNT) => self.on_ack_count(request_id, &data),
            Some(sharded::BROADCAST_ACK) => self.on_ack(request_id, &data, bins),
            Some(sharded::FETCH_SOCKETS_RESPONSE) => self.route_reply(request_id, data),
            Some(sharded::SERVER_SIDE_EMIT_RESPONSE) => {
                self.route_reply(request_id, server_emit::inline_buffers(data, &bins));
            }
            _ => {}
        }
    }

    fn on_sharded_request(
        &self,
        kind: Option<u64>,
        request_id: Option<String>,
        requester: &str,
        data: &Json,
        bins: VecDeque<Bytes>,
    ) {
        let opts = data.get("opts").cloned().unwrap_or(Json::Null);
        match kind {
            Some(sharded::BROADCAST) => {
                let Some(packet_json) = data.get("packet") else {
                    return;
                };
                let packet = self.packet_from(packet_json, bins);
                match request_id {
                    Some(id) => {
                        self.answer_broadcast_with_ack(requester.to_owned(), id, packet, &opts);
                    }
                    None => self.deliver(packet, &opts),
                }
            }
            Some(
                t @ (sharded::SOCKETS_JOIN | sharded::SOCKETS_LEAVE | sharded::DISCONNECT_SOCKETS),
            ) => {
                let rooms = codec::rooms_of(data.get("rooms"));
                let op = match t {
                    sharded::SOCKETS_JOIN => SocketsOp::Join,
                    sharded::SOCKETS_LEAVE => SocketsOp::Leave,
                    _ => SocketsOp::Disconnect,
                };
                self.apply_sockets_op(op, &opts, rooms);
            }
            Some(sharded::FETCH_SOCKETS) => {
                if let Some(id) = request_id {
                    self.answer_sharded_fetch(&opts, &id, requester);
                }
            }
            Some(sharded::SERVER_SIDE_EMIT) => {
                self.on_server_side_emit(data.get("packet"), &bins, request_id, requester);
            }
            _ => tracing::trace!(?kind, "ignoring unknown message type"),
        }
    }
}
