//! Accept loops, connection limit, protected mode, accept-error policy, the
//! once-a-second client cron, and shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Poll, ready};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client::Client;
use crate::config::Config;
use crate::connection;
use crate::error::Error;
use crate::runtime::Writers;
use crate::session::Shared;
use crate::socket::Socket;
use crate::stats::Stats;
use crate::tls::Acceptor;

/// What Redis 7.2 writes, byte for byte, to a client it refuses in
/// protected mode, so that operators recognise it and search engines find
/// the fix.
pub const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected \
mode is enabled and no password is set for the default user. In this mode connections are only \
accepted from the loopback interface. If you want to connect from external computers to Redis you \
may adopt one of the following solutions: 1) Just disable protected mode sending the command \
'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host \
the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. \
Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected \
mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then \
restarting the server. 3) If you started the server manually just for testing, restart it with the \
'--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You \
only need to do one of the above things in order for the server to start accepting connections from \
the outside.\r\n";

/// A socket that clients connect to.
#[derive(Debug)]
pub enum Listener {
    /// A TCP listener (`bind` and `port`).
    Tcp(TcpListener),
    /// A Unix socket listener (`unixsocket`).
    Unix(UnixListener),
    /// A TLS listener (`tls-port`): TCP, then a handshake per connection.
    Tls(TcpListener, Acceptor),
}

/// Serves clients on one TCP `listener` until `shutdown` completes; see
/// [`serve`].
///
/// # Errors
///
/// As [`serve`].
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    serve(vec![Listener::Tcp(listener)], config, shutdown).await
}

/// Serves clients on every listener until `shutdown` completes, then stops
/// accepting, lets every connection flush what is queued for it (up to
/// `config.shutdown_timeout`), and returns.
///
/// # Errors
///
/// If a listener's own address cannot be read, or the `aclfile` cannot be
/// loaded; per-client failures are handled on their connection.
pub async fn serve(
    listeners: Vec<Listener>,
    mut config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let mut port = 0;
    for l in &listeners {
        // A TLS listener given without `tls-port` defines it, so that
        // CONFIG GET shows it and CONFIG SET of a TLS file reconfigures it.
        if let (Listener::Tls(l, _), 0) = (l, config.tls_port) {
            config.tls_port = l.local_addr()?.port();
        }
        // An unreadable address is a listener that cannot serve.
        match l {
            Listener::Tcp(l) => {
                let bound = l.local_addr()?.port();
                if port == 0 {
                    port = bound;
                }
            }
            Listener::Unix(l) => {
                l.local_addr()?;
            }
            Listener::Tls(l, _) => {
                l.local_addr()?;
            }
        }
        crate::listen::log_ready(l);
    }
    let aclfile = config.aclfile.clone();
    if aclfile.is_some() && !config.users.is_empty() {
        return Err(Error::Acl(
            "Configuring Redis with users defined in redis.conf and at the same setting an ACL \
             file path is invalid. This setup is very likely to lead to configuration errors and \
             security holes, please define either an ACL file or declare users directly in your \
             redis.conf, but not both."
                .to_owned(),
        ));
    }
    let token = CancellationToken::new();
    let writers = Writers::new(config.io_threads)?;
    let mut shared = Shared::new(config, port, token.clone());
    shared.writers = writers.handle();
    let shared = Arc::new(shared);
    if let Some(path) = aclfile {
        shared.acl.load_file(&path).map_err(|e| {
            Error::Acl(format!("Aborting Redis startup because of ACL errors: {e}"))
        })?;
    }
    let tracker = shared.listening.tracker.clone();
    for listener in listeners {
        shared.listening.add(&shared, listener);
    }
    tracker.spawn(cron(Arc::clone(&shared)));
    // `replicaof <host> <port>` in the configuration: follow it from the start.
    let replicaof = shared.config.load().get("replicaof").unwrap_or_default();
    if let Some((host, Ok(port))) = replicaof.split_once(' ').map(|(h, p)| (h, p.parse())) {
        if let Some(cancel) = shared.replication.set_master(host, port) {
            crate::replication::follow(Arc::clone(&shared), host.to_owned(), port, cancel);
        }
    }
    let flushing = Arc::clone(&shared);
    tracker.spawn(async move { flushing.flusher.run(flushing.shutdown.clone()).await });
    tokio::select! {
        () = shutdown => {}
        () = shared.stop.cancelled() => {}
    }
    tracing::info!("shutting down: no new connections, flushing clients");
    crate::service::stopping(shared.config.load().supervised);
    token.cancel();
    shared.listening.close_all();
    tracker.close();
    let deadline = shared.config.load().shutdown_timeout;
    if tokio::time::timeout(deadline, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("shutdown deadline reached; closing the remaining clients");
        shared.clients.kill_all();
        tracker.wait().await;
    }
    writers.shutdown();
    Ok(())
}

/// What every accept loop of one server shares.
struct Accepting {
    shared: Arc<Shared>,
    tracker: TaskTracker,
    /// TLS handshakes under way (see `Listening::handshakes`).
    handshakes: Arc<AtomicUsize>,
}

/// Who connected, as `CLIENT LIST` shows it and protected mode judges it.
struct Peer {
    addr: String,
    laddr: String,
    /// On a loopback address or the Unix socket.
    local: bool,
    /// The socket's descriptor, for `CLIENT LIST`.
    fd: i32,
    unix: bool,
}

/// Starts the accept loop of a listener [`crate::listen::Listening`] owns;
/// the loop ends when the server shuts down or `closed` is cancelled.
pub(crate) fn spawn_accept_loop(
    shared: &Arc<Shared>,
    listener: Weak<Listener>,
    closed: CancellationToken,
) {
    let ctx = Accepting {
        shared: Arc::clone(shared),
        tracker: shared.listening.tracker.clone(),
        handshakes: Arc::clone(&shared.listening.handshakes),
    };
    let acceptor = match listener.upgrade().as_deref() {
        Some(Listener::Tls(_, acceptor)) => Some(acceptor.clone()),
        _ => None,
    };
    shared
        .listening
        .tracker
        .spawn(accept_loop(listener, acceptor, closed, ctx));
}

async fn accept_loop(
    listener: Weak<Listener>,
    acceptor: Option<Acceptor>,
    closed: CancellationToken,
    ctx: Accepting,
) {
    let shared = &ctx.shared;
    loop {
        let accepted = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            () = closed.cancelled() => return,
            accepted = accept(&listener) => accepted,
        };
        let Some(accepted) = accepted else { return };
        match (accepted, &acceptor) {
            (Ok(Accepted::Tcp(socket, from)), Some(acceptor)) => {
                let peer = tcp_peer(&socket, from, shared);
                handshake_then_admit(socket, peer, acceptor.clone(), &ctx);
            }
            (Ok(Accepted::Tcp(socket, from)), _) => {
                let peer = tcp_peer(&socket, from, shared);
                admit(socket, peer, shared, &ctx.tracker);
            }
            (Ok(Accepted::Unix(socket)), _) => {
                // Redis shows Unix clients as `<path>:0`.
                let path = socket
                    .get_ref()
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
                    .unwrap_or_default();
                let peer = Peer {
                    addr: format!("{path}:0"),
                    laddr: format!("{path}:0"),
                    local: true,
                    fd: socket.get_ref().as_raw_fd(),
                    unix: true,
                };
                admit(socket, peer, shared, &ctx.tracker);
            }
            (Err(err), _) if is_connection_error(&err) => {}
            (Err(err), _) => {
                // Out of file descriptors and the like: back off and keep going.
                tracing::error!(%err, "accept failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

enum Accepted {
    /// The peer's address as accept(2) gave it: unlike getpeername, still
    /// known when the peer has already reset the connection.
    Tcp(Socket<std::net::TcpStream>, SocketAddr),
    Unix(Socket<std::os::unix::net::UnixStream>),
}

/// Accepts the next client as a [`Socket`], whose reads keep their place
/// in arrival order (see `socket.rs`); `None` once the listener is closed.
/// The listener is only borrowed for each poll, so that closing it (see
/// `listen.rs`) takes effect at once.
async fn accept(listener: &Weak<Listener>) -> Option<std::io::Result<Accepted>> {
    let accepted = std::future::poll_fn(|cx| {
        let Some(listener) = listener.upgrade() else {
            return Poll::Ready(None);
        };
        Poll::Ready(Some(match &*listener {
            Listener::Tcp(l) | Listener::Tls(l, _) => {
                ready!(l.poll_accept(cx)).map(|(s, from)| Pending::Tcp(s, from))
            }
            Listener::Unix(l) => ready!(l.poll_accept(cx)).map(|(s, _)| Pending::Unix(s)),
        }))
    })
    .await?;
    Some(accepted.and_then(|pending| match pending {
        Pending::Tcp(s, from) => Ok(Accepted::Tcp(Socket::tcp(s.into_std()?)?, from)),
        Pending::Unix(s) => Ok(Accepted::Unix(Socket::unix(s.into_std()?)?)),
    }))
}

/// A connection as the listener handed it over.
enum Pending {
    Tcp(tokio::net::TcpStream, SocketAddr),
    Unix(tokio::net::UnixStream),
}

/// Sets the socket options every TCP client gets and reads its addresses.
fn tcp_peer(socket: &Socket<std::net::TcpStream>, from: SocketAddr, shared: &Shared) -> Peer {
    let socket = socket.get_ref();
    let _ = socket.set_nodelay(true);
    let keepalive = shared.config.load().tcp_keepalive;
    if keepalive > 0 {
        let ka = socket2::TcpKeepalive::new().with_time(Duration::from_secs(keepalive));
        let _ = socket2::SockRef::from(socket).set_tcp_keepalive(&ka);
    }
    Peer {
        // Redis 7.2's test: all of 127.0.0.0/8, and ::1 (an IPv4-mapped
        // address is not local to it either).
        local: from.ip().is_loopback(),
        addr: from.to_string(),
        laddr: socket
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        fd: socket.as_raw_fd(),
        unix: false,
    }
}

/// Runs the TLS handshake in its own task, so that a slow or silent peer
/// never holds up the accept loop, then admits the client as any other.
fn handshake_then_admit(
    socket: Socket<std::net::TcpStream>,
    peer: Peer,
    acceptor: Acceptor,
    ctx: &Accepting,
) {
    let shared = Arc::clone(&ctx.shared);
    // As Redis: the client limit is checked before any handshake work, and
    // the refusal is silent, since nothing can be written before TLS is up.
    let pending = ctx.handshakes.load(Ordering::Relaxed);
    if shared.clients.len() + pending >= shared.config.load().maxclients {
        Stats::add(&shared.stats.rejected_connections, 1);
        return;
    }
    ctx.handshakes.fetch_add(1, Ordering::Relaxed);
    let handshakes = Arc::clone(&ctx.handshakes);
    let tracker = ctx.tracker.clone();
    ctx.tracker.spawn(async move {
        let done = tokio::select! {
            () = shared.shutdown.cancelled() => None,
            done = acceptor.handshake(socket) => Some(done),
        };
        handshakes.fetch_sub(1, Ordering::Relaxed);
        match done {
            Some(Ok(stream)) => admit(stream, peer, &shared, &tracker),
            // Redis logs this line too; below warning here, because any
            // scanner or misconfigured client can produce it at will.
            Some(Err(err)) => tracing::info!(
                addr = %peer.addr,
                laddr = %peer.laddr,
                %err,
                "Error accepting a client connection"
            ),
            None => {}
        }
    });
}

fn admit<S>(socket: S, peer: Peer, shared: &Arc<Shared>, tracker: &TaskTracker)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let config = shared.config.load();
    // Redis' order: the client limit, then protected mode; a refused
    // connection counts in `rejected_connections`, not as received.
    let refusal: Option<&'static [u8]> = if shared.clients.len() >= config.maxclients {
        Some(b"-ERR max number of clients reached\r\n")
    } else if config.protected_mode && !peer.local && shared.acl.default_user().nopass() {
        tracing::debug!(addr = %peer.addr, "refused by protected mode");
        Some(PROTECTED_MODE_DENIED)
    } else {
        None
    };
    if let Some(text) = refusal {
        Stats::add(&shared.stats.rejected_connections, 1);
        tracker.spawn(async move {
            let mut socket = socket;
            let _ = socket.write_all(text).await;
            let _ = socket.shutdown().await;
        });
        return;
    }
    Stats::add(&shared.stats.connections_received, 1);
    let client = Arc::new(
        Client::new(
            shared.clients.next_id(),
            peer.addr,
            peer.laddr,
            Arc::clone(&shared.stats),
        )
        .with_socket(peer.fd, peer.unix),
    );
    // Registered before the task starts so that the maxclients check above
    // sees every accepted client, even one not yet scheduled.
    shared.clients.insert(Arc::clone(&client));
    tracker.spawn(connection::serve(socket, client, Arc::clone(shared)));
}

/// Once a second, what Redis' `clientsCron` does for respub's clients:
/// close idle clients past `timeout` (never those with subscriptions), and
/// close clients that have stayed above their soft output limit for longer
/// than allowed even though nothing new was queued for them.
async fn cron(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seconds: i64 = 0;
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        seconds += 1;
        let config = shared.config.load();
        let now = Instant::now();
        for client in shared.clients.snapshot() {
            let replica = client.flag(crate::client::REPLICA);
            let exempt = replica || client.subscribed();
            if config.timeout > 0 && !exempt && client.idle_secs() > config.timeout {
                tracing::debug!(client = client.id, "closing idle client");
                client.kill.cancel();
                continue;
            }
            let limit = if replica {
                &config.output_limit_replica
            } else if client.subscribed() {
                &config.output_limit_pubsub
            } else {
                &config.output_limit_normal
            };
            client.enforce_soft_limit(limit, now);
        }
        replication_cron(&shared, &config, seconds);
    }
}

/// What Redis' `replicationCron` does on a master: a `ping` into the
/// stream every `repl-ping-replica-period` seconds, and replicas silent for
/// longer than `repl-timeout` cut off.
fn replication_cron(shared: &Shared, config: &crate::config::Config, seconds: i64) {
    let period = config
        .number("repl-ping-replica-period")
        .unwrap_or(10)
        .max(1);
    if seconds % period == 0 && !shared.failover.holds_pings() {
        for client in shared.replication.ping(&config.output_limit_replica) {
            client.out.wake();
        }
    }
    let timeout = config.number("repl-timeout").unwrap_or(60);
    let timeout = Duration::from_secs(u64::try_from(timeout).unwrap_or(60));
    for replica in shared.replication.snapshot().replicas {
        if replica.psync && replica.ack_at.elapsed() > timeout {
            tracing::warn!(replica = %replica.ip, port = replica.port, "Disconnecting timedout replica (streaming sync)");
            replica.client.kill.cancel();
        }
    }
}

/// Errors that concern one connection only (axum's rule).
fn is_connection_error(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        err.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
