//! Server-side events to the other servers ([`crate::Cluster::server_side_emit`] and
//! `server_side_emit_with_ack`): classic type 6 on the request channel, sharded
//! `SERVER_SIDE_EMIT` on the common channel, both with a `requestId` when answers are
//! awaited. Answers come back through [`Self::request`].

use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value as Json, json};
use socketioxide_core::adapter::SocketEmitter;

use super::state::CustomRespubAdapter;
use crate::{
    driver::Driver,
    server_side::ServerSideEmitError,
    wire::{classic, sharded},
};

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
    /// Publishes `packet` (`[event, ...args]`). With `ack_timeout`, waits for one answer
    /// per other server and returns them; without, returns no answers.
    pub(crate) async fn server_side_emit_impl(
        &self,
        packet: Vec<Json>,
        ack_timeout: Option<Duration>,
    ) -> Result<Vec<Json>, ServerSideEmitError> {
        let Some(timeout) = ack_timeout else {
            let (payload, channel) = self.encode_server_side(packet, None);
            self.publish(channel, payload).await?;
            return Ok(Vec::new());
        };
        let expected = self.expected_answers().await?;
        if expected == 0 {
            return Ok(Vec::new());
        }
        let request_id = self.new_request_id();
        let (payload, channel) = self.encode_server_side(packet, Some(&request_id));
        let sharded = self.is_sharded();
        // Classic answers are whole responses `{type, requestId, data}`; sharded ones the
        // `data` of the envelope, `{requestId, packet}`.
        let field = if sharded { "packet" } else { "data" };
        let unwrap = |answers: Vec<Json>| -> Vec<Json> {
            answers
                .into_iter()
                .map(|mut a| a.get_mut(field).map(Json::take).unwrap_or(Json::Null))
                .collect()
        };
        self.request_keeping_answers(
            "serverSideEmit",
            request_id,
            payload,
            channel,
            expected,
            timeout,
        )
        .await
        .map(unwrap)
        .map_err(|(error, answers)| ServerSideEmitError {
            error,
            answers: unwrap(answers),
        })
    }

    /// The request and its channel, in the key order Node writes.
    fn encode_server_side(&self, packet: Vec<Json>, request_id: Option<&str>) -> (Bytes, String) {
        if self.is_sharded() {
            let data = match request_id {
                Some(id) => json!({"requestId": id, "packet": packet}),
                None => json!({"packet": packet}),
            };
            let msg = self.envelope(sharded::SERVER_SIDE_EMIT, data, &[]);
            return (msg, self.ch.base.clone());
        }
        let req = match request_id {
            Some(id) => {
                json!({"uid": self.uid, "requestId": id, "type": classic::SERVER_SIDE_EMIT, "data": packet})
            }
            None => json!({"uid": self.uid, "type": classic::SERVER_SIDE_EMIT, "data": packet}),
        };
        (Bytes::from(req.to_string()), self.ch.request.clone())
    }
}
