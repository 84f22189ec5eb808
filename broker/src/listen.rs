//! The listening sockets: bound by Redis' `bind` rules, and replaced while
//! the server runs when `CONFIG SET port` or `CONFIG SET bind` asks, as in
//! Redis 7, without touching the clients already connected.
//!
//! The set owns every listener; an accept loop holds only a [`Weak`] handle
//! and upgrades it for each poll. Dropping a listener here therefore closes
//! its socket at once, inside the command that asked, which is what lets a
//! `bind` change free an address before binding an overlapping one (`*` to
//! `127.0.0.1` on the same port), as Redis' close-then-bind does.

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
    /// Where accept loops and connections run, so shutdown waits for them.
    pub(crate) tracker: TaskTracker,
    /// TLS handshakes under way: they count against `maxclients`, as Redis
    /// creates its client before the handshake, so that slow handshakes
    /// cannot pile up without bound.
    pub(crate) handshakes: Arc<AtomicUsize>,
}

/// Which listeners a [`Listening::rebind`] replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// `port`: the new plain listeners are bound before the old close.
    Port,
    /// `bind`: plain and TLS listeners close first, then the new addresses
    /// are bound; on failure the old ones are bound again.
    Bind,
}

impl Listening {
    /// Takes ownership of `listener` and starts its accept loop.
    pub(crate) fn add(&self, shared: &Arc<Shared>, listener: Listener) {
        let open = Open {
            listener: Arc::new(listener),
            closed: CancellationToken::new(),
        };
        let weak: Weak<Listener> = Arc::downgrade(&open.listener);
        crate::server::spawn_accept_loop(shared, weak, open.closed.clone());
        self.open.lock().push(open);
    }

    /// Closes the listeners `which` selects and returns the TLS acceptor
    /// and port they served, if any.
    fn close(&self, which: Change) -> Option<(Acceptor, u16)> {
        let mut open = self.open.lock();
        let mut tls = None;
        open.retain(|o| match &*o.listener {
            Listener::Tcp(_) => false,
            Listener::Tls(l, acceptor) if which == Change::Bind => {
                if let Ok(addr) = l.local_addr() {
                    tls = Some((acceptor.clone(), addr.port()));
                }
                false
            }
            _ => true,
        });
        tls
    }

    /// Listens on `to` (`bind` addresses and `port`) instead of `from`, as
    /// `CONFIG SET port` (`Change::Port`) or `CONFIG SET bind`
    /// (`Change::Bind`) do in Redis. Connected clients are not affected.
    ///
    /// # Errors
    ///
    /// The failed bind; the server then listens where it did before.
    pub(crate) fn rebind(
        &self,
        shared: &Arc<Shared>,
        change: Change,
        to: (&[String], u16),
        from: (&[String], u16),
    ) -> Result<(), BindError> {
        let bind_on = |(specs, port): (&[String], u16), tls: &Option<(Acceptor, u16)>| {
            let mut fresh = if port == 0 {
                Vec::new()
            } else {
                bind_all(specs, port)?
                    .into_iter()
                    .map(Listener::Tcp)
                    .collect()
            };
            if let Some((acceptor, tls_port)) = tls {
                let secure = bind_all(specs, *tls_port)?;
                fresh.extend(
                    secure
                        .into_iter()
                        .map(|l| Listener::Tls(l, acceptor.clone())),
                );
            }
            Ok::<_, BindError>(fresh)
        };
        let fresh = match change {
            Change::Port => {
                let fresh = bind_on(to, &None)?;
                self.close(Change::Port);
                fresh
            }
            Change::Bind => {
                let tls = self.close(Change::Bind);
                match bind_on(to, &tls) {
                    Ok(fresh) => fresh,
                    Err(err) => {
                        tracing::warn!(%err, "Failed to bind, trying to restore old listening sockets.");
                        match bind_on(from, &tls) {
                            Ok(old) => old.into_iter().for_each(|l| self.add(shared, l)),
                            Err(err) => {
                                tracing::error!(%err, "Failed to restore old listening sockets.")
                            }
                        }
                        return Err(err);
                    }
                }
            }
        };
        for listener in fresh {
            log_ready(&listener);
            self.add(shared, listener);
        }
        shared.port.store(to.1, Ordering::Relaxed);
        Ok(())
    }

    /// Closes every listener (at shutdown).
    pub(crate) fn close_all(&self) {
        self.open.lock().clear();
    }
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
