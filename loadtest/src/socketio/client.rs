//! One Socket.IO client, driven by one task that answers the server's
//! pings, hands events to a [`Handler`], answers the server's ack requests
//! and matches acks to the client's own requests. It speaks the websocket
//! transport (tokio-tungstenite) here, or HTTP long-polling
//! ([`super::polling`]); both share the [`Session`] logic, so the two
//! differ only in how packets travel.
//!
//! Lightweight on purpose, so that one process holds ten thousand of them:
//! a 4 KiB read buffer, no write buffering, one task and one small channel
//! per connection. The channel outlives a connection ([`Finished::queue`]),
//! so a client that reconnects keeps its [`Handle`]s, and what was queued
//! while it was away goes out on the new connection, as socket.io-client's
//! send buffer does.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;

use super::codec::{self, Packet};
pub(crate) use crate::figures::Transport;

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

    /// The node the connection reached, once connected: the one dialled,
    /// or the one a balancer in between named in its `x-respub-node`
    /// response header.
    fn on_node(&mut self, _node: SocketAddr) {}
}

/// Where and how a client connects.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dial {
    /// The node, or the balancer in front of the nodes.
    pub(crate) addr: SocketAddr,
    /// The loopback address to connect from: balancers that hash the
    /// source address spread clients over nodes by it.
    pub(crate) source: Option<Ipv4Addr>,
    /// Websocket or long-polling.
    pub(crate) transport: Transport,
}

/// The response header a balancer in front of the nodes names the node in.
pub(crate) const NODE_HEADER: &str = "x-respub-node";

/// A TCP connection for `dial`, from its source address if it has one.
pub(super) async fn tcp(dial: &Dial) -> anyhow::Result<TcpStream> {
    let addr = dial.addr;
    let tcp = match dial.source {
        Some(source) => {
            let socket = TcpSocket::new_v4()?;
            socket
                .bind(SocketAddr::from((source, 0)))
                .with_context(|| format!("binding {source}"))?;
            socket.connect(addr).await
        }
        None => TcpStream::connect(addr).await,
    }
    .with_context(|| format!("connecting to {addr}"))?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// The node a response came from, when a balancer named it.
pub(super) fn upstream(headers: &hyper::HeaderMap) -> Option<SocketAddr> {
    let value = headers.get(NODE_HEADER)?.to_str().ok()?;
    // nginx lists every upstream it tried, the one that answered last.
    value.rsplit(", ").next()?.trim().parse().ok()
}

/// What a connection's task returns when it ends.
#[derive(Debug)]
pub(crate) struct Finished<H> {
    /// The handler, with whatever it gathered.
    pub(crate) handler: H,
    /// Why the connection ended early, if it did.
    pub(crate) failure: Option<String>,
    /// What the client's [`Handle`]s queued, for [`resume`].
    pub(crate) queue: Queue,
}

/// The receiving end of a client's [`Handle`]s.
#[derive(Debug)]
pub(crate) struct Queue(mpsc::Receiver<Out>);

/// An answer to one of the client's requests.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The answer's arguments, a JSON array.
    pub(crate) json: String,
    /// When it arrived.
    pub(crate) at: Instant,
}

/// What a [`Handle`] asks the connection to send.
#[derive(Debug)]
pub(super) enum Out {
    Frame(String),
    Request {
        event: &'static str,
        args: String,
        reply: oneshot::Sender<Reply>,
    },
}

/// Sends on a client's connection, the current one after a reconnect;
/// cheap to clone.
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

/// Connects (see [`resume`]) with a fresh queue.
pub(crate) async fn connect<H: Handler>(
    dial: Dial,
    handler: H,
    stop: CancellationToken,
) -> anyhow::Result<(Handle, JoinHandle<Finished<H>>)> {
    let (tx, rx) = mpsc::channel(QUEUE);
    match resume(dial, handler, Queue(rx), stop).await {
        Ok(task) => Ok((Handle { tx }, task)),
        Err(f) => Err(anyhow::anyhow!(f.failure.unwrap_or_default())),
    }
}

/// Connects to the Socket.IO server at `dial` (namespace `/`) and starts
/// the connection's task, which sends what `queue` holds and runs until
/// `stop` or until the server closes. A failed attempt hands the handler
/// and the queue back, for another.
pub(crate) async fn resume<H: Handler>(
    dial: Dial,
    mut handler: H,
    mut queue: Queue,
    stop: CancellationToken,
) -> Result<JoinHandle<Finished<H>>, Finished<H>> {
    let opened = match dial.transport {
        Transport::Websocket => open_websocket(&dial).await.map(Conn::Ws),
        Transport::Polling => super::polling::open(&dial).await.map(Conn::Polling),
    };
    let conn = match opened {
        Ok(conn) => conn,
        Err(e) => {
            return Err(Finished {
                handler,
                failure: Some(format!("{e:#}")),
                queue,
            });
        }
    };
    // Before the task starts: the caller may read what this records.
    handler.on_node(match &conn {
        Conn::Ws((_, node)) => *node,
        Conn::Polling(p) => p.node,
    });
    Ok(tokio::spawn(async move {
        let mut session = Session::default();
        let driven = match conn {
            Conn::Ws((ws, _)) => drive(ws, &mut queue.0, &mut handler, &mut session, stop).await,
            Conn::Polling(p) => {
                super::polling::drive(p, &mut queue.0, &mut handler, &mut session, stop).await
            }
        };
        Finished {
            handler,
            failure: driven.err().map(|e| format!("{e:#}")),
            queue,
        }
    }))
}

/// A connection that completed the Socket.IO handshake.
enum Conn {
    Ws((Ws, SocketAddr)),
    Polling(super::polling::Polling),
}

/// What the client does with a packet while it waits for the server's
/// Socket.IO CONNECT answer.
pub(super) enum Handshake {
    /// Connected.
    Done,
    /// Answer with this frame and keep waiting.
    Answer(&'static str),
}

/// The handshake's next step after `frame`.
pub(super) fn handshake_step(frame: &str) -> anyhow::Result<Handshake> {
    match codec::parse(frame)? {
        Packet::Connect(_) => Ok(Handshake::Done),
        Packet::Ping => Ok(Handshake::Answer(codec::PONG)),
        Packet::ConnectError(e) => bail!("connection refused: {e}"),
        other => bail!("expected the Socket.IO CONNECT answer, got {other:?}"),
    }
}

/// Opens a websocket and completes the Engine.IO and Socket.IO handshakes;
/// returns it with the node it reached.
async fn open_websocket(dial: &Dial) -> anyhow::Result<(Ws, SocketAddr)> {
    let addr = dial.addr;
    let tcp = tcp(dial).await?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let url = format!("ws://{addr}{}", codec::PATH);
    let (mut ws, response) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config))
        .await
        .with_context(|| format!("websocket handshake with {addr}"))?;
    let node = upstream(response.headers()).unwrap_or(addr);
    match codec::parse(&next_text(&mut ws).await?)? {
        Packet::Open(_) => {}
        other => bail!("expected the Engine.IO open packet, got {other:?}"),
    }
    ws.send(Message::text(codec::CONNECT)).await?;
    loop {
        match handshake_step(&next_text(&mut ws).await?)? {
            Handshake::Done => return Ok((ws, node)),
            Handshake::Answer(frame) => ws.send(Message::text(frame)).await?,
        }
    }
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

/// The requests of one connection awaiting their acks, whatever carries
/// its packets.
#[derive(Default)]
pub(super) struct Session {
    pending: HashMap<u64, oneshot::Sender<Reply>>,
    next_id: u64,
}

impl Session {
    /// Handles one packet from the server; returns the frame to answer it
    /// with, if any.
    pub(super) fn inbound<H: Handler>(
        &mut self,
        frame: &str,
        handler: &mut H,
    ) -> anyhow::Result<Option<String>> {
        Ok(match codec::parse(frame)? {
            Packet::Ping => Some(codec::PONG.to_owned()),
            Packet::Event { ack, json } => {
                handler.on_event(json)?;
                ack.map(|id| codec::ack(id, ACK_ANSWER))
            }
            Packet::Ack { id, json } => {
                let reply = self
                    .pending
                    .remove(&id)
                    .with_context(|| format!("ack {id} answers no request"))?;
                let _ = reply.send(Reply {
                    json: json.to_owned(),
                    at: Instant::now(),
                });
                None
            }
            Packet::Noop => None,
            Packet::Disconnect | Packet::Close => bail!("disconnected by the server"),
            other => bail!("unexpected packet {other:?}"),
        })
    }

    /// The frame that sends `out`.
    pub(super) fn outbound(&mut self, out: Out) -> String {
        match out {
            Out::Frame(frame) => frame,
            Out::Request { event, args, reply } => {
                let id = self.next_id;
                self.next_id += 1;
                self.pending.insert(id, reply);
                codec::event(Some(id), event, &args)
            }
        }
    }
}

async fn drive<H: Handler>(
    mut ws: Ws,
    rx: &mut mpsc::Receiver<Out>,
    handler: &mut H,
    session: &mut Session,
    stop: CancellationToken,
) -> anyhow::Result<()> {
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
                if let Some(answer) = session.inbound(text.as_str(), handler)? {
                    ws.send(Message::text(answer)).await?;
                }
            }
            out = rx.recv(), if senders => match out {
                Some(out) => ws.send(Message::text(session.outbound(out))).await?,
                // No sender left: keep receiving until stopped.
                None => senders = false,
            },
        }
    }
}
