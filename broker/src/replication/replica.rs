//! The task that follows a master (`REPLICAOF host port`): connects,
//! runs the [`Link`](super::link::Link) over the socket, delivers the
//! stream's PUBLISH and SPUBLISH to this server's subscribers, passes the
//! stream on to sub-replicas, acknowledges every second, and reconnects a
//! second after a lost link, continuing where it stopped.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::LinkState;
use super::link::{Event, Identity, Link};
use crate::registry::Fanout;
use crate::session::Shared;

/// Starts following `host:port` until `cancel`.
pub(crate) fn spawn(shared: Arc<Shared>, host: String, port: u16, cancel: CancellationToken) {
    tokio::spawn(async move {
        loop {
            shared.replication.link_state(LinkState::Connecting);
            let why = follow(&shared, &host, port, &cancel).await;
            if cancel.is_cancelled() {
                return;
            }
            tracing::warn!(master = %format!("{host}:{port}"), %why, "master link lost; reconnecting");
            shared.replication.link_state(LinkState::Connect);
            // Redis' replicationCron runs every 100 ms while failing over.
            let handing_over = shared.failover.phase() == Some(super::failover::Phase::InProgress);
            let retry = Duration::from_millis(if handing_over { 100 } else { 1000 });
            tokio::select! {
                () = cancel.cancelled() => return,
                () = shared.shutdown.cancelled() => return,
                () = tokio::time::sleep(retry) => {}
            }
        }
    });
}

fn identity(shared: &Shared) -> Identity {
    let config = shared.config.load();
    let text = |name: &str| config.get(name).filter(|v| !v.is_empty());
    let announced_port = config
        .number("replica-announce-port")
        .and_then(|p| u16::try_from(p).ok())
        .filter(|&p| p != 0);
    Identity {
        auth: text("masterauth").map(|pass| (text("masteruser"), pass)),
        port: announced_port
            .unwrap_or_else(|| shared.port.load(std::sync::atomic::Ordering::Relaxed)),
        ip: text("replica-announce-ip"),
    }
}

/// One connection to the master, until it fails; the reason.
async fn follow(shared: &Arc<Shared>, host: &str, port: u16, cancel: &CancellationToken) -> String {
    let timeout = Duration::from_secs(
        shared
            .config
            .load()
            .number("repl-timeout")
            .and_then(|t| u64::try_from(t).ok())
            .unwrap_or(60),
    );
    let mut socket = match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(Ok(socket)) => socket,
        Ok(Err(e)) => return format!("can't connect: {e}"),
        Err(_) => return "timeout connecting".into(),
    };
    let _ = socket.set_nodelay(true);
    shared.replication.link_state(LinkState::Handshake);
    let mut link = Link::new(identity(shared), shared.replication.cached());
    if shared.failover.phase() == Some(super::failover::Phase::InProgress) {
        link.hand_over();
    }
    let mut fanout = Fanout::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    if let Event::Send(first) = link.start() {
        if let Err(e) = socket.write_all(&first).await {
            return format!("write: {e}");
        }
    }
    loop {
        let read = tokio::select! {
            () = cancel.cancelled() => return "replication stopped".into(),
            () = shared.shutdown.cancelled() => return "shutting down".into(),
            _ = tick.tick() => {
                if let Some(ack) = link.ack() {
                    if let Err(e) = socket.write_all(&ack).await {
                        return format!("write: {e}");
                    }
                }
                continue;
            }
            read = tokio::time::timeout(timeout, socket.read(&mut buf)) => read,
        };
        let n = match read {
            Ok(Ok(0)) => return "closed by the master".into(),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return format!("read: {e}"),
            Err(_) => return "timeout: no data from the master".into(),
        };
        shared.replication.touched();
        let events = link.receive(buf.get(..n).unwrap_or_default());
        let config = shared.config.load();
        for event in events {
            match apply(shared, &config, event, &mut fanout) {
                Ok(Some(bytes)) => {
                    if let Err(e) = socket.write_all(&bytes).await {
                        if link.awaiting_psync() {
                            super::failover::abort(shared, "Write error to failover target");
                        }
                        return format!("write: {e}");
                    }
                }
                Ok(None) => {}
                Err(why) => return why,
            }
        }
        for client in fanout.wake.drain(..) {
            client.out.wake();
        }
    }
}

/// What one event means for this server; bytes to send to the master.
fn apply(
    shared: &Arc<Shared>,
    config: &crate::config::Config,
    event: Event,
    fanout: &mut Fanout,
) -> Result<Option<Bytes>, String> {
    match event {
        Event::Send(bytes) => return Ok(Some(bytes)),
        Event::Fail(why) => return Err(why),
        Event::Rejected(why) => {
            super::failover::abort(shared, "Failover target rejected psync request");
            return Err(why);
        }
        Event::Synced {
            replid,
            offset,
            full,
        } => {
            let size = config
                .number("repl-backlog-size")
                .and_then(|b| usize::try_from(b).ok())
                .unwrap_or(1 << 20);
            for client in shared.replication.synced(&replid, offset, full, size) {
                client.kill.cancel();
            }
            // Over before the link counts as up, as in Redis.
            super::failover::finished(shared);
            shared.replication.link_state(LinkState::Connected);
            tracing::info!(%replid, offset, full, "MASTER <-> REPLICA sync: Finished with success");
        }
        Event::Command { argv, raw } => {
            if let [name, channel, message] = argv.as_slice() {
                let sharded = name.eq_ignore_ascii_case(b"spublish");
                if sharded || name.eq_ignore_ascii_case(b"publish") {
                    let limit = config.output_limit_pubsub;
                    let registry = &shared.registry;
                    let delivered = if sharded {
                        registry.spublish(channel, message, 0, &limit, fanout)
                    } else {
                        registry.publish(channel, message, 0, &limit, fanout)
                    };
                    crate::stats::Stats::add(&shared.stats.messages_published, 1);
                    crate::stats::Stats::add(&shared.stats.messages_delivered, delivered as u64);
                }
            }
            shared
                .replication
                .proxy(raw, &config.output_limit_replica, &mut fanout.wake);
        }
    }
    Ok(None)
}
