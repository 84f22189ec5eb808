//! Who is where in a `socketio` run: which node each client connects to,
//! what it should receive, and which clients emit to which room.

use super::receiver::Expect;
use crate::figures::{SioParams, SioScenario};
use crate::measure::StreamId;

/// One client of the run.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place {
    pub(super) node: usize,
    pub(super) expect: Expect,
}

/// Who sends an emitter's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// The client of this index, through its node.
    Client(usize),
    /// The load tester's broker emitter of this index (`emitter`), on no
    /// node: every delivery crosses from outside.
    Broker(usize),
}

/// One stream of messages: an emitting client's, or a broker emitter's to
/// one room.
#[derive(Debug, Clone, Copy)]
pub(super) struct Emitter {
    /// Who sends it.
    pub(super) origin: Origin,
    /// Its id in message stamps.
    pub(super) id: u32,
    /// The room it emits to; `None`: everyone.
    pub(super) room: Option<u32>,
}

impl Emitter {
    pub(super) fn stream(&self) -> StreamId {
        (self.id, self.room.unwrap_or(0))
    }

    /// The index of the client that sends it, if a client does.
    pub(super) fn client(&self) -> Option<usize> {
        match self.origin {
            Origin::Client(c) => Some(c),
            Origin::Broker(_) => None,
        }
    }

    /// Whether a client expecting `expect` should hear this emitter.
    pub(super) fn heard_by(&self, expect: Expect) -> bool {
        match expect {
            Expect::Room(r) => self.room == Some(r),
            Expect::All => true,
            Expect::Unchecked => false,
        }
    }
}

/// Who is where: clients round-robin over the nodes, as a sticky load
/// balancer spreads them, so every room with at least as many members as
/// there are nodes spans all of them. In `emitter` no client emits: each
/// broker emitter has one stream per room.
#[derive(Debug)]
pub(super) struct Layout {
    pub(super) clients: Vec<Place>,
    pub(super) emitters: Vec<Emitter>,
}

pub(super) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(super) fn layout(p: &SioParams, nodes: usize) -> Layout {
    let nodes = nodes.max(1);
    let mut clients = Vec::new();
    let mut emitters = Vec::new();
    let mut add = |expect: Expect, emits: Option<Option<u32>>| {
        let client = clients.len();
        clients.push(Place {
            node: client % nodes,
            expect,
        });
        if let Some(room) = emits {
            emitters.push(Emitter {
                origin: Origin::Client(client),
                id: to_u32(emitters.len()),
                room,
            });
        }
    };
    let from_clients = p.scenario != SioScenario::Emitter;
    if p.scenario.has_rooms() {
        let m = p.members.max(1);
        for r in 0..p.rooms {
            for j in 0..m {
                // Room r's emitters are members r, r+1, ... (mod M): with M
                // a multiple of the node count, they still rotate over nodes.
                let emits = from_clients && (j + m - r % m) % m < p.emitters;
                let room = to_u32(r);
                add(Expect::Room(room), emits.then_some(Some(room)));
            }
        }
        if p.scenario == SioScenario::JoinStorm {
            for _ in 0..p.churners {
                add(Expect::Unchecked, None);
            }
        }
    } else {
        for k in 0..p.clients {
            add(Expect::All, (k < p.emitters).then_some(None));
        }
    }
    if !from_clients {
        for k in 0..p.emitters {
            for r in 0..p.rooms {
                emitters.push(Emitter {
                    origin: Origin::Broker(k),
                    id: to_u32(emitters.len()),
                    room: Some(to_u32(r)),
                });
            }
        }
    }
    Layout { clients, emitters }
}

/// Room `r`, as the nodes name it.
pub(super) fn room(r: u32) -> String {
    format!("r{r}")
}

/// Room `r`'s name as a JSON string, as the clients send it.
pub(super) fn room_name(r: u32) -> String {
    format!("\"{}\"", room(r))
}

pub(super) fn node_id(node: usize) -> u16 {
    u16::try_from(node).unwrap_or(u16::MAX)
}
