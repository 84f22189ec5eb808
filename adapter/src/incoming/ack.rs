//! Broadcasts with acknowledgements, both ways: running another node's request on the
//! local sockets and reporting back, and routing the answers to this node's requests
//! into their [`crate::AckStream`].

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
    ack_stream::AckReply,
    adapter::{
        CustomRespubAdapter,
        ack::{AckItems, collect_streams},
        targets::Targets,
    },
    codec::{self, json_to_mp, mp_map},
    driver::Driver,
    wire::{classic, sharded},
};

/// Converts a remote ack argument into socketioxide's value (the common parser's `[arg]`).
pub(crate) fn ack_value(arg: Json, bins: VecDeque<Bytes>) -> socketioxide_core::Value {
    codec::json_to_value(&Json::Array(vec![arg]), bins)
}

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    /// Runs a remote broadcast-with-ack locally and reports the client count and each ack
    /// back to the requester.
    pub(crate) fn answer_broadcast_with_ack(
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
        let (stream, count) = self.local_acks(packet, &rooms, &except, timeout);
        let Some(me) = self.arc() else {
            return;
        };
        let channel = self.response_channel_for(&requester);
        tokio::spawn(async move { me.report_acks(channel, request_id, count, stream).await });
    }

    /// The local sockets' acks of a remote request, and how many sockets were reached.
    fn local_acks(
        &self,
        packet: Packet,
        rooms: &[String],
        except: &[String],
        timeout: Duration,
    ) -> (AckItems<E::AckError>, u32) {
        match self.resolve(rooms, except, false) {
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
        }
    }

    /// Sends `BROADCAST_CLIENT_COUNT`, then one `BROADCAST_ACK` per ack as it comes;
    /// stops at the first failed publish.
    async fn report_acks(
        &self,
        channel: String,
        request_id: String,
        count: u32,
        mut stream: AckItems<E::AckError>,
    ) {
        let count_msg = if self.is_sharded() {
            self.envelope(
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
        if self.publish(channel.clone(), count_msg).await.is_err() {
            return;
        }
        while let Some((sid, result)) = stream.next().await {
            let Ok(value) = result else { continue };
            let Some(msg) = self.encode_ack(&request_id, sid, &value) else {
                continue;
            };
            if self.publish(channel.clone(), msg).await.is_err() {
                return;
            }
        }
    }

    /// One client's ack as `BROADCAST_ACK`; `None` when its value cannot be encoded.
    fn encode_ack(
        &self,
        request_id: &str,
        sid: Sid,
        value: &socketioxide_core::Value,
    ) -> Option<Bytes> {
        let (arg, bins) = match codec::value_to_json(value) {
            Ok((Json::Array(mut items), bins)) if !items.is_empty() => (items.swap_remove(0), bins),
            Ok((_, bins)) => (Json::Null, bins),
            Err(err) => {
                tracing::debug!(cause = %err, "cannot encode ack");
                return None;
            }
        };
        let msg = if self.is_sharded() {
            self.envelope(
                sharded::BROADCAST_ACK,
                json!({"requestId": request_id, "packet": arg, "sid": sid.to_string()}),
                &bins,
            )
        } else {
            codec::encode_msgpack(&mp_map([
                ("type", rmpv::Value::from(classic::BROADCAST_ACK)),
                ("requestId", rmpv::Value::from(request_id)),
                ("packet", json_to_mp(&arg, &bins)),
                ("sid", rmpv::Value::from(sid.to_string())),
            ]))
        };
        Some(msg)
    }

    /// Is `request_id` one of this node's pending broadcasts with ack?
    pub(crate) fn is_own_ack_request(&self, request_id: &str) -> bool {
        self.ack_requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(request_id)
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

    /// `BROADCAST_CLIENT_COUNT` (the same fields in both modes).
    pub(crate) fn on_ack_count(&self, request_id: &str, answer: &Json) {
        let n = answer
            .get("clientCount")
            .and_then(Json::as_u64)
            .unwrap_or(0);
        self.route_ack(request_id, AckReply::Count(n));
    }

    /// `BROADCAST_ACK` (the same fields in both modes).
    pub(crate) fn on_ack(&self, request_id: &str, answer: &Json, bins: VecDeque<Bytes>) {
        let sid = codec::str_of(answer.get("sid")).and_then(|s| s.parse().ok());
        let arg = answer.get("packet").cloned().unwrap_or(Json::Null);
        self.route_ack(request_id, AckReply::Ack(sid, ack_value(arg, bins)));
    }

    /// The broker connection dropped: no pending ack will arrive.
    pub(crate) fn fail_pending_acks(&self) {
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
}
