//! The listening sockets: bound by Redis' `bind` rules, and replaced while
//! the server runs when `CONFIG SET port`, `tls-port` or `bind` asks, as in
//! Redis 7, without touching the clients already connected.
//!
//! The set owns every listener; an accept loop holds only a [`Weak`] handle
//! and upgrades it for each poll. Dropping a listener here therefore closes
//! its socket at once, inside the command that asked, which is what lets a
//! `bind` change free an address before binding an overlapping one (`*` to
//! `127.0.0.1` on the same port), as Redis' close-then-bind does. A port
//! change binds the new sockets before closing the old, so that a port in
//! use changes nothing.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::server::Listener;
use crate::session::Shared;
use crate::tls::Acceptor;

/// Why an address could not be listened on.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// A `bind` word that is not an address.
    #[error("invalid bind address '{0}'")]
    Address(String),
    /// The address is taken, not local, or not permitted.
    #[error("could not bind {addr}: {source}")]
    Io {
        /// What was bound.
        addr: SocketAddr,
        /// Why the kernel refused.
        source: std::io::Error,
    },
}

/// Binds one `bind` address as redis-server does: `*` is every IPv4
/// address, `::*` every IPv6 one, a leading `-` makes the address optional
/// (`None` when it cannot be bound), and IPv6 sockets are v6-only so that
/// `0.0.0.0` and `::` can share a port.
///
/// # Errors
///
/// A malformed address, or a required one that cannot be bound.
pub fn bind_tcp(spec: &str, port: u16) -> Result<Option<TcpListener>, BindError> {
    let (optional, host) = match spec.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, spec),
    };
    let ip: IpAddr = match host {
        "*" => IpAddr::from([0u8; 4]),
        "::*" => IpAddr::from([0u16; 8]),
        other => other
            .parse()
            .map_err(|_| BindError::Address(other.to_owned()))?,
    };
    let addr = SocketAddr::new(ip, port);
    let bound = (|| -> std::io::Result<TcpListener> {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )?;
        socket.set_reuse_address(true)?;
        if ip.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.bind(&addr.into())?;
        socket.listen(511)?;
        socket.set_nonblocking(true)?;
        TcpListener::from_std(socket.into())
    })();
    match bound {
        Ok(listener) => Ok(Some(listener)),
        Err(err) if optional => {
            tracing::warn!(%addr, %err, "could not bind an optional address; skipping it");
            Ok(None)
        }
        Err(source) => Err(BindError::Io { addr, source }),
    }
}

/// Every `bind` address on `port`, all or none.
///
/// # Errors
///
/// As [`bind_tcp`], for the first address that fails.
pub fn bind_all(specs: &[String], port: u16) -> Result<Vec<TcpListener>, BindError> {
    let mut listeners = Vec::new();
    for spec in specs {
        listeners.extend(bind_tcp(spec, port)?);
    }
    Ok(listeners)
}

/// One listener and the signal that wakes its accept loop when it closes.
#[derive(Debug)]
struct Open {
    listener: Arc<Listener>,
    closed: CancellationToken,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.closed.cancel();
    }
}

/// The listeners of one server run.
#[derive(Debug, Default)]
pub struct Listening {
    open: Mutex<Vec<Open>>,
    /// The acceptor of the TLS listeners, kept while `tls-port` is 0 so
    /// that turning it on again serves the same setup, as Redis keeps its
    /// TLS context; `None` until TLS is first configured.
    tls: Mutex<Option<Acceptor>>,
    /// Where accept loops and connections run, so shutdown waits for them.
    pub(crate) tracker: TaskTracker,
    /// TLS handshakes under way: they count against `maxclients`, as Redis
    /// creates its client before the handshake, so that slow handshakes
    /// cannot pile up without bound.
    pub(crate) handshakes: Arc<AtomicUsize>,
}

/// Where the plain and TLS listeners of one configuration listen.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints<'a> {
    /// The `bind` addresses.
    pub(crate) bind: &'a [String],
    /// `port`; 0 for no plain listener.
    pub(crate) port: u16,
    /// `tls-port` and the acceptor of its listeners; `None` for none.
    pub(crate) tls: Option<(u16, Acceptor)>,
}

/// One kind of listener moving to another port, as `CONFIG SET port` and
/// `CONFIG SET tls-port` ask.
#[derive(Debug, Clone)]
pub(crate) enum Move {
    /// The plain listeners to `port` (0: closed).
    Plain(u16),
    /// The TLS listeners to `tls-port` with this acceptor (`None`: closed).
    Tls(Option<(u16, Acceptor)>),
}

/// The sockets of one or more [`Move`]s, bound but not yet accepting, so
/// that every port of a CONFIG SET can be tried before anything changes;
/// dropped, it closes them again. [`Listening::finish`] puts it in force.
#[derive(Debug, Default)]
pub(crate) struct Moved {
    fresh: Vec<Listener>,
    /// The new `port`, if the plain listeners move.
    plain: Option<u16>,
    /// Whether the TLS listeners move.
    tls: bool,
}

impl Moved {
    /// Binds the new sockets of `to` on the `bind` addresses.
    ///
    /// # Errors
    ///
    /// The first address that could not be bound; what was bound before
    /// stays here.
    pub(crate) fn bind(&mut self, bind: &[String], to: &Move) -> Result<(), BindError> {
        let endpoints = match to {
            Move::Plain(port) => Endpoints {
                bind,
                port: *port,
                tls: None,
            },
            Move::Tls(tls) => Endpoints {
                bind,
                port: 0,
                tls: tls.clone(),
            },
        };
        self.fresh.extend(bind_endpoints(&endpoints)?);
        match to {
            Move::Plain(port) => self.plain = Some(*port),
            Move::Tls(_) => self.tls = true,
        }
        Ok(())
    }
}

impl Listening {
    /// Takes ownership of `listener` and starts its accept loop; the first
    /// TLS listener's acceptor becomes the one CONFIG SET updates.
    pub(crate) fn add(&self, shared: &Arc<Shared>, listener: Listener) {
        if let Listener::Tls(_, acceptor) = &listener {
            self.tls.lock().get_or_insert_with(|| acceptor.clone());
        }
        let open = Open {
            listener: Arc::new(listener),
            closed: CancellationToken::new(),
        };
        let weak: Weak<Listener> = Arc::downgrade(&open.listener);
        crate::server::spawn_accept_loop(shared, weak, open.closed.clone());
        self.open.lock().push(open);
    }

    /// The acceptor TLS listeners use, once TLS has been configured.
    pub(crate) fn acceptor(&self) -> Option<Acceptor> {
        self.tls.lock().clone()
    }

    /// Makes `acceptor` the one TLS listeners use from now on (TLS
    /// configured for the first time by CONFIG SET).
    pub(crate) fn set_acceptor(&self, acceptor: Acceptor) {
        *self.tls.lock() = Some(acceptor);
    }

    /// Closes the plain listeners if `plain`, the TLS ones if `tls`.
    fn close(&self, plain: bool, tls: bool) {
        self.open.lock().retain(|o| match &*o.listener {
            Listener::Tcp(_) => !plain,
            Listener::Tls(..) => !tls,
            Listener::Unix(_) => true,
        });
    }

    /// Listens on `to` instead of `from`, as `CONFIG SET bind` does in
    /// Redis: plain and TLS listeners close first, so that an address can
    /// be bound again on the same port, then the new addresses are bound;
    /// on failure the old ones are bound again. Connected clients are not
    /// affected.
    ///
    /// # Errors
    ///
    /// The failed bind; the server then listens where it did before.
    pub(crate) fn rebind(
        &self,
        shared: &Arc<Shared>,
        to: &Endpoints<'_>,
        from: &Endpoints<'_>,
    ) -> Result<(), BindError> {
        self.close(true, true);
        let fresh = match bind_endpoints(to) {
            Ok(fresh) => fresh,
            Err(err) => {
                tracing::warn!(%err, "Failed to bind, trying to restore old listening sockets.");
                match bind_endpoints(from) {
                    Ok(old) => old.into_iter().for_each(|l| self.add(shared, l)),
                    Err(err) => {
                        tracing::error!(%err, "Failed to restore old listening sockets.")
                    }
                }
                return Err(err);
            }
        };
        self.start(shared, fresh);
        shared.port.store(to.port, Ordering::Relaxed);
        Ok(())
    }

    /// Closes the listeners `moved` replaces and starts its own, which
    /// were bound before any old one closes, so connected clients and the
    /// other listeners are not affected.
    pub(crate) fn finish(&self, shared: &Arc<Shared>, moved: Moved) {
        self.close(moved.plain.is_some(), moved.tls);
        self.start(shared, moved.fresh);
        if let Some(port) = moved.plain {
            shared.port.store(port, Ordering::Relaxed);
        }
    }

    fn start(&self, shared: &Arc<Shared>, listeners: Vec<Listener>) {
        for listener in listeners {
            log_ready(&listener);
            self.add(shared, listener);
        }
    }

    /// Closes every listener (at shutdown).
    pub(crate) fn close_all(&self) {
        self.open.lock().clear();
    }
}

/// The plain and TLS listeners of `endpoints`, all or none.
fn bind_endpoints(endpoints: &Endpoints<'_>) -> Result<Vec<Listener>, BindError> {
    let mut fresh: Vec<Listener> = if endpoints.port == 0 {
        Vec::new()
    } else {
        bind_all(endpoints.bind, endpoints.port)?
            .into_iter()
            .map(Listener::Tcp)
            .collect()
    };
    if let Some((port, acceptor)) = endpoints.tls.as_ref().filter(|(port, _)| *port != 0) {
        let secure = bind_all(endpoints.bind, *port)?;
        fresh.extend(
            secure
                .into_iter()
                .map(|l| Listener::Tls(l, acceptor.clone())),
        );
    }
    Ok(fresh)
}

/// The readiness line of one listener, which operators and tests wait for.
pub(crate) fn log_ready(listener: &Listener) {
    match listener {
        Listener::Tcp(l) => {
            if let Ok(addr) = l.local_addr() {
                tracing::info!(%addr, "ready to accept connections");
            }
        }
        Listener::Unix(l) => {
            if let Ok(addr) = l.local_addr() {
                tracing::info!(path = ?addr.as_pathname(), "ready to accept connections on the unix socket");
            }
        }
        Listener::Tls(l, _) => {
            if let Ok(addr) = l.local_addr() {
                tracing::info!(%addr, "ready to accept connections over TLS");
            }
        }
    }
}
