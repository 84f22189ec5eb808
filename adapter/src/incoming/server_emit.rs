//! Server-side events from other servers (Node's `serverSideEmit`, a Rust
//! [`crate::Cluster::server_side_emit`], the emitter's `{"uid":"emitter","type":6}`),
//! given to the handler registered for them, with the ack that answers the sender.

use std::{collections::VecDeque, panic::AssertUnwindSafe};

use bytes::Bytes;
use serde_json::{Value as Json, json};
use socketioxide_core::adapter::SocketEmitter;

use crate::{
    adapter::CustomRespubAdapter,
    codec,
    driver::Driver,
    server_side::{ServerSideAck, ServerSideEvent, run_inline},
    stats::Stats,
    wire::{classic, sharded},
};

/// Replaces socket.io binary placeholders by the JSON of a Node `Buffer`
/// (`{"type":"Buffer","data":[...]}`), the form a classic (JSON) server-side emit of a
/// `Buffer` has, so handlers see one form in both modes.
pub(crate) fn inline_buffers(value: Json, bins: &VecDeque<Bytes>) -> Json {
    match value {
        Json::Array(items) => {
            Json::Array(items.into_iter().map(|v| inline_buffers(v, bins)).collect())
        }
        Json::Object(map) => {
            let bin = (map.len() == 2 && map.get("_placeholder") == Some(&Json::Bool(true)))
                .then(|| map.get("num").and_then(Json::as_u64))
                .flatten()
                .and_then(|n| usize::try_from(n).ok())
                .and_then(|n| bins.get(n));
            match bin {
                Some(b) => json!({"type": "Buffer", "data": b.to_vec()}),
                None => Json::Object(
                    map.into_iter()
                        .map(|(k, v)| (k, inline_buffers(v, bins)))
                        .collect(),
                ),
            }
        }
        other => other,
    }
}

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    /// A server-side event `packet` (`[event, ...args]`) from `requester`; `request_id` is
    /// present when it waits for an answer.
    pub(crate) fn on_server_side_emit(
        &self,
        packet: Option<&Json>,
        bins: &VecDeque<Bytes>,
        request_id: Option<String>,
        requester: &str,
    ) {
        let Some(Json::Array(items)) = packet.map(|p| inline_buffers(p.clone(), bins)) else {
            return self.decode_error("serverSideEmit", &"no event array");
        };
        let mut items = items.into_iter();
        let Some(name) = items.next() else {
            return self.decode_error("serverSideEmit", &"no event name");
        };
        let event = codec::js_string(&name);
        let Some(handler) = self.cluster.inner.handlers.get(&self.nsp, &event) else {
            Stats::incr(&self.stats().server_side_events_unhandled);
            if request_id.is_some() {
                tracing::warn!(nsp = %self.nsp, %event, requester, "serverSideEmitWithAck with no handler here: not answered, the sender waits for its timeout");
            } else {
                tracing::debug!(nsp = %self.nsp, %event, "serverSideEmit with no handler here: dropped");
            }
            return;
        };
        Stats::incr(&self.stats().server_side_events);
        let ack = request_id.map(|id| self.server_side_ack(id, requester));
        let ev = ServerSideEvent {
            event,
            args: items.collect(),
            ack,
        };
        // A panicking handler must not take down the task that receives every message.
        if std::panic::catch_unwind(AssertUnwindSafe(|| run_inline(handler(ev)))).is_err() {
            tracing::error!(nsp = %self.nsp, "server-side event handler panicked");
        }
    }

    /// The ack of one event: classic `{type: 6, requestId, data}` on the response channel
    /// (Node always uses the common one; with [`crate::Config::specific_response_channel`]
    /// this node answers on the requester's own, which Node 8 servers also subscribe);
    /// sharded `SERVER_SIDE_EMIT_RESPONSE` `{requestId, packet}` to the requester's channel.
    fn server_side_ack(&self, request_id: String, requester: &str) -> ServerSideAck {
        let me = self.me.get().cloned();
        let channel = self.response_channel_for(requester);
        let runtime = tokio::runtime::Handle::try_current().ok();
        let sharded = self.is_sharded();
        ServerSideAck::new(move |answer| {
            let (Some(me), Some(runtime)) = (me.and_then(|w| w.upgrade()), runtime) else {
                return;
            };
            let payload = if sharded {
                let data = json!({"requestId": request_id, "packet": answer});
                me.envelope(sharded::SERVER_SIDE_EMIT_RESPONSE, data, &[])
            } else {
                let resp = json!({"type": classic::SERVER_SIDE_EMIT, "requestId": request_id, "data": answer});
                Bytes::from(resp.to_string())
            };
            runtime.spawn(async move {
                let _ = me.publish(channel, payload).await;
            });
        })
    }
}
