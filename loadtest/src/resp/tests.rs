//! The parsers and the encoder on known bytes.

use bytes::BytesMut;

use super::conn::encode_command;
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
