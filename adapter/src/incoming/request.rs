//! Answers to this node's requests, routed to the request that waits for them.

use std::sync::PoisonError;

use serde_json::Value as Json;
use socketioxide_core::adapter::SocketEmitter;

use crate::{
    adapter::{CustomRespubAdapter, state::Reply},
    driver::Driver,
};

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    /// Is `request_id` one of this node's pending requests? Such a request came back to
    /// its sender and is not answered.
    pub(crate) fn is_pending(&self, request_id: Option<&String>) -> bool {
        request_id.is_some_and(|id| {
            self.requests
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains_key(id)
        })
    }

    pub(crate) fn route_reply(&self, request_id: &str, data: Json) {
        let tx = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(request_id)
            .cloned();
        match tx {
            Some(tx) => {
                if tx.try_send(Reply::Data(data)).is_err() {
                    tracing::warn!(
                        request_id,
                        "response queue full or closed: response dropped"
                    );
                }
            }
            None => tracing::trace!(request_id, "ignoring response to unknown request"),
        }
    }

    /// The broker connection dropped: no pending request will be answered.
    pub(crate) fn fail_pending_requests(&self) {
        let requests: Vec<_> = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for tx in requests {
            let _ = tx.try_send(Reply::Lost);
        }
    }
}
