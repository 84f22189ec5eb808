//! What one namespace's adapter holds, and the primitives every operation shares:
//! publishing, the response channel of a requester, request ids.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, OnceLock, Weak},
};

use bytes::Bytes;
use serde_json::Value as Json;
use socketioxide_core::{
    Sid,
    adapter::{CoreLocalAdapter, SocketEmitter},
};

use tokio::sync::mpsc;

use crate::{
    Cluster, Error,
    ack_stream::AckMap,
    config::{Mode, SubscriptionMode},
    driver::{Driver, Subscription},
    stats::Stats,
    wire::{self, Channels},
};

/// A reply routed to a pending request.
#[derive(Debug)]
pub(crate) enum Reply {
    /// One server's answer (classic: the whole response; sharded: its `data`).
    Data(Json),
    /// The broker connection dropped.
    Lost,
}

/// Pending requests by request id.
pub(crate) type RequestMap = Arc<Mutex<HashMap<String, mpsc::Sender<Reply>>>>;

/// The adapter, generic over socketioxide's emitter and the [`Driver`].
///
/// Use [`crate::RespubAdapter`] for the production driver.
pub struct CustomRespubAdapter<E, D: Driver> {
    pub(crate) local: CoreLocalAdapter<E>,
    pub(crate) cluster: Cluster<D>,
    pub(crate) nsp: String,
    pub(crate) uid: String,
    pub(crate) ch: Channels,
    pub(crate) requests: RequestMap,
    pub(crate) ack_requests: AckMap,
    /// Foreign socket ids (Node's are 20 characters) behind the 16-character `Sid`s
    /// handed to socketioxide.
    pub(crate) aliases: Mutex<HashMap<Sid, String>>,
    /// Sharded dynamic modes: rooms whose channel is subscribed.
    pub(crate) room_subs: tokio::sync::Mutex<HashSet<String>>,
    pub(crate) me: OnceLock<Weak<Self>>,
}

impl<E, D: Driver> std::fmt::Debug for CustomRespubAdapter<E, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomRespubAdapter")
            .field("nsp", &self.nsp)
            .field("uid", &self.uid)
            .finish_non_exhaustive()
    }
}

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    /// A namespace's adapter with a fresh wire uid, in the id form Node uses in the mode.
    pub(crate) fn create(cluster: &Cluster<D>, local: CoreLocalAdapter<E>) -> Self {
        let nsp = local.path().to_string();
        let config = cluster.config();
        let sharded = matches!(config.mode, Mode::Sharded(_));
        let uid = if sharded {
            wire::hex_id()
        } else {
            wire::uid2(6)
        };
        Self {
            local,
            cluster: cluster.clone(),
            ch: Channels::new(&config.prefix, &nsp, &uid, sharded),
            nsp,
            uid,
            requests: RequestMap::default(),
            ack_requests: AckMap::default(),
            aliases: Mutex::new(HashMap::new()),
            room_subs: tokio::sync::Mutex::new(HashSet::new()),
            me: OnceLock::new(),
        }
    }

    pub(crate) fn is_sharded(&self) -> bool {
        matches!(self.cluster.config().mode, Mode::Sharded(_))
    }

    pub(crate) fn subscription_mode(&self) -> Option<SubscriptionMode> {
        match self.cluster.config().mode {
            Mode::Sharded(m) => Some(m),
            Mode::Classic => None,
        }
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.cluster.inner.stats
    }

    pub(crate) fn arc(&self) -> Option<Arc<Self>> {
        self.me.get().and_then(Weak::upgrade)
    }

    /// The channels every adapter of the mode listens on (room channels aside).
    pub(crate) fn subscriptions(&self) -> Vec<Subscription> {
        if self.is_sharded() {
            vec![
                Subscription::Shard(self.ch.base.clone()),
                Subscription::Shard(self.ch.own_response.clone()),
            ]
        } else {
            vec![
                Subscription::Pattern(format!("{}*", self.ch.base)),
                Subscription::Channel(self.ch.request.clone()),
                Subscription::Channel(self.ch.response.clone()),
                Subscription::Channel(self.ch.own_response.clone()),
            ]
        }
    }

    /// Publishes; failures are counted and logged, never dropped silently.
    pub(crate) async fn publish(&self, channel: String, payload: Bytes) -> Result<(), Error> {
        let sharded = self.is_sharded();
        match self
            .cluster
            .driver()
            .publish(channel.clone(), payload, sharded)
            .await
        {
            Ok(_) => {
                Stats::incr(&self.stats().published);
                Ok(())
            }
            Err(err) => {
                Stats::incr(&self.stats().publish_failed);
                tracing::warn!(%channel, cause = %err, nsp = %self.nsp, "publish failed: event not delivered to other nodes");
                Err(Error::driver(err))
            }
        }
    }

    /// Publishes from a synchronous handler; a failure is counted and logged by
    /// [`Self::publish`].
    pub(crate) fn spawn_publish(&self, channel: String, payload: Bytes) {
        if let Some(me) = self.arc() {
            tokio::spawn(async move {
                let _ = me.publish(channel, payload).await;
            });
        }
    }

    pub(crate) fn new_request_id(&self) -> String {
        if self.is_sharded() {
            wire::hex_id()
        } else {
            wire::uid2(6)
        }
    }

    /// A sharded message from this adapter.
    pub(crate) fn envelope(&self, kind: u64, data: Json, bins: &[Bytes]) -> Bytes {
        wire::envelope(&self.uid, &self.nsp, kind, data, bins)
    }

    /// Classic responses go to the common channel, or to the requester's own one.
    pub(crate) fn response_channel_for(&self, requester: &str) -> String {
        if self.is_sharded() {
            self.ch.room(requester)
        } else if self.cluster.config().specific_response_channel {
            format!("{}{requester}#", self.ch.response)
        } else {
            self.ch.response.clone()
        }
    }
}
