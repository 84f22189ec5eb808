//! Every request a Rust server is counted for is answered: a Node requester counts the
//! subscribers of the request channel (classic) or of the common channel (sharded) and
//! waits for that many answers minus itself, so one silent Rust server makes it wait for
//! its whole timeout. Here a plain connection plays the Node requester: it publishes each
//! request type as Node writes it and counts the answers of two Rust servers on the
//! channels Node listens on. The table in docs/adapter-protocol.md names this test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod fixture;

use fixture::{
    Broker, Client,
    raw::{self, Reply, resp},
    within,
};
use respub_socketio::{Config, Mode, SubscriptionMode};
use serde_json::{Value as Json, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// The uid the plain connection uses as a requester.
const PEER: &str = "rawpeer";

/// A connection subscribed where answers to [`PEER`] arrive.
struct Answers {
    conn: TcpStream,
    buf: Vec<u8>,
}

impl Answers {
    async fn subscribe(broker: &Broker, cmd: &str, channels: &[&str]) -> Self {
        let mut conn = TcpStream::connect(broker.addr).await.unwrap();
        let mut args = vec![cmd];
        args.extend_from_slice(channels);
        conn.write_all(&resp(&args)).await.unwrap();
        let mut me = Self {
            conn,
            buf: Vec::new(),
        };
        for _ in channels {
            let reply = me.reply().await;
            assert!(
                matches!(&reply, Reply::Array(items) if items.len() == 3),
                "{reply:?}"
            );
        }
        me
    }

    async fn reply(&mut self) -> Reply {
        within("a frame on the answer connection", async {
            loop {
                if let Some((reply, used)) = raw::parse(&self.buf) {
                    self.buf.drain(..used);
                    return reply;
                }
                let mut chunk = [0u8; 4096];
                let n = self.conn.read(&mut chunk).await.unwrap();
                assert!(n > 0, "the broker closed the answer connection");
                self.buf.extend_from_slice(&chunk[..n]);
            }
        })
        .await
    }

    /// The next `n` JSON messages carrying `request_id` (classic: in the message;
    /// sharded: in its `data`), with their channels.
    async fn collect(&mut self, request_id: &str, n: usize) -> Vec<(String, Json)> {
        let mut out = Vec::new();
        while out.len() < n {
            let Reply::Array(items) = self.reply().await else {
                continue;
            };
            let [_, Reply::Bulk(Some(channel)), Reply::Bulk(Some(payload))] = &items[..] else {
                continue;
            };
            let Ok(msg) = serde_json::from_str::<Json>(payload) else {
                continue;
            };
            let id = msg
                .get("requestId")
                .or_else(|| msg["data"].get("requestId"));
            if id == Some(&json!(request_id)) {
                out.push((channel.clone(), msg));
            }
        }
        out
    }
}

/// Publishes `payload` as a peer does; returns how many subscribers got it.
async fn publish(broker: &Broker, cmd: &str, channel: &str, payload: &[u8]) -> i64 {
    let mut out = format!(
        "*3\r\n${}\r\n{cmd}\r\n${}\r\n{channel}\r\n",
        cmd.len(),
        channel.len()
    )
    .into_bytes();
    out.extend(format!("${}\r\n", payload.len()).into_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
    let mut conn = TcpStream::connect(broker.addr).await.unwrap();
    conn.write_all(&out).await.unwrap();
    let mut buf = Vec::new();
    within("the publish reply", async {
        loop {
            if let Some((Reply::Int(n), _)) = raw::parse(&buf) {
                return n;
            }
            let mut chunk = [0u8; 64];
            let n = conn.read(&mut chunk).await.unwrap();
            assert!(n > 0);
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await
}

/// Two Rust servers, each with a client in room `a` and a `ping` server-side handler.
async fn servers(broker: &Broker, config: Config) -> (Vec<fixture::Node>, Vec<Client>) {
    let mut nodes = Vec::new();
    let mut clients = Vec::new();
    for name in ["x", "y"] {
        let node = fixture::node(&broker.url(), config.clone()).await;
        node.cluster.on_server_side("/", "ping", |ev| async move {
            ev.ack.unwrap().send(json!("pong"));
        });
        let mut client = Client::connect(&node, name).await;
        client.join("a").await;
        nodes.push(node);
        clients.push(client);
    }
    (nodes, clients)
}

/// The classic message pack of a broadcast with ack (type 7), as Node's parser writes it.
fn classic_broadcast_ack(request_id: &str) -> Vec<u8> {
    use rmpv::Value as Mp;
    let map = |entries: Vec<(&str, Mp)>| {
        Mp::Map(entries.into_iter().map(|(k, v)| (Mp::from(k), v)).collect())
    };
    let msg = map(vec![
        ("uid", Mp::from(PEER)),
        ("requestId", Mp::from(request_id)),
        ("type", Mp::from(7)),
        (
            "packet",
            map(vec![
                ("type", Mp::from(2)),
                ("data", Mp::Array(vec![Mp::from("ask")])),
                ("nsp", Mp::from("/")),
            ]),
        ),
        (
            "opts",
            map(vec![
                ("rooms", Mp::Array(vec![Mp::from("a")])),
                ("except", Mp::Array(vec![])),
                ("flags", map(vec![("timeout", Mp::from(1000))])),
            ]),
        ),
    ]);
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &msg).unwrap();
    out
}

async fn classic(specific: bool) {
    eprintln!("--- classic, specific {specific}");
    let broker = Broker::start().await;
    let p = format!("a{:016x}", rand::random::<u64>());
    let config = Config::default()
        .with_prefix(p.clone())
        .with_specific_response_channel(specific);
    let (_nodes, clients) = servers(&broker, config).await;
    let common = format!("{p}-response#/#");
    let own = format!("{p}-response#/#{PEER}#");
    let mut answers = Answers::subscribe(&broker, "SUBSCRIBE", &[&common, &own]).await;
    let expected_channel = if specific { &own } else { &common };
    let request = format!("{p}-request#/#");
    let sid = clients[0].id.clone();
    let cases: [(&str, usize, Vec<u8>); 6] = [
        // Legacy SOCKETS (Node 8 answers it but no longer sends it).
        ("s0", 2, json!({"uid": PEER, "requestId": "s0", "rooms": ["a"], "type": 0}).to_string().into_bytes()),
        ("s1", 2, json!({"uid": PEER, "requestId": "s1", "type": 1}).to_string().into_bytes()),
        ("s5", 2, json!({"uid": PEER, "requestId": "s5", "type": 5, "opts": {"rooms": ["a"], "except": []}}).to_string().into_bytes()),
        ("s6", 2, json!({"uid": PEER, "requestId": "s6", "type": 6, "data": ["ping", 1]}).to_string().into_bytes()),
        ("s7", 2, classic_broadcast_ack("s7")),
        // Legacy remote join of one socket: answered by the server that has it.
        ("s2", 1, json!({"uid": PEER, "requestId": "s2", "type": 2, "sid": sid, "room": "j"}).to_string().into_bytes()),
    ];
    for (id, n, payload) in cases {
        assert_eq!(publish(&broker, "PUBLISH", &request, &payload).await, 2);
        let got = answers.collect(id, n).await;
        for (channel, msg) in &got {
            assert_eq!(channel, expected_channel, "{id}: {msg}");
            match id {
                "s0" | "s5" => assert_eq!(msg["sockets"].as_array().unwrap().len(), 1, "{msg}"),
                "s1" => assert!(
                    msg["rooms"].as_array().unwrap().contains(&json!("a")),
                    "{msg}"
                ),
                "s6" => assert_eq!(msg, &json!({"type": 6, "requestId": "s6", "data": "pong"})),
                "s7" => assert_eq!(
                    msg,
                    &json!({"type": 8, "requestId": "s7", "clientCount": 1})
                ),
                _ => assert_eq!(msg, &json!({"requestId": "s2"})),
            }
        }
    }
    broker.stop().await;
}

async fn sharded(mode: SubscriptionMode) {
    eprintln!("--- sharded {mode:?}");
    let broker = Broker::start().await;
    let p = format!("b{:016x}", rand::random::<u64>());
    let config = Config::default()
        .with_prefix(p.clone())
        .with_mode(Mode::Sharded(mode));
    let (_nodes, _clients) = servers(&broker, config).await;
    let own = format!("{p}#/#{PEER}#");
    let mut answers = Answers::subscribe(&broker, "SSUBSCRIBE", &[&own]).await;
    let common = format!("{p}#/#");
    let opts = json!({"rooms": ["a"], "except": [], "flags": {"timeout": 1000}});
    let cases = [
        (
            "h3",
            11,
            json!({"packet": {"type": 2, "data": ["ask"]}, "opts": opts, "requestId": "h3"}),
        ),
        ("h7", 8, json!({"opts": opts, "requestId": "h7"})),
        ("h9", 10, json!({"requestId": "h9", "packet": ["ping", 1]})),
    ];
    for (id, answer_type, data) in cases {
        let kind = match id {
            "h3" => 3,
            "h7" => 7,
            _ => 9,
        };
        let msg = json!({"type": kind, "data": data, "uid": PEER, "nsp": "/"});
        let receivers = publish(&broker, "SPUBLISH", &common, msg.to_string().as_bytes()).await;
        assert_eq!(receivers, 2);
        for (channel, msg) in answers.collect(id, 2).await {
            assert_eq!(channel, own);
            assert_eq!(msg["type"], json!(answer_type), "{msg}");
            match id {
                "h3" => assert_eq!(msg["data"]["clientCount"], json!(1)),
                "h7" => assert_eq!(msg["data"]["sockets"].as_array().unwrap().len(), 1),
                _ => assert_eq!(msg["data"], json!({"requestId": "h9", "packet": "pong"})),
            }
        }
    }
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_requests_are_answered() {
    classic(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_requests_are_answered_on_the_specific_channel() {
    classic(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_requests_are_answered() {
    for mode in [
        SubscriptionMode::Static,
        SubscriptionMode::Dynamic,
        SubscriptionMode::DynamicPrivate,
    ] {
        sharded(mode).await;
    }
}
