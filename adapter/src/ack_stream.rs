//! The stream of acknowledgements of a cluster-wide `emit_with_ack`.
//!
//! It merges the local sockets' acks with the answers of remote servers. Each remote
//! server first sends how many of its clients were reached (`BROADCAST_CLIENT_COUNT`),
//! then one `BROADCAST_ACK` per client that answered. The stream ends when the local
//! acks are done and every expected server has sent its count and that many acks, or
//! when the timeout elapses, or when the connection to the broker drops.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
};

use futures_core::{FusedStream, Stream};
use socketioxide_core::{Sid, Value, adapter::AckStreamItem};
use tokio::{sync::mpsc, time::Sleep};

/// A remote answer routed to a pending ack request.
#[derive(Debug)]
pub(crate) enum AckReply {
    /// One server reached this many clients.
    Count(u64),
    /// One client answered (the socket id is known only when a respub node answered).
    Ack(Option<Sid>, Value),
    /// The broker connection dropped: nothing more will come.
    Lost,
}

pub(crate) type AckMap = Arc<Mutex<HashMap<String, mpsc::Sender<AckReply>>>>;

/// Removes a pending ack request when the stream is dropped.
#[derive(Debug)]
pub(crate) struct AckGuard {
    pub(crate) map: AckMap,
    pub(crate) id: String,
}

impl Drop for AckGuard {
    fn drop(&mut self) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

type LocalStream<A> = Pin<Box<dyn Stream<Item = AckStreamItem<A>> + Send>>;

/// The [`CoreAdapter::AckStream`](socketioxide_core::adapter::CoreAdapter::AckStream) of
/// this adapter.
pub struct AckStream<A> {
    local: Option<LocalStream<A>>,
    remote: Option<Remote>,
}

struct Remote {
    rx: mpsc::Receiver<AckReply>,
    deadline: Pin<Box<Sleep>>,
    servers_left: u64,
    expected: u64,
    received: u64,
    _guard: AckGuard,
}

impl Remote {
    fn done(&self) -> bool {
        self.servers_left == 0 && self.received >= self.expected
    }
}

impl<A> std::fmt::Debug for AckStream<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckStream")
            .field("local", &self.local.is_some())
            .field("remote", &self.remote.is_some())
            .finish()
    }
}

impl<A: Send + 'static> AckStream<A> {
    pub(crate) fn local_only(local: LocalStream<A>) -> Self {
        Self {
            local: Some(local),
            remote: None,
        }
    }

    pub(crate) fn new(
        local: LocalStream<A>,
        rx: mpsc::Receiver<AckReply>,
        timeout: std::time::Duration,
        servers: u64,
        guard: AckGuard,
    ) -> Self {
        let remote = Remote {
            rx,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            servers_left: servers,
            expected: 0,
            received: 0,
            _guard: guard,
        };
        let remote = (!remote.done()).then_some(remote);
        Self {
            local: Some(local),
            remote,
        }
    }
}

impl<A> Stream for AckStream<A> {
    type Item = AckStreamItem<A>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(local) = this.local.as_mut() {
            match local.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => return Poll::Ready(Some(item)),
                Poll::Ready(None) => this.local = None,
                Poll::Pending => {}
            }
        }
        while let Some(remote) = this.remote.as_mut() {
            if remote.done() {
                this.remote = None;
                break;
            }
            if remote.deadline.as_mut().poll(cx).is_ready() {
                tracing::debug!(
                    servers_left = remote.servers_left,
                    missing = remote.expected.saturating_sub(remote.received),
                    "ack timeout reached"
                );
                this.remote = None;
                break;
            }
            match remote.rx.poll_recv(cx) {
                Poll::Ready(Some(AckReply::Count(n))) => {
                    remote.servers_left = remote.servers_left.saturating_sub(1);
                    remote.expected += n;
                }
                Poll::Ready(Some(AckReply::Ack(sid, value))) => {
                    remote.received += 1;
                    return Poll::Ready(Some((sid.unwrap_or(Sid::ZERO), Ok(value))));
                }
                Poll::Ready(Some(AckReply::Lost)) | Poll::Ready(None) => {
                    tracing::warn!("broker connection lost: remaining remote acks will not arrive");
                    this.remote = None;
                    break;
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        if this.local.is_none() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

impl<A> FusedStream for AckStream<A> {
    fn is_terminated(&self) -> bool {
        self.local.is_none() && self.remote.is_none()
    }
}

use std::future::Future as _;
