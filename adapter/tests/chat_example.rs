//! The chat example (`examples/chat.rs`, compiled into this test) on two servers sharing
//! an in-process respub broker (or respub behind Sentinel), driven by socket.io-client.
//!
//! Needs `npm ci --prefix adapter/tests/node` (and `redis-sentinel` for the Sentinel case).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod fixture;
mod interop;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/chat.rs"]
mod chat;

use fixture::{Broker, within};
use interop::{
    NodeClient, NodeServer,
    clients::{Clients, Ev},
    sentinel::{Deployment, Kind},
};
use respub_socketio::Config;
use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `GET path` over HTTP/1.1; returns (status line, body).
async fn get(port: u16, path: &str) -> (String, String) {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    within("http response", s.read_to_end(&mut buf))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

async fn chat_event(c: &mut Clients, name: &str) -> Json {
    match c.next(name).await {
        Ev::Event(e, v) if e == "chat" => v[1].clone(),
        other => panic!("{name}: expected a chat event, got {other:?}"),
    }
}

/// Two chat servers whose `--redis` is `url`.
async fn scenario(mode: &str, url: &str) {
    eprintln!("--- {mode} {url}");
    interop::node_dir();
    // Both servers share one prefix, as two `cargo run --example chat` would.
    let listener1 = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listener2 = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (p1, p2) = (
        listener1.local_addr().unwrap().port(),
        listener2.local_addr().unwrap().port(),
    );
    let prefix = format!("c{:016x}", rand::random::<u64>());
    for listener in [listener1, listener2] {
        let config = Config::default()
            .with_mode(chat::parse_mode(mode).unwrap())
            .with_prefix(prefix.clone());
        let url = url.to_owned();
        tokio::spawn(async move {
            chat::serve(listener, &url, config, chat::default_client_js())
                .await
                .unwrap();
        });
    }

    // The page and the official browser client.
    let (status, page) = get(p1, "/").await;
    assert!(status.contains("200"), "{status}");
    assert!(
        page.contains("<script src=\"/socket.io.min.js\">"),
        "{page}"
    );
    let (status, js) = get(p2, "/socket.io.min.js").await;
    assert!(status.contains("200"), "{status}");
    assert!(js.contains("Socket.IO"), "not the socket.io client");

    let mut c = Clients::start().await;
    let a = c.connect("a", p1).await;
    let b = c.connect("b", p2).await;
    let d = c.connect("d", p2).await;
    assert_eq!(c.call("a", "join", json!("room")).await, json!("ok"));
    assert_eq!(c.call("b", "join", json!("room")).await, json!("ok"));

    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(c.call("d", "who", json!("room")).await, json!(want));

    // A chat from node 1 reaches the room on both nodes, and not d.
    c.emit("a", "chat", json!({"room": "room", "text": "hello"}))
        .await;
    let from_a = json!({"room": "room", "text": "hello", "from": a, "node": p1});
    assert_eq!(chat_event(&mut c, "a").await, from_a);
    assert_eq!(chat_event(&mut c, "b").await, from_a);

    // d joins; b leaves; a chat from node 2: d's first chat is this one.
    assert_eq!(c.call("d", "join", json!("room")).await, json!("ok"));
    assert_eq!(c.call("b", "leave", json!("room")).await, json!("ok"));
    let mut want = vec![a.clone(), d.clone()];
    want.sort();
    assert_eq!(c.call("a", "who", json!("room")).await, json!(want));
    c.emit("d", "chat", json!({"room": "room", "text": "hi"}))
        .await;
    let from_d = json!({"room": "room", "text": "hi", "from": d, "node": p2});
    assert_eq!(chat_event(&mut c, "d").await, from_d);
    assert_eq!(chat_event(&mut c, "a").await, from_d);
    // b's next chat is one to a room it is in, not "hi".
    assert_eq!(c.call("b", "join", json!("other")).await, json!("ok"));
    c.emit("d", "chat", json!({"room": "other", "text": "marker"}))
        .await;
    let marker = json!({"room": "other", "text": "marker", "from": d, "node": p2});
    assert_eq!(chat_event(&mut c, "b").await, marker);
    node_info(&mut c, mode, url, &prefix, p1, p2).await;
}

/// `node-info`: a Node server in the chat's cluster asks with `serverSideEmitWithAck`
/// and gets one answer per chat server; a chat server's `nodes` gets the other chat
/// server's answer and the Node server's (`node_server.mjs` answers `node-info` too).
async fn node_info(c: &mut Clients, mode: &str, url: &str, prefix: &str, p1: u16, p2: u16) {
    let mode = chat::parse_mode(mode).unwrap();
    let node = NodeServer::start(url, mode, NodeClient::Ioredis, prefix).await;
    c.connect("n", node.port).await;
    let got = c
        .call("n", "serverSideEmitWithAck", json!({"event": "node-info"}))
        .await;
    let mut answers = vec![json!({"node": p1}), json!({"node": p2})];
    answers.sort_by_key(Json::to_string);
    assert_eq!(got, json!(answers));
    let mut want = vec![p1, p2, node.port];
    want.sort_unstable();
    assert_eq!(c.call("a", "nodes", json!(null)).await, json!(want));
    assert_eq!(c.call("b", "nodes", json!(null)).await, json!(want));
    node.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_two_nodes_classic() {
    let broker = Broker::start().await;
    scenario("classic", &broker.url()).await;
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_two_nodes_sharded_dynamic() {
    let broker = Broker::start().await;
    scenario("dynamic", &broker.url()).await;
    broker.stop().await;
}

/// `--redis redis-sentinel://...`: the chat servers find the master through the sentinels
/// of a respub master with two replicas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_two_nodes_through_sentinel() {
    let deployment = Deployment::start(Kind::Respub).await;
    scenario("classic", &deployment.url()).await;
}
