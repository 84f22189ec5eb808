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

mod split;

pub use split::split_args;

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

    /// Bytes of the arguments read so far of an incomplete request (Redis'
    /// `argv-mem` of a client whose request is still arriving).
    pub fn argv_len(&self) -> usize {
        self.args.iter().map(Bytes::len).sum()
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

#[cfg(test)]
mod tests;
