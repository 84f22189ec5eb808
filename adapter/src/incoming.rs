//! Handling of messages from other nodes (Node or Rust), for both modes.

use std::{collections::VecDeque, sync::PoisonError, time::Duration};

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Value as Json, json};
use socketioxide_core::{
    Sid,
    adapter::{BroadcastOptions, SocketEmitter},
    packet::Packet,
};

use crate::{
    Error,
    ack::AckReply,
    adapter::{
        CustomRespubAdapter, Reply, SocketsOp, Targets, ack_value, classic, collect_streams,
        sharded,
    },
    cluster::{BoxFuture, NsNode, SocketInfo},
    codec::{self, json_to_mp, mp_map},
    driver::Driver,
    stats::Stats,
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
        let requests: Vec<_> = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for tx in requests {
            let _ = tx.try_send(Reply::Lost);
        }
        let acks: Vec<_> = self
            .ack_requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for tx in acks {
            let _ = tx.try_send(AckReply::Lost);
        }
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
}

fn is_true(v: Option<&Json>) -> bool {
    v.and_then(Json::as_bool).unwrap_or(false)
}

fn str_of(v: Option<&Json>) -> Option<String> {
    v.and_then(Json::as_str).map(str::to_owned)
}

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    fn decode_error(&self, what: &str, err: &dyn std::fmt::Display) {
        Stats::incr(&self.stats().decode_errors);
        tracing::debug!(what, cause = %err, nsp = %self.nsp, "ignoring malformed message");
    }

    /// Does a room exist here? Checked on the channel name, before decoding, as Node does.
    fn has_room(&self, room: &str) -> bool {
        if let Ok(sid) = room.parse::<Sid>()
            && !self
                .local
                .fetch_sockets(BroadcastOptions::new(sid))
                .is_empty()
        {
            return true;
        }
        let mut opts = BroadcastOptions::default();
        opts.rooms.push(room.to_owned().into());
        !self.local.sockets(opts).is_empty()
    }

    fn packet_from(&self, packet: &Json, bins: VecDeque<Bytes>) -> Packet {
        let data = packet
            .get("data")
            .cloned()
            .unwrap_or(Json::Array(Vec::new()));
        Packet::event(self.nsp.clone(), codec::json_to_value(&data, bins))
    }

    fn deliver(&self, packet: Packet, opts: &Json) {
        let rooms = codec::rooms_of(opts.get("rooms"));
        let except = codec::rooms_of(opts.get("except"));
        let volatile = is_true(opts.get("flags").and_then(|f| f.get("volatile")));
        let result =
            self.local_broadcast(packet, self.resolve(&rooms, &except, volatile), volatile);
        if let Err(errors) = result {
            tracing::debug!(
                ?errors,
                "some local sockets could not receive a remote broadcast"
            );
        }
    }

    fn apply_sockets_op(&self, kind: SocketsOp, opts: &Json, rooms: Vec<String>) {
        let target_rooms = codec::rooms_of(opts.get("rooms"));
        let except = codec::rooms_of(opts.get("except"));
        let targets = self.resolve(&target_rooms, &except, false);
        let per_sid: Vec<BroadcastOptions> = match targets {
            Targets::Opts(o) => vec![*o],
            Targets::Sids(sids) => sids.into_iter().map(BroadcastOptions::new).collect(),
        };
        for o in per_sid {
            match kind {
                SocketsOp::Join => {
                    self.local.add_sockets(o, rooms.clone());
                }
                SocketsOp::Leave => {
                    self.local.del_sockets(o, rooms.clone());
                }
                SocketsOp::Disconnect => {
                    if let Err(errors) = self.local.disconnect_socket(o) {
                        tracing::debug!(?errors, "remote disconnect: some sockets failed");
                    }
                }
            }
        }
        if kind == SocketsOp::Join
            && let Some(me) = self.arc()
        {
            tokio::spawn(async move {
                if let Err(err) = me.sync_rooms_impl().await {
                    tracing::warn!(cause = %err, "room channel sync failed");
                }
            });
        }
    }

    fn spawn_publish(&self, channel: String, payload: Bytes) {
        if let Some(me) = self.arc() {
            tokio::spawn(async move {
                let _ = me.publish(channel, payload).await;
            });
        }
    }

    /// Runs a remote broadcast-with-ack locally and reports the client count and each ack
    /// back to the requester.
    fn answer_broadcast_with_ack(
        &self,
        requester: String,
        request_id: String,
        packet: Packet,
        opts: &Json,
    ) {
        let rooms = codec::rooms_of(opts.get("rooms"));
        let except = codec::rooms_of(opts.get("except"));
        let timeout = opts
            .get("flags")
            .and_then(|f| f.get("timeout"))
            .and_then(Json::as_u64)
            .map_or_else(|| self.local.ack_timeout(), Duration::from_millis);
        let (stream, count) = match self.resolve(&rooms, &except, false) {
            Targets::Opts(o) => {
                let (s, n) = self.local.broadcast_with_ack(packet, *o, Some(timeout));
                (collect_streams(vec![Box::pin(s)]), n)
            }
            Targets::Sids(sids) => {
                let mut streams = Vec::new();
                let mut total = 0;
                for sid in sids {
                    let (s, n) = self.local.broadcast_with_ack(
                        packet.clone(),
                        BroadcastOptions::new(sid),
                        Some(timeout),
                    );
                    streams.push(Box::pin(s) as _);
                    total += n;
                }
                (collect_streams(streams), total)
            }
        };
        let Some(me) = self.arc() else {
            return;
        };
        let channel = self.response_channel_for(&requester);
        tokio::spawn(async move {
            let count_msg = if me.is_sharded() {
                me.envelope(
                    sharded::BROADCAST_CLIENT_COUNT,
                    json!({"requestId": request_id, "clientCount": count}),
                    &[],
                )
            } else {
                Bytes::from(
                    json!({"type": classic::BROADCAST_CLIENT_COUNT, "requestId": request_id, "clientCount": count})
                        .to_string(),
                )
            };
            if me.publish(channel.clone(), count_msg).await.is_err() {
                return;
            }
            let mut stream = stream;
            while let Some((sid, result)) = stream.next().await {
                let Ok(value) = result else { continue };
                let (arg, bins) = match codec::value_to_json(&value) {
                    Ok((Json::Array(mut items), bins)) if !items.is_empty() => {
                        (items.swap_remove(0), bins)
                    }
                    Ok((_, bins)) => (Json::Null, bins),
                    Err(err) => {
                        tracing::debug!(cause = %err, "cannot encode ack");
                        continue;
                    }
                };
                let msg = if me.is_sharded() {
                    me.envelope(
                        sharded::BROADCAST_ACK,
                        json!({"requestId": request_id, "packet": arg, "sid": sid.to_string()}),
                        &bins,
                    )
                } else {
                    codec::encode_msgpack(&mp_map([
                        ("type", rmpv::Value::from(classic::BROADCAST_ACK)),
                        ("requestId", rmpv::Value::from(request_id.as_str())),
                        ("packet", json_to_mp(&arg, &bins)),
                        ("sid", rmpv::Value::from(sid.to_string())),
                    ]))
                };
                if me.publish(channel.clone(), msg).await.is_err() {
                    return;
                }
            }
        });
    }

    fn local_infos_json(&self, opts: &Json) -> Json {
        let rooms = codec::rooms_of(opts.get("rooms"));
        let except = codec::rooms_of(opts.get("except"));
        let sockets: Vec<Json> = self
            .local_infos(&rooms, &except)
            .into_iter()
            .map(
                |s| json!({"id": s.id, "handshake": s.handshake, "rooms": s.rooms, "data": s.data}),
            )
            .collect();
        Json::Array(sockets)
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
        let pending = |id: &Option<String>| {
            id.as_ref().is_some_and(|id| {
                self.requests
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .contains_key(id)
            })
        };
        let requester = uid.unwrap_or_default();
        match kind {
            Some(classic::SOCKETS) => {
                if own || pending(&request_id) {
                    return;
                }
                let rooms = codec::rooms_of(req.get("rooms"));
                let ids: Vec<String> = self
                    .target_sids(self.resolve(&rooms, &[], false))
                    .into_iter()
                    .map(|s| s.to_string())
                    .collect();
                let resp = json!({"requestId": request_id, "sockets": ids});
                self.spawn_publish(
                    self.response_channel_for(&requester),
                    Bytes::from(resp.to_string()),
                );
            }
            Some(classic::ALL_ROOMS) => {
                if own || pending(&request_id) {
                    return;
                }
                let mut all = BroadcastOptions::default();
                all.add_flag(socketioxide_core::adapter::BroadcastFlags::Broadcast);
                let rooms: Vec<String> = self
                    .local
                    .rooms(all)
                    .into_iter()
                    .map(|r| r.to_string())
                    .collect();
                let resp = json!({"requestId": request_id, "rooms": rooms});
                self.spawn_publish(
                    self.response_channel_for(&requester),
                    Bytes::from(resp.to_string()),
                );
            }
            Some(
                t @ (classic::REMOTE_JOIN | classic::REMOTE_LEAVE | classic::REMOTE_DISCONNECT),
            ) => {
                if own {
                    // Applied locally when it was sent.
                    return;
                }
                if let Some(opts) = req.get("opts") {
                    let rooms = codec::rooms_of(req.get("rooms"));
                    let op = match t {
                        classic::REMOTE_JOIN => SocketsOp::Join,
                        classic::REMOTE_LEAVE => SocketsOp::Leave,
                        _ => SocketsOp::Disconnect,
                    };
                    self.apply_sockets_op(op, opts, rooms);
                    return;
                }
                // Legacy form {sid, room, requestId}: answered with {requestId}.
                let Some(sid) = str_of(req.get("sid")).and_then(|s| s.parse::<Sid>().ok()) else {
                    return;
                };
                if self
                    .local
                    .fetch_sockets(BroadcastOptions::new(sid))
                    .is_empty()
                {
                    return;
                }
                let room: Vec<String> = req.get("room").map(codec::js_string).into_iter().collect();
                let o = BroadcastOptions::new(sid);
                match t {
                    classic::REMOTE_JOIN => self.local.add_sockets(o, room),
                    classic::REMOTE_LEAVE => self.local.del_sockets(o, room),
                    _ => {
                        let _ = self.local.disconnect_socket(o);
                    }
                }
                let resp = json!({"requestId": request_id});
                self.spawn_publish(
                    self.response_channel_for(&requester),
                    Bytes::from(resp.to_string()),
                );
            }
            Some(classic::REMOTE_FETCH) => {
                if own || pending(&request_id) {
                    return;
                }
                let opts = req.get("opts").cloned().unwrap_or(Json::Null);
                let resp =
                    json!({"requestId": request_id, "sockets": self.local_infos_json(&opts)});
                self.spawn_publish(
                    self.response_channel_for(&requester),
                    Bytes::from(resp.to_string()),
                );
            }
            Some(classic::SERVER_SIDE_EMIT) => {
                if own {
                    return;
                }
                Stats::incr(&self.stats().unanswered_server_side_emits);
                tracing::debug!(nsp = %self.nsp, "serverSideEmit received: socketioxide has no server-side events; not answered");
            }
            Some(classic::BROADCAST) => {
                let Some(request_id) = request_id else { return };
                let ours = self
                    .ack_requests
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .contains_key(&request_id);
                if own || ours {
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
            Some(classic::BROADCAST_CLIENT_COUNT) => {
                let n = resp.get("clientCount").and_then(Json::as_u64).unwrap_or(0);
                self.route_ack(&request_id, AckReply::Count(n));
            }
            Some(classic::BROADCAST_ACK) => {
                let sid = str_of(resp.get("sid")).and_then(|s| s.parse().ok());
                let arg = resp.get("packet").cloned().unwrap_or(Json::Null);
                self.route_ack(&request_id, AckReply::Ack(sid, ack_value(arg, bins)));
            }
            _ => self.route_reply(&request_id, resp),
        }
    }

    fn route_ack(&self, request_id: &str, reply: AckReply) {
        let tx = self
            .ack_requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(request_id)
            .cloned();
        if let Some(tx) = tx
            && tx.try_send(reply).is_err()
        {
            tracing::warn!(request_id, "ack queue full or closed: remote ack dropped");
        }
    }

    fn route_reply(&self, request_id: &str, data: Json) {
        let tx = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(request_id)
            .cloned();
        match tx {
            Some(tx) => {
                if tx.try_send(Reply::Data(data)).is_err() {
                    tracing::warn!(
                        request_id,
                        "response queue full or closed: response dropped"
                    );
                }
            }
            None => tracing::trace!(request_id, "ignoring response to unknown request"),
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
                    | 10
            )
        );
        if channel == self.ch.own_response || is_response {
            let Some(request_id) = request_id else { return };
            match kind {
                Some(sharded::BROADCAST_CLIENT_COUNT) => {
                    let n = data.get("clientCount").and_then(Json::as_u64).unwrap_or(0);
                    self.route_ack(&request_id, AckReply::Count(n));
                }
                Some(sharded::BROADCAST_ACK) => {
                    let sid = str_of(data.get("sid")).and_then(|s| s.parse().ok());
                    let arg = data.get("packet").cloned().unwrap_or(Json::Null);
                    self.route_ack(&request_id, AckReply::Ack(sid, ack_value(arg, bins)));
                }
                Some(sharded::FETCH_SOCKETS_RESPONSE) => self.route_reply(&request_id, data),
                _ => {}
            }
            return;
        }
        let opts = data.get("opts").cloned().unwrap_or(Json::Null);
        match kind {
            Some(sharded::BROADCAST) => {
                let Some(packet_json) = data.get("packet") else {
                    return;
                };
                let packet = self.packet_from(packet_json, bins);
                match request_id {
                    Some(id) => self.answer_broadcast_with_ack(requester, id, packet, &opts),
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
                let Some(id) = request_id else { return };
                let body = json!({"requestId": id, "sockets": self.local_infos_json(&opts)});
                let msg = self.envelope(sharded::FETCH_SOCKETS_RESPONSE, body, &[]);
                self.spawn_publish(self.response_channel_for(&requester), msg);
            }
            Some(sharded::SERVER_SIDE_EMIT) => {
                Stats::incr(&self.stats().unanswered_server_side_emits);
                tracing::debug!(nsp = %self.nsp, "serverSideEmit received: socketioxide has no server-side events; not answered");
            }
            _ => tracing::trace!(?kind, "ignoring unknown message type"),
        }
    }
}
