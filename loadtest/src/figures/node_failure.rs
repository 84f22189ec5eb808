//! What the `socketio` `node-failure` scenario measured: how the clients
//! of a node killed with SIGKILL came back, what they and the others lost,
//! and how the node rejoined once restarted.

use serde::Serialize;

use crate::measure::LatencySummary;

/// The figures only `node-failure` has; times are from the kill.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct NodeFailureFigures {
    /// The killed node, from 1.
    pub(crate) killed_node: usize,
    /// Clients on it when it was killed.
    pub(crate) clients_on_killed: usize,
    /// Of those, back (room join answered) by the end of the run.
    pub(crate) reconnected: usize,
    /// Kill to the client seeing its connection fail.
    pub(crate) noticed: LatencySummary,
    /// Kill to the Socket.IO handshake, on another node, of the
    /// connection that held.
    pub(crate) reconnect: LatencySummary,
    /// Kill to the client's room join acknowledged there.
    pub(crate) rejoin: LatencySummary,
    /// Kill to the client's first message on its new connection.
    pub(crate) first_message: LatencySummary,
    /// Deliveries the killed node's clients missed.
    pub(crate) lost_by_killed_clients: u64,
    /// Deliveries other clients missed of messages from emitters on the
    /// surviving nodes: there should be none.
    pub(crate) lost_by_others: u64,
    /// Deliveries other clients missed of messages from emitters on the
    /// killed node (written to it, never broadcast).
    pub(crate) lost_by_others_from_killed_emitters: u64,
    /// Clients of the surviving nodes that lost their connection before
    /// the restart: there should be none.
    pub(crate) others_disconnected: usize,
    /// Restart to the node's `READY` (broker subscriptions confirmed).
    pub(crate) restart_ready_ms: Option<f64>,
    /// `READY` to a fresh client of the restarted node receiving a room
    /// message from an emitter on another node: it is back in the cluster.
    pub(crate) restart_delivery_ms: Option<f64>,
    /// Reconnections after the restart (polling clients a balancer sends
    /// back to the restarted node, which does not know their sessions).
    pub(crate) reconnections_after_restart: usize,
    /// Room joins after reconnecting that got no answer because the new
    /// connection failed first: a balancer sent one of the new session's
    /// requests to a node that does not know it.
    pub(crate) requests_unanswered: u64,
}
