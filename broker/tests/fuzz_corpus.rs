//! Replays the committed fuzzing corpus (`broker/fuzz/corpus/`) in every
//! test run: the request decoder on every `decode` input, and a whole
//! connection on every `session` input. Nothing may panic, every
//! connection must end, and none may leave a subscription behind.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::path::PathBuf;

use bytes::BytesMut;
use respub_broker::parse::{DecodeLimits, Decoder};

fn corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("corpus")
        .join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn decode_corpus_never_panics_and_ignores_how_bytes_arrive() {
    let inputs = corpus("decode");
    assert!(inputs.len() >= 10, "the decode corpus is missing");
    for (name, input) in &inputs {
        for unauthenticated in [false, true] {
            let limits = DecodeLimits {
                unauthenticated,
                ..DecodeLimits::default()
            };
            let run = |chunks: &[&[u8]]| {
                let mut d = Decoder::new();
                let mut buf = BytesMut::new();
                let mut out = Vec::new();
                for chunk in chunks {
                    buf.extend_from_slice(chunk);
                    loop {
                        match d.decode(&mut buf, limits) {
                            Ok(Some(args)) => out.push(args),
                            Ok(None) => break,
                            Err(e) => return (out, Some(e)),
                        }
                    }
                }
                (out, None)
            };
            let whole = run(&[input]);
            let bytewise: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(whole, run(&bytewise), "corpus file {name}");
        }
    }
}

#[test]
fn session_corpus_connections_end_and_leave_nothing_behind() {
    let inputs = corpus("session");
    assert!(inputs.len() >= 10, "the session corpus is missing");
    for (name, input) in &inputs {
        let replay = respub_broker::connection::replay(input)
            .unwrap_or_else(|e| panic!("corpus file {name}: {e}"));
        assert!(
            replay.registry_empty,
            "corpus file {name} left subscriptions behind"
        );
    }
}
