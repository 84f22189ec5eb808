//! Differential test: the same command sequences, over several clients at
//! once, go to a real redis-server and to respub, and every byte each client
//! receives is compared.
//!
//! After every step each client subscribes to and unsubscribes from a marker
//! channel and is read up to the unsubscribe confirmation, so each step
//! yields, per client, exactly the frames that step caused (replies and
//! deliveries), on both servers alike. Subscribe confirmations are never
//! suppressed (not even by `CLIENT REPLY OFF`) and the pair leaves no state
//! behind, which makes them a barrier that works in every client state.
//!
//! Redis leaves some orders to its hash tables; those are compared as sets
//! (see [`normalize`]). Differences between Debian's 7.0.15 and the 7.2+
//! behaviour respub follows are handled in one place, [`known_7_0`].
//!
//! `RESPUB_DIFF_SEQUENCES` (default 1000) and `RESPUB_DIFF_SEED` (first seed,
//! default 0) control the random part; a failure prints the seed and the
//! whole sequence so that it can be replayed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;
// The scripted cases, by area; a test crate root finds its modules beside
// it, hence the paths.
#[path = "differential/clients.rs"]
mod clients;
#[path = "differential/connection.rs"]
mod connection;
#[path = "differential/protocol.rs"]
mod protocol;
#[path = "differential/pubsub.rs"]
mod pubsub;

use common::diff::{Barrier, Case, Step, assert_cases, c, cmd, compare, raw, script};
use common::{RedisServer, TestServer};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

// ---------------------------------------------------------------- scripted

/// Scripted cases covering the rows of the pub/sub reference, each run on
/// fresh connections.
fn scripted_cases() -> Vec<Case> {
    [
        pubsub::subscribing(),
        pubsub::delivery(),
        connection::hello_and_connection(),
        connection::replies(),
        connection::introspection(),
        connection::config(),
        clients::flags_and_pause_errors(),
        protocol::protocol_errors(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[test]
fn scripted_cases_match_redis_byte_for_byte() {
    let respub = TestServer::start();
    let redis = RedisServer::start();
    let cases = scripted_cases();
    let steps: usize = cases.iter().map(|(_, _, s)| s.len()).sum();
    println!(
        "differential scripted: {} cases, {steps} steps against redis-server {}",
        cases.len(),
        redis.version
    );
    assert_cases(respub.port, &redis, &cases, Barrier::Subscribe);
}

/// With `requirepass`: NOAUTH in Redis' check order, AUTH and HELLO AUTH,
/// RESET back to unauthenticated, and the unauthenticated protocol limits.
fn auth_cases() -> Vec<Case> {
    let hello_noauth: &[u8] = b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the \
        HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol \
        version at the same time\r\n";
    vec![
        (
            "before and after AUTH",
            2,
            vec![
                c(0, "PING"),
                c(0, "SUBSCRIBE x"),
                c(0, "PUBLISH x m"),
                c(0, "PUBSUB NUMSUB x"),
                c(0, "NOSUCHCMD a"),
                c(0, "SUBSCRIBE"),
                c(0, "PING a b"),
                c(0, "CLIENT SETINFO LIB-NAME x").on_7_2(b"-NOAUTH Authentication required.\r\n"),
                c(0, "HELLO 3").on_7_2(hello_noauth),
                c(0, "HELLO").on_7_2(hello_noauth),
                c(0, "AUTH wrong"),
                c(0, "AUTH default wrong"),
                c(0, "AUTH someone secret"),
                c(0, "AUTH a b c"),
                c(0, "AUTH secret"),
                c(0, "SUBSCRIBE x"),
                c(1, "AUTH default secret"),
                c(1, "PUBLISH x m"),
                c(0, "RESET"),
                c(0, "PING"),
                c(0, "HELLO 3 AUTH default wrong"),
                c(0, "PING"),
                c(0, "HELLO 3 AUTH default secret SETNAME n1"),
                c(0, "CLIENT GETNAME"),
                c(0, "PING"),
                c(0, "QUIT").closing(),
                c(1, "CONFIG GET requirepass"),
            ],
        ),
        (
            "unauthenticated: at most 10 arguments",
            1,
            vec![raw(0, b"*11\r\n", true)],
        ),
        (
            "unauthenticated: 10 arguments are fine",
            1,
            vec![c(0, "a b c d e f g h i j")],
        ),
        (
            "unauthenticated: bulks up to 16384 bytes",
            1,
            vec![raw(0, b"*1\r\n$16385\r\n", true)],
        ),
        (
            "unauthenticated: a 16384-byte bulk is fine",
            1,
            vec![cmd(0, &[b"ECHO", &[b'x'; 16384]])],
        ),
    ]
}

#[test]
fn authentication_matches_redis_byte_for_byte() {
    let respub = TestServer::start_with(respub_broker::Config {
        requirepass: Some("secret".into()),
        ..respub_broker::Config::default()
    });
    let redis = RedisServer::start_with(&["--requirepass", "secret"]);
    assert_cases(respub.port, &redis, &auth_cases(), Barrier::UnknownCommand);
}

// ---------------------------------------------------------------- random

const CHANNELS: &[&str] = &["a", "b", "ab", "foo", "f", "", "b?r", "x*"];
const PATTERNS: &[&str] = &[
    "*", "a*", "?", "[ab]", "f*", "\\*", "", "*b", "x\\*", "[^a]*",
];
const SHARDS: &[&str] = &["s1", "s2", "a", ""];

fn some<'a>(rng: &mut StdRng, from: &[&'a str], min: usize, max: usize) -> Vec<&'a str> {
    let n = rng.random_range(min..=max);
    (0..n).map(|_| *from.choose(rng).unwrap()).collect()
}

fn random_step(rng: &mut StdRng, clients: usize) -> Step {
    let client = rng.random_range(0..clients);
    let mut args: Vec<&str> = Vec::new();
    let payload;
    match rng.random_range(0..100) {
        0..=13 => {
            args.push("SUBSCRIBE");
            args.extend(some(rng, CHANNELS, 1, 3));
        }
        14..=21 => {
            args.push("UNSUBSCRIBE");
            args.extend(some(rng, CHANNELS, 0, 2));
        }
        22..=31 => {
            args.push("PSUBSCRIBE");
            args.extend(some(rng, PATTERNS, 1, 3));
        }
        32..=37 => {
            args.push("PUNSUBSCRIBE");
            args.extend(some(rng, PATTERNS, 0, 2));
        }
        38..=43 => {
            args.push("SSUBSCRIBE");
            args.extend(some(rng, SHARDS, 1, 2));
        }
        44..=47 => {
            args.push("SUNSUBSCRIBE");
            args.extend(some(rng, SHARDS, 0, 2));
        }
        48..=63 => {
            payload = format!("p{}", rng.random_range(0..1000));
            args.extend(["PUBLISH", CHANNELS.choose(rng).unwrap(), payload.as_str()]);
        }
        64..=69 => {
            payload = format!("s{}", rng.random_range(0..1000));
            args.extend(["SPUBLISH", SHARDS.choose(rng).unwrap(), payload.as_str()]);
        }
        70..=73 => {
            args.extend(["PUBSUB", "NUMSUB"]);
            args.extend(some(rng, CHANNELS, 0, 3));
        }
        74..=75 => args.extend(["PUBSUB", "NUMPAT"]),
        76..=77 => {
            args.extend(["PUBSUB", "CHANNELS"]);
            args.extend(some(rng, PATTERNS, 0, 1));
        }
        78 => {
            args.extend(["PUBSUB", "SHARDCHANNELS"]);
            args.extend(some(rng, PATTERNS, 0, 1));
        }
        79..=80 => {
            args.extend(["PUBSUB", "SHARDNUMSUB"]);
            args.extend(some(rng, SHARDS, 0, 2));
        }
        81..=84 => {
            args.push("PING");
            args.extend(some(rng, &["hi", "x"], 0, 1));
        }
        85..=86 => args.push("RESET"),
        87..=90 => {
            args.push("HELLO");
            args.extend(some(rng, &["2", "3"], 0, 1));
        }
        91 => args.extend(["PUBLISH", "a"]),
        92 => args.push("SUBSCRIBE"),
        93 => args.extend(["PING", "a", "b"]),
        94 => args.extend(["NOSUCHCMD", "x"]),
        95 => args.extend(["ECHO", "e"]),
        96 => args.extend(["PUBSUB", "NUMPAT", "x"]),
        97 => args.extend(["PUBSUB", "NOPE"]),
        98 => args.extend(["SPUBLISH"]),
        _ => args.extend(["SELECT", "1"]),
    }
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    cmd(client, &bytes)
}

fn random_sequence(seed: u64) -> (usize, Vec<Step>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let clients = rng.random_range(2..=5);
    let len = rng.random_range(5..=30);
    let steps = (0..len).map(|_| random_step(&mut rng, clients)).collect();
    (clients, steps)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn random_sequences_match_redis_byte_for_byte() {
    let count = env_u64("RESPUB_DIFF_SEQUENCES", 1000);
    let first = env_u64("RESPUB_DIFF_SEED", 0);
    let respub = TestServer::start();
    let redis = RedisServer::start();
    let mut steps_run = 0;
    for seed in first..first + count {
        let (clients, steps) = random_sequence(seed);
        steps_run += steps.len();
        if let Err(e) = compare(respub.port, &redis, clients, &steps) {
            panic!(
                "seed {seed} ({clients} clients) differs from redis-server {}:\n{e}\n\
                 replay with RESPUB_DIFF_SEED={seed} RESPUB_DIFF_SEQUENCES=1; the sequence:\n{}",
                redis.version,
                script(&steps)
            );
        }
    }
    println!(
        "differential random: {count} sequences from seed {first}, {steps_run} steps against redis-server {}",
        redis.version
    );
}

#[test]
fn generator_is_deterministic() {
    let (a, sa) = random_sequence(42);
    let (b, sb) = random_sequence(42);
    assert_eq!(a, b);
    assert_eq!(
        sa.iter().map(|s| s.bytes.clone()).collect::<Vec<_>>(),
        sb.iter().map(|s| s.bytes.clone()).collect::<Vec<_>>()
    );
}
