//! A publisher through Sentinel: numbered messages at a steady rate, one
//! PUBLISH at a time, each attempt recorded with where it went and whether
//! the server acknowledged it. Without a master an attempt fails at once
//! (as a client with no offline queue does), so the schedule never
//! bunches up behind an outage.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::bail;
use bytes::BytesMut;
use tokio_util::sync::CancellationToken;

use super::client::Resolver;
use super::{CHANNEL, END, Progress};
use crate::figures::FailoverParams;
use crate::measure::Clock;
use crate::resp::{Conn, Frame};
use crate::stamp::put_message;

/// A PUBLISH whose reply has not come by then has failed.
const REPLY_TIMEOUT: Duration = Duration::from_secs(1);

/// One PUBLISH attempt.
#[derive(Debug, Clone, Copy)]
pub(super) struct Attempt {
    /// When it was made, on the run's clock (also in the payload).
    pub(super) sent_ns: u64,
    /// The node that acknowledged it; `None` when it failed.
    pub(super) on: Option<SocketAddr>,
    /// The receivers the reply counted.
    pub(super) receivers: u64,
}

/// What one publisher did: attempt `n` carried sequence number `n`.
#[derive(Debug)]
pub(super) struct PubOut {
    pub(super) attempts: Vec<Attempt>,
}

/// Publishes until `stop`, then the end marker within the drain timeout.
pub(super) async fn publisher(
    id: u32,
    mut resolver: Resolver,
    params: Arc<FailoverParams>,
    clock: Arc<Clock>,
    progress: Arc<Progress>,
    stop: CancellationToken,
) -> PubOut {
    let interval_ns = (params.publishers as f64 * 1e9 / params.rate).max(1.0) as u64;
    let retry_ns = crate::measure::nanos(params.retry);
    let mut next_ns = clock.start_ns + interval_ns * u64::from(id) / params.publishers as u64;
    let mut conn: Option<(Conn, SocketAddr)> = None;
    let mut retry_at = 0u64;
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut back = false;
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep_until(clock.instant(next_ns)) => {}
        }
        let now = clock.now_ns();
        // A steady rate: a late tick is not made up for with a burst.
        next_ns = (next_ns + interval_ns).max(now);
        if conn.is_none() && now >= retry_at {
            match resolver.connect_master().await {
                Ok(found) => conn = Some(found),
                Err(e) => {
                    tracing::debug!("publisher {id}: {e:#}");
                    retry_at = clock.now_ns() + retry_ns;
                }
            }
        }
        let seq = attempts.len() as u64;
        let sent_ns = clock.now_ns();
        let mut attempt = Attempt {
            sent_ns,
            on: None,
            receivers: 0,
        };
        if let Some((c, addr)) = &mut conn {
            match publish(c, (id, 0, seq, sent_ns), params.payload).await {
                Ok(n) => {
                    attempt.on = Some(*addr);
                    attempt.receivers = n;
                }
                Err(e) => {
                    tracing::debug!("publisher {id}: {e:#}");
                    conn = None;
                }
            }
        }
        if !back && attempt.on.is_some() && progress.after_kill(sent_ns) {
            back = true;
            progress.publishers_back.fetch_add(1, Ordering::AcqRel);
        }
        attempts.push(attempt);
    }
    let ended = tokio::time::timeout(params.drain_timeout, async {
        loop {
            if conn.is_none() {
                conn = resolver
                    .until_connected(params.retry, &CancellationToken::new())
                    .await;
            }
            if let Some((c, _)) = &mut conn {
                let end = (id, 0, END, clock.now_ns());
                if publish(c, end, params.payload).await.is_ok() {
                    return;
                }
                conn = None;
                tokio::time::sleep(params.retry).await;
            }
        }
    })
    .await
    .is_ok();
    if !ended {
        // The subscribers then wait out the drain timeout.
        tracing::warn!("publisher {id}: no master took the end marker");
    }
    PubOut { attempts }
}

/// One PUBLISH of a numbered message and its reply: the receivers counted.
async fn publish(
    conn: &mut Conn,
    header: (u32, u32, u64, u64),
    payload: usize,
) -> anyhow::Result<u64> {
    let mut body = BytesMut::with_capacity(payload);
    put_message(&mut body, header, payload);
    let reply = tokio::time::timeout(REPLY_TIMEOUT, conn.command(&[b"PUBLISH", CHANNEL, &body]))
        .await
        .map_err(|_| anyhow::anyhow!("no reply to PUBLISH within {REPLY_TIMEOUT:?}"))??;
    match reply {
        Frame::Integer(n) => Ok(u64::try_from(n).unwrap_or(0)),
        other => bail!("PUBLISH answered {other:?}"),
    }
}
