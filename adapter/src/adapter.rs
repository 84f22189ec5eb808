//! The socketioxide [`CoreAdapter`] implementation: outgoing operations.
//!
//! Incoming messages are handled in [`crate::incoming`].

use std::{
    collections::{HashMap, HashSet, VecDeque},
    pin::Pin,
    sync::{Arc, Mutex, OnceLock, PoisonError, Weak},
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures_util::StreamExt;
use rand::Rng;
use serde_json::{Value as Json, json};
use socketioxide_core::{
    Sid, Uid,
    adapter::{
        BroadcastFlags, BroadcastOptions, CoreAdapter, CoreLocalAdapter, DefinedAdapter,
        RemoteSocketData, Room, RoomParam, SocketEmitter, Spawnable,
        errors::{AdapterError, BroadcastError},
    },
    packet::{Packet, PacketData},
};
use tokio::sync::mpsc;

use crate::{
    Cluster, Error,
    ack::{AckGuard, AckMap, AckStream},
    cluster::SocketInfo,
    codec::{self, json_to_mp, mp_map, mp_strings},
    config::{Mode, SubscriptionMode},
    driver::{Driver, Subscription},
    stats::Stats,
};

/// Classic request and response types (`RequestType` in `@socket.io/redis-adapter`).
pub(crate) mod classic {
    pub(crate) const SOCKETS: u64 = 0;
    pub(crate) const ALL_ROOMS: u64 = 1;
    pub(crate) const REMOTE_JOIN: u64 = 2;
    pub(crate) const REMOTE_LEAVE: u64 = 3;
    pub(crate) const REMOTE_DISCONNECT: u64 = 4;
    pub(crate) const REMOTE_FETCH: u64 = 5;
    pub(crate) const SERVER_SIDE_EMIT: u64 = 6;
    pub(crate) const BROADCAST: u64 = 7;
    pub(crate) const BROADCAST_CLIENT_COUNT: u64 = 8;
    pub(crate) const BROADCAST_ACK: u64 = 9;
}

/// Sharded message types (`MessageType` in `socket.io-adapter`'s cluster adapter).
pub(crate) mod sharded {
    pub(crate) const BROADCAST: u64 = 3;
    pub(crate) const SOCKETS_JOIN: u64 = 4;
    pub(crate) const SOCKETS_LEAVE: u64 = 5;
    pub(crate) const DISCONNECT_SOCKETS: u64 = 6;
    pub(crate) const FETCH_SOCKETS: u64 = 7;
    pub(crate) const FETCH_SOCKETS_RESPONSE: u64 = 8;
    pub(crate) const SERVER_SIDE_EMIT: u64 = 9;
    pub(crate) const BROADCAST_CLIENT_COUNT: u64 = 11;
    pub(crate) const BROADCAST_ACK: u64 = 12;
}

/// A reply routed to a pending request.
#[derive(Debug)]
pub(crate) enum Reply {
    /// One server's answer (classic: the whole response; sharded: its `data`).
    Data(Json),
    /// The broker connection dropped.
    Lost,
}

pub(crate) type RequestMap = Arc<Mutex<HashMap<String, mpsc::Sender<Reply>>>>;

/// Channel names of one namespace.
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    /// `<prefix>#<nsp>#`: classic broadcast base, sharded common channel.
    pub(crate) base: String,
    /// Classic `<prefix>-request#<nsp>#`.
    pub(crate) request: String,
    /// Classic `<prefix>-response#<nsp>#`.
    pub(crate) response: String,
    /// Classic `<prefix>-response#<nsp>#<uid>#`; sharded `<prefix>#<nsp>#<uid>#`.
    pub(crate) own_response: String,
}

/// Where local sockets are found for options that came from the wire.
pub(crate) enum Targets {
    /// socketioxide's own room logic applies.
    Opts(Box<BroadcastOptions>),
    /// Some rooms were socket ids (Node's private rooms, which socketioxide does not
    /// have): the exact socket list.
    Sids(Vec<Sid>),
}

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

impl<E, D: Driver> DefinedAdapter for CustomRespubAdapter<E, D> {}

/// The maximum number of foreign-id aliases kept per namespace.
const MAX_ALIASES: usize = 65_536;

const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `uid2(6)`-style id: 6 URL-safe characters.
pub(crate) fn uid2(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| {
            let i = rng.random_range(0..ID_CHARS.len());
            char::from(ID_CHARS.get(i).copied().unwrap_or(b'x'))
        })
        .collect()
}

/// `randomBytes(8).toString("hex")`: 16 lowercase hex characters.
pub(crate) fn hex_id() -> String {
    let v: u64 = rand::rng().random();
    format!("{v:016x}")
}

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    pub(crate) fn is_sharded(&self) -> bool {
        matches!(self.cluster.config().mode, Mode::Sharded(_))
    }

    fn subscription_mode(&self) -> Option<SubscriptionMode> {
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

    fn subscriptions(&self) -> Vec<Subscription> {
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

    /// Number of servers in the cluster, this one included, as Node counts them.
    pub(crate) async fn count_servers(&self) -> Result<u64, Error> {
        let (channel, sharded) = if self.is_sharded() {
            (self.ch.base.clone(), true)
        } else {
            (self.ch.request.clone(), false)
        };
        self.cluster
            .driver()
            .num_sub(channel, sharded)
            .await
            .map_err(Error::driver)
    }

    pub(crate) fn new_request_id(&self) -> String {
        if self.is_sharded() { hex_id() } else { uid2(6) }
    }

    /// Sharded envelope `{type, data, uid, nsp}`: JSON, or MessagePack when `data` holds
    /// binary (as `ShardedRedisAdapter.encode` does).
    pub(crate) fn envelope(&self, kind: u64, data: Json, bins: &[Bytes]) -> Bytes {
        let msg = json!({"type": kind, "data": data, "uid": self.uid, "nsp": self.nsp});
        if bins.is_empty() {
            Bytes::from(msg.to_string())
        } else {
            codec::encode_msgpack(&json_to_mp(&msg, bins))
        }
    }

    /// Channel of a sharded message (`computeChannel`).
    fn sharded_channel(&self, is_plain_broadcast: bool, rooms: &[String]) -> String {
        let mode = self.subscription_mode().unwrap_or_default();
        match rooms {
            [room] if is_plain_broadcast => {
                let dynamic = (mode == SubscriptionMode::Dynamic && room.chars().count() != 20)
                    || mode == SubscriptionMode::DynamicPrivate;
                if dynamic {
                    format!("{}{room}#", self.ch.base)
                } else {
                    self.ch.base.clone()
                }
            }
            _ => self.ch.base.clone(),
        }
    }

    /// Classic responses go to the common channel, or to the requester's own one.
    pub(crate) fn response_channel_for(&self, requester: &str) -> String {
        if self.is_sharded() {
            format!("{}{requester}#", self.ch.base)
        } else if self.cluster.config().specific_response_channel {
            format!("{}{requester}#", self.ch.response)
        } else {
            self.ch.response.clone()
        }
    }

    /// The string id of a socket: a foreign id behind an alias, or the `Sid` itself.
    fn real_id(&self, sid: Sid) -> String {
        self.aliases
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&sid)
            .cloned()
            .unwrap_or_else(|| sid.to_string())
    }

    /// A `Sid` for any socket id: parsed when it is one, otherwise a remembered alias.
    fn sid_for(&self, id: &str) -> Sid {
        if let Ok(sid) = id.parse::<Sid>() {
            return sid;
        }
        let mut aliases = self.aliases.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((sid, _)) = aliases.iter().find(|(_, v)| v.as_str() == id) {
            return *sid;
        }
        if aliases.len() >= MAX_ALIASES {
            aliases.clear();
        }
        let sid = Sid::new();
        aliases.insert(sid, id.to_owned());
        sid
    }

    /// Translates socketioxide options into the `rooms`/`except` Node understands.
    /// `None` when the options select no socket at all.
    pub(crate) fn wire_targets(
        &self,
        opts: &BroadcastOptions,
    ) -> Option<(Vec<String>, Vec<String>)> {
        let mut rooms: Vec<String> = opts.rooms.iter().map(|r| r.to_string()).collect();
        let mut except: Vec<String> = Vec::new();
        for r in &opts.except {
            if !except.iter().any(|e| e == r.as_ref()) {
                except.push(r.to_string());
            }
        }
        let broadcast = opts.has_flag(BroadcastFlags::Broadcast);
        if let Some(sid) = opts.sid {
            let id = self.real_id(sid);
            if broadcast {
                if !except.contains(&id) {
                    except.push(id);
                }
            } else if rooms.is_empty() {
                rooms.push(id);
            }
        } else if rooms.is_empty() && !broadcast {
            return None;
        }
        Some((rooms, except))
    }

    fn socket_exists(&self, sid: Sid) -> bool {
        !self
            .local
            .fetch_sockets(BroadcastOptions::new(sid))
            .is_empty()
    }

    fn all_local_sids(&self) -> Vec<Sid> {
        let mut opts = BroadcastOptions::default();
        opts.add_flag(BroadcastFlags::Broadcast);
        self.local.sockets(opts)
    }

    /// Resolves wire `rooms`/`except` against local sockets. A room that is the id of a
    /// local socket selects that socket (Node sockets sit in their own room; socketioxide
    /// sockets do not, so this adapter emulates it).
    pub(crate) fn resolve(&self, rooms: &[String], except: &[String], volatile: bool) -> Targets {
        let sid_of = |r: &String| r.parse::<Sid>().ok().filter(|s| self.socket_exists(*s));
        let sid_rooms: Vec<Sid> = rooms.iter().filter_map(sid_of).collect();
        let sid_except: Vec<Sid> = except.iter().filter_map(sid_of).collect();
        if sid_rooms.is_empty() && sid_except.is_empty() {
            let mut opts = BroadcastOptions::default();
            opts.add_flag(BroadcastFlags::Broadcast);
            if volatile {
                opts.add_flag(BroadcastFlags::Volatile);
            }
            opts.rooms = rooms.iter().map(|r| Room::from(r.clone())).collect();
            opts.except = except.iter().map(|r| Room::from(r.clone())).collect();
            return Targets::Opts(Box::new(opts));
        }
        let in_rooms = |list: &[String]| -> Vec<Sid> {
            let plain: Vec<Room> = list
                .iter()
                .filter(|r| sid_of(r).is_none())
                .map(|r| Room::from(r.clone()))
                .collect();
            if plain.is_empty() {
                return Vec::new();
            }
            let mut opts = BroadcastOptions::default();
            opts.add_flag(BroadcastFlags::Broadcast);
            opts.rooms = plain.into_iter().collect();
            self.local.sockets(opts)
        };
        let mut selected: HashSet<Sid> = if rooms.is_empty() {
            self.all_local_sids().into_iter().collect()
        } else {
            in_rooms(rooms).into_iter().chain(sid_rooms).collect()
        };
        for sid in in_rooms(except).into_iter().chain(sid_except) {
            selected.remove(&sid);
        }
        Targets::Sids(selected.into_iter().collect())
    }

    /// Options for a local operation with Node's private rooms emulated: a room or except
    /// entry that is the id of a local socket selects that socket, as `io.to(socketId)`
    /// does in Node on every node, the sender's own included.
    pub(crate) fn local_targets(&self, opts: BroadcastOptions) -> Targets {
        let is_local_sid = |r: &Room| {
            r.parse::<Sid>()
                .ok()
                .is_some_and(|sid| self.socket_exists(sid))
        };
        if !opts
            .rooms
            .iter()
            .chain(opts.except.iter())
            .any(is_local_sid)
        {
            return Targets::Opts(Box::new(opts));
        }
        let rooms: Vec<String> = opts.rooms.iter().map(|r| r.to_string()).collect();
        let except: Vec<String> = opts.except.iter().map(|r| r.to_string()).collect();
        let volatile = opts.has_flag(BroadcastFlags::Volatile);
        let mut sids = self.target_sids(self.resolve(&rooms, &except, volatile));
        if let Some(sender) = opts.sid {
            sids.retain(|sid| *sid != sender);
        }
        Targets::Sids(sids)
    }

    /// One set of options per local operation: the options themselves, or one per socket.
    pub(crate) fn per_target(targets: Targets, volatile: bool) -> Vec<BroadcastOptions> {
        match targets {
            Targets::Opts(o) => vec![*o],
            Targets::Sids(sids) => sids
                .into_iter()
                .map(|sid| {
                    let mut o = BroadcastOptions::new(sid);
                    if volatile {
                        o.add_flag(BroadcastFlags::Volatile);
                    }
                    o
                })
                .collect(),
        }
    }

    /// Broadcasts to local sockets, private rooms emulated.
    pub(crate) fn local_broadcast(
        &self,
        packet: Packet,
        targets: Targets,
        volatile: bool,
    ) -> Result<(), Vec<socketioxide_core::adapter::errors::SocketError>> {
        let mut errors = Vec::new();
        for o in Self::per_target(targets, volatile) {
            if let Err(e) = self.local.broadcast(packet.clone(), o) {
                errors.extend(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Broadcasts with acks to local sockets, private rooms emulated.
    pub(crate) fn local_broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> Pin<
        Box<
            dyn futures_core::Stream<Item = socketioxide_core::adapter::AckStreamItem<E::AckError>>
                + Send,
        >,
    > {
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

    pub(crate) fn target_sids(&self, targets: Targets) -> Vec<Sid> {
        match targets {
            Targets::Opts(opts) => self.local.sockets(*opts),
            Targets::Sids(sids) => sids,
        }
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

    /// Sends a request and waits for `expected` answers, recounting peers meanwhile so a
    /// node that died does not hold the caller until the timeout.
    pub(crate) async fn request(
        &self,
        operation: &'static str,
        request_id: String,
        payload: Bytes,
        channel: String,
        mut expected: usize,
        timeout: Duration,
    ) -> Result<Vec<Json>, Error> {
        let (tx, mut rx) = mpsc::channel(expected.saturating_add(16));
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request_id.clone(), tx);
        let _guard = RequestGuard {
            map: self.requests.clone(),
            id: request_id,
        };
        self.publish(channel, payload).await?;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let period = self.cluster.config().recount_interval;
        let mut recount = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let mut answers = Vec::new();
        while answers.len() < expected {
            tokio::select! {
                reply = rx.recv() => match reply {
                    Some(Reply::Data(json)) => answers.push(json),
                    Some(Reply::Lost) | None => {
                        Stats::incr(&self.stats().requests_cut);
                        return Err(Error::ConnectionLost { operation, answered: answers.len(), expected });
                    }
                },
                () = &mut deadline => {
                    Stats::incr(&self.stats().requests_timed_out);
                    tracing::warn!(operation, answered = answers.len(), expected, nsp = %self.nsp, "request timed out");
                    return Err(Error::Timeout { operation, answered: answers.len(), expected });
                },
                _ = recount.tick() => {
                    if let Ok(n) = self.count_servers().await {
                        let live = usize::try_from(n.saturating_sub(1)).unwrap_or(usize::MAX);
                        if live < expected {
                            tracing::info!(operation, before = expected, now = live, "peer count dropped while waiting");
                            expected = live;
                        }
                    }
                },
            }
        }
        Ok(answers)
    }

    /// Fetches the sockets of other servers.
    pub(crate) async fn remote_infos(
        &self,
        rooms: &[String],
        except: &[String],
    ) -> Result<Vec<SocketInfo>, Error> {
        let servers = self.count_servers().await?;
        let expected = usize::try_from(servers.saturating_sub(1)).unwrap_or(0);
        if expected == 0 {
            return Ok(Vec::new());
        }
        let request_id = self.new_request_id();
        let opts = json!({"rooms": rooms, "except": except});
        let (payload, channel) = if self.is_sharded() {
            let data = json!({"opts": {"rooms": rooms, "except": except, "flags": {}}, "requestId": request_id});
            (
                self.envelope(sharded::FETCH_SOCKETS, data, &[]),
                self.ch.base.clone(),
            )
        } else {
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
        Ok(out)
    }

    pub(crate) async fn fetch_detailed_impl(
        &self,
        rooms: Vec<String>,
        except: Vec<String>,
    ) -> Result<Vec<SocketInfo>, Error> {
        let mut all = self.local_infos(&rooms, &except);
        all.extend(self.remote_infos(&rooms, &except).await?);
        Ok(all)
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

    /// Sharded dynamic modes: makes the room channel subscriptions match the local rooms
    /// and socket ids (socketioxide ids are 16 characters, so Node's `dynamic` mode
    /// publishes to them on their own channel).
    pub(crate) async fn sync_rooms_impl(&self) -> Result<(), Error> {
        match self.subscription_mode() {
            Some(SubscriptionMode::Dynamic | SubscriptionMode::DynamicPrivate) => {}
            _ => return Ok(()),
        }
        let mut all = BroadcastOptions::default();
        all.add_flag(BroadcastFlags::Broadcast);
        let mut wanted: HashSet<String> = self
            .local
            .rooms(all)
            .into_iter()
            .map(|r| r.to_string())
            .collect();
        wanted.extend(self.all_local_sids().into_iter().map(|s| s.to_string()));
        let mut subs = self.room_subs.lock().await;
        let add: Vec<String> = wanted.difference(&subs).cloned().collect();
        let remove: Vec<String> = subs.difference(&wanted).cloned().collect();
        for room in add {
            let channel = format!("{}{room}#", self.ch.base);
            self.cluster
                .driver()
                .subscribe(Subscription::Shard(channel))
                .await
                .map_err(Error::driver)?;
            subs.insert(room);
        }
        for room in remove {
            let channel = format!("{}{room}#", self.ch.base);
            self.cluster
                .driver()
                .unsubscribe(Subscription::Shard(channel))
                .await
                .map_err(Error::driver)?;
            subs.remove(&room);
        }
        Ok(())
    }
}

/// A membership operation on remote sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketsOp {
    Join,
    Leave,
    Disconnect,
}

struct RequestGuard {
    map: RequestMap,
    id: String,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

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

/// Extracts the event array of an EVENT packet.
pub(crate) fn event_data(packet: &Packet) -> Option<Result<(Json, Vec<Bytes>), codec::CodecError>> {
    match &packet.inner {
        PacketData::Event(v, _) | PacketData::BinaryEvent(v, _) => Some(codec::value_to_json(v)),
        _ => None,
    }
}

fn flags_json(opts: &BroadcastOptions, timeout: Option<Duration>) -> Json {
    let mut flags = serde_json::Map::new();
    if opts.has_flag(BroadcastFlags::Volatile) {
        flags.insert("volatile".into(), Json::Bool(true));
    }
    if let Some(t) = timeout {
        flags.insert(
            "timeout".into(),
            Json::from(u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        );
    }
    Json::Object(flags)
}

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
        let nsp = local.path().to_string();
        let config = state.config();
        let sharded = matches!(config.mode, Mode::Sharded(_));
        let uid = if sharded { hex_id() } else { uid2(6) };
        let p = &config.prefix;
        let base = format!("{p}#{nsp}#");
        let response = format!("{p}-response#{nsp}#");
        let own_response = if sharded {
            format!("{base}{uid}#")
        } else {
            format!("{response}{uid}#")
        };
        Self {
            local,
            cluster: state.clone(),
            ch: Channels {
                request: format!("{p}-request#{nsp}#"),
                response,
                own_response,
                base,
            },
            nsp,
            uid,
            requests: RequestMap::default(),
            ack_requests: AckMap::default(),
            aliases: Mutex::new(HashMap::new()),
            room_subs: tokio::sync::Mutex::new(HashSet::new()),
            me: OnceLock::new(),
        }
    }

    fn init(self: Arc<Self>, on_success: impl FnOnce() + Send + 'static) -> InitRes {
        let _ = self.me.set(Arc::downgrade(&self));
        let weak: Weak<dyn crate::cluster::NsNode> = Arc::downgrade(&self) as Weak<Self>;
        self.cluster.register(weak, &self.nsp);
        InitRes(Box::pin(async move {
            for sub in self.subscriptions() {
                self.cluster
                    .driver()
                    .subscribe(sub)
                    .await
                    .map_err(Error::driver)?;
            }
            if matches!(
                self.subscription_mode(),
                Some(SubscriptionMode::Dynamic | SubscriptionMode::DynamicPrivate)
            ) {
                tokio::spawn(reconcile_rooms(
                    Arc::downgrade(&self),
                    self.cluster.config().room_sync_interval,
                ));
            }
            tracing::debug!(nsp = %self.nsp, uid = %self.uid, "adapter ready");
            on_success();
            Ok(())
        }))
    }

    async fn close(&self) -> Result<(), Error> {
        self.cluster.unregister(&self.nsp);
        let mut subs = self.subscriptions();
        let rooms: Vec<String> = self.room_subs.lock().await.drain().collect();
        subs.extend(
            rooms
                .into_iter()
                .map(|r| Subscription::Shard(format!("{}{r}#", self.ch.base))),
        );
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
        let volatile = opts.has_flag(BroadcastFlags::Volatile);
        if opts.is_local(self.local.server_id()) {
            return self
                .local_broadcast(packet, self.local_targets(opts), volatile)
                .map_err(BroadcastError::from);
        }
        let wire = match (self.wire_targets(&opts), event_data(&packet)) {
            (Some((rooms, except)), Some(Ok((data, bins)))) => {
                let flags = flags_json(&opts, None);
                if self.is_sharded() {
                    let channel = self.sharded_channel(true, &rooms);
                    let body = json!({
                        "packet": {"type": 2, "data": data},
                        "opts": {"rooms": rooms, "except": except, "flags": flags},
                    });
                    Some((channel, self.envelope(sharded::BROADCAST, body, &bins)))
                } else {
                    let channel = match rooms.as_slice() {
                        [room] => format!("{}{room}#", self.ch.base),
                        _ => self.ch.base.clone(),
                    };
                    let msg = rmpv::Value::Array(vec![
                        rmpv::Value::from(self.uid.as_str()),
                        mp_map([
                            ("type", rmpv::Value::from(2)),
                            ("data", json_to_mp(&data, &bins)),
                            ("nsp", rmpv::Value::from(self.nsp.as_str())),
                        ]),
                        mp_map([
                            ("rooms", mp_strings(rooms.iter().map(String::as_str))),
                            ("except", mp_strings(except.iter().map(String::as_str))),
                            ("flags", json_to_mp(&flags, &[])),
                        ]),
                    ]);
                    Some((channel, codec::encode_msgpack(&msg)))
                }
            }
            (_, Some(Err(err))) => {
                tracing::warn!(cause = %err, "cannot encode packet for other nodes");
                None
            }
            _ => None,
        };
        let local = self.local_broadcast(packet, self.local_targets(opts), volatile);
        let remote = match wire {
            Some((channel, payload)) => self.publish(channel, payload).await,
            None => Ok(()),
        };
        local.map_err(BroadcastError::from)?;
        remote.map_err(|e| BroadcastError::Adapter(AdapterError::from(e)))
    }

    async fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Option<Duration>,
    ) -> Result<Self::AckStream, Error> {
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
        let flags = flags_json(&opts, Some(timeout));
        let (payload, channel) = if self.is_sharded() {
            let body = json!({
                "packet": {"type": 2, "data": data},
                "requestId": request_id,
                "opts": {"rooms": rooms, "except": except, "flags": flags},
            });
            (
                self.envelope(sharded::BROADCAST, body, &bins),
                self.ch.base.clone(),
            )
        } else {
            let msg = mp_map([
                ("uid", rmpv::Value::from(self.uid.as_str())),
                ("requestId", rmpv::Value::from(request_id.as_str())),
                ("type", rmpv::Value::from(classic::BROADCAST)),
                (
                    "packet",
                    mp_map([
                        ("type", rmpv::Value::from(2)),
                        ("data", json_to_mp(&data, &bins)),
                        ("nsp", rmpv::Value::from(self.nsp.as_str())),
                    ]),
                ),
                (
                    "opts",
                    mp_map([
                        ("rooms", mp_strings(rooms.iter().map(String::as_str))),
                        ("except", mp_strings(except.iter().map(String::as_str))),
                        ("flags", json_to_mp(&flags, &[])),
                    ]),
                ),
            ]);
            (codec::encode_msgpack(&msg), self.ch.request.clone())
        };
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

    async fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: impl RoomParam,
    ) -> Result<(), Error> {
        let rooms: Vec<String> = rooms.into_room_iter().map(|r| r.to_string()).collect();
        let local_only = opts.is_local(self.local.server_id());
        if !local_only {
            self.publish_sockets_op(&opts, SocketsOp::Join, &rooms)
                .await?;
        }
        for o in Self::per_target(self.local_targets(opts), false) {
            self.local.add_sockets(o, rooms.clone());
        }
        self.sync_rooms_impl().await
    }

    async fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: impl RoomParam,
    ) -> Result<(), Error> {
        let rooms: Vec<String> = rooms.into_room_iter().map(|r| r.to_string()).collect();
        let local_only = opts.is_local(self.local.server_id());
        if !local_only {
            self.publish_sockets_op(&opts, SocketsOp::Leave, &rooms)
                .await?;
        }
        for o in Self::per_target(self.local_targets(opts), false) {
            self.local.del_sockets(o, rooms.clone());
        }
        Ok(())
    }

    async fn disconnect_socket(&self, opts: BroadcastOptions) -> Result<(), BroadcastError> {
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

    async fn rooms(&self, opts: BroadcastOptions) -> Result<Vec<Room>, Error> {
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
            let servers = self.count_servers().await?;
            let expected = usize::try_from(servers.saturating_sub(1)).unwrap_or(0);
            if expected > 0 {
                let request_id = uid2(6);
                let req =
                    json!({"uid": self.uid, "requestId": request_id, "type": classic::ALL_ROOMS});
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
                for answer in answers {
                    out.extend(codec::rooms_of(answer.get("rooms")));
                }
            }
        } else if let Some((rooms, except)) = self.wire_targets(&opts) {
            for info in self.remote_infos(&rooms, &except).await? {
                out.extend(info.rooms.into_iter().filter(|r| *r != info.id));
            }
        }
        Ok(out.into_iter().map(Room::from).collect())
    }

    async fn fetch_sockets(&self, opts: BroadcastOptions) -> Result<Vec<RemoteSocketData>, Error> {
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

    fn get_local(&self) -> &CoreLocalAdapter<E> {
        &self.local
    }
}

async fn reconcile_rooms<E: SocketEmitter, D: Driver>(
    adapter: Weak<CustomRespubAdapter<E, D>>,
    period: Duration,
) {
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let Some(adapter) = adapter.upgrade() else {
            return;
        };
        if let Err(err) = adapter.sync_rooms_impl().await {
            tracing::warn!(cause = %err, nsp = %adapter.nsp, "room channel sync failed");
        }
    }
}

/// Converts a remote ack argument into socketioxide's value (the common parser's `[arg]`).
pub(crate) fn ack_value(arg: Json, bins: VecDeque<Bytes>) -> socketioxide_core::Value {
    codec::json_to_value(&Json::Array(vec![arg]), bins)
}

pub(crate) fn collect_streams<A: Send + 'static>(
    streams: Vec<
        Pin<
            Box<
                dyn futures_core::Stream<Item = socketioxide_core::adapter::AckStreamItem<A>>
                    + Send,
            >,
        >,
    >,
) -> Pin<Box<dyn futures_core::Stream<Item = socketioxide_core::adapter::AckStreamItem<A>> + Send>>
{
    Box::pin(futures_util::stream::select_all(streams).fuse())
}
