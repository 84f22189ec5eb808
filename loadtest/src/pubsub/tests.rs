//! The pure parts of the `pubsub` mode: channel assignment and the wire
//! format of a PUBLISH.

use bytes::BufMut;

use super::publisher::publisher_channels;
use super::wire::{Mode, decode_header, publish_prefix};

#[test]
fn publishers_spread_over_channels() {
    assert_eq!(publisher_channels(0, 2, 5), vec![0, 2, 4]);
    assert_eq!(publisher_channels(1, 2, 5), vec![1, 3]);
    assert_eq!(publisher_channels(2, 3, 1), vec![0]);
}

#[test]
fn prefix_and_header_round_trip() {
    let mut p = publish_prefix(Mode::Plain, b"ch", 30);
    p.put_u32_le(7);
    p.put_u32_le(1);
    p.put_u64_le(42);
    p.put_u64_le(99);
    p.put_bytes(b'.', 6);
    p.put_slice(b"\r\n");
    let (frame, _) = crate::resp::parse(&p).unwrap().unwrap();
    let items = frame.items().unwrap();
    assert_eq!(items[0].as_bytes(), Some(&b"PUBLISH"[..]));
    let payload = items[2].as_bytes().unwrap();
    assert_eq!(payload.len(), 30);
    assert_eq!(decode_header(payload), Some((7, 1, 42, 99)));
}
