#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;

#[test]
fn commands_are_encoded_as_received() {
    assert_eq!(
        &encode(&[&b"publish"[..], b"ch", b"hello"])[..],
        b"*3\r\n$7\r\npublish\r\n$2\r\nch\r\n$5\r\nhello\r\n"
    );
    assert_eq!(
        &encode(&[&b"SELECT"[..], b"0"])[..],
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
    );
}

#[test]
fn partial_resync_needs_our_history_and_the_bytes_in_the_backlog() {
    let mut state = State {
        replid: "a".repeat(40),
        replid2: "b".repeat(40),
        second_offset: 50,
        offset: 100,
        backlog: Some(Backlog::new(101, 1024)),
        selected: true,
        replicas: Vec::new(),
        master: None,
        scratch: BytesMut::new(),
    };
    let mut wake = Vec::new();
    state.append(
        Frame::Borrowed(b"0123456789"),
        &OutputLimit::UNLIMITED,
        &mut wake,
    );
    assert_eq!(state.offset, 110);
    let id = "a".repeat(40);
    let old = "b".repeat(40);
    assert!(state.partial(id.as_bytes(), 60).is_none());
    assert_eq!(state.partial(id.as_bytes(), 111).unwrap().len(), 0);
    assert_eq!(
        &state.partial(id.as_bytes(), 105).unwrap()[0][..],
        b"456789"
    );
    // The previous id is good up to where it ended.
    assert!(state.partial(old.as_bytes(), 51).is_none());
    assert!(state.partial(b"nonsense", 105).is_none());
}
