//! Emitter operations described as JSON (the input format of `tests/node/node_emitter.mjs`),
//! run either by respub's [`Emitter`] or by Node's `@socket.io/redis-emitter` 5.1.0, so one
//! test body checks both.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::process::Stdio;

use bytes::Bytes;
use respub_socketio::{Emitter, FredDriver};
use serde::{Serialize, Serializer, ser::SerializeTuple};
use serde_json::{Value as Json, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout, Command},
};

use crate::{fixture::within, interop::node_dir};

/// A JSON argument where `{"$bin": [...]}` and `{"$ab": [...]}` stand for binary.
struct Arg<'a>(&'a Json);

fn binary(v: &Json) -> Option<Bytes> {
    let obj = v.as_object().filter(|o| o.len() == 1)?;
    let bytes = obj.get("$bin").or_else(|| obj.get("$ab"))?.as_array()?;
    Some(bytes.iter().map(|b| b.as_u64().unwrap() as u8).collect())
}

impl Serialize for Arg<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Some(bin) = binary(self.0) {
            return bin.serialize(s);
        }
        match self.0 {
            Json::Array(items) => s.collect_seq(items.iter().map(Arg)),
            Json::Object(map) => s.collect_map(map.iter().map(|(k, v)| (k, Arg(v)))),
            other => other.serialize(s),
        }
    }
}

/// A list of arguments of run-time length: a tuple, for the emitter.
struct Args<'a>(&'a [Json]);

impl Serialize for Args<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(self.0.len())?;
        for a in self.0 {
            t.serialize_element(&Arg(a))?;
        }
        t.end()
    }
}

fn rooms(op: &Json, key: &str) -> Option<Vec<String>> {
    op.get(key).map(|v| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect()
    })
}

/// Runs `op` with respub's emitter; the error's text on failure.
pub async fn run_rust(emitter: &Emitter<FredDriver>, op: &Json) -> Result<(), String> {
    let base = match op.get("nsp").and_then(Json::as_str) {
        Some(nsp) => emitter.of(nsp),
        None => emitter.clone(),
    };
    let event = op["event"].as_str().unwrap_or_default();
    let args = op
        .get("args")
        .and_then(Json::as_array)
        .map_or(&[][..], Vec::as_slice);
    let has_modifiers = ["to", "in", "except", "volatile", "compress"]
        .iter()
        .any(|k| op.get(*k).is_some());
    let kind = op["op"].as_str().unwrap();
    let result = if !has_modifiers || kind == "serverSideEmit" {
        match kind {
            "emit" => base.emit(event, &Args(args)).await,
            "socketsJoin" => base.sockets_join(rooms(op, "rooms").unwrap()).await,
            "socketsLeave" => base.sockets_leave(rooms(op, "rooms").unwrap()).await,
            "disconnectSockets" => base.disconnect_sockets(op["close"] == true).await,
            "serverSideEmit" => base.server_side_emit(event, &Args(args)).await,
            other => panic!("unknown op {other}"),
        }
    } else {
        let mut t = base.to(rooms(op, "to").unwrap_or_default());
        if let Some(r) = rooms(op, "in") {
            t = t.within(r);
        }
        if let Some(r) = rooms(op, "except") {
            t = t.except(r);
        }
        if op["volatile"] == true {
            t = t.volatile();
        }
        if let Some(c) = op.get("compress").and_then(Json::as_bool) {
            t = t.compress(c);
        }
        match kind {
            "emit" => t.emit(event, &Args(args)).await,
            "socketsJoin" => t.sockets_join(rooms(op, "rooms").unwrap()).await,
            "socketsLeave" => t.sockets_leave(rooms(op, "rooms").unwrap()).await,
            "disconnectSockets" => t.disconnect_sockets(op["close"] == true).await,
            other => panic!("unknown op {other}"),
        }
    };
    result.map(|_| ()).map_err(|e| e.to_string())
}

/// `node_emitter.mjs`: Node's emitter in a child process, stopped on drop.
pub struct NodeEmitter {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    seq: u64,
}

impl NodeEmitter {
    pub async fn start(redis_url: &str, prefix: &str) -> Self {
        let dir = node_dir();
        assert!(
            dir.join("node_modules/@socket.io/redis-emitter/package.json")
                .exists(),
            "@socket.io/redis-emitter is missing: run npm ci --prefix adapter/tests/node"
        );
        let mut child = Command::new("node")
            .current_dir(&dir)
            .arg("node_emitter.mjs")
            .args(["--redis", redis_url, "--prefix", prefix])
            .stdout(Stdio::piped())
            .stdin(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node could not be started");
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = within("node emitter READY", lines.next_line()).await;
        assert_eq!(ready.unwrap().as_deref(), Some("READY"));
        Self {
            child,
            stdin,
            lines,
            seq: 0,
        }
    }

    /// Runs `op`; returns once Node's emitter published it (or threw: its message).
    pub async fn run(&mut self, op: &Json) -> Result<(), String> {
        self.seq += 1;
        let mut op = op.clone();
        op["seq"] = json!(self.seq);
        let line = format!("{op}\n");
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        let reply = within("node emitter reply", self.lines.next_line()).await;
        let reply: Json = serde_json::from_str(&reply.unwrap().expect("node emitter exited"))
            .expect("node emitter reply");
        assert_eq!(reply["seq"], self.seq, "out of order: {reply}");
        match reply.get("error") {
            Some(e) => Err(e.as_str().unwrap().to_owned()),
            None => Ok(()),
        }
    }
}

/// Which emitter runs the operations.
pub enum Via {
    Rust(Emitter<FredDriver>),
    Node(Box<NodeEmitter>),
}

impl Via {
    pub async fn rust(redis_url: &str, prefix: &str) -> Self {
        let driver = within("driver connect", FredDriver::connect(redis_url))
            .await
            .unwrap();
        Self::Rust(Emitter::new(driver).with_prefix(prefix))
    }

    pub async fn node(redis_url: &str, prefix: &str) -> Self {
        Self::Node(Box::new(NodeEmitter::start(redis_url, prefix).await))
    }

    pub async fn run(&mut self, op: &Json) -> Result<(), String> {
        match self {
            Self::Rust(e) => run_rust(e, op).await,
            Self::Node(n) => n.run(op).await,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Rust(_) => "respub emitter",
            Self::Node(_) => "node emitter",
        }
    }
}

/// `emit` of `event` with `args`, to everyone.
pub fn emit(event: &str, args: Json) -> Json {
    json!({"op": "emit", "event": event, "args": args})
}

/// The arguments of Node's test "emit any kind of data" (`1, "2", [3], Buffer,
/// ArrayBuffer`), plus nested binary and the other JSON kinds.
pub fn any_kind_of_data() -> Json {
    json!([
        1, "2", [3], {"$bin": [4, 5]}, {"$ab": [6]},
        {"nested": {"$bin": [7]}, "f": 1.5, "neg": -200, "big": 1_099_511_627_776_u64,
         "none": null, "yes": true, "s": "é✓"}
    ])
}

/// `any_kind_of_data` as a socket.io-client reports it (`node_client.mjs`): every binary
/// as `{"$bin": [...]}`.
pub fn any_kind_of_data_received() -> Json {
    json!([
        1, "2", [3], {"$bin": [4, 5]}, {"$bin": [6]},
        {"nested": {"$bin": [7]}, "f": 1.5, "neg": -200, "big": 1_099_511_627_776_u64,
         "none": null, "yes": true, "s": "é✓"}
    ])
}
