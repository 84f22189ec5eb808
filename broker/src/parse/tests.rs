#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

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
