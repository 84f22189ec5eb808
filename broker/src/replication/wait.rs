//! WAIT's side of replication: counting the replicas that acknowledged an
//! offset, asking them to acknowledge (`REPLCONF GETACK *` in the stream,
//! as Redis' `sendGetackToReplicas`), and waking the blocked clients when
//! an acknowledgement arrives.

use std::sync::Arc;
use std::time::Instant;

use super::{Replication, encode};
use crate::client::Client;
use crate::config::OutputLimit;
use crate::outbound::Frame;

/// What a client blocked in WAIT waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// The client's last write offset.
    pub offset: i64,
    /// How many replicas must have acknowledged it.
    pub replicas: i64,
    /// When WAIT answers anyway; `None` waits for ever (timeout 0).
    pub deadline: Option<Instant>,
}

impl Replication {
    /// Redis' `replicationCountAcksByOffset`: the replicas whose last
    /// acknowledgement reached `offset`.
    pub fn acked(&self, offset: i64) -> i64 {
        let state = self.state.lock();
        let n = state.replicas.iter().filter(|r| r.ack >= offset).count();
        i64::try_from(n).unwrap_or(i64::MAX)
    }

    /// Asks every replica for an acknowledgement with a `REPLCONF GETACK
    /// *` in the stream (counted in the offset, as in Redis), one per
    /// blocked WAIT; none on a replica (its stream is its master's).
    pub fn request_acks(&self, limit: &OutputLimit, wake: &mut Vec<Arc<Client>>) {
        let mut state = self.state.lock();
        if state.master.is_some() || state.replicas.is_empty() {
            return;
        }
        let getack = encode(&[&b"REPLCONF"[..], b"GETACK", b"*"]);
        state.append(Frame::Shared(&getack), limit, wake);
    }

    /// Resolves when enough replicas acknowledged `wait.offset`, or at the
    /// deadline; the count then.
    pub async fn acks(&self, wait: Wait) -> i64 {
        loop {
            let acked = self.acked.notified();
            tokio::pin!(acked);
            acked.as_mut().enable();
            let n = self.acked(wait.offset);
            if n >= wait.replicas {
                return n;
            }
            match wait.deadline {
                Some(deadline) => tokio::select! {
                    () = &mut acked => {}
                    () = tokio::time::sleep_until(deadline.into()) => return self.acked(wait.offset),
                },
                None => acked.await,
            }
        }
    }
}
