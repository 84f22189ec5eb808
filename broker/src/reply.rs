//! Reply encoding for RESP2 and RESP3.
//!
//! Command code writes replies through [`Reply`], which picks the wire form
//! from the connection's protocol, so no command needs to know which
//! version it is talking: a map is `%n` in RESP3 and a flat `*2n` array in
//! RESP2, a push is `>n` or `*n`, a null is `_` or `$-1`.
//!
//! # Format
//!
//! ```text
//! simple  = "+" text CRLF          error = "-" text CRLF      int = ":" n CRLF
//! bulk    = "$" len CRLF bytes CRLF                           null = "$-1" CRLF | "_" CRLF
//! array   = "*" n CRLF ...         push  = ">" n CRLF ...     map = "%" n CRLF ...
//! set     = "~" n CRLF ...         verbatim = "=" len CRLF "txt:" bytes CRLF
//! ```

use bytes::{BufMut, BytesMut};

/// A writer of RESP replies into a buffer, in one protocol version.
#[derive(Debug)]
pub struct Reply<'a> {
    buf: &'a mut BytesMut,
    resp3: bool,
}

fn header(buf: &mut BytesMut, kind: u8, n: i64) {
    let mut num = itoa::Buffer::new();
    let digits = num.format(n).as_bytes();
    buf.reserve(digits.len() + 3);
    buf.put_u8(kind);
    buf.put_slice(digits);
    buf.put_slice(b"\r\n");
}

/// Appends a bulk string, the most common element on the wire.
pub fn put_bulk(buf: &mut BytesMut, data: &[u8]) {
    header(buf, b'$', data.len() as i64);
    buf.reserve(data.len() + 2);
    buf.put_slice(data);
    buf.put_slice(b"\r\n");
}

/// Appends an aggregate header (`*`, `>`, `%`, ...).
pub fn put_header(buf: &mut BytesMut, kind: u8, n: usize) {
    header(buf, kind, n as i64);
}

/// Makes an error text safe for the wire: Redis maps CR and LF to spaces so
/// that an echoed argument can never end the error line early.
pub fn sanitize_error(text: &[u8]) -> Vec<u8> {
    text.iter()
        .map(|b| if matches!(b, b'\r' | b'\n') { b' ' } else { *b })
        .collect()
}

impl<'a> Reply<'a> {
    /// A writer appending to `buf` in RESP3 when `resp3` is set, else RESP2.
    pub fn new(buf: &'a mut BytesMut, resp3: bool) -> Self {
        Self { buf, resp3 }
    }

    /// Whether replies are being written in RESP3.
    pub fn resp3(&self) -> bool {
        self.resp3
    }

    /// `+text`.
    pub fn simple(&mut self, text: &[u8]) {
        self.buf.reserve(text.len() + 3);
        self.buf.put_u8(b'+');
        self.buf.put_slice(text);
        self.buf.put_slice(b"\r\n");
    }

    /// `+OK`.
    pub fn ok(&mut self) {
        self.buf.put_slice(b"+OK\r\n");
    }

    /// `-text`, with CR and LF replaced by spaces.
    pub fn error(&mut self, text: &[u8]) {
        let clean = sanitize_error(text);
        self.buf.reserve(clean.len() + 3);
        self.buf.put_u8(b'-');
        self.buf.put_slice(&clean);
        self.buf.put_slice(b"\r\n");
    }

    /// `:n`.
    pub fn int(&mut self, n: i64) {
        header(self.buf, b':', n);
    }

    /// `$len bytes`.
    pub fn bulk(&mut self, data: &[u8]) {
        put_bulk(self.buf, data);
    }

    /// A double: RESP3 `,`, a bulk string in RESP2, in the shortest form
    /// that reads back exactly (Redis 7.2's `fpconv_dtoa`).
    pub fn double(&mut self, value: f64) {
        let text = format!("{value}");
        if self.resp3 {
            self.raw(format!(",{text}\r\n").as_bytes());
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// The null bulk: `_` in RESP3, `$-1` in RESP2.
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.put_slice(b"_\r\n");
        } else {
            self.buf.put_slice(b"$-1\r\n");
        }
    }

    /// An array header of `n` elements.
    pub fn array(&mut self, n: usize) {
        put_header(self.buf, b'*', n);
    }

    /// A push header: `>n` in RESP3, `*n` in RESP2.
    pub fn push(&mut self, n: usize) {
        put_header(self.buf, if self.resp3 { b'>' } else { b'*' }, n);
    }

    /// A map header of `n` pairs: `%n` in RESP3, `*2n` in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            put_header(self.buf, b'%', n);
        } else {
            put_header(self.buf, b'*', n * 2);
        }
    }

    /// A set header: `~n` in RESP3, `*n` in RESP2.
    pub fn set(&mut self, n: usize) {
        put_header(self.buf, if self.resp3 { b'~' } else { b'*' }, n);
    }

    /// A text blob: a verbatim string `=len txt:...` in RESP3, a bulk in RESP2
    /// (what Redis sends for INFO and CLIENT LIST).
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            header(self.buf, b'=', text.len() as i64 + 4);
            self.buf.reserve(text.len() + 6);
            self.buf.put_slice(b"txt:");
            self.buf.put_slice(text);
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Raw bytes already in wire form.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn enc(resp3: bool, f: impl FnOnce(&mut Reply<'_>)) -> Vec<u8> {
        let mut buf = BytesMut::new();
        f(&mut Reply::new(&mut buf, resp3));
        buf.to_vec()
    }

    #[test]
    fn scalars() {
        assert_eq!(enc(false, |r| r.int(-42)), b":-42\r\n");
        assert_eq!(enc(false, |r| r.bulk(b"")), b"$0\r\n\r\n");
        assert_eq!(enc(false, |r| r.null()), b"$-1\r\n");
        assert_eq!(enc(true, |r| r.null()), b"_\r\n");
        assert_eq!(enc(false, |r| r.error(b"ERR a\r\nb")), b"-ERR a  b\r\n");
    }

    #[test]
    fn aggregates_follow_the_protocol() {
        assert_eq!(enc(false, |r| r.push(3)), b"*3\r\n");
        assert_eq!(enc(true, |r| r.push(3)), b">3\r\n");
        assert_eq!(enc(false, |r| r.map(7)), b"*14\r\n");
        assert_eq!(enc(true, |r| r.map(7)), b"%7\r\n");
        assert_eq!(enc(true, |r| r.verbatim(b"# x")), b"=7\r\ntxt:# x\r\n");
        assert_eq!(enc(false, |r| r.verbatim(b"# x")), b"$3\r\n# x\r\n");
    }

    /// `redis-protocol` is the oracle: everything we encode must decode, in
    /// full, as one frame of the protocol it claims to be.
    #[test]
    fn encodings_decode_with_redis_protocol() {
        use redis_protocol::resp2::decode::decode as d2;
        use redis_protocol::resp3::decode::complete::decode as d3;
        let sample = |r: &mut Reply<'_>| {
            r.map(2);
            r.bulk(b"k");
            r.int(1);
            r.bulk(b"n");
            r.null();
        };
        let b2 = enc(false, sample);
        let (_, used) = d2(&b2).unwrap().unwrap();
        assert_eq!(used, b2.len());
        let b3 = enc(true, sample);
        let (_, used) = d3(&b3).unwrap().unwrap();
        assert_eq!(used, b3.len());
    }
}
