//! A socketioxide server with the adapter implementing the test event contract.

use std::time::Duration;

use respub_socketio::{Cluster, Config, FredDriver, RespubAdapter};
use serde_json::{Value as Json, json};
use socketioxide::{
    SocketIo,
    adapter::Emitter,
    extract::{AckSender, Data, SocketRef},
};
use tokio::sync::oneshot;

use super::Io;
use crate::fixture::within;

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
        // The handlers hold `io`, which holds the cluster: let it go.
        for event in SERVER_SIDE_EVENTS {
            self.cluster.off_server_side("/", event);
        }
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

/// The event contract of `node_server.mjs`, in four groups.
fn register(s: &Sock, io: &Io, cluster: &Cluster<FredDriver>) {
    register_rooms(s, cluster);
    register_broadcasts(s, io);
    register_remote(s, io, cluster);
    register_server_side_calls(s, cluster);
}

const SERVER_SIDE_EVENTS: [&str; 3] = ["node-info", "echo", "relay"];

/// Arguments of run-time length, emitted as that many arguments (socketioxide takes a
/// tuple as several arguments).
struct Args(Vec<Json>);

impl serde::Serialize for Args {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(self.0.len())?;
        for a in &self.0 {
            t.serialize_element(a)?;
        }
        t.end()
    }
}

/// The server-side events of `node_server.mjs`: `node-info` answers `{node: port}`;
/// `echo` is reported to this server's clients as `serverSide` and answered with
/// `{node: "rust", port, args}`; `relay` is emitted to this server's clients as `relayed`
/// with the same arguments.
fn register_server_side(io: &Io, cluster: &Cluster<FredDriver>, port: u16) {
    cluster.on_server_side("/", "node-info", move |ev| async move {
        if let Some(ack) = ev.ack {
            ack.send(json!({"node": port}));
        }
    });
    let i = io.clone();
    cluster.on_server_side("/", "echo", move |ev| {
        let i = i.clone();
        async move {
            let report = json!({"event": ev.event, "args": ev.args, "ack": ev.ack.is_some()});
            if let Some(ack) = ev.ack {
                ack.send(json!({"node": "rust", "port": port, "args": ev.args}));
            }
            let _ = i.local().emit("serverSide", &report).await;
        }
    });
    let i = io.clone();
    cluster.on_server_side("/", "relay", move |ev| {
        let i = i.clone();
        async move {
            let _ = i.local().emit("relayed", &Args(ev.args)).await;
        }
    });
}

fn sorted_by_json(mut answers: Vec<Json>) -> Vec<Json> {
    answers.sort_by_key(Json::to_string);
    answers
}

fn event_and_args(arg: &Json) -> (String, Vec<Json>) {
    let event = arg["event"].as_str().unwrap().to_owned();
    (event, arg["args"].as_array().cloned().unwrap_or_default())
}

/// `serverSideEmit`, `serverSideEmitWithAck`: server-side events to the other servers.
fn register_server_side_calls(s: &Sock, cluster: &Cluster<FredDriver>) {
    let c = cluster.clone();
    s.on(
        "serverSideEmit",
        async move |Data::<Json>(arg), ack: Ack| {
            let (event, args) = event_and_args(&arg);
            c.server_side_emit("/", &event, args).await.unwrap();
            ack.send("ok").unwrap();
        },
    );
    let c = cluster.clone();
    s.on(
        "serverSideEmitWithAck",
        async move |Data::<Json>(arg), ack: Ack| {
            let (event, args) = event_and_args(&arg);
            let timeout = c.config().request_timeout;
            match c
                .server_side_emit_with_ack("/", &event, args, timeout)
                .await
            {
                Ok(answers) => ack.send(&sorted_by_json(answers)).unwrap(),
                Err(e) => ack.send(&json!({"error": e.to_string()})).unwrap(),
            }
        },
    );
}

/// `join`, `leave`, `sync`: the caller's own rooms, with the room channels synced.
fn register_rooms(s: &Sock, cluster: &Cluster<FredDriver>) {
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
}

/// `broadcast`, `broadcastAck`: emits to rooms across the cluster.
fn register_broadcasts(s: &Sock, io: &Io) {
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
}

/// `fetch`, `emitTo`, `remoteJoin`, `remoteLeave`, `remoteDisconnect`, `serverCount`,
/// `allRooms`, `whoami`: operations on other nodes' sockets, and the cluster's size.
fn register_remote(s: &Sock, io: &Io, cluster: &Cluster<FredDriver>) {
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
        // Asked in a loop while the broker may be away: an error is an answer too.
        match c.server_count("/").await {
            Ok(n) => ack.send(&n).unwrap(),
            Err(e) => ack.send(&json!({"error": e.to_string()})).unwrap(),
        }
    });
    let i = io.clone();
    s.on("allRooms", async move |ack: Ack| {
        let mut rooms: Vec<String> = i
            .rooms()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.to_string())
            .collect();
        rooms.sort();
        ack.send(&rooms).unwrap();
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
        let port = listener.local_addr().unwrap().port();
        register_server_side(&io, &cluster, port);
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
