//! Operations on sockets wherever they are: join rooms, leave rooms, disconnect. Each
//! is applied to the local sockets and sent to the other nodes.

use bytes::Bytes;
use serde_json::json;
use socketioxide_core::adapter::{
    BroadcastOptions, RoomParam, SocketEmitter,
    errors::{AdapterError, BroadcastError},
};

use super::state::CustomRespubAdapter;
use crate::{
    Error,
    driver::Driver,
    wire::{classic, sharded},
};

/// A membership operation on remote sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketsOp {
    Join,
    Leave,
    Disconnect,
}

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    /// `CoreAdapter::add_sockets`; in the sharded dynamic modes the new rooms' channels
    /// are subscribed before it returns.
    pub(crate) async fn add_sockets_impl(
        &self,
        opts: BroadcastOptions,
        rooms: impl RoomParam,
    ) -> Result<(), Error> {
        self.change_rooms(opts, SocketsOp::Join, rooms).await?;
        self.sync_rooms_impl().await
    }

    /// `CoreAdapter::del_sockets`.
    pub(crate) async fn del_sockets_impl(
        &self,
        opts: BroadcastOptions,
        rooms: impl RoomParam,
    ) -> Result<(), Error> {
        self.change_rooms(opts, SocketsOp::Leave, rooms).await
    }

    /// A join or leave: sent to the other nodes first, then applied locally.
    async fn change_rooms(
        &self,
        opts: BroadcastOptions,
        kind: SocketsOp,
        rooms: impl RoomParam,
    ) -> Result<(), Error> {
        let rooms: Vec<String> = rooms.into_room_iter().map(|r| r.to_string()).collect();
        let local_only = opts.is_local(self.local.server_id());
        if !local_only {
            self.publish_sockets_op(&opts, kind, &rooms).await?;
        }
        for o in Self::per_target(self.local_targets(opts), false) {
            if kind == SocketsOp::Join {
                self.local.add_sockets(o, rooms.clone());
            } else {
                self.local.del_sockets(o, rooms.clone());
            }
        }
        Ok(())
    }

    /// `CoreAdapter::disconnect_socket`: local failures are reported before a remote one.
    pub(crate) async fn disconnect_socket_impl(
        &self,
        opts: BroadcastOptions,
    ) -> Result<(), BroadcastError> {
        let remote = if opts.is_local(self.local.server_id()) {
            Ok(())
        } else {
            self.publish_sockets_op(&opts, SocketsOp::Disconnect, &[])
                .await
        };
        let mut errors = Vec::new();
        for o in Self::per_target(self.local_targets(opts), false) {
            if let Err(e) = self.local.disconnect_socket(o) {
                errors.extend(e);
            }
        }
        if !errors.is_empty() {
            return Err(BroadcastError::Socket(errors));
        }
        remote.map_err(|e| BroadcastError::Adapter(AdapterError::from(e)))
    }

    /// Sends a join, leave or disconnect to the other nodes.
    async fn publish_sockets_op(
        &self,
        opts: &BroadcastOptions,
        kind: SocketsOp,
        rooms: &[String],
    ) -> Result<(), Error> {
        let Some((target_rooms, except)) = self.wire_targets(opts) else {
            return Ok(());
        };
        let (payload, channel) = if self.is_sharded() {
            let wire_opts = json!({"rooms": target_rooms, "except": except, "flags": {}});
            let (t, data) = match kind {
                SocketsOp::Join => (
                    sharded::SOCKETS_JOIN,
                    json!({"opts": wire_opts, "rooms": rooms}),
                ),
                SocketsOp::Leave => (
                    sharded::SOCKETS_LEAVE,
                    json!({"opts": wire_opts, "rooms": rooms}),
                ),
                SocketsOp::Disconnect => (
                    sharded::DISCONNECT_SOCKETS,
                    json!({"opts": wire_opts, "close": false}),
                ),
            };
            (self.envelope(t, data, &[]), self.ch.base.clone())
        } else {
            let wire_opts = json!({"rooms": target_rooms, "except": except});
            let req = match kind {
                SocketsOp::Join => {
                    json!({"uid": self.uid, "type": classic::REMOTE_JOIN, "opts": wire_opts, "rooms": rooms})
                }
                SocketsOp::Leave => {
                    json!({"uid": self.uid, "type": classic::REMOTE_LEAVE, "opts": wire_opts, "rooms": rooms})
                }
                SocketsOp::Disconnect => {
                    json!({"uid": self.uid, "type": classic::REMOTE_DISCONNECT, "opts": wire_opts, "close": false})
                }
            };
            (Bytes::from(req.to_string()), self.ch.request.clone())
        };
        self.publish(channel, payload).await
    }
}
