//! Every client of a `node-failure` run runs under a supervisor that
//! reconnects it when its connection fails and notes each outage.

use std::net::SocketAddr;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::measure::Clock;
use crate::socketio::client::{self, Dial, Finished, Handle, Handler, Transport};
use crate::socketio::layout::room_name;
use crate::socketio::receiver::{ClientTask, Expect, Receiver};

/// Pause between two connection attempts of one client.
const RETRY: std::time::Duration = std::time::Duration::from_millis(20);

/// One lost connection of one client, in ns on the run's clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Outage {
    /// The client saw its connection fail.
    pub(super) down_ns: u64,
    /// Its Socket.IO handshake on a new connection completed.
    pub(super) connected_ns: Option<u64>,
    /// Its room join was acknowledged.
    pub(super) joined_ns: Option<u64>,
    /// The first message on the new connection.
    pub(super) first_ns: Option<u64>,
}

/// A client's [`Receiver`] on a new connection, noting its first message.
pub(super) struct Watched {
    inner: Receiver,
    first_ns: Option<u64>,
}

impl Handler for Watched {
    fn on_event(&mut self, json: &str) -> anyhow::Result<()> {
        if self.first_ns.is_none() {
            self.first_ns = self.inner.shared.clock.get().map(Clock::now_ns);
        }
        self.inner.on_event(json)
    }

    fn on_node(&mut self, node: SocketAddr) {
        self.inner.on_node(node);
    }
}

/// Where a client whose connection failed connects next.
#[derive(Debug, Clone)]
pub(super) struct Reroute {
    pub(super) proxy: Option<SocketAddr>,
    pub(super) nodes: Vec<SocketAddr>,
    pub(super) transport: Transport,
}

impl Reroute {
    /// Through the proxy from the same source (the proxy finds a live
    /// node), or directly to a node other than `from`, spread by `index`.
    pub(super) fn dial(&self, index: usize, from: u16, attempt: usize) -> Dial {
        let source = self
            .proxy
            .map(|_| crate::socketio::proxy::source_address(index));
        let others: Vec<SocketAddr> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != usize::from(from))
            .map(|(_, &a)| a)
            .collect();
        let fallback = SocketAddr::from(([127, 0, 0, 1], 0));
        let addr = match (self.proxy, others.is_empty()) {
            (Some(p), _) => p,
            // One node: wait for it to come back.
            (None, true) => self
                .nodes
                .get(usize::from(from))
                .copied()
                .unwrap_or(fallback),
            (None, false) => others
                .get((index + attempt) % others.len())
                .copied()
                .unwrap_or(fallback),
        };
        Dial {
            addr,
            source,
            transport: self.transport,
        }
    }
}

/// What a supervised client ends with.
pub(super) type Supervised = (Finished<Receiver>, Vec<Outage>);

/// A new connection, still up or already over (it failed before its
/// room join was answered).
enum Connection {
    Running(tokio::task::JoinHandle<Finished<Watched>>),
    Ended(Result<Finished<Watched>, tokio::task::JoinError>),
}

/// Reconnects `finished`'s client until a connection holds or `stop`;
/// returns the new connection's task and its outage so far.
async fn reconnect(
    finished: Finished<Receiver>,
    handle: &Handle,
    route: &Reroute,
    stop: &CancellationToken,
) -> Result<(Connection, Outage), Finished<Receiver>> {
    let Finished { handler, queue, .. } = finished;
    let clock = handler.shared.clock.get().cloned();
    let now = || clock.as_ref().map_or(0, Clock::now_ns);
    let mut outage = Outage {
        down_ns: now(),
        ..Outage::default()
    };
    let (index, from, expect) = (handler.index, handler.node, handler.expect);
    let mut watched = Watched {
        inner: handler,
        first_ns: None,
    };
    let mut queue = queue;
    for attempt in 0.. {
        let dial = route.dial(index, from, attempt);
        match client::resume(dial, watched, queue, stop.clone()).await {
            Ok(mut task) => {
                outage.connected_ns = Some(now());
                if let Expect::Room(r) = expect {
                    tokio::select! {
                        reply = handle.call("join", room_name(r)) => {
                            if reply.is_ok_and(|r| r.json == "[\"ok\"]") {
                                outage.joined_ns = Some(now());
                            }
                        }
                        ended = &mut task => return Ok((Connection::Ended(ended), outage)),
                    }
                }
                return Ok((Connection::Running(task), outage));
            }
            Err(f) => {
                (watched, queue) = (f.handler, f.queue);
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(RETRY) => {}
                }
            }
        }
    }
    Err(Finished {
        handler: watched.inner,
        failure: Some("stopped while reconnecting".into()),
        queue,
    })
}

/// Runs one client to the end of the run, reconnecting it after each
/// failure.
pub(super) async fn supervise(
    task: ClientTask,
    handle: Handle,
    route: Reroute,
    stop: CancellationToken,
) -> anyhow::Result<Supervised> {
    let mut finished = task.await.context("client task")?;
    let mut outages = Vec::new();
    while finished.failure.is_some() && !stop.is_cancelled() {
        match reconnect(finished, &handle, &route, &stop).await {
            Ok((connection, mut outage)) => {
                let f = match connection {
                    Connection::Running(task) => task.await,
                    Connection::Ended(ended) => ended,
                }
                .context("client task")?;
                outage.first_ns = f.handler.first_ns;
                outages.push(outage);
                finished = Finished {
                    handler: f.handler.inner,
                    failure: f.failure,
                    queue: f.queue,
                };
            }
            Err(f) => finished = f,
        }
    }
    Ok((finished, outages))
}
