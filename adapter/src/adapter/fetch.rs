//! Asking the cluster what it holds: its sockets (`fetchSockets`) and its rooms
//! (`allRooms`), local answers merged with the other nodes'.

use std::collections::HashSet;

use bytes::Bytes;
use serde_json::{Value as Json, json};
use socketioxide_core::{
    Uid,
    adapter::{BroadcastOptions, RemoteSocketData, Room, SocketEmitter},
};

use super::state::CustomRespubAdapter;
use crate::{
    Error,
    cluster::SocketInfo,
    codec,
    driver::Driver,
    wire::{self, classic, sharded},
};

/// The handshake object sent for socketioxide sockets in fetch answers. socketioxide's
/// adapter API gives no access to the socket's request, so the fields hold neutral values.
pub(crate) fn default_handshake() -> Json {
    json!({
        "headers": {},
        "time": "",
        "address": "",
        "xdomain": false,
        "secure": false,
        "issued": 0,
        "url": "",
        "query": {},
        "auth": {}
    })
}

/// The sockets of fetch answers; entries without an id are skipped.
fn socket_infos_of(answers: Vec<Json>) -> Vec<SocketInfo> {
    let mut out = Vec::new();
    for answer in answers {
        let Some(Json::Array(sockets)) = answer.get("sockets") else {
            continue;
        };
        for s in sockets {
            let Some(id) = s.get("id").map(codec::js_string) else {
                continue;
            };
            out.push(SocketInfo {
                id,
                handshake: s.get("handshake").cloned().unwrap_or(Json::Null),
                rooms: codec::rooms_of(s.get("rooms")),
                data: s.get("data").cloned().unwrap_or(Json::Null),
            });
        }
    }
    out
}

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    /// `CoreAdapter::fetch_sockets`: remote sockets come back under `Sid` aliases.
    pub(crate) async fn fetch_sockets_impl(
        &self,
        opts: BroadcastOptions,
    ) -> Result<Vec<RemoteSocketData>, Error> {
        let mut out = Vec::new();
        for o in Self::per_target(self.local_targets(opts.clone()), false) {
            for data in self.local.fetch_sockets(o) {
                if !out.iter().any(|d: &RemoteSocketData| d.id == data.id) {
                    out.push(data);
                }
            }
        }
        if opts.is_local(self.local.server_id()) {
            return Ok(out);
        }
        if let Some((rooms, except)) = self.wire_targets(&opts) {
            let ns = self.local.path().clone();
            for info in self.remote_infos(&rooms, &except).await? {
                out.push(RemoteSocketData {
                    id: self.sid_for(&info.id),
                    server_id: Uid::ZERO,
                    ns: ns.clone(),
                });
            }
        }
        Ok(out)
    }

    /// `CoreAdapter::rooms`: in classic mode every room of the cluster is asked with
    /// `ALL_ROOMS`; otherwise the rooms of the selected sockets come from a fetch.
    pub(crate) async fn rooms_impl(&self, opts: BroadcastOptions) -> Result<Vec<Room>, Error> {
        let mut out: HashSet<String> = self
            .local
            .rooms(opts.clone())
            .into_iter()
            .map(|r| r.to_string())
            .collect();
        if opts.is_local(self.local.server_id()) {
            return Ok(out.into_iter().map(Room::from).collect());
        }
        let everything = opts.rooms.is_empty() && opts.except.is_empty() && opts.sid.is_none();
        if everything && !self.is_sharded() {
            out.extend(self.remote_all_rooms().await?);
        } else if let Some((rooms, except)) = self.wire_targets(&opts) {
            for info in self.remote_infos(&rooms, &except).await? {
                out.extend(info.rooms.into_iter().filter(|r| *r != info.id));
            }
        }
        Ok(out.into_iter().map(Room::from).collect())
    }

    /// Classic `ALL_ROOMS`: the rooms of every other server.
    async fn remote_all_rooms(&self) -> Result<Vec<String>, Error> {
        let expected = self.expected_answers().await?;
        if expected == 0 {
            return Ok(Vec::new());
        }
        let request_id = wire::uid2(6);
        let req = json!({"uid": self.uid, "requestId": request_id, "type": classic::ALL_ROOMS});
        let answers = self
            .request(
                "allRooms",
                request_id,
                Bytes::from(req.to_string()),
                self.ch.request.clone(),
                expected,
                self.cluster.config().request_timeout,
            )
            .await?;
        Ok(answers
            .iter()
            .flat_map(|answer| codec::rooms_of(answer.get("rooms")))
            .collect())
    }

    /// Local sockets as Node's `fetchSockets` describes them.
    pub(crate) fn local_infos(&self, rooms: &[String], except: &[String]) -> Vec<SocketInfo> {
        let sids = self.target_sids(self.resolve(rooms, except, false));
        sids.into_iter()
            .map(|sid| {
                let id = sid.to_string();
                let mut rooms: Vec<String> = self
                    .local
                    .socket_rooms(sid)
                    .into_iter()
                    .map(|r| r.to_string())
                    .collect();
                rooms.sort();
                rooms.insert(0, id.clone());
                SocketInfo {
                    id,
                    handshake: default_handshake(),
                    rooms,
                    data: json!({}),
                }
            })
            .collect()
    }

    /// Fetches the sockets of other servers.
    pub(crate) async fn remote_infos(
        &self,
        rooms: &[String],
        except: &[String],
    ) -> Result<Vec<SocketInfo>, Error> {
        let expected = self.expected_answers().await?;
        if expected == 0 {
            return Ok(Vec::new());
        }
        let request_id = self.new_request_id();
        let (payload, channel) = if self.is_sharded() {
            let data = json!({"opts": {"rooms": rooms, "except": except, "flags": {}}, "requestId": request_id});
            (
                self.envelope(sharded::FETCH_SOCKETS, data, &[]),
                self.ch.base.clone(),
            )
        } else {
            let opts = json!({"rooms": rooms, "except": except});
            let req = json!({"uid": self.uid, "requestId": request_id, "type": classic::REMOTE_FETCH, "opts": opts});
            (Bytes::from(req.to_string()), self.ch.request.clone())
        };
        let timeout = self.cluster.config().request_timeout;
        let answers = self
            .request(
                "fetchSockets",
                request_id,
                payload,
                channel,
                expected,
                timeout,
            )
            .await?;
        Ok(socket_infos_of(answers))
    }

    /// [`crate::Cluster::fetch_sockets`]: every matching socket with its real id.
    pub(crate) async fn fetch_detailed_impl(
        &self,
        rooms: Vec<String>,
        except: Vec<String>,
    ) -> Result<Vec<SocketInfo>, Error> {
        let mut all = self.local_infos(&rooms, &except);
        all.extend(self.remote_infos(&rooms, &except).await?);
        Ok(all)
    }
}
