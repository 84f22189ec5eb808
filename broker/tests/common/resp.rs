//! A small blocking RESP client that reads whole frames.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use super::wait::GUARD;

/// Encodes a command as a RESP multibulk request.
pub fn encode_cmd<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A decoded RESP2 or RESP3 value (the test only needs to look inside
/// aggregates; the exact bytes are kept in [`Frame::raw`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `+`, `-`, `:`, `_`, `,`, `#`, `(`: the line after the type byte.
    Line(u8, Vec<u8>),
    /// `$` or `=`; `None` for `$-1`.
    Bulk(Option<Vec<u8>>),
    /// `*`, `>`, `~`, `%` (a map's pairs flattened); `None` for `*-1`.
    Agg(u8, Option<Vec<Value>>),
}

/// One decoded frame with its exact bytes.
#[derive(Debug, Clone)]
pub struct Frame {
    pub raw: Vec<u8>,
    pub value: Value,
}

impl Frame {
    /// The elements of an array or push.
    pub fn items(&self) -> Option<&[Value]> {
        match &self.value {
            Value::Agg(b'*' | b'>', Some(items)) => Some(items),
            _ => None,
        }
    }

    /// The first element of an array/push as text (the pub/sub kind).
    pub fn kind(&self) -> Option<String> {
        bulk_of(self.items()?.first()?).map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

pub fn bulk_of(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Bulk(Some(data)) => Some(data),
        _ => None,
    }
}

/// The text of a reply that is one bulk or verbatim string (INFO, CLIENT
/// LIST).
pub fn text(reply: &[u8]) -> String {
    match parse_value(reply) {
        Ok(Some((Value::Bulk(Some(b)), _))) => String::from_utf8(b).unwrap(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

/// The value of `name=` in a CLIENT LIST line.
pub fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {name}= in {line}"))
}

/// Parses one value at the start of `buf`: `Ok(None)` if incomplete.
pub fn parse_value(buf: &[u8]) -> Result<Option<(Value, usize)>, String> {
    let Some(cr) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let kind = *buf.first().ok_or("empty")?;
    let line = &buf[1..cr];
    let next = cr + 2;
    let num = || -> Result<i64, String> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad length {:?}", String::from_utf8_lossy(line)))
    };
    match kind {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {
            Ok(Some((Value::Line(kind, line.to_vec()), next)))
        }
        b'$' | b'=' => {
            let n = num()?;
            if n < 0 {
                return Ok(Some((Value::Bulk(None), next)));
            }
            let n = n as usize;
            if buf.len() < next + n + 2 {
                return Ok(None);
            }
            Ok(Some((
                Value::Bulk(Some(buf[next..next + n].to_vec())),
                next + n + 2,
            )))
        }
        b'*' | b'>' | b'~' | b'%' => {
            let n = num()?;
            if n < 0 {
                return Ok(Some((Value::Agg(kind, None), next)));
            }
            let count = if kind == b'%' { n * 2 } else { n } as usize;
            let mut items = Vec::with_capacity(count);
            let mut pos = next;
            for _ in 0..count {
                match parse_value(&buf[pos..])? {
                    Some((v, used)) => {
                        items.push(v);
                        pos += used;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Value::Agg(kind, Some(items)), pos)))
        }
        other => Err(format!("unknown RESP type byte {other:#x}")),
    }
}

/// A blocking client that reads whole frames, over TCP unless built with
/// [`Conn::over`] (a TLS stream, for instance).
pub struct Conn<S = TcpStream> {
    pub stream: S,
    buf: Vec<u8>,
    /// Start of unread data in `buf` (consumed bytes are dropped in bulk).
    pos: usize,
}

impl Conn {
    pub fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(GUARD)).unwrap();
        stream.set_nodelay(true).unwrap();
        Self::over(stream)
    }
}

impl<S: Read + Write> Conn<S> {
    /// A client over an already connected stream (reads must time out
    /// after [`GUARD`] for a missing reply to fail the test).
    pub fn over(stream: S) -> Self {
        Self {
            stream,
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// Writes `bytes`. A peer that closed the connection is not an error
    /// here: the next read reports the close, which is what tests check.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        match self.stream.write_all(bytes) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                ) => {}
            Err(e) => panic!("write failed: {e}"),
        }
    }

    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        let req = encode_cmd(args);
        self.send_raw(&req);
    }

    /// Reads one more chunk; false on EOF.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => false,
            Err(e) => panic!("read failed (no reply within {GUARD:?}?): {e}"),
        }
    }

    fn take_frame(&mut self) -> Option<Frame> {
        let unread = &self.buf[self.pos..];
        let (value, used) = parse_value(unread).expect("server sent invalid RESP")?;
        let raw = unread[..used].to_vec();
        self.pos += used;
        if self.pos == self.buf.len() || self.pos > 1 << 20 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        Some(Frame { raw, value })
    }

    /// Reads the next frame; `None` on EOF.
    pub fn frame(&mut self) -> Option<Frame> {
        loop {
            if let Some(f) = self.take_frame() {
                return Some(f);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Sends a command and returns the raw bytes of its one-frame reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        self.send(args);
        self.frame().expect("connection closed").raw
    }

    /// Reads until EOF, returning everything received.
    pub fn read_to_eof(&mut self) -> Vec<u8> {
        while self.fill() {}
        let rest = self.buf.split_off(self.pos);
        self.buf.clear();
        self.pos = 0;
        rest
    }

    /// Reads frames until `is_end` accepts one; returns the frames before it.
    pub fn frames_until(&mut self, mut is_end: impl FnMut(&Frame) -> bool) -> Option<Vec<Frame>> {
        let mut out = Vec::new();
        let deadline = Instant::now() + GUARD;
        loop {
            assert!(Instant::now() < deadline, "no end frame within {GUARD:?}");
            let f = self.frame()?;
            if is_end(&f) {
                return Some(out);
            }
            out.push(f);
        }
    }
}
