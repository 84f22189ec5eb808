//! Request decoding: bytes from the socket into command argument vectors.
//!
//! This is a port of the *behaviour* of Redis' `processMultibulkBuffer` and
//! `processInlineBuffer` (`src/networking.c`), not of a generic RESP grammar:
//! Redis accepts inline commands, skips the two bytes after a bulk without
//! looking at them, looks for `\r` (not `\r\n`) to end a header line and
//! answers each malformed input with one exact error text before closing.
//! A generic RESP decoder (such as `redis-protocol`, kept as the oracle in the
//! tests) does none of that, so requests are decoded here.
//!
//! # Format
//!
//! ```text
//! request   = multibulk / inline
//! multibulk = "*" count CR any (bulk){count}        ; count <= 0: ignored
//! bulk      = "$" length CR any <length bytes> any any
//! inline    = <bytes up to LF, optional CR before it, split like sdssplitargs>
//! ```
//!
//! The decoder is resumable: the arguments of a multibulk request are split
//! off the buffer as they arrive, so a request trickling in byte by byte is
//! never re-scanned, and a declared length is checked before its data is
//! buffered.

use bytes::{Buf, Bytes, BytesMut};

/// Longest header or inline line Redis accepts (`PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX: usize = 64 * 1024;

/// Most arguments an unauthenticated client may send in one request.
const UNAUTH_MAX_ARGS: i64 = 10;

/// Longest bulk an unauthenticated client may send.
const UNAUTH_MAX_BULK: i64 = 16384;

/// A malformed request. Redis answers `-ERR Protocol error: <text>` and closes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The `*` count is not an integer, or is above `INT_MAX`.
    #[error("invalid multibulk length")]
    InvalidMultibulkLength,
    /// More than 10 arguments before authentication.
    #[error("unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// A bulk header did not start with `$`.
    #[error("expected '$', got '{}'", char::from(*.0))]
    ExpectedDollar(u8),
    /// The `$` length is not an integer, negative, or above `proto-max-bulk-len`.
    #[error("invalid bulk length")]
    InvalidBulkLength,
    /// A bulk above 16384 bytes before authentication.
    #[error("unauthenticated bulk length")]
    UnauthenticatedBulkLength,
    /// An inline request with an unterminated or badly closed quote.
    #[error("unbalanced quotes in request")]
    UnbalancedQuotes,
    /// More than 64 KiB of inline data without a newline.
    #[error("too big inline request")]
    TooBigInline,
    /// A `*` line longer than 64 KiB.
    #[error("too big mbulk count string")]
    TooBigMbulkCount,
    /// A `$` line longer than 64 KiB.
    #[error("too big bulk count string")]
    TooBigBulkCount,
}

impl ProtocolError {
    /// The error as a Redis reply body, without the leading `-` and the CRLF.
    ///
    /// The byte in [`ProtocolError::ExpectedDollar`] is sent raw, as Redis'
    /// `%c` does, so this is bytes and not a `String`.
    pub fn reply_text(&self) -> Vec<u8> {
        match self {
            Self::ExpectedDollar(b) => {
                let mut v = b"ERR Protocol error: expected '$', got '".to_vec();
                v.push(*b);
                v.push(b'\'');
                v
            }
            other => format!("ERR Protocol error: {other}").into_bytes(),
        }
    }
}

/// Limits the decoder enforces, taken from the server configuration.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// `proto-max-bulk-len`.
    pub max_bulk_len: i64,
    /// Whether the client still has to authenticate (tighter limits apply).
    pub unauthenticated: bool,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_bulk_len: 512 * 1024 * 1024,
            unauthenticated: false,
        }
    }
}

/// Resumable request decoder; one per connection.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Arguments still expected by the multibulk request being read, or
    /// `None` between requests.
    pending: Option<usize>,
    /// Length of the bulk whose header has been read, waiting for its data.
    bulk_len: Option<usize>,
    /// Arguments read so far for the current multibulk request.
    args: Vec<Bytes>,
}

/// Parses an integer exactly as Redis' `string2ll`: no spaces, no `+`, no
/// leading zeros, optional `-`, and no overflow.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    match s {
        [] => None,
        [b'0'] => Some(0),
        [b'-', rest @ ..] => {
            let v = parse_positive(rest)?;
            // -(2^63) is representable although 2^63 is not.
            if v <= (i64::MAX as u64) + 1 {
                Some((v as i128).wrapping_neg() as i64)
            } else {
                None
            }
        }
        digits => {
            let v = parse_positive(digits)?;
            i64::try_from(v).ok()
        }
    }
}

fn parse_positive(s: &[u8]) -> Option<u64> {
    let (first, rest) = s.split_first()?;
    if !(b'1'..=b'9').contains(first) {
        return None;
    }
    let mut v = u64::from(first - b'0');
    for &b in rest {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// Where a header line ends, as Redis finds it with `strchr(p, '\r')`:
/// `strchr` stops at a NUL byte, so a NUL before the `\r` means "not yet".
/// Redis also needs one byte after the `\r` before it accepts the line.
enum Line {
    /// The line's content ends at this index (the `\r`).
    Complete(usize),
    Incomplete,
}

fn find_cr(buf: &[u8]) -> Line {
    match memchr::memchr2(b'\r', 0, buf) {
        Some(i) if buf.get(i) == Some(&b'\r') && i + 2 <= buf.len() => Line::Complete(i),
        _ => Line::Incomplete,
    }
}

impl Decoder {
    /// A fresh decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a request has been partly read (Redis counts such a client as
    /// having a pending query).
    pub fn in_request(&self) -> bool {
        self.pending.is_some()
    }

    /// Decodes the next complete request from `buf`.
    ///
    /// `Ok(None)` means more bytes are needed. Empty requests (`*0`, `*-1`,
    /// blank inline lines) are consumed silently and never returned.
    ///
    /// # Errors
    ///
    /// A [`ProtocolError`] when the bytes can never form a valid request; the
    /// connection must answer it and close.
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        limits: DecodeLimits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if self.pending.is_none() {
                match buf.first() {
                    None => return Ok(None),
                    Some(b'*') => {
                        if !self.read_count(buf, limits)? {
                            return Ok(None);
                        }
                        if self.pending.is_none() {
                            continue; // empty request: ignored
                        }
                    }
                    Some(_) => match decode_inline(buf)? {
                        InlineOutcome::Incomplete => return Ok(None),
                        InlineOutcome::Empty => continue,
                        InlineOutcome::Args(args) => return Ok(Some(args)),
                    },
                }
            }
            if !self.read_bulks(buf, limits)? {
                return Ok(None);
            }
            self.pending = None;
            return Ok(Some(std::mem::take(&mut self.args)));
        }
    }

    /// Reads the `*<count>` line. Returns false when more bytes are needed.
    fn read_count(
        &mut self,
        buf: &mut BytesMut,
        limits: DecodeLimits,
    ) -> Result<bool, ProtocolError> {
        let end = match find_cr(buf) {
            Line::Complete(end) => end,
            Line::Incomplete => {
                return if buf.len() > INLINE_MAX {
                    Err(ProtocolError::TooBigMbulkCount)
                } else {
                    Ok(false)
                };
            }
        };
        let count = buf
            .get(1..end)
            .and_then(string2ll)
            .filter(|n| *n <= i64::from(i32::MAX))
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        if limits.unauthenticated && count > UNAUTH_MAX_ARGS {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        buf.advance(end + 2);
        if count > 0 {
            let count =
                usize::try_from(count).map_err(|_| ProtocolError::InvalidMultibulkLength)?;
            self.pending = Some(count);
            // Do not trust the count for the allocation: it is bounded by
            // INT_MAX, not by what the client will really send.
            self.args = Vec::with_capacity(count.min(1024));
        }
        Ok(true)
    }

    /// Reads bulks until the request is complete (true) or bytes run out.
    fn read_bulks(
        &mut self,
        buf: &mut BytesMut,
        limits: DecodeLimits,
    ) -> Result<bool, ProtocolError> {
        while self.args.len() < self.pending.unwrap_or(0) {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let end = match find_cr(buf) {
                        Line::Complete(end) => end,
                        Line::Incomplete => {
                            return if buf.len() > INLINE_MAX {
                                Err(ProtocolError::TooBigBulkCount)
                            } else {
                                Ok(false)
                            };
                        }
                    };
                    match buf.first() {
                        Some(b'$') => {}
                        Some(other) => return Err(ProtocolError::ExpectedDollar(*other)),
                        None => return Ok(false),
                    }
                    let len = buf
                        .get(1..end)
                        .and_then(string2ll)
                        .filter(|n| *n >= 0 && *n <= limits.max_bulk_len)
                        .ok_or(ProtocolError::InvalidBulkLength)?;
                    if limits.unauthenticated && len > UNAUTH_MAX_BULK {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    buf.advance(end + 2);
                    let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidBulkLength)?;
                    self.bulk_len = Some(len);
                    // Make room once for a large argument instead of growing
                    // the buffer step by step as it arrives.
                    if len > buf.capacity() {
                        buf.reserve(len + 2 - buf.len().min(len + 2));
                    }
                    len
                }
            };
            if buf.len() < len + 2 {
                return Ok(false);
            }
            let arg = buf.split_to(len).freeze();
            buf.advance(2); // Redis skips two bytes here without checking them.
            self.bulk_len = None;
            self.args.push(arg);
        }
        Ok(true)
    }
}

enum InlineOutcome {
    Incomplete,
    Empty,
    Args(Vec<Bytes>),
}

fn decode_inline(buf: &mut BytesMut) -> Result<InlineOutcome, ProtocolError> {
    let Some(nl) = memchr::memchr(b'\n', buf) else {
        return if buf.len() > INLINE_MAX {
            Err(ProtocolError::TooBigInline)
        } else {
            Ok(InlineOutcome::Incomplete)
        };
    };
    let line_end = if nl > 0 && buf.get(nl - 1) == Some(&b'\r') {
        nl - 1
    } else {
        nl
    };
    let args = split_args(buf.get(..line_end).unwrap_or_default());
    buf.advance(nl + 1);
    match args {
        None => Err(ProtocolError::UnbalancedQuotes),
        Some(args) if args.is_empty() => Ok(InlineOutcome::Empty),
        Some(args) => Ok(InlineOutcome::Args(
            args.into_iter().map(Bytes::from).collect(),
        )),
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits an inline line into arguments with the rules of Redis'
/// `sdssplitargs`: spaces separate, `"..."` understands `\xHH`, `\n`, `\r`,
/// `\t`, `\b`, `\a` and `\<any>`, `'...'` understands only `\'`, and a
/// closing quote must be followed by a space or the end. `None` means
/// unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // sdssplitargs treats the line as a C string: a NUL ends it.
    let line = match memchr::memchr(0, line) {
        Some(i) => line.get(..i).unwrap_or_default(),
        None => line,
    };
    let is_space = |b: u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c);
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while line.get(i).is_some_and(|b| is_space(*b)) {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            let c = line.get(i).copied();
            if in_dq {
                match c {
                    None => return None,
                    Some(b'\\') => {
                        let next = line.get(i + 1).copied();
                        let (h1, h2) = (line.get(i + 2).copied(), line.get(i + 3).copied());
                        if next == Some(b'x') {
                            if let (Some(a), Some(b)) =
                                (h1.and_then(hex_value), h2.and_then(hex_value))
                            {
                                current.push(a * 16 + b);
                                i += 4;
                                continue;
                            }
                        }
                        match next {
                            Some(n) => {
                                current.push(match n {
                                    b'n' => b'\n',
                                    b'r' => b'\r',
                                    b't' => b'\t',
                                    b'b' => 0x08,
                                    b'a' => 0x07,
                                    other => other,
                                });
                                i += 2;
                            }
                            None => return None,
                        }
                    }
                    Some(b'"') => {
                        // The closing quote must be followed by a space or the end.
                        if line.get(i + 1).is_some_and(|b| !is_space(*b)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => {
                        current.push(other);
                        i += 1;
                    }
                }
            } else if in_sq {
                match c {
                    None => return None,
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        current.push(b'\'');
                        i += 2;
                    }
                    Some(b'\'') => {
                        if line.get(i + 1).is_some_and(|b| !is_space(*b)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => {
                        current.push(other);
                        i += 1;
                    }
                }
            } else {
                match c {
                    None => break,
                    Some(b) if is_space(b) => break,
                    Some(b'"') => {
                        in_dq = true;
                        i += 1;
                    }
                    Some(b'\'') => {
                        in_sq = true;
                        i += 1;
                    }
                    Some(other) => {
                        current.push(other);
                        i += 1;
                    }
                }
            }
        }
        args.push(current);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> (Vec<Vec<Bytes>>, Option<ProtocolError>, usize) {
        let mut d = Decoder::new();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match d.decode(&mut buf, DecodeLimits::default()) {
                Ok(Some(args)) => out.push(args),
                Ok(None) => return (out, None, buf.len()),
                Err(e) => return (out, Some(e), buf.len()),
            }
        }
    }

    fn args(v: &[&str]) -> Vec<Bytes> {
        v.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn multibulk_and_pipelining() {
        let (reqs, err, rest) = decode_all(b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*1\r\n$4\r\nPING\r\n");
        assert_eq!(reqs, vec![args(&["ECHO", "hi"]), args(&["PING"])]);
        assert_eq!(err, None);
        assert_eq!(rest, 0);
    }

    #[test]
    fn partial_input_resumes_byte_by_byte() {
        let input = b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n$0\r\n\r\n";
        let mut d = Decoder::new();
        let mut buf = BytesMut::new();
        let mut got = None;
        for (i, b) in input.iter().enumerate() {
            buf.extend_from_slice(&[*b]);
            let r = d.decode(&mut buf, DecodeLimits::default()).unwrap();
            if i + 1 < input.len() {
                assert!(r.is_none(), "complete too early at byte {i}");
            } else {
                got = r;
            }
        }
        assert_eq!(got, Some(args(&["subscribe", "a", ""])));
    }

    #[test]
    fn two_bytes_after_a_bulk_are_skipped_unchecked() {
        let (reqs, err, _) = decode_all(b"*1\r\n$4\r\nPINGX\r\n");
        assert_eq!(reqs, vec![args(&["PING"])]);
        assert_eq!(err, None);
    }

    #[test]
    fn empty_requests_are_ignored() {
        let (reqs, err, rest) = decode_all(b"*0\r\n*-1\r\n\r\n   \r\nPING\r\n");
        assert_eq!(reqs, vec![args(&["PING"])]);
        assert_eq!(err, None);
        assert_eq!(rest, 0);
    }

    #[test]
    fn inline_quoting() {
        let (reqs, _, _) = decode_all(b"ECHO \"a b\\x41\"\nSET 'it\\'s' x\r\n");
        assert_eq!(
            reqs,
            vec![args(&["ECHO", "a bA"]), args(&["SET", "it's", "x"])]
        );
    }

    #[test]
    fn protocol_errors() {
        let cases: &[(&[u8], ProtocolError)] = &[
            (b"*x\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*2147483648\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*01\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*1\r\n:4\r\n", ProtocolError::ExpectedDollar(b':')),
            (b"*1\r\n$-5\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$-1\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$536870913\r\n", ProtocolError::InvalidBulkLength),
            (b"ECHO 'unbalanced\r\n", ProtocolError::UnbalancedQuotes),
            (b"PING \"a\r\n", ProtocolError::UnbalancedQuotes),
            (b"PING \"a\"b\r\n", ProtocolError::UnbalancedQuotes),
        ];
        for (input, want) in cases {
            let (_, err, _) = decode_all(input);
            assert_eq!(
                err.as_ref(),
                Some(want),
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn accepted_large_declarations_wait_for_data() {
        for input in [&b"*1048577\r\n"[..], b"*1\r\n$536870912\r\n"] {
            let (reqs, err, _) = decode_all(input);
            assert!(reqs.is_empty() && err.is_none());
        }
    }

    #[test]
    fn line_limits() {
        let mut big = vec![b'a'; INLINE_MAX + 1];
        assert_eq!(decode_all(&big).1, Some(ProtocolError::TooBigInline));
        big[0] = b'*';
        assert_eq!(decode_all(&big).1, Some(ProtocolError::TooBigMbulkCount));
        let mut bulk = b"*1\r\n$".to_vec();
        bulk.extend(std::iter::repeat_n(b'1', INLINE_MAX + 1));
        assert_eq!(decode_all(&bulk).1, Some(ProtocolError::TooBigBulkCount));
    }

    #[test]
    fn unauthenticated_limits() {
        let limits = DecodeLimits {
            unauthenticated: true,
            ..DecodeLimits::default()
        };
        let mut d = Decoder::new();
        let mut ok = BytesMut::from(&b"*10\r\n"[..]);
        assert_eq!(d.decode(&mut ok, limits), Ok(None));
        let mut d = Decoder::new();
        let mut too_many = BytesMut::from(&b"*11\r\n"[..]);
        assert_eq!(
            d.decode(&mut too_many, limits),
            Err(ProtocolError::UnauthenticatedMultibulkLength)
        );
        let mut d = Decoder::new();
        let mut big = BytesMut::from(&b"*1\r\n$16385\r\n"[..]);
        assert_eq!(
            d.decode(&mut big, limits),
            Err(ProtocolError::UnauthenticatedBulkLength)
        );
    }

    #[test]
    fn string2ll_matches_redis() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b" 1",
            b"01",
            b"-0",
            b"1x",
            b"9223372036854775808",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn protocol_error_texts() {
        assert_eq!(
            ProtocolError::ExpectedDollar(b':').reply_text(),
            b"ERR Protocol error: expected '$', got ':'".to_vec()
        );
        assert_eq!(
            ProtocolError::InvalidBulkLength.reply_text(),
            b"ERR Protocol error: invalid bulk length".to_vec()
        );
    }
}
