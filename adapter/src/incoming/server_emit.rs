//! Server-side events from other nodes (Node's `serverSideEmit`). socketioxide has no
//! server-side events, so they are counted and not answered: a Node
//! `serverSideEmitWithAck` times out waiting for this node.

use socketioxide_core::adapter::SocketEmitter;

use crate::{adapter::CustomRespubAdapter, driver::Driver, stats::Stats};

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    pub(crate) fn on_server_side_emit(&self) {
        Stats::incr(&self.stats().unanswered_server_side_emits);
        tracing::debug!(nsp = %self.nsp, "serverSideEmit received: socketioxide has no server-side events; not answered");
    }
}
