//! Server-side events: messages from one server of the cluster to the others rather than
//! to clients, as Node's `io.serverSideEmit`, `io.serverSideEmitWithAck` and
//! `io.on(event)` send and receive them.
//!
//! They are methods of [`Cluster`] because socketioxide 0.18 has no server-side emit: its
//! adapter trait has the method commented out, and `SocketIo` offers no way to send one or
//! to listen for one. Without them a Rust node is still counted by Node servers (it
//! subscribes the request channel) but never answers, so every Node
//! `serverSideEmitWithAck` waits for its whole timeout.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{Arc, PoisonError, RwLock},
    task::{Context, Poll, Waker},
    time::Duration,
};

use serde_json::Value as Json;

use crate::{Cluster, Error, driver::Driver};

/// Event names Node refuses to send (`RESERVED_EVENTS` of its namespaces): a listener of
/// them on a Node server means something else.
const RESERVED: [&str; 3] = ["connect", "connection", "new_namespace"];

/// One server-side event from another server, given to the handler registered with
/// [`Cluster::on_server_side`].
#[derive(Debug)]
#[non_exhaustive]
pub struct ServerSideEvent {
    /// The event name.
    pub event: String,
    /// The arguments after the name. Binary arguments (Node `Buffer`s) are given as Node's
    /// `JSON.stringify` writes a `Buffer`, `{"type":"Buffer","data":[bytes]}`, so they look
    /// the same whether the sender's adapter used JSON or MessagePack.
    pub args: Vec<Json>,
    /// Present when the sender waits for an answer (`serverSideEmitWithAck`).
    pub ack: Option<ServerSideAck>,
}

/// The answer to one server-side event with ack. Sending consumes it: each server answers
/// once, as Node's callback ignores every call after the first.
///
/// Dropping it unanswered answers nothing, as a Node listener that never calls its
/// callback: the sender then waits for its timeout.
pub struct ServerSideAck {
    respond: Box<dyn FnOnce(Json) + Send>,
}

impl std::fmt::Debug for ServerSideAck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSideAck")
    }
}

impl ServerSideAck {
    pub(crate) fn new(respond: impl FnOnce(Json) + Send + 'static) -> Self {
        Self {
            respond: Box::new(respond),
        }
    }

    /// Publishes the answer. It can be called from any thread, inside a Tokio runtime or
    /// not, and returns at once: like the node's other answers (fetch, acks), a failed
    /// publish is logged and counted in [`crate::StatsSnapshot::publish_failed`], and the
    /// sender sees one answer fewer.
    pub fn send(self, answer: Json) {
        (self.respond)(answer);
    }
}

/// A [`Cluster::server_side_emit_with_ack`] that did not get every answer: why, and the
/// answers that did arrive (Node's `err.responses`). It displays as its [`Error`] does.
#[derive(Debug)]
#[non_exhaustive]
pub struct ServerSideEmitError {
    /// [`Error::Timeout`] ("only n responses received out of m"), [`Error::ConnectionLost`],
    /// or an error that stopped the request before anything was sent.
    pub error: Error,
    /// The answers received before it failed, one per server that answered.
    pub answers: Vec<Json>,
}

impl std::fmt::Display for ServerSideEmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for ServerSideEmitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.error)
    }
}

impl From<Error> for ServerSideEmitError {
    fn from(error: Error) -> Self {
        Self {
            error,
            answers: Vec::new(),
        }
    }
}

impl From<ServerSideEmitError> for Error {
    fn from(err: ServerSideEmitError) -> Self {
        err.error
    }
}

/// What a handler returns, boxed so handlers of different types share one map.
pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A handler of server-side events.
pub(crate) type Handler = Arc<dyn Fn(ServerSideEvent) -> HandlerFuture + Send + Sync>;

/// Runs `fut` here until it first has to wait, then on a task of its own, as a JavaScript
/// `async` listener runs: what it does before its first pending await (an
/// `io.local().emit`, which this adapter completes at once, or an ack) happens before
/// the receiving task handles the next message, so it keeps the order the sender gave.
/// Spawning it whole would let a broadcast that arrived after the event reach clients
/// before what the handler emits for it.
pub(crate) fn run_inline(mut fut: HandlerFuture) {
    // A waker that does nothing is enough: a future polled again (here by the spawned
    // task) registers that poll's waker, so a wake-up in between is not needed.
    if fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) == Poll::Pending {
        tokio::spawn(fut);
    }
}

/// The handlers of one cluster, by namespace and event name.
#[derive(Default)]
pub(crate) struct Handlers(RwLock<HashMap<(String, String), Handler>>);

impl Handlers {
    pub(crate) fn get(&self, nsp: &str, event: &str) -> Option<Handler> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(nsp.to_owned(), event.to_owned()))
            .cloned()
    }

    fn set(&self, nsp: &str, event: &str, handler: Option<Handler>) -> bool {
        let mut map = self.0.write().unwrap_or_else(PoisonError::into_inner);
        let key = (nsp.to_owned(), event.to_owned());
        match handler {
            Some(h) => map.insert(key, h).is_some(),
            None => map.remove(&key).is_some(),
        }
    }
}

fn check_event(event: &str) -> Result<(), Error> {
    if RESERVED.contains(&event) {
        return Err(Error::ReservedEvent(event.to_owned()));
    }
    Ok(())
}

impl<D: Driver> Cluster<D> {
    /// Handles the server-side event `event` of namespace `nsp` sent by other servers,
    /// Node's `io.of(nsp).on(event, ...)`. Replaces the handler registered before for the
    /// same namespace and event; it may be registered before the namespace exists.
    ///
    /// The handler returns a future, run like a JavaScript `async` listener: on the task
    /// that receives every message of this cluster until its first await that has to
    /// wait, then on a task of its own. So what it does before such an await keeps the
    /// order of the messages: an `io.local().emit(..)` for the event (which this adapter
    /// completes at once) reaches clients before any broadcast the sender made after the
    /// event, as on a Node server. That first part must not block, or every message of
    /// the cluster waits.
    ///
    /// The cluster holds the handler until [`Cluster::off_server_side`]: a handler that
    /// holds a clone of this `Cluster` (or of the `SocketIo` built on it) keeps both alive,
    /// connections included, until it is removed.
    ///
    /// An event with no handler is counted
    /// ([`crate::StatsSnapshot::server_side_events_unhandled`]) and not answered, as on a
    /// Node server with no listener: a sender waiting for answers waits for its timeout.
    ///
    /// ```no_run
    /// # use respub_socketio::{Cluster, FredDriver};
    /// # use serde_json::json;
    /// # fn f(cluster: Cluster<FredDriver>, port: u16) {
    /// // Answers Node's `await io.serverSideEmitWithAck("node-info")`.
    /// cluster.on_server_side("/", "node-info", move |ev| async move {
    ///     if let Some(ack) = ev.ack {
    ///         ack.send(json!({"node": port}));
    ///     }
    /// });
    /// # }
    /// ```
    pub fn on_server_side<F, Fut>(&self, nsp: &str, event: &str, handler: F)
    where
        F: Fn(ServerSideEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |ev| Box::pin(handler(ev)));
        self.inner.handlers.set(nsp, event, Some(handler));
    }

    /// Removes the handler of `event` in `nsp`; `false` when there was none.
    pub fn off_server_side(&self, nsp: &str, event: &str) -> bool {
        self.inner.handlers.set(nsp, event, None)
    }

    /// Sends the server-side event `event` with `args` to every other server of namespace
    /// `nsp`, Node's `io.of(nsp).serverSideEmit(event, ...args)`. This server's own handler
    /// is not called.
    ///
    /// # Errors
    /// [`Error::ReservedEvent`] for the names Node reserves; [`Error::Closed`] when `nsp`
    /// has no adapter here; [`Error::Driver`] when the publish fails.
    pub async fn server_side_emit(
        &self,
        nsp: &str,
        event: &str,
        args: Vec<Json>,
    ) -> Result<(), Error> {
        check_event(event)?;
        let node = self.node(nsp).ok_or(Error::Closed)?;
        node.server_side_emit(packet(event, args), None)
            .await
            .map(drop)
            .map_err(Error::from)
    }

    /// Sends the server-side event `event` with `args` to every other server of namespace
    /// `nsp` and returns one answer per server, Node's `serverSideEmitWithAck`. It expects
    /// `count - 1` answers (the server count as [`Cluster::server_count`] takes it) and,
    /// like the other requests, takes the count again every
    /// [`crate::Config::recount_interval`], so a server that died is not waited for.
    /// Nothing is published when this server is alone.
    ///
    /// # Errors
    /// A [`ServerSideEmitError`] with the answers received so far and
    /// [`Error::Timeout`] ("only n responses received out of m") when too few answered
    /// within `timeout`, which happens when a server has no handler for `event`;
    /// [`Error::ConnectionLost`] when the broker connection drops meanwhile; or the
    /// errors of [`Cluster::server_side_emit`].
    pub async fn server_side_emit_with_ack(
        &self,
        nsp: &str,
        event: &str,
        args: Vec<Json>,
        timeout: Duration,
    ) -> Result<Vec<Json>, ServerSideEmitError> {
        check_event(event)?;
        let node = self.node(nsp).ok_or(Error::Closed)?;
        node.server_side_emit(packet(event, args), Some(timeout))
            .await
    }
}

/// The event as Node's adapters carry it: `[event, ...args]`.
fn packet(event: &str, args: Vec<Json>) -> Vec<Json> {
    let mut packet = Vec::with_capacity(args.len().saturating_add(1));
    packet.push(Json::from(event));
    packet.extend(args);
    packet
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::sync::oneshot;

    use super::run_inline;

    /// What a handler does before its first pending await is done when `run_inline`
    /// returns (a single-threaded runtime could not have run a spawned task yet); the
    /// rest runs later, on its own task.
    #[tokio::test]
    async fn runs_a_handler_here_until_its_first_pending_await() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (release, released) = oneshot::channel::<()>();
        let (finished, done) = oneshot::channel();
        let l = log.clone();
        run_inline(Box::pin(async move {
            l.lock().unwrap().push("before");
            std::future::ready(()).await;
            l.lock().unwrap().push("ready");
            let _ = released.await;
            l.lock().unwrap().push("after");
            let _ = finished.send(());
        }));
        assert_eq!(*log.lock().unwrap(), ["before", "ready"]);
        release.send(()).unwrap();
        done.await.unwrap();
        assert_eq!(*log.lock().unwrap(), ["before", "ready", "after"]);
    }
}
