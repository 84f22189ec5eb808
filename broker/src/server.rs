//! The accept loop: connection limit, accept-error policy and shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client::Client;
use crate::config::Config;
use crate::connection;
use crate::error::Error;
use crate::session::Shared;
use crate::stats::Stats;

/// Serves clients on `listener` until `shutdown` completes, then stops
/// accepting, lets every connection flush what is queued for it (up to
/// `config.shutdown_timeout`), and returns.
///
/// # Errors
///
/// Only if the listener's own address cannot be read; per-client failures
/// are handled on their connection.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let local = listener.local_addr()?;
    let token = CancellationToken::new();
    let mut config = config;
    config.port = local.port();
    let shared = Arc::new(Shared::new(config, token.clone()));
    tracing::info!(addr = %local, "ready to accept connections");
    let tracker = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => accept(socket, &shared, &tracker),
                Err(err) if is_connection_error(&err) => {}
                Err(err) => {
                    // Out of file descriptors and the like: back off and keep going.
                    tracing::error!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
        }
    }
    tracing::info!("shutting down: no new connections, flushing clients");
    drop(listener);
    token.cancel();
    tracker.close();
    if tokio::time::timeout(shared.config.shutdown_timeout, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("shutdown deadline reached; closing the remaining clients");
        shared.clients.kill_all();
        tracker.wait().await;
    }
    Ok(())
}

fn accept(socket: TcpStream, shared: &Arc<Shared>, tracker: &TaskTracker) {
    Stats::add(&shared.stats.connections_received, 1);
    let _ = socket.set_nodelay(true);
    if shared.clients.len() >= shared.config.maxclients {
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
    let addr = socket
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let laddr = socket
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let client = Arc::new(Client::new(
        shared.clients.next_id(),
        addr,
        laddr,
        Arc::clone(&shared.config),
        Arc::clone(&shared.stats),
    ));
    // Registered before the task starts so that the maxclients check above
    // sees every accepted client, even one not yet scheduled.
    shared.clients.insert(Arc::clone(&client));
    tracker.spawn(connection::serve(socket, client, Arc::clone(shared)));
}

/// Errors that concern one connection only (axum's rule).
fn is_connection_error(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        err.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
