//! A small chat over a cluster of Socket.IO servers sharing rooms through respub (or any
//! Redis), with the `respub-socketio` adapter.
//!
//! ```text
//! npm ci --prefix adapter/tests/node        # the official browser client, once
//! cargo run -p respub-socketio --example chat -- --port 3001 --redis redis://127.0.0.1:6379
//! cargo run -p respub-socketio --example chat -- --port 3002 --redis redis://127.0.0.1:6379
//! ```
//!
//! Open <http://127.0.0.1:3001/> and <http://127.0.0.1:3002/>. The page loads
//! `/socket.io.min.js`, served from `socket.io-client/dist/socket.io.min.js` in
//! `adapter/tests/node/node_modules` (or the file named by `--client-js`). Options:
//! `--mode classic|static|dynamic|dynamic-private` (default classic), `--prefix` (default
//! `socket.io`, the Node adapter's default, so Node servers can join the same chat).
//! Behind Redis Sentinel, `--redis` takes fred's Sentinel URL, every address a sentinel:
//! `redis-sentinel://HOST:PORT/0?sentinelServiceName=mymaster&node=HOST:PORT&node=HOST:PORT`;
//! the servers then follow a failover without a restart.
//!
//! Event contract (any Socket.IO client):
//! * `join` (room, ack) -> the socket joins `room`; ack("ok")
//! * `chat` ({room, text}) -> every socket in `room`, on every server, gets
//!   `chat` {room, text, from: <socket id>, node: <port>}
//! * `who` (room, ack) -> ack(sorted socket ids in `room` across the cluster)
//! * `leave` (room, ack) -> the socket leaves `room`; ack("ok")
//! * `nodes` (ack) -> ack(sorted ports of every chat server, this one included): a
//!   server-side `node-info` to the others, answered by each
//!
//! Server-side events (between servers, Node's `io.serverSideEmit`):
//! * `node-info` (ack) -> ack({node: <port>}). Any server of the cluster, Node or Rust,
//!   gets one answer per chat server with `await io.serverSideEmitWithAck("node-info")`.
#![allow(missing_docs)]

use std::{convert::Infallible, path::PathBuf, sync::Arc};

use bytes::Bytes;
use http_body_util::Full;
use respub_socketio::{Cluster, Config, FredDriver, Mode, RespubAdapter, SubscriptionMode};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use socketioxide::{
    SocketIo,
    adapter::Emitter,
    extract::{AckSender, Data, SocketRef},
};

type Sock = SocketRef<RespubAdapter<Emitter>>;
type Ack = AckSender<RespubAdapter<Emitter>>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>respub chat</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}#log{border:1px solid #ccc;height:20em;overflow:auto;padding:.5em}</style>
</head><body>
<h1>respub chat <small id="me"></small></h1>
<p><input id="room" value="lobby"> <button id="join">join</button> <button id="leave">leave</button> <button id="who">who</button> <button id="nodes">servers</button></p>
<div id="log"></div>
<p><input id="text" size="40"> <button id="send">send</button></p>
<script src="/socket.io.min.js"></script>
<script>
// ?transports=polling (or websocket, or polling,websocket) picks socket.io-client's transports.
const transports = new URLSearchParams(location.search).get("transports");
const socket = io(transports ? { transports: transports.split(",") } : {});
const $ = (id) => document.getElementById(id);
const log = (line) => { const p = document.createElement("div"); p.textContent = line; $("log").append(p); $("log").scrollTop = 1e9; };
socket.on("connect", () => { $("me").textContent = socket.id; log("connected as " + socket.id); });
socket.on("chat", (m) => log(`[${m.room}] ${m.from}@${m.node}: ${m.text}`));
$("join").onclick = () => socket.emit("join", $("room").value, (r) => log("join: " + r));
$("leave").onclick = () => socket.emit("leave", $("room").value, (r) => log("leave: " + r));
$("who").onclick = () => socket.emit("who", $("room").value, (ids) => log("who: " + JSON.stringify(ids)));
$("nodes").onclick = () => socket.emit("nodes", (ports) => log("servers: " + JSON.stringify(ports)));
$("send").onclick = () => { socket.emit("chat", { room: $("room").value, text: $("text").value }); $("text").value = ""; };
</script></body></html>
"#;

/// Where the browser client is read from by default.
pub fn default_client_js() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/node/node_modules/socket.io-client/dist/socket.io.min.js")
}

#[derive(Debug, Deserialize)]
struct ChatIn {
    room: String,
    text: String,
}

fn register(
    s: &Sock,
    io: &SocketIo<RespubAdapter<Emitter>>,
    cluster: &Cluster<FredDriver>,
    port: u16,
) {
    let c = cluster.clone();
    s.on(
        "join",
        async move |s: Sock, Data::<String>(room), ack: Ack| {
            s.join(room);
            // Sharded dynamic modes: subscribe the room's channel before answering.
            let reply = match c.sync_rooms("/").await {
                Ok(()) => "ok".to_owned(),
                Err(e) => format!("error: {e}"),
            };
            let _ = ack.send(&reply);
        },
    );
    let c = cluster.clone();
    s.on(
        "leave",
        async move |s: Sock, Data::<String>(room), ack: Ack| {
            s.leave(room);
            let reply = match c.sync_rooms("/").await {
                Ok(()) => "ok".to_owned(),
                Err(e) => format!("error: {e}"),
            };
            let _ = ack.send(&reply);
        },
    );
    let io = io.clone();
    s.on("chat", async move |s: Sock, Data::<ChatIn>(msg)| {
        let out =
            json!({"room": msg.room, "text": msg.text, "from": s.id.to_string(), "node": port});
        if let Err(e) = io.to(msg.room).emit("chat", &out).await {
            eprintln!("chat: broadcast failed: {e}");
        }
    });
    register_nodes(s, cluster, port);
    let c = cluster.clone();
    s.on("who", async move |Data::<String>(room), ack: Ack| {
        match c.fetch_sockets("/", vec![room], vec![]).await {
            Ok(sockets) => {
                let mut ids: Vec<String> = sockets.into_iter().map(|s| s.id).collect();
                ids.sort();
                let _ = ack.send(&ids);
            }
            Err(e) => {
                let _ = ack.send(&json!({"error": e.to_string()}));
            }
        }
    });
}

/// `nodes`: asks every other server for its port with the server-side event `node-info`.
fn register_nodes(s: &Sock, cluster: &Cluster<FredDriver>, port: u16) {
    let c = cluster.clone();
    s.on("nodes", async move |ack: Ack| {
        let timeout = c.config().request_timeout;
        match c
            .server_side_emit_with_ack("/", "node-info", vec![], timeout)
            .await
        {
            Ok(answers) => {
                let mut ports: Vec<Json> = answers
                    .into_iter()
                    .filter_map(|a| a.get("node").cloned())
                    .collect();
                ports.push(json!(port));
                ports.sort_by_key(Json::as_u64);
                let _ = ack.send(&ports);
            }
            Err(e) => {
                let _ = ack.send(&json!({"error": e.to_string()}));
            }
        }
    });
}

fn respond(status: u16, kind: &str, body: impl Into<Bytes>) -> http::Response<Full<Bytes>> {
    let mut res = http::Response::new(Full::new(body.into()));
    *res.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    if let Ok(v) = http::HeaderValue::from_str(kind) {
        res.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    res
}

/// Serves the chat on `listener` until the process ends.
///
/// # Errors
/// Fails when the Redis connection or the namespace set-up fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    redis: &str,
    config: Config,
    client_js: PathBuf,
) -> Result<(), BoxError> {
    let port = listener.local_addr()?.port();
    let driver = FredDriver::connect(redis).await?;
    let cluster = Cluster::new(driver, config);
    // Other servers ask who is in the cluster; socketioxide has no server-side events, so
    // the handler is the adapter's (see `Cluster::on_server_side`).
    cluster.on_server_side("/", "node-info", move |ev| async move {
        if let Some(ack) = ev.ack {
            ack.send(json!({"node": port}));
        }
    });
    let client_js = Arc::new(client_js);
    let pages = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let client_js = client_js.clone();
        async move {
            Ok::<_, Infallible>(match req.uri().path() {
                "/" => respond(200, "text/html; charset=utf-8", PAGE),
                "/socket.io.min.js" => match tokio::fs::read(client_js.as_path()).await {
                    Ok(js) => respond(200, "application/javascript", js),
                    Err(_) => respond(
                        404,
                        "text/plain",
                        "socket.io.min.js not found: run npm ci --prefix adapter/tests/node",
                    ),
                },
                _ => respond(404, "text/plain", "not found"),
            })
        }
    });
    let (svc, io) = SocketIo::builder()
        .with_adapter::<RespubAdapter<_>>(cluster.clone())
        .build_with_inner_svc(pages);
    let (i, c) = (io.clone(), cluster.clone());
    io.ns("/", move |s: Sock| {
        register(&s, &i, &c, port);
        async {}
    })
    .await?;
    println!("chat listening on http://127.0.0.1:{port}/");
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let svc = svc.clone();
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
        });
    }
}

/// Parses `--mode`.
pub fn parse_mode(s: &str) -> Option<Mode> {
    Some(match s {
        "classic" => Mode::Classic,
        "static" => Mode::Sharded(SubscriptionMode::Static),
        "dynamic" => Mode::Sharded(SubscriptionMode::Dynamic),
        "dynamic-private" => Mode::Sharded(SubscriptionMode::DynamicPrivate),
        _ => return None,
    })
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut port = 3001u16;
    let mut redis = "redis://127.0.0.1:6379".to_owned();
    let mut config = Config::default();
    let mut client_js = default_client_js();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--port" => port = value()?.parse()?,
            "--redis" => redis = value()?,
            "--prefix" => config = config.with_prefix(value()?),
            "--mode" => {
                let v = value()?;
                let mode = parse_mode(&v).ok_or_else(|| format!("unknown mode {v}"))?;
                config = config.with_mode(mode);
            }
            "--client-js" => client_js = PathBuf::from(value()?),
            "-h" | "--help" => {
                println!(
                    "chat [--port 3001] [--redis redis://127.0.0.1:6379 | redis-sentinel://HOST:PORT/0?sentinelServiceName=NAME&node=HOST:PORT...] [--mode classic|static|dynamic|dynamic-private] [--prefix socket.io] [--client-js PATH]"
                );
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if !client_js.exists() {
        eprintln!(
            "warning: {} is missing (run npm ci --prefix adapter/tests/node): the page will not load its client",
            client_js.display()
        );
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    serve(listener, &redis, config, client_js).await
}
