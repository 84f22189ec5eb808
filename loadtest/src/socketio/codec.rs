//! The Engine.IO v4 and Socket.IO v5 text framing, as much of it as a load
//! client on the websocket transport needs: one packet per websocket frame,
//! default namespace only, no binary attachments.
//!
//! ```text
//! 0{"sid":..,"pingInterval":..}   open (server first)
//! 2 / 3                           ping (server) / pong (client)
//! 40 / 40{"sid":..}               Socket.IO CONNECT, request / answer
//! 42["ev",...]  421["ev",...]     EVENT, without / with ack id 1
//! 431[...]                        ACK of id 1
//! 44{"message":..}                CONNECT_ERROR
//! ```

use anyhow::{Context, bail};
use serde::Deserialize;

/// The fields of the Engine.IO open packet the client uses.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Open {
    /// Engine.IO session id.
    pub(crate) sid: String,
    /// How often the server pings, in ms.
    pub(crate) ping_interval: u64,
    /// How long after a ping the server waits for the pong, in ms.
    pub(crate) ping_timeout: u64,
}

/// A packet from the server.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Packet<'a> {
    /// Engine.IO open.
    Open(Open),
    /// Engine.IO ping: answer [`PONG`].
    Ping,
    /// Engine.IO close.
    Close,
    /// Engine.IO noop, and pongs, which a v4 server does not send.
    Noop,
    /// Socket.IO CONNECT answer; the JSON object (with the socket id).
    Connect(&'a str),
    /// Socket.IO CONNECT_ERROR; the JSON object.
    ConnectError(&'a str),
    /// Socket.IO DISCONNECT.
    Disconnect,
    /// Socket.IO EVENT: the JSON array `["name", args...]`, and the ack id
    /// when the server wants an answer.
    Event {
        /// Ack id to answer with [`ack`].
        ack: Option<u64>,
        /// `["name", args...]`.
        json: &'a str,
    },
    /// Socket.IO ACK of one of the client's events: the JSON array of the
    /// answer's arguments.
    Ack {
        /// The id the client sent.
        id: u64,
        /// `[args...]`.
        json: &'a str,
    },
}

/// The Engine.IO pong.
pub(crate) const PONG: &str = "3";
/// Socket.IO CONNECT to the default namespace.
pub(crate) const CONNECT: &str = "40";

/// The path and query of the websocket endpoint.
pub(crate) const PATH: &str = "/socket.io/?EIO=4&transport=websocket";

/// Parses one text frame from the server.
pub(crate) fn parse(frame: &str) -> anyhow::Result<Packet<'_>> {
    let mut chars = frame.chars();
    let kind = chars.next().context("empty Engine.IO packet")?;
    let rest = chars.as_str();
    Ok(match kind {
        '0' => Packet::Open(serde_json::from_str(rest).context("Engine.IO open packet")?),
        '1' => Packet::Close,
        '2' => Packet::Ping,
        '3' | '6' => Packet::Noop,
        '4' => socketio(rest)?,
        _ => bail!("unknown Engine.IO packet {:?}", short(frame)),
    })
}

/// The Socket.IO packet inside an Engine.IO message:
/// `<type>[<nsp>,][<ack id>][<json>]`.
fn socketio(p: &str) -> anyhow::Result<Packet<'_>> {
    let mut chars = p.chars();
    let kind = chars.next().context("empty Socket.IO packet")?;
    let mut rest = chars.as_str();
    if rest.starts_with('/') {
        let (nsp, after) = rest
            .split_once(',')
            .with_context(|| format!("namespace without a comma in {:?}", short(p)))?;
        if nsp != "/" {
            bail!("packet for namespace {nsp}, the load tester uses only /");
        }
        rest = after;
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (id, json) = rest.split_at(digits);
    let id = if id.is_empty() {
        None
    } else {
        Some(id.parse::<u64>().context("ack id")?)
    };
    Ok(match kind {
        '0' => Packet::Connect(json),
        '1' => Packet::Disconnect,
        '2' => Packet::Event { ack: id, json },
        '3' => Packet::Ack {
            id: id.context("ACK without an id")?,
            json,
        },
        '4' => Packet::ConnectError(json),
        '5' | '6' => bail!("binary packets are not used by the load tester"),
        _ => bail!("unknown Socket.IO packet {:?}", short(p)),
    })
}

/// An EVENT frame: `args` is the JSON of the arguments after the event
/// name, comma separated (empty for none).
pub(crate) fn event(ack: Option<u64>, name: &str, args: &str) -> String {
    let mut out = String::with_capacity(8 + name.len() + args.len());
    out.push_str("42");
    if let Some(id) = ack {
        out.push_str(itoa::Buffer::new().format(id));
    }
    out.push_str("[\"");
    out.push_str(name);
    out.push('"');
    if !args.is_empty() {
        out.push(',');
        out.push_str(args);
    }
    out.push(']');
    out
}

/// The ACK frame answering the server's event `id` with the JSON array `args`.
pub(crate) fn ack(id: u64, args: &str) -> String {
    format!("43{id}{args}")
}

/// The start of a frame, for error messages.
fn short(s: &str) -> &str {
    let end = s.char_indices().nth(60).map_or(s.len(), |(i, _)| i);
    s.get(..end).unwrap_or(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_handshake_and_heartbeat() {
        let open = r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        assert_eq!(
            parse(open).unwrap(),
            Packet::Open(Open {
                sid: "abc".into(),
                ping_interval: 25000,
                ping_timeout: 20000
            })
        );
        assert_eq!(parse("2").unwrap(), Packet::Ping);
        assert_eq!(parse("6").unwrap(), Packet::Noop);
        assert_eq!(
            parse(r#"40{"sid":"x"}"#).unwrap(),
            Packet::Connect(r#"{"sid":"x"}"#)
        );
        assert_eq!(
            parse(r#"44{"message":"no"}"#).unwrap(),
            Packet::ConnectError(r#"{"message":"no"}"#)
        );
    }

    #[test]
    fn parses_events_and_acks_with_and_without_ids() {
        assert_eq!(
            parse(r#"42["m",[1,2,3,4,""]]"#).unwrap(),
            Packet::Event {
                ack: None,
                json: r#"["m",[1,2,3,4,""]]"#
            }
        );
        assert_eq!(
            parse(r#"4217["q",1]"#).unwrap(),
            Packet::Event {
                ack: Some(17),
                json: r#"["q",1]"#
            }
        );
        assert_eq!(
            parse(r#"42/,3["q"]"#).unwrap(),
            Packet::Event {
                ack: Some(3),
                json: r#"["q"]"#
            }
        );
        assert_eq!(
            parse(r#"4312["ok"]"#).unwrap(),
            Packet::Ack {
                id: 12,
                json: r#"["ok"]"#
            }
        );
        assert!(parse("43[]").is_err(), "an ACK needs an id");
        assert!(parse(r#"42/admin,["m"]"#).is_err());
        assert!(parse("451-[]").is_err());
        assert!(parse("9").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn encodes_events_and_acks() {
        assert_eq!(event(None, "join", r#""r1""#), r#"42["join","r1"]"#);
        assert_eq!(event(Some(5), "ping", ""), r#"425["ping"]"#);
        assert_eq!(ack(9, "[1]"), "439[1]");
        // Servers frame events the same way: what the client writes parses back.
        let frame = event(Some(42), "emit", r#""r",[1,2]"#);
        assert_eq!(
            parse(&frame).unwrap(),
            Packet::Event {
                ack: Some(42),
                json: r#"["emit","r",[1,2]]"#
            }
        );
    }
}
