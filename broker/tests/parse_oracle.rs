//! The request decoder against `redis-protocol` as the oracle: any
//! multibulk request of bulk strings, cut into arbitrary chunks, decodes to
//! the same arguments both ways; arbitrary bytes never panic the decoder.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use redis_protocol::resp2::decode::decode_bytes_mut;
use respub_broker::parse::{DecodeLimits, Decoder};

fn encode(reqs: &[Vec<Vec<u8>>]) -> Vec<u8> {
    let mut out = Vec::new();
    for args in reqs {
        out.extend(format!("*{}\r\n", args.len()).into_bytes());
        for a in args {
            out.extend(format!("${}\r\n", a.len()).into_bytes());
            out.extend(a);
            out.extend(b"\r\n");
        }
    }
    out
}

fn oracle(input: &[u8]) -> Vec<Vec<Bytes>> {
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Ok(Some((frame, _, _))) = decode_bytes_mut(&mut buf) {
        if let redis_protocol::resp2::types::BytesFrame::Array(items) = frame {
            out.push(
                items
                    .into_iter()
                    .map(|f| match f {
                        redis_protocol::resp2::types::BytesFrame::BulkString(b) => b,
                        other => panic!("oracle gave {other:?}"),
                    })
                    .collect(),
            );
        }
    }
    out
}

fn ours_in_chunks(input: &[u8], cuts: &[usize]) -> Vec<Vec<Bytes>> {
    let mut d = Decoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut start = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    points.push(input.len());
    for end in points {
        if end < start {
            continue;
        }
        buf.extend_from_slice(&input[start..end]);
        start = end;
        while let Some(args) = d
            .decode(&mut buf, DecodeLimits::default())
            .expect("valid input")
        {
            out.push(args);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn multibulk_matches_redis_protocol(
        reqs in prop::collection::vec(
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..6),
            1..6,
        ),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let input = encode(&reqs);
        let ours = ours_in_chunks(&input, &cuts);
        prop_assert_eq!(&ours, &oracle(&input));
        let expected: Vec<Vec<Bytes>> = reqs
            .iter()
            .map(|r| r.iter().map(|a| Bytes::copy_from_slice(a)).collect())
            .collect();
        prop_assert_eq!(ours, expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut d = Decoder::new();
        let mut buf = BytesMut::from(&input[..]);
        // Every outcome is fine except a panic or a loop that never ends.
        for _ in 0..input.len() + 1 {
            match d.decode(&mut buf, DecodeLimits::default()) {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => break,
            }
        }
    }
}
