#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;

fn sent(events: &[Event]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Send(b) => Some(b.to_vec()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn handshake(link: &mut Link) -> Vec<u8> {
    let Event::Send(ping) = link.start() else {
        panic!()
    };
    assert_eq!(&ping[..], b"*1\r\n$4\r\nPING\r\n");
    let mut out = sent(&link.receive(b"+PONG\r\n"));
    out.extend(sent(&link.receive(b"+OK\r\n-ERR old master\r\n")));
    out
}

#[test]
fn full_resync_skips_the_rdb_then_reads_the_stream() {
    let identity = Identity {
        auth: None,
        port: 6380,
        ip: None,
    };
    let mut link = Link::new(identity, None);
    let out = handshake(&mut link);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n6380\r\n\
         *5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n\
         *3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n"
    );
    let id = "a".repeat(40);
    // Keepalives, the reply, an RDB in two reads, then the stream at once.
    assert!(link.receive(b"\n\n").is_empty());
    assert!(
        link.receive(format!("+FULLRESYNC {id} 100\r\n$5\r\nRE").as_bytes())
            .is_empty()
    );
    let events = link
        .receive(b"DIS*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$7\r\npublish\r\n$1\r\nc\r\n$1\r\nm");
    assert_eq!(
        events[0],
        Event::Synced {
            replid: id,
            offset: 100,
            full: true
        }
    );
    assert_eq!(
        sent(&events[1..2]),
        b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$3\r\n100\r\n"
    );
    assert!(matches!(&events[2], Event::Command { argv, .. } if argv[0] == "SELECT"));
    assert_eq!(link.offset(), 123);
    // The publish completes in the next read.
    let events = link.receive(b"\r\n");
    let Event::Command { argv, raw } = &events[0] else {
        panic!()
    };
    assert_eq!(argv[0], "publish");
    assert_eq!(&raw[..], b"*3\r\n$7\r\npublish\r\n$1\r\nc\r\n$1\r\nm\r\n");
    assert_eq!(link.offset(), 123 + 31);
}

#[test]
fn a_diskless_rdb_ends_at_its_mark_even_across_reads() {
    let mut link = Link::new(Identity::default(), Some(("b".repeat(40), 9)));
    let out = handshake(&mut link);
    assert!(String::from_utf8(out).unwrap().ends_with(&format!(
        "$5\r\nPSYNC\r\n$40\r\n{}\r\n$2\r\n10\r\n",
        "b".repeat(40)
    )));
    let mark = "m".repeat(40);
    let id = "c".repeat(40);
    link.receive(format!("+FULLRESYNC {id} 0\r\n$EOF:{mark}\r\nREDIS0010").as_bytes());
    assert!(!link.streaming());
    link.receive(&mark.as_bytes()[..20]);
    let events = link.receive(format!("{}*1\r\n$4\r\nping\r\n", &mark[20..]).as_bytes());
    assert!(matches!(&events[0], Event::Synced { full: true, .. }));
    assert!(matches!(&events[2], Event::Command { argv, .. } if argv[0] == "ping"));
    assert_eq!(link.offset(), 14);
}

#[test]
fn continue_keeps_the_offset_and_getack_is_answered_before_it_counts() {
    let id = "d".repeat(40);
    let mut link = Link::new(Identity::default(), Some((id, 500)));
    handshake(&mut link);
    let new = "e".repeat(40);
    let events = link.receive(
        format!("+CONTINUE {new}\r\n*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n")
            .as_bytes(),
    );
    assert_eq!(
        events[0],
        Event::Synced {
            replid: new,
            offset: 500,
            full: false
        }
    );
    assert_eq!(
        sent(&events[1..2]),
        b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$3\r\n500\r\n"
    );
    assert_eq!(link.offset(), 500 + 37);
}

#[test]
fn a_master_that_breaks_the_protocol_is_cut_off() {
    let mut link = Link::new(Identity::default(), None);
    link.start();
    assert!(matches!(
        link.receive(b"-ERR nope\r\n").as_slice(),
        [Event::Fail(_)]
    ));

    let mut link = Link::new(Identity::default(), None);
    handshake(&mut link);
    assert!(matches!(
        link.receive(b"+FULLRESYNC short 1\r\n").as_slice(),
        [Event::Fail(_)]
    ));

    let mut link = Link::new(Identity::default(), None);
    handshake(&mut link);
    let id = "f".repeat(40);
    let events = link.receive(format!("+FULLRESYNC {id} 0\r\n$x\r\n").as_bytes());
    assert!(matches!(events.as_slice(), [Event::Fail(_)]));

    let mut link = Link::new(Identity::default(), None);
    link.start();
    assert!(matches!(
        link.receive(&[b'+'; LINE_MAX + 10]).as_slice(),
        [Event::Fail(_)]
    ));

    let mut link = Link::new(Identity::default(), Some((id, 0)));
    handshake(&mut link);
    link.receive(b"+CONTINUE\r\n");
    let events = link.receive(b"*1\r\n$x\r\n");
    assert!(matches!(events.last(), Some(Event::Fail(_))));
}

#[test]
fn auth_comes_first_and_its_error_ends_the_link() {
    let identity = Identity {
        auth: Some((Some("u".into()), "p".into())),
        port: 1,
        ip: Some("10.0.0.1".into()),
    };
    let mut link = Link::new(identity, None);
    link.start();
    let out = sent(&link.receive(b"-NOAUTH Authentication required.\r\n"));
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\np\r\n"));
    assert!(text.contains("ip-address\r\n$8\r\n10.0.0.1"));
    assert!(matches!(
        link.receive(b"-WRONGPASS bad\r\n").as_slice(),
        [Event::Fail(_)]
    ));
}

#[test]
fn a_handing_over_master_asks_for_failover_and_stops_if_refused() {
    let id = "b".repeat(40);
    let mut link = Link::new(Identity::default(), Some((id.clone(), 41)));
    link.hand_over();
    let out = String::from_utf8(handshake(&mut link)).unwrap();
    let psync = format!("*4\r\n$5\r\nPSYNC\r\n$40\r\n{id}\r\n$2\r\n42\r\n$8\r\nFAILOVER\r\n");
    assert!(out.ends_with(&psync), "{out}");
    let events = link.receive(b"-ERR PSYNC FAILOVER replid must match my replid.\r\n");
    assert!(matches!(events.as_slice(), [Event::Rejected(_)]));
}
