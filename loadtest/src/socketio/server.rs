//! The Rust Socket.IO node the load tester starts for `--stack respub` and
//! `--stack rust-redis`: socketioxide with the `respub-socketio` adapter
//! (classic or sharded, the protocols of Node's `@socket.io/redis-adapter`), run
//! as `respub-loadtest sio-node` in a child process of its own so that its
//! CPU and memory are measured apart from the load tester's.
//!
//! `loadtest/node/sio_node.mjs` implements the same event contract for
//! Node:
//!
//! ```text
//! join (room) + ack        -> socket joins room; ack "ok"
//! leave (room) + ack       -> socket leaves room; ack "ok"
//! emit (room, payload)     -> io.to(room).emit("m", payload)
//! broadcast (payload)      -> io.emit("m", payload)
//! ackcast (payload) + ack  -> io.timeout(T).emit("q", payload) with acks;
//!                             ack the number of answers
//! ```
//!
//! It prints `READY <port>` once the adapter's subscriptions are confirmed
//! by the broker and the listener is bound, and exits when its standard
//! input reaches end-of-file, which is also what happens when the load
//! tester dies.

use std::io::Write as _;
use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Context, anyhow};
use futures_util::StreamExt;
use respub_socketio::{Cluster, Config, FredDriver, Mode, RespubAdapter};
use serde_json::Value as Json;
use socketioxide::SocketIo;
use socketioxide::adapter::Emitter;
use socketioxide::extract::{AckSender, Data, SocketRef};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

type Sock = SocketRef<RespubAdapter<Emitter>>;
type Ack = AckSender<RespubAdapter<Emitter>>;
type Io = SocketIo<RespubAdapter<Emitter>>;

/// Packets a socket may have queued before socketioxide refuses more (its
/// default is 128). Node's `socket.io` queues without a limit, so a low cap
/// would count a burst of fan-out as loss on the Rust side only.
const SOCKET_BUFFER: usize = 16 * 1024;

/// Runs the node until stdin closes, listening on `port` (0: a free one;
/// the `node-failure` scenario restarts a node on its old port).
pub(crate) async fn serve(
    redis: &str,
    ack_timeout: Duration,
    mode: Mode,
    port: u16,
) -> anyhow::Result<()> {
    let driver = FredDriver::connect(redis)
        .await
        .with_context(|| format!("connecting to the broker at {redis}"))?;
    let config = Config {
        mode,
        ..Config::default()
    };
    let cluster = Cluster::new(driver, config);
    let (svc, io) = SocketIo::builder()
        .max_buffer_size(SOCKET_BUFFER)
        .with_adapter::<RespubAdapter<_>>(cluster.clone())
        .build_svc();
    let (i, c) = (io.clone(), cluster.clone());
    io.ns("/", move |s: Sock| {
        register(&s, &i, &c, ack_timeout);
        async {}
    })
    .await
    .map_err(|e| anyhow!("subscribing the adapter: {e}"))?;
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let port = listener.local_addr()?.port();
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY {port}")?;
    out.flush()?;
    drop(out);
    let accept = async {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of descriptors, typically: say so, keep serving the others.
                    tracing::warn!(%e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let svc = svc.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .with_upgrades()
                    .await;
            });
        }
    };
    tokio::select! {
        () = accept => Ok(()),
        () = stdin_closed() => Ok(()),
    }
}

async fn stdin_closed() {
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
}

fn register(s: &Sock, io: &Io, cluster: &Cluster<FredDriver>, ack_timeout: Duration) {
    for (event, join) in [("join", true), ("leave", false)] {
        let c = cluster.clone();
        s.on(
            event,
            async move |s: Sock, Data::<String>(room), ack: Ack| {
                if join {
                    s.join(room);
                } else {
                    s.leave(room);
                }
                // A no-op in classic mode; the sharded dynamic modes
                // subscribe the room's channel here.
                let reply = match c.sync_rooms("/").await {
                    Ok(()) => "ok".to_owned(),
                    Err(e) => format!("error: {e}"),
                };
                let _ = ack.send(&reply);
            },
        );
    }
    // socketioxide 0.18 runs every async handler as a task of its own, so
    // two emits of one client could broadcast in either order. Node handles
    // a connection's packets in order; so does this node: the handlers
    // below are plain closures, called in arrival order, that queue the
    // work for one task per socket.
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(forward(rx, io.clone(), ack_timeout));
    let t = tx.clone();
    s.on("emit", move |Data::<(String, Json)>((room, payload))| {
        let _ = t.send(Job::Room(room, payload));
        async {}
    });
    let t = tx.clone();
    s.on("broadcast", move |Data::<Json>(payload)| {
        let _ = t.send(Job::All(payload));
        async {}
    });
    s.on("ackcast", move |Data::<Json>(payload), ack: Ack| {
        let _ = tx.send(Job::WithAcks(payload, ack));
        async {}
    });
}

/// Broadcasts one socket asked for.
enum Job {
    Room(String, Json),
    All(Json),
    WithAcks(Json, Ack),
}

/// Runs one socket's broadcasts in order; ends with the socket (its
/// handlers hold the senders).
async fn forward(mut jobs: mpsc::UnboundedReceiver<Job>, io: Io, ack_timeout: Duration) {
    while let Some(job) = jobs.recv().await {
        let sent = match job {
            Job::Room(room, payload) => io.to(room).emit("m", &payload).await,
            Job::All(payload) => io.emit("m", &payload).await,
            Job::WithAcks(payload, ack) => {
                with_acks(&io, &payload, ack, ack_timeout).await;
                continue;
            }
        };
        if let Err(e) = sent {
            tracing::warn!(%e, "broadcast failed");
        }
    }
}

/// Broadcasts `payload` as `q` with acks and answers `ack` with the number
/// of client answers. The answers come in over up to `timeout`: they are
/// counted aside, so that the socket's next broadcast goes out now.
async fn with_acks(io: &Io, payload: &Json, ack: Ack, timeout: Duration) {
    match io
        .timeout(timeout)
        .emit_with_ack::<_, Json>("q", payload)
        .await
    {
        Ok(stream) => {
            tokio::spawn(async move {
                let answers = stream
                    .filter(|(_, r)| std::future::ready(r.is_ok()))
                    .count()
                    .await;
                let _ = ack.send(&answers);
            });
        }
        Err(e) => {
            tracing::warn!(%e, "broadcast with acks failed");
            let _ = ack.send(&0);
        }
    }
}
