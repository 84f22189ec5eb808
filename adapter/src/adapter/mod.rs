//! The socketioxide [`CoreAdapter`] implementation: what this node sends. Each trait
//! method forwards to the module of its concept:
//!
//! * [`state`]: what an adapter holds; publishing, request ids, response channels;
//! * [`targets`]: which sockets options select, on the wire and locally;
//! * [`broadcast`]: events to every selected socket of the cluster;
//! * [`ack`]: broadcasts whose clients answer;
//! * [`request`]: requests to the other nodes, their answers, the server count;
//! * [`fetch`]: the cluster's sockets and rooms;
//! * [`socket_ops`]: remote join, leave and disconnect;
//! * [`server_emit`]: server-side events to the other servers;
//! * [`rooms`]: the room channels of the sharded modes.
//!
//! What other nodes send is handled in [`crate::incoming`], split the same way.

pub(crate) mod ack;
pub(crate) mod broadcast;
pub(crate) mod fetch;
pub(crate) mod request;
pub(crate) mod rooms;
pub(crate) mod server_emit;
pub(crate) mod socket_ops;
pub(crate) mod state;
pub(crate) mod targets;

use std::{
    pin::Pin,
    sync::{Arc, Weak},
    task::{Context, Poll},
    time::Duration,
};

use socketioxide_core::{
    adapter::{
        BroadcastOptions, CoreAdapter, CoreLocalAdapter, DefinedAdapter, RemoteSocketData, Room,
        RoomParam, SocketEmitter, Spawnable, errors::BroadcastError,
    },
    packet::Packet,
};

pub use self::state::CustomRespubAdapter;
use crate::{Cluster, Error, ack_stream::AckStream, cluster::NsNode, driver::Driver};

impl<E, D: Driver> DefinedAdapter for CustomRespubAdapter<E, D> {}

/// What `io.ns(...)` returns: await it to know the adapter's subscriptions are live.
pub struct InitRes(Pin<Box<dyn std::future::Future<Output = Result<(), Error>> + Send>>);

impl std::fmt::Debug for InitRes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InitRes")
    }
}

impl std::future::Future for InitRes {
    type Output = Result<(), Error>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl Spawnable for InitRes {
    fn spawn(self) {
        tokio::spawn(async move {
            if let Err(err) = self.0.await {
                tracing::error!(cause = %err, "adapter initialisation failed");
            }
        });
    }
}

impl<E: SocketEmitter, D: Driver> CoreAdapter<E> for CustomRespubAdapter<E, D> {
    type Error = Error;
    type State = Cluster<D>;
    type AckStream = AckStream<E::AckError>;
    type InitRes = InitRes;

    fn new(state: &Cluster<D>, local: CoreLocalAdapter<E>) -> Self {
        Self::create(state, local)
    }

    fn init(self: Arc<Self>, on_success: impl FnOnce() + Send + 'static) -> InitRes {
        let _ = self.me.set(Arc::downgrade(&self));
        let weak: Weak<dyn NsNode> = Arc::downgrade(&self) as Weak<Self>;
        self.cluster.register(weak, &self.nsp);
        InitRes(Box::pin(async move {
            for sub in self.subscriptions() {
                self.cluster
                    .driver()
                    .subscribe(sub)
                    .await
                    .map_err(Error::driver)?;
            }
            self.start_room_sync();
            tracing::debug!(nsp = %self.nsp, uid = %self.uid, "adapter ready");
            on_success();
            Ok(())
        }))
    }

    async fn close(&self) -> Result<(), Error> {
        self.cluster.unregister(&self.nsp);
        let mut subs = self.subscriptions();
        subs.extend(self.take_room_subscriptions().await);
        for sub in subs {
            self.cluster
                .driver()
                .unsubscribe(sub)
                .await
                .map_err(Error::driver)?;
        }
        Ok(())
    }

    async fn server_count(&self) -> Result<u16, Error> {
        let n = self.count_servers().await?;
        Ok(u16::try_from(n).unwrap_or(u16::MAX))
    }

    async fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> Result<(), BroadcastError> {
        self.broadcast_impl(packet, opts).await
    }

    async fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Option<Duration>,
    ) -> Result<Self::AckStream, Error> {
        self.broadcast_with_ack_impl(packet, opts, timeout).await
    }

    async fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: impl RoomParam,
    ) -> Result<(), Error> {
        self.add_sockets_impl(opts, rooms).await
    }

    async fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: impl RoomParam,
    ) -> Result<(), Error> {
        self.del_sockets_impl(opts, rooms).await
    }

    async fn disconnect_socket(&self, opts: BroadcastOptions) -> Result<(), BroadcastError> {
        self.disconnect_socket_impl(opts).await
    }

    async fn rooms(&self, opts: BroadcastOptions) -> Result<Vec<Room>, Error> {
        self.rooms_impl(opts).await
    }

    async fn fetch_sockets(&self, opts: BroadcastOptions) -> Result<Vec<RemoteSocketData>, Error> {
        self.fetch_sockets_impl(opts).await
    }

    fn get_local(&self) -> &CoreLocalAdapter<E> {
        &self.local
    }
}
