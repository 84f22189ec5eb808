//! A minimal RESP2/RESP3 client: a pipelined writer and a frame reader over
//! a tokio `TcpStream`.
//!
//! The load tester must cost the broker, not itself, so the measuring path
//! uses no client library: commands are encoded straight into one write
//! buffer that is flushed once per batch, and pub/sub deliveries are decoded
//! in place from the read buffer ([`parse_event`]) without allocating. Only
//! control replies (confirmations, PUBSUB NUMSUB, HELLO) go through the
//! general, allocating [`Frame`] parser.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Read buffer growth step: large enough that one `read` drains a burst of
/// small deliveries, small enough for ten thousand idle connections.
const READ_CHUNK: usize = 16 * 1024;

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

/// The exact bytes that precede the payload of every delivery a load-tester
/// subscriber expects (its channel, the pattern it holds, the payload size
/// are all known), so that a delivery is recognised by one comparison
/// instead of parsing four headers: the parser was half of the load
/// tester's CPU when reading 100 subscribers, and the load tester shares
/// the machine with the server it measures. Anything else falls back to
/// [`parse_event`].
#[derive(Debug, Clone)]
pub(crate) struct DeliveryMatcher {
    prefix: Vec<u8>,
    payload: usize,
}

impl DeliveryMatcher {
    /// Deliveries of `payload`-byte messages: `kind` (`message`, `smessage`
    /// or `pmessage` with `pattern`) on `channel`, in RESP3 pushes or RESP2
    /// arrays.
    pub(crate) fn new(
        kind: &[u8],
        pattern: Option<&[u8]>,
        channel: &[u8],
        payload: usize,
        resp3: bool,
    ) -> Self {
        let parts: Vec<&[u8]> = std::iter::once(kind)
            .chain(pattern)
            .chain([channel])
            .collect();
        let mut prefix = Vec::new();
        prefix.push(if resp3 { b'>' } else { b'*' });
        prefix.extend_from_slice(itoa::Buffer::new().format(parts.len() + 1).as_bytes());
        prefix.extend_from_slice(b"\r\n");
        for part in parts {
            prefix.push(b'$');
            prefix.extend_from_slice(itoa::Buffer::new().format(part.len()).as_bytes());
            prefix.extend_from_slice(b"\r\n");
            prefix.extend_from_slice(part);
            prefix.extend_from_slice(b"\r\n");
        }
        prefix.push(b'$');
        prefix.extend_from_slice(itoa::Buffer::new().format(payload).as_bytes());
        prefix.extend_from_slice(b"\r\n");
        Self { prefix, payload }
    }

    /// The payload and the frame's length, if `buf` starts with a whole
    /// expected delivery.
    pub(crate) fn matches<'a>(&self, buf: &'a [u8]) -> Option<(&'a [u8], usize)> {
        let rest = buf.strip_prefix(self.prefix.as_slice())?;
        let payload = rest.get(..self.payload)?;
        (rest.get(self.payload..self.payload + 2)? == b"\r\n")
            .then_some((payload, self.prefix.len() + self.payload + 2))
    }
}

/// Appends one command, as a RESP array of bulk strings, to `out`.
pub(crate) fn encode_command(out: &mut BytesMut, args: &[&[u8]]) {
    out.put_u8(b'*');
    out.put_slice(itoa::Buffer::new().format(args.len()).as_bytes());
    out.put_slice(b"\r\n");
    for arg in args {
        out.put_u8(b'$');
        out.put_slice(itoa::Buffer::new().format(arg.len()).as_bytes());
        out.put_slice(b"\r\n");
        out.put_slice(arg);
        out.put_slice(b"\r\n");
    }
}

/// The reading half of a connection, with its buffer.
#[derive(Debug)]
pub(crate) struct Reader {
    half: OwnedReadHalf,
    buf: BytesMut,
}

impl Reader {
    /// Reads more bytes into the buffer; an error on EOF, because every
    /// connection the load tester opens is closed by the load tester.
    pub(crate) async fn fill(&mut self) -> anyhow::Result<usize> {
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
            self.buf.reserve(READ_CHUNK);
        }
        let n = self.half.read_buf(&mut self.buf).await?;
        if n == 0 {
            bail!("connection closed by the server");
        }
        Ok(n)
    }

    /// The bytes read and not yet consumed.
    pub(crate) fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// Drops `n` decoded bytes from the front of the buffer.
    pub(crate) fn consume(&mut self, n: usize) {
        self.buf.advance(n);
    }

    /// Reads one general frame, waiting for more bytes as needed.
    pub(crate) async fn read_frame(&mut self) -> anyhow::Result<Frame> {
        loop {
            if let Some((frame, n)) = parse(&self.buf)? {
                self.buf.advance(n);
                return Ok(frame);
            }
            self.fill().await?;
        }
    }
}

/// The writing half of a connection: commands accumulate in `buf` and go
/// out in one `write_all` per [`Writer::flush`], which is what pipelining is.
#[derive(Debug)]
pub(crate) struct Writer {
    half: OwnedWriteHalf,
    buf: BytesMut,
}

impl Writer {
    /// Queues a command without sending it.
    pub(crate) fn push(&mut self, args: &[&[u8]]) {
        encode_command(&mut self.buf, args);
    }

    /// The pending output, for callers that encode commands themselves.
    pub(crate) fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes queued and not yet flushed.
    pub(crate) fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Sends everything queued.
    pub(crate) async fn flush(&mut self) -> anyhow::Result<()> {
        if !self.buf.is_empty() {
            self.half.write_all(&self.buf).await?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// A connection to a RESP server.
#[derive(Debug)]
pub(crate) struct Conn {
    /// Replies and pushes.
    pub(crate) reader: Reader,
    /// Pipelined commands.
    pub(crate) writer: Writer,
}

impl Conn {
    /// Connects with `TCP_NODELAY` (the load tester batches itself) and,
    /// for RESP3, switches protocol with `HELLO 3`.
    pub(crate) async fn connect(addr: SocketAddr, resp3: bool) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        let mut conn = Conn {
            reader: Reader {
                half: r,
                buf: BytesMut::with_capacity(1024),
            },
            writer: Writer {
                half: w,
                buf: BytesMut::with_capacity(1024),
            },
        };
        if resp3 {
            let reply = conn.command(&[b"HELLO", b"3"]).await?;
            if let Frame::Error(e) = reply {
                bail!("HELLO 3 refused: {}", String::from_utf8_lossy(&e));
            }
        }
        Ok(conn)
    }

    /// Sends one command and reads one reply.
    pub(crate) async fn command(&mut self, args: &[&[u8]]) -> anyhow::Result<Frame> {
        self.writer.push(args);
        self.writer.flush().await?;
        self.reader.read_frame().await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_decodes_resp2_and_resp3_deliveries() {
        let r2 = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nabc\r\n";
        let (ev, n) = parse_event(r2).unwrap().unwrap();
        assert_eq!(n, r2.len());
        assert_eq!(
            ev,
            Event::Message {
                channel: b"ch",
                payload: b"abc"
            }
        );

        let r3 = b">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$0\r\n\r\n";
        let m = DeliveryMatcher::new(b"pmessage", Some(b"c*"), b"ch", 0, true);
        assert_eq!(m.matches(r3), Some((&b""[..], r3.len())));
        assert_eq!(m.matches(&r3[..r3.len() - 1]), None);
        let m2 = DeliveryMatcher::new(b"message", None, b"ch", 3, false);
        let r2 = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nabc\r\n";
        assert_eq!(m2.matches(r2), Some((&b"abc"[..], r2.len())));
        assert_eq!(
            m2.matches(b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nabcXY"),
            None
        );
        let (ev, n) = parse_event(r3).unwrap().unwrap();
        assert_eq!(n, r3.len());
        assert_eq!(
            ev,
            Event::Message {
                channel: b"ch",
                payload: b""
            }
        );

        let s = b">3\r\n$8\r\nsmessage\r\n$1\r\nx\r\n$1\r\ny\r\n";
        let (ev, _) = parse_event(s).unwrap().unwrap();
        assert_eq!(
            ev,
            Event::Message {
                channel: b"x",
                payload: b"y"
            }
        );
    }

    #[test]
    fn confirmations_and_partial_input() {
        let c = b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n";
        let (ev, n) = parse_event(c).unwrap().unwrap();
        assert_eq!(n, c.len());
        let Event::Other(frame) = ev else {
            panic!("not a confirmation")
        };
        let items = frame.items().unwrap();
        assert_eq!(items[0].as_bytes(), Some(&b"subscribe"[..]));
        assert_eq!(items[2].as_int(), Some(1));
        for cut in 0..c.len() {
            assert!(parse_event(&c[..cut]).unwrap().is_none(), "cut at {cut}");
        }
        let m = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nabc\r\n";
        for cut in 0..m.len() {
            assert!(parse_event(&m[..cut]).unwrap().is_none(), "cut at {cut}");
        }
    }

    #[test]
    fn resp3_types() {
        let (f, _) = parse(b"%1\r\n+a\r\n#t\r\n").unwrap().unwrap();
        assert_eq!(
            f,
            Frame::Map(vec![(Frame::Simple("a".into()), Frame::Boolean(true))])
        );
        let (f, _) = parse(b"|1\r\n+k\r\n+v\r\n:5\r\n").unwrap().unwrap();
        assert_eq!(f, Frame::Integer(5));
        let (f, _) = parse(b"!3\r\nERR\r\n").unwrap().unwrap();
        assert_eq!(f, Frame::Error("ERR".into()));
        assert!(parse(b"?x\r\n").is_err());
        assert_eq!(parse(b":-12\r\n").unwrap().unwrap().0, Frame::Integer(-12));
        assert!(parse(b":1x\r\n").is_err());
        assert!(parse(b":\r\n").is_err());
    }

    #[test]
    fn encodes_commands() {
        let mut b = BytesMut::new();
        encode_command(&mut b, &[b"PUBLISH", b"ch", b""]);
        assert_eq!(&b[..], b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$0\r\n\r\n");
    }
}
