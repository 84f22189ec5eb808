//! Accept loops, connection limit, accept-error policy, the once-a-second
//! client cron, and shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client::Client;
use crate::config::Config;
use crate::connection;
use crate::error::Error;
use crate::session::Shared;
use crate::stats::Stats;

/// A socket that clients connect to.
#[derive(Debug)]
pub enum Listener {
    /// A TCP listener (`bind` and `port`).
    Tcp(TcpListener),
    /// A Unix socket listener (`unixsocket`).
    Unix(UnixListener),
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
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let mut port = 0;
    for l in &listeners {
        match l {
            Listener::Tcp(l) => {
                let addr = l.local_addr()?;
                port = if port == 0 { addr.port() } else { port };
                tracing::info!(%addr, "ready to accept connections");
            }
            Listener::Unix(l) => {
                let addr = l.local_addr()?;
                tracing::info!(path = ?addr.as_pathname(), "ready to accept connections on the unix socket");
            }
        }
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
    let shared = Arc::new(Shared::new(config, port, token.clone()));
    if let Some(path) = aclfile {
        shared.acl.load_file(&path).map_err(|e| {
            Error::Acl(format!("Aborting Redis startup because of ACL errors: {e}"))
        })?;
    }
    let tracker = TaskTracker::new();
    for listener in listeners {
        tracker.spawn(accept_loop(listener, Arc::clone(&shared), tracker.clone()));
    }
    tracker.spawn(cron(Arc::clone(&shared)));
    tokio::select! {
        () = shutdown => {}
        () = shared.stop.cancelled() => {}
    }
    tracing::info!("shutting down: no new connections, flushing clients");
    token.cancel();
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
    Ok(())
}

async fn accept_loop(listener: Listener, shared: Arc<Shared>, tracker: TaskTracker) {
    loop {
        let accepted = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            accepted = accept(&listener) => accepted,
        };
        match accepted {
            Ok(Accepted::Tcp(socket)) => {
                let _ = socket.set_nodelay(true);
                let keepalive = shared.config.load().tcp_keepalive;
                if keepalive > 0 {
                    let ka = socket2::TcpKeepalive::new().with_time(Duration::from_secs(keepalive));
                    let _ = socket2::SockRef::from(&socket).set_tcp_keepalive(&ka);
                }
                let addr = socket
                    .peer_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                let laddr = socket
                    .local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                admit(socket, addr, laddr, &shared, &tracker);
            }
            Ok(Accepted::Unix(socket)) => {
                // Redis shows Unix clients as `<path>:0`.
                let path = socket
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
                    .unwrap_or_default();
                admit(
                    socket,
                    format!("{path}:0"),
                    format!("{path}:0"),
                    &shared,
                    &tracker,
                );
            }
            Err(err) if is_connection_error(&err) => {}
            Err(err) => {
                // Out of file descriptors and the like: back off and keep going.
                tracing::error!(%err, "accept failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

enum Accepted {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn accept(listener: &Listener) -> std::io::Result<Accepted> {
    match listener {
        Listener::Tcp(l) => l.accept().await.map(|(s, _)| Accepted::Tcp(s)),
        Listener::Unix(l) => l.accept().await.map(|(s, _)| Accepted::Unix(s)),
    }
}

fn admit<S>(socket: S, addr: String, laddr: String, shared: &Arc<Shared>, tracker: &TaskTracker)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    Stats::add(&shared.stats.connections_received, 1);
    if shared.clients.len() >= shared.config.load().maxclients {
        Stats::add(&shared.stats.rejected_connections, 1);
        tracker.spawn(async move {
            let mut socket = socket;
            let _ = socket
                .write_all(b"-ERR max number of clients reached\r\n")
                .await;
            let _ = socket.shutdown().await;
        });
        return;
    }
    let client = Arc::new(Client::new(
        shared.clients.next_id(),
        addr,
        laddr,
        Arc::clone(&shared.stats),
    ));
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
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let config = shared.config.load();
        let now = Instant::now();
        for client in shared.clients.snapshot() {
            if config.timeout > 0 && !client.subscribed() && client.idle_secs() > config.timeout {
                tracing::debug!(client = client.id, "closing idle client");
                client.kill.cancel();
                continue;
            }
            let limit = if client.subscribed() {
                &config.output_limit_pubsub
            } else {
                &config.output_limit_normal
            };
            client.enforce_soft_limit(limit, now);
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
