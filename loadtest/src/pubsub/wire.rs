//! What the `pubsub` mode says to a server and reads back: channel names,
//! the payload header, pre-encoded PUBLISH commands, and subscriptions
//! confirmed twice (by the replies and by PUBSUB NUMSUB). Every payload
//! starts with the header of [`crate::stamp`].

use std::net::SocketAddr;

use anyhow::{Context, bail};
use bytes::{BufMut, BytesMut};

use crate::figures::ScenarioKind;
use crate::resp::{Conn, Frame};

pub(super) use crate::stamp::{HEADER_LEN, decode_header};

/// The command used for publishing and subscribing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Plain,
    Pattern,
    Shard,
}

impl Mode {
    /// The command family `scenario` publishes and subscribes with.
    pub(super) fn of(scenario: ScenarioKind) -> Self {
        match scenario {
            ScenarioKind::Patterns => Mode::Pattern,
            ScenarioKind::Sharded => Mode::Shard,
            _ => Mode::Plain,
        }
    }
}

pub(super) fn channel_name(c: u32) -> Vec<u8> {
    format!("lt:ch:{c}").into_bytes()
}

/// The pattern `patterns` subscribers receive through; it matches every
/// `lt:ch:N` channel.
pub(super) const MATCHING_PATTERN: &[u8] = b"lt:ch:*";

/// Confirms that a reply to (P/S)SUBSCRIBE or UNSUBSCRIBE is a confirmation.
pub(super) fn confirmation_kind(frame: &Frame) -> anyhow::Result<&[u8]> {
    if let Frame::Error(e) = frame {
        bail!("server error: {}", String::from_utf8_lossy(e));
    }
    frame
        .head()
        .with_context(|| format!("expected a subscription confirmation, got {frame:?}"))
}

/// Opens a connection and subscribes it to `names`, reading every
/// confirmation, so the subscription is in force when this returns.
pub(super) async fn subscribe(
    addr: SocketAddr,
    resp3: bool,
    mode: Mode,
    names: &[Vec<u8>],
) -> anyhow::Result<Conn> {
    let mut conn = Conn::connect(addr, resp3).await?;
    let cmd: &[u8] = match mode {
        Mode::Plain => b"SUBSCRIBE",
        Mode::Pattern => b"PSUBSCRIBE",
        Mode::Shard => b"SSUBSCRIBE",
    };
    for chunk in names.chunks(500) {
        let mut args: Vec<&[u8]> = vec![cmd];
        args.extend(chunk.iter().map(Vec::as_slice));
        conn.writer.push(&args);
    }
    conn.writer.flush().await?;
    let want: &[u8] = match mode {
        Mode::Plain => b"subscribe",
        Mode::Pattern => b"psubscribe",
        Mode::Shard => b"ssubscribe",
    };
    for _ in 0..names.len() {
        let frame = conn.reader.read_frame().await?;
        let kind = confirmation_kind(&frame)?;
        if kind != want {
            bail!(
                "expected {} confirmation, got {frame:?}",
                String::from_utf8_lossy(want)
            );
        }
    }
    Ok(conn)
}

/// Checks with PUBSUB NUMSUB / SHARDNUMSUB that each channel has `expected`
/// subscribers: a second opinion on the confirmations, from the server's
/// own registry.
pub(super) async fn verify_numsub(
    control: &mut Conn,
    sub: &[u8],
    channels: &[Vec<u8>],
    expected: u64,
) -> anyhow::Result<()> {
    for chunk in channels.chunks(1000) {
        let mut args: Vec<&[u8]> = vec![b"PUBSUB", sub];
        args.extend(chunk.iter().map(Vec::as_slice));
        let reply = control.command(&args).await?;
        let items = reply.items().with_context(|| {
            format!(
                "PUBSUB {}: unexpected reply {reply:?}",
                String::from_utf8_lossy(sub)
            )
        })?;
        for pair in items.chunks(2) {
            if let [name, count] = pair {
                let n = count.as_int().unwrap_or(-1);
                if u64::try_from(n).ok() != Some(expected) {
                    bail!(
                        "PUBSUB {} {} = {n}, expected {expected}",
                        String::from_utf8_lossy(sub),
                        String::from_utf8_lossy(name.as_bytes().unwrap_or_default())
                    );
                }
            }
        }
    }
    Ok(())
}

pub(super) async fn int_reply(control: &mut Conn, args: &[&[u8]]) -> anyhow::Result<i64> {
    let reply = control.command(args).await?;
    reply
        .as_int()
        .with_context(|| format!("expected an integer, got {reply:?}"))
}

/// Pre-encoded `*3 $7 PUBLISH $n channel $len` up to the payload bytes.
pub(super) fn publish_prefix(mode: Mode, channel: &[u8], payload: usize) -> BytesMut {
    let cmd: &[u8] = if mode == Mode::Shard {
        b"SPUBLISH"
    } else {
        b"PUBLISH"
    };
    let mut b = BytesMut::new();
    b.put_slice(b"*3\r\n$");
    b.put_slice(itoa::Buffer::new().format(cmd.len()).as_bytes());
    b.put_slice(b"\r\n");
    b.put_slice(cmd);
    b.put_slice(b"\r\n$");
    b.put_slice(itoa::Buffer::new().format(channel.len()).as_bytes());
    b.put_slice(b"\r\n");
    b.put_slice(channel);
    b.put_slice(b"\r\n$");
    b.put_slice(itoa::Buffer::new().format(payload).as_bytes());
    b.put_slice(b"\r\n");
    b
}
