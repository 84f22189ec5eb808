//! The request decoder on arbitrary bytes, fed whole and then in two
//! pieces: it must never panic, never loop, and agree with itself however
//! the bytes arrive.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use respub_broker::parse::{DecodeLimits, Decoder};

fn decode_all(chunks: &[&[u8]], limits: DecodeLimits) -> (Vec<Vec<bytes::Bytes>>, bool) {
    let mut d = Decoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match d.decode(&mut buf, limits) {
                Ok(Some(args)) => out.push(args),
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

fuzz_target!(|data: &[u8]| {
    let (split, rest) = data
        .split_first()
        .map(|(b, r)| (*b as usize, r))
        .unwrap_or((0, data));
    for unauthenticated in [false, true] {
        let limits = DecodeLimits {
            unauthenticated,
            ..DecodeLimits::default()
        };
        let whole = decode_all(&[rest], limits);
        let at = split.min(rest.len());
        let pieces = decode_all(&[&rest[..at], &rest[at..]], limits);
        assert_eq!(whole, pieces, "the split point changed the result");
    }
});
