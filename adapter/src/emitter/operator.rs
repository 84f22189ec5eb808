//! [`BroadcastOperator`]: the rooms, exclusions and flags of one operation, and the messages
//! it publishes.

use bytes::Bytes;
use rmpv::Value as Mp;
use serde::Serialize;
use serde_json::{Value as Json, json};
use socketioxide_core::adapter::RoomParam;

use super::{EmitterError, Target, args};
use crate::{
    codec::{self, mp_map, mp_strings},
    driver::Driver,
    wire::{self, classic},
};

/// The uid every Node emitter writes in its broadcasts and server-side events.
const UID: &str = "emitter";

/// Event names a Socket.IO server keeps for itself; Node's emitter refuses to send them.
const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The targets and flags of an operation, built by chaining from an
/// [`Emitter`](super::Emitter), then consumed by one of the operations. Like Node's
/// `BroadcastOperator`, rooms and exclusions keep the order they were first given in and
/// appear once.
#[derive(Debug)]
pub struct BroadcastOperator<D> {
    target: Target<D>,
    rooms: Vec<String>,
    except: Vec<String>,
    /// `volatile` and `compress`, in the order they were first set (the order of the keys
    /// of Node's `flags` object).
    flags: Vec<(&'static str, bool)>,
}

fn add_rooms(set: &mut Vec<String>, rooms: impl RoomParam) {
    for room in rooms.into_room_iter() {
        if !set.iter().any(|r| *r == *room) {
            set.push(room.into_owned());
        }
    }
}

impl<D: Driver> BroadcastOperator<D> {
    pub(super) fn new(target: Target<D>) -> Self {
        Self {
            target,
            rooms: Vec::new(),
            except: Vec::new(),
            flags: Vec::new(),
        }
    }

    /// Selects the sockets in `rooms` (room names or socket ids), added to those already
    /// selected. No room at all selects every socket of the namespace.
    #[must_use]
    pub fn to(mut self, rooms: impl RoomParam) -> Self {
        add_rooms(&mut self.rooms, rooms);
        self
    }

    /// Node's `in`, the same as [`Self::to`] (`in` is a Rust keyword; socketioxide says
    /// `within` too).
    #[must_use]
    pub fn within(self, rooms: impl RoomParam) -> Self {
        self.to(rooms)
    }

    /// Leaves out the sockets in `rooms`.
    #[must_use]
    pub fn except(mut self, rooms: impl RoomParam) -> Self {
        add_rooms(&mut self.except, rooms);
        self
    }

    /// The event may be dropped for clients that are not ready to receive it.
    #[must_use]
    pub fn volatile(self) -> Self {
        self.flag("volatile", true)
    }

    /// Node's `compress` flag, passed on to the servers (socketioxide ignores it).
    #[must_use]
    pub fn compress(self, compress: bool) -> Self {
        self.flag("compress", compress)
    }

    fn flag(mut self, name: &'static str, on: bool) -> Self {
        match self.flags.iter_mut().find(|(n, _)| *n == name) {
            Some(flag) => flag.1 = on,
            None => self.flags.push((name, on)),
        }
        self
    }

    /// Emits `event` with `args` to the selected sockets of every server of the namespace.
    /// `args` is one argument, a tuple of arguments, or `()` for none; binary is whatever
    /// serde serialises as bytes, such as [`bytes::Bytes`] (see the [module
    /// docs](super#arguments)). Returns how many broker connections received the message.
    ///
    /// # Errors
    /// [`EmitterError::ReservedEvent`] for an event name Socket.IO keeps for itself,
    /// [`EmitterError::Serialize`] for arguments serde cannot serialise,
    /// [`EmitterError::Driver`] when the broker cannot be reached.
    pub async fn emit<T: Serialize + ?Sized>(
        self,
        event: &str,
        args: &T,
    ) -> Result<u64, EmitterError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitterError::ReservedEvent(event.to_owned()));
        }
        let mut data = vec![Mp::from(event)];
        data.extend(args::to_args(args)?);
        let channels = self.target.channels();
        let channel = match self.rooms.as_slice() {
            [room] => channels.room(room),
            _ => channels.base,
        };
        let flags = self.flags.iter().map(|(k, v)| (Mp::from(*k), Mp::from(*v)));
        let opts = mp_map([
            ("rooms", mp_strings(self.rooms.iter().map(String::as_str))),
            ("flags", Mp::Map(flags.collect())),
            ("except", mp_strings(self.except.iter().map(String::as_str))),
        ]);
        let packet = wire::event_packet(&self.target.nsp, Mp::Array(data));
        let msg = Mp::Array(vec![Mp::from(UID), packet, opts]);
        self.target
            .publish(channel, codec::encode_msgpack(&msg))
            .await
    }

    /// Makes the selected sockets join `rooms`, on every server.
    ///
    /// # Errors
    /// [`EmitterError::Driver`] when the broker cannot be reached.
    pub async fn sockets_join(self, rooms: impl RoomParam) -> Result<u64, EmitterError> {
        self.sockets_rooms(classic::REMOTE_JOIN, rooms).await
    }

    /// Makes the selected sockets leave `rooms`, on every server.
    ///
    /// # Errors
    /// [`EmitterError::Driver`] when the broker cannot be reached.
    pub async fn sockets_leave(self, rooms: impl RoomParam) -> Result<u64, EmitterError> {
        self.sockets_rooms(classic::REMOTE_LEAVE, rooms).await
    }

    /// Disconnects the selected sockets; `close` also closes their underlying connection.
    ///
    /// # Errors
    /// [`EmitterError::Driver`] when the broker cannot be reached.
    pub async fn disconnect_sockets(self, close: bool) -> Result<u64, EmitterError> {
        let req =
            json!({"type": classic::REMOTE_DISCONNECT, "opts": self.opts_json(), "close": close});
        self.request(&req).await
    }

    async fn sockets_rooms(self, kind: u64, rooms: impl RoomParam) -> Result<u64, EmitterError> {
        let rooms: Vec<String> = rooms.into_room_iter().map(|r| r.into_owned()).collect();
        let req = json!({"type": kind, "opts": self.opts_json(), "rooms": rooms});
        self.request(&req).await
    }

    /// `{rooms, except}`, as the socket requests carry them (no flags).
    fn opts_json(&self) -> Json {
        json!({"rooms": self.rooms, "except": self.except})
    }

    async fn request(self, req: &Json) -> Result<u64, EmitterError> {
        let channel = self.target.channels().request;
        self.target
            .publish(channel, Bytes::from(req.to_string()))
            .await
    }
}

impl<D: Driver> Target<D> {
    /// Sends `[event, ...args]` to the servers' server-side handlers (JSON, so binary
    /// arrives as a Buffer's JSON form, as from Node's emitter). Node's emitter does not
    /// check the event name here, and neither does this.
    pub(super) async fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<u64, EmitterError> {
        let mut data = vec![Json::from(event)];
        data.extend(args::to_args(args)?.iter().map(args::to_node_json));
        let req = json!({"uid": UID, "type": classic::SERVER_SIDE_EMIT, "data": data});
        self.publish(self.channels().request, Bytes::from(req.to_string()))
            .await
    }

    async fn publish(&self, channel: String, payload: Bytes) -> Result<u64, EmitterError> {
        self.driver
            .publish(channel, payload, false)
            .await
            .map_err(|e| EmitterError::Driver(Box::new(e)))
    }

    fn channels(&self) -> wire::Channels {
        wire::Channels::new(&self.prefix, &self.nsp, UID, false)
    }
}
