//! Answers to other nodes' questions about this node: its socket ids (`SOCKETS`), its
//! rooms (`ALL_ROOMS`) and its sockets in detail (`REMOTE_FETCH`, `FETCH_SOCKETS`).

use bytes::Bytes;
use serde_json::{Value as Json, json};
use socketioxide_core::adapter::SocketEmitter;

use crate::{
    adapter::{CustomRespubAdapter, targets::everyone},
    codec,
    driver::Driver,
    wire::sharded,
};

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
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

    fn answer_json(&self, requester: &str, resp: &Json) {
        self.spawn_publish(
            self.response_channel_for(requester),
            Bytes::from(resp.to_string()),
        );
    }

    /// Classic `SOCKETS`: the ids of the local sockets in the request's rooms.
    pub(crate) fn answer_sockets(&self, req: &Json, request_id: Option<&String>, requester: &str) {
        let rooms = codec::rooms_of(req.get("rooms"));
        let ids: Vec<String> = self
            .target_sids(self.resolve(&rooms, &[], false))
            .into_iter()
            .map(|s| s.to_string())
            .collect();
        self.answer_json(requester, &json!({"requestId": request_id, "sockets": ids}));
    }

    /// Classic `ALL_ROOMS`: every local room.
    pub(crate) fn answer_all_rooms(&self, request_id: Option<&String>, requester: &str) {
        let rooms: Vec<String> = self
            .local
            .rooms(everyone())
            .into_iter()
            .map(|r| r.to_string())
            .collect();
        self.answer_json(requester, &json!({"requestId": request_id, "rooms": rooms}));
    }

    /// Classic `REMOTE_FETCH`: the local sockets the request's options select.
    pub(crate) fn answer_fetch(&self, req: &Json, request_id: Option<&String>, requester: &str) {
        let opts = req.get("opts").cloned().unwrap_or(Json::Null);
        let resp = json!({"requestId": request_id, "sockets": self.local_infos_json(&opts)});
        self.answer_json(requester, &resp);
    }

    /// Sharded `FETCH_SOCKETS`, answered with `FETCH_SOCKETS_RESPONSE`.
    pub(crate) fn answer_sharded_fetch(&self, opts: &Json, request_id: &str, requester: &str) {
        let body = json!({"requestId": request_id, "sockets": self.local_infos_json(opts)});
        let msg = self.envelope(sharded::FETCH_SOCKETS_RESPONSE, body, &[]);
        self.spawn_publish(self.response_channel_for(requester), msg);
    }
}
