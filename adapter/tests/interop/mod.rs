//! Interop harness: a real redis-server child, socketioxide nodes served over HTTP with the
//! test event contract, Node Socket.IO nodes (`tests/node/node_server.mjs`) and
//! socket.io-client clients (`tests/node/node_client.mjs`).
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::{
    collections::{HashMap, VecDeque},
    path::PathBuf,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use respub_socketio::{Cluster, Config, FredDriver, Mode, RespubAdapter, SubscriptionMode};
use serde_json::{Value as Json, json};
use socketioxide::{
    SocketIo,
    adapter::Emitter,
    extract::{AckSender, Data, SocketRef},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::{Child, ChildStdin, Command},
    sync::{Notify, oneshot},
};

use crate::fixture::within;

pub type Io = SocketIo<RespubAdapter<Emitter>>;

/// `adapter/tests/node`, after checking that `npm ci` was run there.
pub fn node_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    for pkg in [
        "socket.io",
        "socket.io-client",
        "@socket.io/redis-adapter",
        "redis",
        "ioredis",
    ] {
        assert!(
            dir.join("node_modules")
                .join(pkg)
                .join("package.json")
                .exists(),
            "adapter/tests/node/node_modules/{pkg} is missing: run npm ci --prefix adapter/tests/node"
        );
    }
    dir
}

/// A port that was free a moment ago (for servers that must be told their port).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Reads `child`'s stdout until a line starts with `prefix`; returns that line. The rest of
/// the output keeps being drained (and echoed to stderr) in the background.
async fn wait_line(child: &mut Child, what: &str, prefix: &str) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = within(what, async {
        loop {
            match lines.next_line().await.unwrap() {
                Some(l) if l.contains(prefix) => return l,
                Some(l) => eprintln!("[{what}] {l}"),
                None => panic!("{what} exited before printing {prefix:?}"),
            }
        }
    })
    .await;
    let what = what.to_owned();
    tokio::spawn(async move {
        while let Ok(Some(l)) = lines.next_line().await {
            eprintln!("[{what}] {l}");
        }
    });
    line
}

/// A real redis-server on a free port, stopped on drop.
pub struct RedisServer {
    pub port: u16,
    child: Child,
}

impl RedisServer {
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    pub async fn start_on(port: u16) -> Self {
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server (apt-get install redis-server) could not be started");
        wait_line(&mut child, "redis-server", "Ready to accept connections").await;
        Self { port, child }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Which Redis client the Node node uses.
#[derive(Debug, Clone, Copy)]
pub enum NodeClient {
    NodeRedis,
    Ioredis,
}

impl NodeClient {
    pub fn arg(self) -> &'static str {
        match self {
            Self::NodeRedis => "node-redis",
            Self::Ioredis => "ioredis",
        }
    }
}

pub fn mode_arg(mode: Mode) -> &'static str {
    match mode {
        Mode::Classic => "classic",
        Mode::Sharded(SubscriptionMode::Static) => "static",
        Mode::Sharded(SubscriptionMode::Dynamic) => "dynamic",
        Mode::Sharded(SubscriptionMode::DynamicPrivate) => "dynamic-private",
    }
}

/// A Node Socket.IO server (`node_server.mjs`), stopped on drop.
pub struct NodeServer {
    pub port: u16,
    pub uid: String,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl NodeServer {
    pub async fn start(redis_url: &str, mode: Mode, client: NodeClient, prefix: &str) -> Self {
        Self::start_with(redis_url, mode, client, prefix, &[]).await
    }

    /// As [`Self::start`], with more arguments for `node_server.mjs` (`--specific`...).
    pub async fn start_with(
        redis_url: &str,
        mode: Mode,
        client: NodeClient,
        prefix: &str,
        extra: &[&str],
    ) -> Self {
        let dir = node_dir();
        let mut child = Command::new("node")
            .current_dir(&dir)
            .arg("node_server.mjs")
            .args([
                "--port",
                "0",
                "--redis",
                redis_url,
                "--client",
                client.arg(),
            ])
            .args(["--mode", mode_arg(mode), "--prefix", prefix])
            .args(extra)
            .stdout(Stdio::piped())
            .stdin(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node could not be started");
        let stdin = child.stdin.take();
        let line = wait_line(&mut child, "node server", "READY ").await;
        let mut parts = line.split_whitespace().skip(1);
        let port = parts.next().unwrap().parse().unwrap();
        let uid = parts.next().unwrap().to_owned();
        Self {
            port,
            uid,
            child,
            stdin,
        }
    }

    /// Kills the process at once (no adapter close): a node dying.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A socketioxide server with the adapter, on a real HTTP port, implementing the same event
/// contract as `node_server.mjs`.
pub struct RustServer {
    pub port: u16,
    pub io: Io,
    pub cluster: Cluster<FredDriver>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for RustServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn rooms_of(v: &Json, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

type Sock = SocketRef<RespubAdapter<Emitter>>;
type Ack = AckSender<RespubAdapter<Emitter>>;

fn register(s: &Sock, io: &Io, cluster: &Cluster<FredDriver>) {
    let c = cluster.clone();
    s.on(
        "join",
        async move |s: Sock, Data::<String>(room), ack: Ack| {
            s.join(room);
            c.sync_rooms("/").await.unwrap();
            ack.send("ok").unwrap();
        },
    );
    let c = cluster.clone();
    s.on(
        "leave",
        async move |s: Sock, Data::<String>(room), ack: Ack| {
            s.leave(room);
            c.sync_rooms("/").await.unwrap();
            ack.send("ok").unwrap();
        },
    );
    let c = cluster.clone();
    s.on("sync", async move |ack: Ack| {
        c.sync_rooms("/").await.unwrap();
        ack.send("ok").unwrap();
    });
    let i = io.clone();
    s.on("broadcast", async move |Data::<Json>(arg), ack: Ack| {
        let event = arg["event"].as_str().unwrap().to_owned();
        let op = i
            .to(rooms_of(&arg, "rooms"))
            .except(rooms_of(&arg, "except"));
        if arg["binary"] == true {
            let data = arg["data"].as_str().unwrap().to_owned();
            op.emit(&event, &bytes::Bytes::from(data)).await.unwrap();
        } else {
            op.emit(&event, &arg["data"]).await.unwrap();
        }
        ack.send("ok").unwrap();
    });
    let i = io.clone();
    s.on("broadcastAck", async move |Data::<Json>(arg), ack: Ack| {
        use futures_util::StreamExt;
        let event = arg["event"].as_str().unwrap().to_owned();
        let timeout = Duration::from_millis(arg["timeout"].as_u64().unwrap_or(5000));
        let stream = i
            .to(rooms_of(&arg, "rooms"))
            .timeout(timeout)
            .emit_with_ack::<_, Json>(&event, &())
            .await
            .unwrap();
        let mut answers: Vec<String> = stream
            .map(|(_, r)| match r {
                Ok(v) => v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                Err(e) => format!("error: {e}"),
            })
            .collect()
            .await;
        answers.sort();
        ack.send(&answers).unwrap();
    });
    let c = cluster.clone();
    s.on("fetch", async move |Data::<Json>(arg), ack: Ack| {
        match c.fetch_sockets("/", rooms_of(&arg, "rooms"), vec![]).await {
            Ok(got) => {
                let mut out: Vec<Json> = got
                    .into_iter()
                    .map(|s| {
                        let mut rooms = s.rooms;
                        rooms.sort();
                        json!({"id": s.id, "rooms": rooms})
                    })
                    .collect();
                out.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
                ack.send(&out).unwrap();
            }
            Err(e) => ack.send(&json!({"error": e.to_string()})).unwrap(),
        }
    });
    let i = io.clone();
    s.on("emitTo", async move |Data::<Json>(arg), ack: Ack| {
        let event = arg["event"].as_str().unwrap().to_owned();
        let sockets = i
            .within(rooms_of(&arg, "rooms"))
            .fetch_sockets()
            .await
            .unwrap();
        for s in &sockets {
            s.emit(&event, &arg["data"]).await.unwrap();
        }
        ack.send(&sockets.len()).unwrap();
    });
    let i = io.clone();
    s.on("remoteJoin", async move |Data::<Json>(arg), ack: Ack| {
        let room = arg["room"].as_str().unwrap().to_owned();
        i.within(rooms_of(&arg, "rooms")).join(room).await.unwrap();
        ack.send("ok").unwrap();
    });
    let i = io.clone();
    s.on("remoteLeave", async move |Data::<Json>(arg), ack: Ack| {
        let room = arg["room"].as_str().unwrap().to_owned();
        i.within(rooms_of(&arg, "rooms")).leave(room).await.unwrap();
        ack.send("ok").unwrap();
    });
    let i = io.clone();
    s.on(
        "remoteDisconnect",
        async move |Data::<Json>(arg), ack: Ack| {
            // Answer first: the caller may be among the sockets disconnected.
            ack.send("ok").unwrap();
            i.within(rooms_of(&arg, "rooms"))
                .disconnect()
                .await
                .unwrap();
        },
    );
    let c = cluster.clone();
    s.on("serverCount", async move |ack: Ack| {
        ack.send(&c.server_count("/").await.unwrap()).unwrap();
    });
    s.on("whoami", async move |s: Sock, ack: Ack| {
        ack.send(&json!({"id": s.id.to_string(), "node": "rust"}))
            .unwrap();
    });
}

impl RustServer {
    pub async fn start(redis_url: &str, config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_with(redis_url, config, listener).await
    }

    pub async fn start_with(
        redis_url: &str,
        config: Config,
        listener: tokio::net::TcpListener,
    ) -> Self {
        let driver = within("driver connect", FredDriver::connect(redis_url))
            .await
            .unwrap();
        let cluster = Cluster::new(driver, config);
        let (svc, io) = SocketIo::builder()
            .with_adapter::<RespubAdapter<_>>(cluster.clone())
            .build_svc();
        let (i, c) = (io.clone(), cluster.clone());
        within(
            "namespace init",
            io.ns("/", move |s: Sock| {
                register(&s, &i, &c);
                async {}
            }),
        )
        .await
        .unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, mut stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
                    _ = &mut stopped => return,
                };
                let svc = svc.clone();
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Self {
            port,
            io,
            cluster,
            stop: Some(stop),
        }
    }
}

/// What a client process reported.
#[derive(Debug, Clone, PartialEq)]
pub enum Ev {
    Event(String, Json),
    Disconnect(String),
}

#[derive(Default)]
struct Inbox {
    events: HashMap<String, VecDeque<Ev>>,
    replies: HashMap<u64, Json>,
    connected: HashMap<String, Result<String, String>>,
}

/// socket.io-client clients living in one Node process (`node_client.mjs`).
pub struct Clients {
    child: Child,
    stdin: ChildStdin,
    inbox: Arc<(Mutex<Inbox>, Notify)>,
    seq: u64,
}

impl Clients {
    pub async fn start() -> Self {
        let dir = node_dir();
        let mut child = Command::new("node")
            .current_dir(&dir)
            .arg("node_client.mjs")
            .stdout(Stdio::piped())
            .stdin(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node could not be started");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let inbox: Arc<(Mutex<Inbox>, Notify)> = Arc::default();
        let ib = inbox.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if std::env::var_os("INTEROP_DEBUG").is_some() {
                    eprintln!("[clients] {line}");
                }
                let v: Json = serde_json::from_str(&line).unwrap();
                let name = v["name"].as_str().unwrap_or_default().to_owned();
                {
                    let mut inbox = ib.0.lock().unwrap();
                    match v["ev"].as_str().unwrap() {
                        "connected" => {
                            let id = v["id"].as_str().unwrap().to_owned();
                            inbox.connected.insert(name, Ok(id));
                        }
                        "connect_error" => {
                            let m = v["message"].to_string();
                            inbox.connected.insert(name, Err(m));
                        }
                        "reply" => {
                            inbox
                                .replies
                                .insert(v["seq"].as_u64().unwrap(), v["data"].clone());
                        }
                        "event" => {
                            let mut ev = vec![v["event"].clone()];
                            ev.extend(v["args"].as_array().unwrap().iter().cloned());
                            let ev = Ev::Event(v["event"].as_str().unwrap().into(), ev.into());
                            inbox.events.entry(name).or_default().push_back(ev);
                        }
                        "disconnect" => {
                            let ev = Ev::Disconnect(v["reason"].as_str().unwrap().into());
                            inbox.events.entry(name).or_default().push_back(ev);
                        }
                        _ => eprintln!("[clients] {line}"),
                    }
                }
                ib.1.notify_waiters();
            }
        });
        Self {
            child,
            stdin,
            inbox,
            seq: 0,
        }
    }

    async fn send(&mut self, v: Json) {
        let line = format!("{v}\n");
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// Waits until `pick` finds something in the inbox.
    async fn wait<T>(&self, what: &str, mut pick: impl FnMut(&mut Inbox) -> Option<T>) -> T {
        within(what, async {
            loop {
                let notified = self.inbox.1.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(t) = pick(&mut self.inbox.0.lock().unwrap()) {
                    return t;
                }
                notified.await;
            }
        })
        .await
    }

    /// Connects client `name` to the server on `port`; returns its socket id.
    pub async fn connect(&mut self, name: &str, port: u16) -> String {
        let url = format!("http://127.0.0.1:{port}");
        self.send(json!({"op": "connect", "name": name, "url": url}))
            .await;
        let got = self
            .wait(&format!("{name} to connect"), |i| i.connected.remove(name))
            .await;
        got.unwrap_or_else(|e| panic!("{name} could not connect to {port}: {e}"))
    }

    /// Emits `event` with `arg` and an ack from client `name`; returns the ack's argument.
    pub async fn call(&mut self, name: &str, event: &str, arg: Json) -> Json {
        self.seq += 1;
        let seq = self.seq;
        self.send(json!({"op": "call", "name": name, "seq": seq, "event": event, "arg": arg}))
            .await;
        self.wait(&format!("{name}'s {event} reply"), |i| {
            i.replies.remove(&seq)
        })
        .await
    }

    /// Emits `event` with `arg` from client `name`, without an ack.
    pub async fn emit(&mut self, name: &str, event: &str, arg: Json) {
        self.send(json!({"op": "emit", "name": name, "event": event, "arg": arg}))
            .await;
    }

    /// The next thing client `name` got (an event `[name, ...args]`, or a disconnect).
    pub async fn next(&mut self, name: &str) -> Ev {
        self.wait(&format!("an event for {name}"), |i| {
            i.events.get_mut(name).and_then(VecDeque::pop_front)
        })
        .await
    }

    /// The next event of client `name` as `[event, ...args]`.
    pub async fn event(&mut self, name: &str) -> Json {
        match self.next(name).await {
            Ev::Event(_, v) => v,
            Ev::Disconnect(r) => panic!("{name} disconnected ({r}) while waiting for an event"),
        }
    }

    /// True when client `name` has nothing pending.
    pub fn idle(&self, name: &str) -> bool {
        self.inbox
            .0
            .lock()
            .unwrap()
            .events
            .get(name)
            .is_none_or(VecDeque::is_empty)
    }

    pub async fn close(&mut self, name: &str) {
        self.send(json!({"op": "close", "name": name})).await;
    }
}
