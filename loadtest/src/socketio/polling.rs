//! The Engine.IO v4 HTTP long-polling transport of a load client, over
//! two keep-alive HTTP/1.1 connections (hyper's client): one always holds
//! a long-poll GET, the other carries POSTs. Engine.IO refuses a second
//! GET or POST of one session while one is pending, so neither overlaps.
//!
//! ```text
//! GET  /socket.io/?EIO=4&transport=polling          -> 0{"sid":..}
//! POST /socket.io/?EIO=4&transport=polling&sid=S    <- 40        -> ok
//! GET  ...&sid=S   (held until the server has packets) -> 40{..}\x1e42[..]
//! ```
//!
//! A payload carries several packets separated by the record separator
//! `\x1e`. Pings come in a GET's payload and are answered by a POST `3`.
//!
//! Latency stays comparable with the websocket transport: the next GET
//! goes out as soon as the previous one's body is read, before its
//! packets are handled, and what the client sends while a POST is in
//! flight goes out together in the next one, as socket.io-client does.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::client::{self, Dial, Handler, Handshake, Out, Session};
use super::codec::{self, Packet};

/// Separates the packets of one payload.
const SEPARATOR: char = '\x1e';

/// Packets one POST carries at most (Engine.IO's default limit on a
/// request body is 1 MB).
const BATCH: usize = 256;

/// The path and query of the polling endpoint, before the session id.
const PATH: &str = "/socket.io/?EIO=4&transport=polling";

type Conn = SendRequest<Full<Bytes>>;

/// A request in flight, which hands its connection back with the answer.
type Flight = Pin<Box<dyn Future<Output = (Conn, anyhow::Result<Bytes>)> + Send>>;

/// A polling session past its Socket.IO handshake.
pub(super) struct Polling {
    /// The node it reached.
    pub(super) node: SocketAddr,
    /// Where its requests go: `PATH&sid=..`.
    uri: String,
    host: String,
    get: Conn,
    post: Conn,
    /// Packets the handshake's GETs brought after the CONNECT answer.
    early: Vec<String>,
}

/// The packets of one payload.
pub(super) fn split(payload: &str) -> impl Iterator<Item = &str> {
    payload.split(SEPARATOR).filter(|p| !p.is_empty())
}

/// One payload of `packets`.
pub(super) fn join(packets: &[String]) -> String {
    let mut out = String::with_capacity(packets.iter().map(|p| p.len() + 1).sum());
    for (i, p) in packets.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        out.push_str(p);
    }
    out
}

/// The session id of the handshake's payload, which starts with the open
/// packet.
pub(super) fn session_id(payload: &str) -> anyhow::Result<String> {
    let first = split(payload).next().context("empty handshake payload")?;
    match codec::parse(first)? {
        Packet::Open(open) => Ok(open.sid),
        other => bail!("expected the Engine.IO open packet, got {other:?}"),
    }
}

async fn connection(dial: &Dial) -> anyhow::Result<Conn> {
    let tcp = client::tcp(dial).await?;
    let (conn, driver) = http1::handshake(TokioIo::new(tcp)).await?;
    // Ends when the connection closes or its `Conn` is dropped.
    tokio::spawn(driver);
    Ok(conn)
}

/// One request; the body of a 200 answer, with the node a balancer named.
async fn request(
    conn: &mut Conn,
    method: Method,
    uri: &str,
    host: &str,
    body: String,
) -> anyhow::Result<(Bytes, Option<SocketAddr>)> {
    conn.ready().await.context("the HTTP connection closed")?;
    let mut req = Request::builder()
        .method(method.clone())
        .uri(uri)
        .header(header::HOST, host);
    if method == Method::POST {
        req = req.header(header::CONTENT_TYPE, "text/plain;charset=UTF-8");
    }
    let req = req.body(Full::new(Bytes::from(body)))?;
    let response = conn
        .send_request(req)
        .await
        .with_context(|| format!("{method} {uri}"))?;
    let status = response.status();
    let node = client::upstream(response.headers());
    let body = response.into_body().collect().await?.to_bytes();
    if status != StatusCode::OK {
        bail!(
            "{method} {uri}: HTTP {status} {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok((body, node))
}

fn text(body: Bytes) -> anyhow::Result<String> {
    String::from_utf8(body.to_vec()).context("a payload that is not UTF-8")
}

/// Opens a session at `dial` and completes the Socket.IO handshake.
pub(super) async fn open(dial: &Dial) -> anyhow::Result<Polling> {
    let host = dial.addr.to_string();
    let mut get = connection(dial).await?;
    let mut post = connection(dial).await?;
    let (body, node) = request(&mut get, Method::GET, PATH, &host, String::new()).await?;
    let sid = session_id(&text(body)?)?;
    let uri = format!("{PATH}&sid={sid}");
    request(
        &mut post,
        Method::POST,
        &uri,
        &host,
        codec::CONNECT.to_owned(),
    )
    .await?;
    loop {
        let (body, _) = request(&mut get, Method::GET, &uri, &host, String::new()).await?;
        let payload = text(body)?;
        let mut packets = split(&payload);
        for packet in packets.by_ref() {
            match client::handshake_step(packet)? {
                Handshake::Done => {
                    return Ok(Polling {
                        node: node.unwrap_or(dial.addr),
                        early: packets.map(str::to_owned).collect(),
                        uri,
                        host,
                        get,
                        post,
                    });
                }
                Handshake::Answer(frame) => {
                    request(&mut post, Method::POST, &uri, &host, frame.to_owned()).await?;
                }
            }
        }
    }
}

fn flight(mut conn: Conn, method: Method, uri: String, host: String, body: String) -> Flight {
    Box::pin(async move {
        let r = request(&mut conn, method, &uri, &host, body).await;
        (conn, r.map(|(body, _)| body))
    })
}

/// A request that never completes, in place of a POST while none is due.
fn idle() -> Flight {
    Box::pin(std::future::pending())
}

/// Runs the session until `stop`, the server closing it, or a failed
/// request.
pub(super) async fn drive<H: Handler>(
    p: Polling,
    rx: &mut mpsc::Receiver<Out>,
    handler: &mut H,
    session: &mut Session,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let Polling {
        uri,
        host,
        get,
        post,
        early,
        ..
    } = p;
    let mut outbox = Vec::new();
    for packet in &early {
        outbox.extend(session.inbound(packet, handler)?);
    }
    let poll = |conn| flight(conn, Method::GET, uri.clone(), host.clone(), String::new());
    let mut get = poll(get);
    let mut post_conn = Some(post);
    let mut posting = idle();
    let mut senders = true;
    loop {
        if !outbox.is_empty()
            && let Some(conn) = post_conn.take()
        {
            let body = join(&outbox);
            outbox.clear();
            posting = flight(conn, Method::POST, uri.clone(), host.clone(), body);
        }
        tokio::select! {
            biased;
            () = stop.cancelled() => return Ok(()),
            (conn, body) = &mut get => {
                let payload = text(body?)?;
                get = poll(conn);
                for packet in split(&payload) {
                    outbox.extend(session.inbound(packet, handler)?);
                }
            }
            (conn, answer) = &mut posting => {
                answer?;
                post_conn = Some(conn);
                posting = idle();
            }
            out = rx.recv(), if senders && post_conn.is_some() && outbox.len() < BATCH => match out {
                Some(out) => {
                    outbox.push(session.outbound(out));
                    while outbox.len() < BATCH {
                        let Ok(out) = rx.try_recv() else { break };
                        outbox.push(session.outbound(out));
                    }
                }
                // No sender left: keep receiving until stopped.
                None => senders = false,
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn payloads_split_on_the_record_separator_and_join_back() {
        let payload = "40{\"sid\":\"a\"}\u{1e}42[\"m\",[1,2,3,4,\"\"]]\u{1e}2";
        let packets: Vec<&str> = split(payload).collect();
        assert_eq!(
            packets,
            ["40{\"sid\":\"a\"}", "42[\"m\",[1,2,3,4,\"\"]]", "2"]
        );
        let owned: Vec<String> = packets.iter().map(|p| (*p).to_owned()).collect();
        assert_eq!(join(&owned), payload);
        assert_eq!(join(&["3".to_owned()]), "3", "one packet, no separator");
        assert_eq!(split("").count(), 0);
    }

    /// Records the events it is handed.
    #[derive(Default)]
    struct Events(Vec<String>);

    impl Handler for Events {
        fn on_event(&mut self, json: &str) -> anyhow::Result<()> {
            self.0.push(json.to_owned());
            Ok(())
        }
    }

    #[test]
    fn a_payload_s_pings_events_and_acks_get_their_answers() {
        // What a long-poll GET may bring at once: a ping, an event the
        // server wants acknowledged, one it does not, and the ack of the
        // client's request 0.
        let payload = "2\u{1e}425[\"q\",1]\u{1e}42[\"m\",2]\u{1e}430[\"ok\"]";
        let (mut session, mut events) = (Session::default(), Events::default());
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let request = session.outbound(Out::Request {
            event: "join",
            args: "\"r0\"".into(),
            reply: tx,
        });
        assert_eq!(request, "420[\"join\",\"r0\"]");
        let answers: Vec<String> = split(payload)
            .filter_map(|p| session.inbound(p, &mut events).unwrap())
            .collect();
        assert_eq!(answers, ["3", "435[1]"], "the pong, then the ack");
        assert_eq!(join(&answers), "3\u{1e}435[1]", "one POST carries both");
        assert_eq!(events.0, ["[\"q\",1]", "[\"m\",2]"]);
        assert_eq!(rx.try_recv().unwrap().json, "[\"ok\"]");
        assert!(
            session.inbound("430[]", &mut events).is_err(),
            "answered twice"
        );
        assert!(
            session.inbound("1", &mut events).is_err(),
            "closed by the server"
        );
    }

    #[test]
    fn the_handshake_payload_gives_the_session_id() {
        let open = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        assert_eq!(session_id(open).unwrap(), "lv_VI97HAXpY6yYWAAAC");
        assert!(session_id("40").is_err(), "not an open packet");
        assert!(session_id("").is_err());
    }
}
