//! Which sockets an operation selects: socketioxide options turned into the
//! `rooms`/`except` Node understands and back into local sockets, with Node's private
//! rooms (a socket sits in a room named by its id) emulated, and aliases for foreign
//! socket ids that do not fit a `Sid`.

use std::{collections::HashSet, sync::PoisonError};

use socketioxide_core::{
    Sid,
    adapter::{BroadcastFlags, BroadcastOptions, Room, SocketEmitter},
};

use super::state::CustomRespubAdapter;
use crate::driver::Driver;

/// The maximum number of foreign-id aliases kept per namespace.
const MAX_ALIASES: usize = 65_536;

/// Where local sockets are found for options that came from the wire.
pub(crate) enum Targets {
    /// socketioxide's own room logic applies.
    Opts(Box<BroadcastOptions>),
    /// Some rooms were socket ids (Node's private rooms, which socketioxide does not
    /// have): the exact socket list.
    Sids(Vec<Sid>),
}

/// Options that select every local socket.
pub(crate) fn everyone() -> BroadcastOptions {
    let mut opts = BroadcastOptions::default();
    opts.add_flag(BroadcastFlags::Broadcast);
    opts
}

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
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
    pub(crate) fn sid_for(&self, id: &str) -> Sid {
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

    pub(crate) fn socket_exists(&self, sid: Sid) -> bool {
        !self
            .local
            .fetch_sockets(BroadcastOptions::new(sid))
            .is_empty()
    }

    pub(crate) fn all_local_sids(&self) -> Vec<Sid> {
        self.local.sockets(everyone())
    }

    /// Resolves wire `rooms`/`except` against local sockets. A room that is the id of a
    /// local socket selects that socket (Node sockets sit in their own room; socketioxide
    /// sockets do not, so this adapter emulates it).
    pub(crate) fn resolve(&self, rooms: &[String], except: &[String], volatile: bool) -> Targets {
        let sid_of = |r: &String| r.parse::<Sid>().ok().filter(|s| self.socket_exists(*s));
        let sid_rooms: Vec<Sid> = rooms.iter().filter_map(sid_of).collect();
        let sid_except: Vec<Sid> = except.iter().filter_map(sid_of).collect();
        if sid_rooms.is_empty() && sid_except.is_empty() {
            let mut opts = everyone();
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
            let mut opts = everyone();
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

    pub(crate) fn target_sids(&self, targets: Targets) -> Vec<Sid> {
        match targets {
            Targets::Opts(opts) => self.local.sockets(*opts),
            Targets::Sids(sids) => sids,
        }
    }
}
