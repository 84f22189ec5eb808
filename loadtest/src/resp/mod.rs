//! A minimal RESP2/RESP3 client: a pipelined writer and a frame reader over
//! a tokio `TcpStream`.
//!
//! The load tester must cost the broker, not itself, so the measuring path
//! uses no client library: commands are encoded straight into one write
//! buffer that is flushed once per batch, and pub/sub deliveries are decoded
//! in place from the read buffer ([`parse_event`]) without allocating. Only
//! control replies (confirmations, PUBSUB NUMSUB, HELLO) go through the
//! general, allocating [`Frame`] parser.

mod conn;
mod matcher;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;

use anyhow::{Context, bail};
use bytes::Bytes;

pub(crate) use conn::{Conn, Reader, Writer};
pub(crate) use matcher::DeliveryMatcher;

/// Deepest nesting the general parser accepts; replies the load tester asks
/// for nest two levels at most.
const MAX_DEPTH: usize = 16;

/// One decoded RESP2 or RESP3 value (control replies only).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Frame {
    /// `+OK`
    Simple(Bytes),
    /// `-ERR ...` (and RESP3 `!` blob errors).
    Error(Bytes),
    /// `:1`
    Integer(i64),
    /// `$3\r\nfoo` (and RESP3 `=` verbatim strings, `(` big numbers, `,` doubles).
    Bulk(Bytes),
    /// `$-1`, `*-1`, `_`
    Null,
    /// `#t` / `#f`
    Boolean(bool),
    /// `*`, `~` (sets)
    Array(Vec<Frame>),
    /// `>`: RESP3 out-of-band push (pub/sub messages and confirmations).
    Push(Vec<Frame>),
    /// `%`
    Map(Vec<(Frame, Frame)>),
}

impl Frame {
    /// The elements of an array or push frame, which carry pub/sub
    /// confirmations in RESP2 and RESP3 alike.
    pub(crate) fn items(&self) -> Option<&[Frame]> {
        match self {
            Frame::Array(v) | Frame::Push(v) => Some(v),
            _ => None,
        }
    }

    /// The first element of an array or push, as bytes: the kind of a
    /// pub/sub confirmation or message, the role in a ROLE reply.
    pub(crate) fn head(&self) -> Option<&[u8]> {
        self.items()?.first()?.as_bytes()
    }

    /// The bytes of a simple or bulk string.
    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Frame::Simple(b) | Frame::Bulk(b) => Some(b),
            _ => None,
        }
    }

    /// The value of an integer reply.
    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            Frame::Integer(i) => Some(*i),
            _ => None,
        }
    }
}

/// A decoded unit from a subscriber's stream: either a delivery, borrowed
/// from the read buffer, or any other frame.
#[derive(Debug, PartialEq)]
pub(crate) enum Event<'a> {
    /// `message`, `smessage` or `pmessage` (channel is the concrete channel).
    Message {
        /// The channel the message was published to.
        channel: &'a [u8],
        /// The published payload.
        payload: &'a [u8],
    },
    /// Anything else: confirmations, replies, errors.
    Other(Frame),
}

/// Finds the end of the line starting at `pos`; returns (line, index after `\r\n`).
fn line(buf: &[u8], pos: usize) -> anyhow::Result<Option<(&[u8], usize)>> {
    let Some(rest) = buf.get(pos..) else {
        return Ok(None);
    };
    let Some(nl) = memchr::memchr(b'\n', rest) else {
        return Ok(None);
    };
    let Some(body) = rest.get(..nl) else {
        return Ok(None);
    };
    let Some(body) = body.strip_suffix(b"\r") else {
        bail!("protocol error: line without \\r\\n");
    };
    Ok(Some((body, pos + nl + 1)))
}

/// Parses a RESP integer: an optional `-` then ASCII digits. By hand,
/// because it runs several times per delivery.
fn parse_int(digits: &[u8]) -> anyhow::Result<i64> {
    let (negative, body) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, digits),
    };
    if body.is_empty() || body.len() > 18 {
        bail!(
            "protocol error: bad integer {:?}",
            String::from_utf8_lossy(digits)
        );
    }
    let mut v: i64 = 0;
    for &d in body {
        if !d.is_ascii_digit() {
            bail!(
                "protocol error: bad integer {:?}",
                String::from_utf8_lossy(digits)
            );
        }
        v = v * 10 + i64::from(d - b'0');
    }
    Ok(if negative { -v } else { v })
}

/// Reads a bulk body of `len` bytes at `pos` followed by `\r\n`.
fn bulk_body(buf: &[u8], pos: usize, len: i64) -> anyhow::Result<Option<(&[u8], usize)>> {
    let len = usize::try_from(len).context("protocol error: negative length")?;
    let end = pos + len;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    if buf.get(end..end + 2) != Some(b"\r\n".as_slice()) {
        bail!("protocol error: bulk string not terminated by \\r\\n");
    }
    Ok(buf.get(pos..end).map(|body| (body, end + 2)))
}

/// Parses one frame at `pos`; `Ok(None)` when the buffer holds only part of it.
fn parse_frame(buf: &[u8], pos: usize, depth: usize) -> anyhow::Result<Option<(Frame, usize)>> {
    if depth > MAX_DEPTH {
        bail!("protocol error: reply nested too deeply");
    }
    let Some((head, next)) = line(buf, pos)? else {
        return Ok(None);
    };
    let Some((&kind, rest)) = head.split_first() else {
        bail!("protocol error: empty line");
    };
    let copy = Bytes::copy_from_slice;
    let frame = match kind {
        b'+' => (Frame::Simple(copy(rest)), next),
        b'-' => (Frame::Error(copy(rest)), next),
        b':' => (Frame::Integer(parse_int(rest)?), next),
        b'_' => (Frame::Null, next),
        b'#' => (Frame::Boolean(rest == b"t"), next),
        b',' | b'(' => (Frame::Bulk(copy(rest)), next),
        b'$' | b'=' | b'!' => {
            let len = parse_int(rest)?;
            if len < 0 {
                (Frame::Null, next)
            } else {
                let Some((body, end)) = bulk_body(buf, next, len)? else {
                    return Ok(None);
                };
                if kind == b'!' {
                    (Frame::Error(copy(body)), end)
                } else {
                    (Frame::Bulk(copy(body)), end)
                }
            }
        }
        b'*' | b'~' | b'>' => {
            let n = parse_int(rest)?;
            if n < 0 {
                (Frame::Null, next)
            } else {
                let mut items = Vec::new();
                let mut at = next;
                for _ in 0..n {
                    let Some((item, end)) = parse_frame(buf, at, depth + 1)? else {
                        return Ok(None);
                    };
                    items.push(item);
                    at = end;
                }
                if kind == b'>' {
                    (Frame::Push(items), at)
                } else {
                    (Frame::Array(items), at)
                }
            }
        }
        b'%' | b'|' => {
            let n = parse_int(rest)?;
            let mut pairs = Vec::new();
            let mut at = next;
            for _ in 0..n.max(0) {
                let Some((k, end)) = parse_frame(buf, at, depth + 1)? else {
                    return Ok(None);
                };
                let Some((v, end)) = parse_frame(buf, end, depth + 1)? else {
                    return Ok(None);
                };
                pairs.push((k, v));
                at = end;
            }
            if kind == b'|' {
                // An attribute annotates the reply that follows it; the
                // load tester has no use for it.
                return parse_frame(buf, at, depth + 1);
            }
            (Frame::Map(pairs), at)
        }
        other => bail!("protocol error: unknown type byte {:?}", other as char),
    };
    Ok(Some(frame))
}

/// Parses one general frame from the start of `buf`, returning it and the
/// number of bytes it took.
pub(crate) fn parse(buf: &[u8]) -> anyhow::Result<Option<(Frame, usize)>> {
    parse_frame(buf, 0, 0)
}

/// `N` bulk strings borrowed from a buffer, and the index after the last.
type Bulks<'a, const N: usize> = ([&'a [u8]; N], usize);

/// Reads `n` consecutive bulk strings starting at `pos`, without copying.
/// `Ok(None)` means "incomplete or not all bulk strings"; the caller falls
/// back to the general parser, which tells the two apart.
fn bulks<const N: usize>(buf: &[u8], mut pos: usize) -> anyhow::Result<Option<Bulks<'_, N>>> {
    let mut out: [&[u8]; N] = [&[]; N];
    for slot in &mut out {
        if buf.get(pos) != Some(&b'$') {
            return Ok(None);
        }
        let Some((head, next)) = line(buf, pos)? else {
            return Ok(None);
        };
        let len = parse_int(head.get(1..).unwrap_or_default())?;
        if len < 0 {
            return Ok(None);
        }
        let Some((body, end)) = bulk_body(buf, next, len)? else {
            return Ok(None);
        };
        *slot = body;
        pos = end;
    }
    Ok(Some((out, pos)))
}

/// Decodes one unit from a subscriber's read buffer.
///
/// Deliveries (`message`/`smessage` as a 3-element, `pmessage` as a
/// 4-element RESP2 array or RESP3 push) are returned as slices into `buf`,
/// so the hot path allocates nothing; everything else goes through
/// [`parse`].
pub(crate) fn parse_event(buf: &[u8]) -> anyhow::Result<Option<(Event<'_>, usize)>> {
    if matches!(buf.first(), Some(b'*' | b'>')) {
        let Some((head, next)) = line(buf, 0)? else {
            return Ok(None);
        };
        match head.get(1..) {
            Some(b"3") => {
                if let Some(([kind, channel, payload], end)) = bulks::<3>(buf, next)?
                    && (kind == b"message" || kind == b"smessage")
                {
                    return Ok(Some((Event::Message { channel, payload }, end)));
                }
            }
            Some(b"4") => {
                if let Some(([kind, _pattern, channel, payload], end)) = bulks::<4>(buf, next)?
                    && kind == b"pmessage"
                {
                    return Ok(Some((Event::Message { channel, payload }, end)));
                }
            }
            _ => {}
        }
    }
    Ok(parse(buf)?.map(|(frame, n)| (Event::Other(frame), n)))
}
