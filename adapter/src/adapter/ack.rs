//! Broadcasting with acknowledgements: the request to the other nodes and the local
//! sockets' acks, merged into one [`AckStream`]. Remote answers are routed to it by
//! `crate::incoming::ack`.

use std::{pin::Pin, sync::PoisonError, time::Duration};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use serde_json::{Value as Json, json};
use socketioxide_core::{
    adapter::{AckStreamItem, BroadcastFlags, BroadcastOptions, SocketEmitter},
    packet::Packet,
};
use tokio::sync::mpsc;

use super::{broadcast::event_data, state::CustomRespubAdapter};
use crate::{
    Error,
    ack_stream::{AckGuard, AckStream},
    codec::{self, mp_map},
    driver::Driver,
    wire::{self, classic, sharded},
};

/// A boxed stream of acks.
pub(crate) type AckItems<A> = Pin<Box<dyn Stream<Item = AckStreamItem<A>> + Send>>;

/// Merges the ack streams of several local operations.
pub(crate) fn collect_streams<A: Send + 'static>(streams: Vec<AckItems<A>>) -> AckItems<A> {
    Box::pin(futures_util::stream::select_all(streams).fuse())
}

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    /// `CoreAdapter::broadcast_with_ack`: the stream ends when the local sockets and
    /// every other server (as counted now) have answered, or on the timeout.
    pub(crate) async fn broadcast_with_ack_impl(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Option<Duration>,
    ) -> Result<AckStream<E::AckError>, Error> {
        let timeout = timeout.unwrap_or_else(|| self.local.ack_timeout());
        let wire = if opts.is_local(self.local.server_id()) {
            None
        } else {
            self.wire_targets(&opts)
        };
        let Some((rooms, except)) = wire else {
            let local = self.local_broadcast_with_ack(packet, opts, timeout);
            return Ok(AckStream::local_only(local));
        };
        let (data, bins) = match event_data(&packet) {
            Some(res) => res?,
            None => (Json::Array(Vec::new()), Vec::new()),
        };
        let request_id = self.new_request_id();
        let flags = wire::flags_json(opts.has_flag(BroadcastFlags::Volatile), Some(timeout));
        let (payload, channel) =
            self.encode_ack_request(&request_id, &data, &bins, &rooms, &except, &flags);
        let servers = self.count_servers().await?.saturating_sub(1);
        let (tx, rx) = mpsc::channel(1024);
        self.ack_requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request_id.clone(), tx);
        let guard = AckGuard {
            map: self.ack_requests.clone(),
            id: request_id,
        };
        let local = self.local_broadcast_with_ack(packet, opts, timeout);
        self.publish(channel, payload).await?;
        Ok(AckStream::new(Box::pin(local), rx, timeout, servers, guard))
    }

    /// The payload and channel of a broadcast-with-ack request: sharded `BROADCAST`
    /// with a `requestId` on the common channel, classic type 7 on the request channel.
    fn encode_ack_request(
        &self,
        request_id: &str,
        data: &Json,
        bins: &[Bytes],
        rooms: &[String],
        except: &[String],
        flags: &Json,
    ) -> (Bytes, String) {
        if self.is_sharded() {
            let body = json!({
                "packet": {"type": 2, "data": data},
                "requestId": request_id,
                "opts": {"rooms": rooms, "except": except, "flags": flags},
            });
            return (
                self.envelope(sharded::BROADCAST, body, bins),
                self.ch.base.clone(),
            );
        }
        let msg = mp_map([
            ("uid", rmpv::Value::from(self.uid.as_str())),
            ("requestId", rmpv::Value::from(request_id)),
            ("type", rmpv::Value::from(classic::BROADCAST)),
            ("packet", wire::classic_packet(&self.nsp, data, bins)),
            ("opts", wire::classic_opts(rooms, except, flags)),
        ]);
        (codec::encode_msgpack(&msg), self.ch.request.clone())
    }

    /// Broadcasts with acks to local sockets, private rooms emulated.
    pub(crate) fn local_broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> AckItems<E::AckError> {
        let volatile = opts.has_flag(BroadcastFlags::Volatile);
        let streams = Self::per_target(self.local_targets(opts), volatile)
            .into_iter()
            .map(|o| {
                let (s, _) = self
                    .local
                    .broadcast_with_ack(packet.clone(), o, Some(timeout));
                Box::pin(s) as _
            })
            .collect();
        collect_streams(streams)
    }
}
