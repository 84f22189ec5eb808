//! Requests to the other nodes and waiting for their answers, and the server count
//! that says how many answers to wait for.

use std::{sync::PoisonError, time::Duration};

use bytes::Bytes;
use serde_json::Value as Json;
use socketioxide_core::adapter::SocketEmitter;
use tokio::sync::mpsc;

use super::state::{CustomRespubAdapter, Reply, RequestMap};
use crate::{Error, driver::Driver, stats::Stats};

/// Removes a pending request when its caller stops waiting.
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

impl<E: SocketEmitter, D: Driver> CustomRespubAdapter<E, D> {
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

    /// How many other servers should answer a request sent now.
    pub(crate) async fn expected_answers(&self) -> Result<usize, Error> {
        let servers = self.count_servers().await?;
        Ok(usize::try_from(servers.saturating_sub(1)).unwrap_or(0))
    }

    /// Sends a request and waits for `expected` answers, recounting peers meanwhile so a
    /// node that died does not hold the caller until the timeout.
    pub(crate) async fn request(
        &self,
        operation: &'static str,
        request_id: String,
        payload: Bytes,
        channel: String,
        expected: usize,
        timeout: Duration,
    ) -> Result<Vec<Json>, Error> {
        self.request_keeping_answers(operation, request_id, payload, channel, expected, timeout)
            .await
            .map_err(|(err, _)| err)
    }

    /// As [`Self::request`]; a failure also gives the answers that did arrive.
    pub(crate) async fn request_keeping_answers(
        &self,
        operation: &'static str,
        request_id: String,
        payload: Bytes,
        channel: String,
        mut expected: usize,
        timeout: Duration,
    ) -> Result<Vec<Json>, (Error, Vec<Json>)> {
        let (tx, mut rx) = mpsc::channel(expected.saturating_add(16));
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request_id.clone(), tx);
        let _guard = RequestGuard {
            map: self.requests.clone(),
            id: request_id,
        };
        if let Err(err) = self.publish(channel, payload).await {
            return Err((err, Vec::new()));
        }
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
                        let err = Error::ConnectionLost { operation, answered: answers.len(), expected };
                        return Err((err, answers));
                    }
                },
                () = &mut deadline => {
                    Stats::incr(&self.stats().requests_timed_out);
                    tracing::warn!(operation, answered = answers.len(), expected, nsp = %self.nsp, "request timed out");
                    let err = Error::Timeout { operation, answered: answers.len(), expected };
                    return Err((err, answers));
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
}
