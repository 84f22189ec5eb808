//! socket.io-client clients in one Node process (`node_client.mjs`), driven over its
//! stdin and stdout.

use std::{
    collections::{HashMap, VecDeque},
    process::Stdio,
    sync::{Arc, Mutex},
};

use serde_json::{Value as Json, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::{Child, ChildStdin, Command},
    sync::Notify,
};

use super::node_dir;
use crate::fixture::within;

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
        let got = self.connect_with(name, &url, json!({})).await;
        got.unwrap_or_else(|e| panic!("{name} could not connect to {port}: {e}"))
    }

    /// Connects client `name` to `url` with socket.io-client `options` (plus `localAddress`,
    /// see `node_client.mjs`); returns its socket id, or the first `connect_error`.
    pub async fn connect_with(
        &mut self,
        name: &str,
        url: &str,
        options: Json,
    ) -> Result<String, String> {
        self.send(json!({"op": "connect", "name": name, "url": url, "options": options}))
            .await;
        self.wait(&format!("{name} to connect"), |i| i.connected.remove(name))
            .await
    }

    /// Waits until client `name` (connected with `reconnection: true`) is connected again;
    /// returns its new socket id. Failed attempts on the way are skipped.
    pub async fn reconnected(&mut self, name: &str) -> String {
        self.wait(&format!("{name} to reconnect"), |i| {
            match i.connected.remove(name) {
                Some(Ok(id)) => Some(id),
                _ => None,
            }
        })
        .await
    }

    /// The transport client `name`'s engine uses now (`polling` or `websocket`).
    pub async fn transport(&mut self, name: &str) -> Json {
        self.seq += 1;
        let seq = self.seq;
        self.send(json!({"op": "transport", "name": name, "seq": seq}))
            .await;
        self.wait(&format!("{name}'s transport"), |i| i.replies.remove(&seq))
            .await
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
