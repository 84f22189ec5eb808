//! Remote join, leave and disconnect from other nodes, applied to the local sockets.

use bytes::Bytes;
use serde_json::{Value as Json, json};
use socketioxide_core::{
    Sid,
    adapter::{BroadcastOptions, SocketEmitter},
};

use crate::{
    adapter::{CustomRespubAdapter, socket_ops::SocketsOp},
    codec,
    driver::Driver,
};

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    /// Applies an operation to the local sockets the wire options select; after a join,
    /// the room channels catch up in the background.
    pub(crate) fn apply_sockets_op(&self, kind: SocketsOp, opts: &Json, rooms: Vec<String>) {
        let target_rooms = codec::rooms_of(opts.get("rooms"));
        let except = codec::rooms_of(opts.get("except"));
        let targets = self.resolve(&target_rooms, &except, false);
        for o in Self::per_target(targets, false) {
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

    /// The legacy classic form `{sid, room, requestId}`, for one local socket, answered
    /// with `{requestId}`.
    pub(crate) fn apply_legacy_sockets_op(
        &self,
        kind: SocketsOp,
        req: &Json,
        request_id: Option<&String>,
        requester: &str,
    ) {
        let Some(sid) = codec::str_of(req.get("sid")).and_then(|s| s.parse::<Sid>().ok()) else {
            return;
        };
        if !self.socket_exists(sid) {
            return;
        }
        let room: Vec<String> = req.get("room").map(codec::js_string).into_iter().collect();
        let o = BroadcastOptions::new(sid);
        match kind {
            SocketsOp::Join => self.local.add_sockets(o, room),
            SocketsOp::Leave => self.local.del_sockets(o, room),
            SocketsOp::Disconnect => {
                let _ = self.local.disconnect_socket(o);
            }
        }
        let resp = json!({"requestId": request_id});
        self.spawn_publish(
            self.response_channel_for(requester),
            Bytes::from(resp.to_string()),
        );
    }
}
