//! The header every load-tester message starts with, shared by the modes
//! that publish: `[publisher u32][channel u32][seq u64][sent ns u64]`
//! (little-endian), then padding. Subscribers measure latency against the
//! run's clock (one process, so one `Instant` epoch) and check each
//! (publisher, channel) stream for loss, duplicates and reordering.

use bytes::BufMut;

/// Bytes of the header every payload starts with.
pub(crate) const HEADER_LEN: usize = 24;

/// Appends a `payload`-byte message: the header, then `.` padding.
pub(crate) fn put_message(
    buf: &mut impl BufMut,
    (publisher, channel, seq, sent_ns): (u32, u32, u64, u64),
    payload: usize,
) {
    buf.put_u32_le(publisher);
    buf.put_u32_le(channel);
    buf.put_u64_le(seq);
    buf.put_u64_le(sent_ns);
    buf.put_bytes(b'.', payload.saturating_sub(HEADER_LEN));
}

/// The header of a payload.
pub(crate) fn decode_header(p: &[u8]) -> Option<(u32, u32, u64, u64)> {
    let publisher = u32::from_le_bytes(p.get(0..4)?.try_into().ok()?);
    let channel = u32::from_le_bytes(p.get(4..8)?.try_into().ok()?);
    let seq = u64::from_le_bytes(p.get(8..16)?.try_into().ok()?);
    let sent = u64::from_le_bytes(p.get(16..24)?.try_into().ok()?);
    Some((publisher, channel, seq, sent))
}
