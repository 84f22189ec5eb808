//! One Socket.IO client: a websocket (tokio-tungstenite) driven by one task
//! that answers the server's pings, hands events to a [`Handler`], answers
//! the server's ack requests and matches acks to the client's own requests.
//!
//! Lightweight on purpose, so that one process holds ten thousand of them:
//! a 4 KiB read buffer, no write buffering, one task and one small channel
//! per connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;

use super::codec::{self, Packet};

type Ws = WebSocketStream<TcpStream>;

/// Frames a sender may queue before it waits for the connection to write:
/// an open-loop sender that outruns its connection then falls behind its
/// schedule, which the latency shows, instead of growing a queue.
const QUEUE: usize = 256;

/// What the server's ack requests are answered with.
const ACK_ANSWER: &str = "[1]";

/// Receives the events of one connection, on its task.
pub(crate) trait Handler: Send + 'static {
    /// An event, `["name", args...]`. When the server asked for an ack, the
    /// connection answers `[1]` once this returns. An error ends the
    /// connection and is reported as its failure.
    fn on_event(&mut self, json: &str) -> anyhow::Result<()>;
}

/// What a connection's task returns when it ends.
#[derive(Debug)]
pub(crate) struct Finished<H> {
    /// The handler, with whatever it gathered.
    pub(crate) handler: H,
    /// Why the connection ended early, if it did.
    pub(crate) failure: Option<String>,
}

/// An answer to one of the client's requests.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The answer's arguments, a JSON array.
    pub(crate) json: String,
    /// When it arrived.
    pub(crate) at: Instant,
}

enum Out {
    Frame(String),
    Request {
        event: &'static str,
        args: String,
        reply: oneshot::Sender<Reply>,
    },
}

/// Sends on a connection; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Handle {
    tx: mpsc::Sender<Out>,
}

/// A request in flight.
#[derive(Debug)]
pub(crate) struct Pending(oneshot::Receiver<Reply>);

impl Pending {
    /// Waits for the answer; fails if the connection ends first.
    pub(crate) async fn reply(self) -> anyhow::Result<Reply> {
        self.0
            .await
            .context("the connection ended before the answer")
    }
}

impl Handle {
    /// Queues a frame built with [`codec::event`].
    pub(crate) async fn send(&self, frame: String) -> anyhow::Result<()> {
        self.tx
            .send(Out::Frame(frame))
            .await
            .ok()
            .context("the connection has ended")
    }

    /// Sends `event` with `args` (see [`codec::event`]) and an ack id.
    pub(crate) async fn request(
        &self,
        event: &'static str,
        args: String,
    ) -> anyhow::Result<Pending> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Out::Request { event, args, reply })
            .await
            .ok()
            .context("the connection has ended")?;
        Ok(Pending(rx))
    }

    /// [`Handle::request`] and wait for the answer.
    pub(crate) async fn call(&self, event: &'static str, args: String) -> anyhow::Result<Reply> {
        self.request(event, args).await?.reply().await
    }
}

/// Connects to the Socket.IO server at `addr` (namespace `/`, websocket
/// transport) and starts the connection's task, which runs until `stop`
/// or until the server closes.
pub(crate) async fn connect<H: Handler>(
    addr: SocketAddr,
    handler: H,
    stop: CancellationToken,
) -> anyhow::Result<(Handle, JoinHandle<Finished<H>>)> {
    let tcp = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    tcp.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let url = format!("ws://{addr}{}", codec::PATH);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config))
        .await
        .with_context(|| format!("websocket handshake with {addr}"))?;
    match codec::parse(&next_text(&mut ws).await?)? {
        Packet::Open(_) => {}
        other => bail!("expected the Engine.IO open packet, got {other:?}"),
    }
    ws.send(Message::text(codec::CONNECT)).await?;
    loop {
        match codec::parse(&next_text(&mut ws).await?)? {
            Packet::Connect(_) => break,
            Packet::Ping => ws.send(Message::text(codec::PONG)).await?,
            Packet::ConnectError(e) => bail!("connection refused: {e}"),
            other => bail!("expected the Socket.IO CONNECT answer, got {other:?}"),
        }
    }
    let (tx, rx) = mpsc::channel(QUEUE);
    let task = tokio::spawn(async move {
        let mut handler = handler;
        let failure = drive(ws, rx, &mut handler, stop)
            .await
            .err()
            .map(|e| format!("{e:#}"));
        Finished { handler, failure }
    });
    Ok((Handle { tx }, task))
}

/// The next text frame; websocket-level pings are answered by tungstenite.
async fn next_text(ws: &mut Ws) -> anyhow::Result<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(_))) | None => bail!("the server closed the connection"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

async fn drive<H: Handler>(
    mut ws: Ws,
    mut rx: mpsc::Receiver<Out>,
    handler: &mut H,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let mut pending: HashMap<u64, oneshot::Sender<Reply>> = HashMap::new();
    let mut next_id = 0u64;
    let mut senders = true;
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => return Ok(()),
            frame = ws.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None => bail!("the server closed the connection"),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.into()),
                };
                match codec::parse(text.as_str())? {
                    Packet::Ping => ws.send(Message::text(codec::PONG)).await?,
                    Packet::Event { ack, json } => {
                        handler.on_event(json)?;
                        if let Some(id) = ack {
                            ws.send(Message::text(codec::ack(id, ACK_ANSWER))).await?;
                        }
                    }
                    Packet::Ack { id, json } => {
                        let reply = pending
                            .remove(&id)
                            .with_context(|| format!("ack {id} answers no request"))?;
                        let _ = reply.send(Reply { json: json.to_owned(), at: Instant::now() });
                    }
                    Packet::Noop => {}
                    Packet::Disconnect | Packet::Close => bail!("disconnected by the server"),
                    other => bail!("unexpected packet {other:?}"),
                }
            }
            out = rx.recv(), if senders => match out {
                Some(Out::Frame(frame)) => ws.send(Message::text(frame)).await?,
                Some(Out::Request { event, args, reply }) => {
                    let id = next_id;
                    next_id += 1;
                    pending.insert(id, reply);
                    ws.send(Message::text(codec::event(Some(id), event, &args))).await?;
                }
                // No sender left: keep receiving until stopped.
                None => senders = false,
            },
        }
    }
}
