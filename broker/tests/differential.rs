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

use common::diff::{Barrier, Case, Step, assert_cases, c, cmd, compare, raw, script};
use common::{RedisServer, TestServer};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

// ---------------------------------------------------------------- scripted

/// Scripted cases covering the rows of the pub/sub reference, each run on
/// fresh connections.
fn scripted_cases() -> Vec<Case> {
    let sub_err = |cmd: &str| {
        format!(
            "-ERR Can't execute '{cmd}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
        )
        .into_bytes()
    };
    vec![
        (
            "unsubscribe while subscribed to nothing",
            1,
            vec![
                c(0, "UNSUBSCRIBE"),
                c(0, "PUNSUBSCRIBE"),
                c(0, "SUNSUBSCRIBE"),
                c(0, "UNSUBSCRIBE x y"),
                c(0, "PING"),
                c(0, "PING hi"),
            ],
        ),
        (
            "subscribe family, counts and subscribed-mode restrictions (RESP2)",
            2,
            vec![
                c(0, "SUBSCRIBE"),
                c(0, "SUBSCRIBE foo bar foo"),
                c(0, "PSUBSCRIBE f* b?r"),
                c(0, "SSUBSCRIBE sh1 sh2"),
                c(0, "PING"),
                c(0, "PING hi"),
                c(0, "PING a b"),
                c(0, "SELECT 0"),
                c(0, "HELLO 3"),
                c(0, "NOSUCHCMD a"),
                c(0, "SUBSCRIBE"),
                c(0, "ECHO x"),
                c(0, "PUBLISH foo x"),
                c(0, "CLIENT SETINFO LIB-NAME x").on_7_2(&sub_err("client|setinfo")),
                c(0, "PUBSUB NUMSUB foo"),
                c(1, "PUBLISH foo hello"),
                c(1, "PUBLISH bar hello"),
                c(1, "PUBLISH sh1 m"),
                c(1, "SPUBLISH sh1 m"),
                c(1, "SPUBLISH foo m"),
                c(1, "PUBLISH nobody m"),
                c(1, "PUBSUB CHANNELS"),
                c(1, "PUBSUB CHANNELS f*"),
                c(1, "PUBSUB NUMSUB foo bar zzz"),
                c(1, "PUBSUB NUMSUB a a"),
                c(1, "PUBSUB NUMSUB"),
                c(1, "PUBSUB NUMPAT"),
                c(1, "PUBSUB SHARDCHANNELS"),
                c(1, "PUBSUB SHARDCHANNELS s*"),
                c(1, "PUBSUB SHARDNUMSUB sh1 x"),
                c(1, "PUBSUB NUMPAT x"),
                c(1, "PUBSUB FOO"),
                c(1, "PUBSUB"),
                c(1, "PUBSUB CHANNELS a b"),
                c(1, "PUBSUB SHARDCHANNELS a b"),
                c(1, "PUBSUB HELP"),
                c(1, "PUBSUB help x"),
                c(1, "pubsub numpat"),
                c(1, "PUBLISH a"),
                c(1, "SPUBLISH a"),
                c(0, "UNSUBSCRIBE foo nonsub"),
                c(0, "PUNSUBSCRIBE"),
                c(0, "SUNSUBSCRIBE sh1"),
                c(0, "UNSUBSCRIBE"),
                c(0, "SUNSUBSCRIBE"),
                c(0, "PING"),
            ],
        ),
        (
            "count namespaces: shard channels alone keep subscribed mode",
            1,
            vec![
                c(0, "SSUBSCRIBE sh"),
                c(0, "UNSUBSCRIBE"),
                c(0, "PING"),
                c(0, "PSUBSCRIBE a*"),
                c(0, "UNSUBSCRIBE"),
                c(0, "SUNSUBSCRIBE zz"),
                c(0, "PUNSUBSCRIBE"),
                c(0, "PING"),
                c(0, "SUNSUBSCRIBE"),
                c(0, "PING"),
            ],
        ),
        (
            "delivery: one message plus one pmessage per matching pattern",
            3,
            vec![
                c(0, "SUBSCRIBE foo"),
                c(0, "PSUBSCRIBE * f* f*"),
                c(1, "SUBSCRIBE foo"),
                c(2, "PUBLISH foo m"),
                cmd(2, &[b"PUBLISH", b"", b"m"]),
                c(2, "PUBSUB NUMSUB foo"),
                c(2, "PUBSUB NUMPAT"),
                cmd(2, &[b"PUBLISH", b"foo", b"\x00\r\n\xff"]),
                cmd(0, &[b"SUBSCRIBE", b""]),
                cmd(2, &[b"PUBLISH", b"", b"empty"]),
                c(2, "PUBSUB CHANNELS"),
                c(1, "PSUBSCRIBE f*"),
                c(0, "PUNSUBSCRIBE f*"),
                c(2, "PUBSUB NUMPAT"),
                c(2, "PUBLISH foo again"),
            ],
        ),
        (
            "RESP3: pushes, no restrictions, publish to self, HELLO 2 back",
            2,
            vec![
                c(0, "HELLO 3"),
                c(0, "UNSUBSCRIBE"),
                c(0, "SUBSCRIBE foo bar"),
                c(0, "PSUBSCRIBE f*"),
                c(0, "SSUBSCRIBE sh"),
                c(0, "PING"),
                c(0, "PING hi"),
                c(0, "ECHO x"),
                c(0, "PUBLISH foo self"),
                c(0, "SPUBLISH sh self"),
                c(1, "PUBLISH foo hello"),
                c(1, "SPUBLISH sh x"),
                c(0, "UNSUBSCRIBE"),
                c(0, "PUNSUBSCRIBE f* nope"),
                c(0, "SUNSUBSCRIBE"),
                c(0, "PUBSUB NUMSUB foo"),
                c(0, "CLIENT GETNAME"),
                c(0, "SUBSCRIBE q"),
                c(0, "HELLO 2"),
                c(0, "ECHO x"),
                c(0, "HELLO"),
                c(0, "PING"),
            ],
        ),
        (
            "HELLO arguments and errors",
            1,
            vec![
                c(0, "HELLO"),
                c(0, "HELLO 4"),
                c(0, "HELLO 1"),
                c(0, "HELLO x"),
                c(0, "HELLO 99999999999999999999"),
                c(0, "HELLO AUTH default x"),
                c(0, "HELLO 3 FOO"),
                c(0, "HELLO 3 AUTH x"),
                cmd(0, &[b"HELLO", b"3", b"SETNAME", b"bad name"]),
                c(0, "HELLO 3 SETNAME myname"),
                c(0, "CLIENT GETNAME"),
                c(0, "HELLO 3 AUTH default wrong"),
                c(0, "HELLO 2 AUTH nosuchuser pw"),
                c(0, "HELLO 2 AUTH default pw SETNAME n1"),
                c(0, "CLIENT GETNAME"),
                c(0, "RESET"),
                c(0, "CLIENT GETNAME"),
                c(0, "HELLO"),
            ],
        ),
        (
            "connection commands clients send",
            1,
            vec![
                c(0, "AUTH pw"),
                c(0, "AUTH default pw"),
                c(0, "AUTH someone pw"),
                c(0, "AUTH a b c"),
                c(0, "AUTH"),
                c(0, "CLIENT SETNAME n"),
                c(0, "CLIENT GETNAME"),
                cmd(0, &[b"CLIENT", b"SETNAME", b"bad name"]),
                c(0, "CLIENT SETNAME"),
                cmd(0, &[b"CLIENT", b"SETNAME", b""]),
                c(0, "CLIENT GETNAME"),
                c(0, "CLIENT SETINFO LIB-NAME x").on_7_2(b"+OK\r\n"),
                cmd(0, &[b"CLIENT", b"SETINFO", b"LIB-NAME", b"bad name"]).on_7_2(
                    b"-ERR LIB-NAME cannot contain spaces, newlines or special characters.\r\n",
                ),
                c(0, "CLIENT SETINFO FOO x").on_7_2(b"-ERR Unrecognized option 'FOO'\r\n"),
                c(0, "CLIENT MAINT_NOTIFICATIONS ON"),
                c(0, "CLIENT"),
                c(0, "CLIENT NOSUCH"),
                c(0, "SELECT 0"),
                c(0, "SELECT 9"),
                c(0, "SELECT 15"),
                c(0, "SELECT 16"),
                c(0, "SELECT -1"),
                c(0, "SELECT x"),
                c(0, "SELECT"),
                c(0, "ECHO"),
                c(0, "ECHO a b"),
                c(0, "RESET x"),
                c(0, "PING x y"),
                c(0, "TIME x"),
                c(0, "CLIENT ID x"),
            ],
        ),
        (
            "unknown command texts",
            1,
            vec![
                c(0, "NOSUCHCMD a"),
                c(0, "NOSUCHCMD"),
                cmd(0, &[b"UNKNOWNCMD", &[b'a'; 200], b"b"]),
                cmd(0, &[&[b'x'; 200]]),
                cmd(0, &[b"FOO", b"a\r\nb"]),
                cmd(0, &[b"FOO", b"a\x00b", b"c"]),
                cmd(0, &[b"FOO", &[b'a'; 100], &[b'b'; 100], b"c"]),
                cmd(0, &[b""]),
            ],
        ),
        (
            "CLIENT REPLY never suppresses pushes (RESP2)",
            2,
            vec![
                c(0, "CLIENT REPLY OFF"),
                c(0, "SUBSCRIBE q"),
                c(1, "PUBLISH q m"),
                c(0, "CLIENT REPLY ON"),
                c(0, "RESET"),
                c(0, "CLIENT REPLY SKIP"),
                c(0, "ECHO skipped"),
                c(0, "ECHO shown"),
                c(0, "CLIENT REPLY FOO"),
            ],
        ),
        (
            "CLIENT REPLY in RESP3",
            2,
            vec![
                c(0, "HELLO 3"),
                c(0, "CLIENT REPLY OFF"),
                c(0, "SUBSCRIBE q"),
                c(1, "PUBLISH q m"),
                c(0, "CLIENT REPLY ON"),
            ],
        ),
        (
            "RESET drops subscriptions silently; QUIT replies then closes",
            2,
            vec![
                c(0, "SUBSCRIBE q"),
                c(0, "RESET"),
                c(0, "PING"),
                c(1, "PUBSUB NUMSUB q"),
                c(0, "SUBSCRIBE q"),
                c(0, "QUIT").closing(),
                c(1, "PUBSUB NUMSUB q"),
                c(1, "QUIT x").closing(),
            ],
        ),
        (
            "inline commands and protocol leniency",
            1,
            vec![
                raw(0, b"PING\r\n", false),
                raw(0, b"PING\n", false),
                raw(0, b"SUBSCRIBE x y\r\n", false),
                raw(0, b"ECHO \"a b\\x41\"\r\n", false),
                raw(0, b"*0\r\n*-1\r\n\r\n   \r\n", false),
                raw(0, b"*1\r\n$4\r\nPINGX\r\n", false),
                raw(0, b"ECHO 'it\\'s'\r\n", false),
            ],
        ),
        (
            "COMMAND INFO and DOCS describe respub's commands as Redis does",
            1,
            vec![
                c(
                    0,
                    "COMMAND INFO publish subscribe psubscribe ssubscribe spublish ping hello",
                ),
                c(0, "COMMAND INFO nosuchcommand echo"),
                c(0, "COMMAND INFO client|setname pubsub|numsub"),
                // Containers (PUBSUB, CLIENT, COMMAND) list their subcommands in
                // Redis' dict order, which is seeded per process: not compared.
                c(0, "COMMAND DOCS publish hello auth info nosuch"),
                c(0, "COMMAND DOCS PUBLISH"),
                c(0, "HELLO 3"),
                c(0, "COMMAND INFO publish unsubscribe time"),
                c(0, "COMMAND DOCS publish select quit reset"),
            ],
        ),
        (
            "CLIENT KILL, LIST and REPLY argument errors",
            1,
            vec![
                c(0, "CLIENT KILL ID"),
                c(0, "CLIENT KILL ID x"),
                c(0, "CLIENT KILL ID 0"),
                c(0, "CLIENT KILL TYPE bogus"),
                c(0, "CLIENT KILL SKIPME maybe"),
                c(0, "CLIENT KILL FOO bar"),
                c(0, "CLIENT KILL ID 5 TYPE"),
                c(0, "CLIENT KILL 1.2.3.4:5"),
                c(0, "CLIENT KILL TYPE master"),
                c(0, "CLIENT KILL"),
                c(0, "CLIENT LIST TYPE bogus"),
                c(0, "CLIENT LIST ID x"),
                c(0, "CLIENT LIST FOO"),
                c(0, "CLIENT LIST TYPE replica"),
                c(0, "CLIENT REPLY"),
                c(0, "CLIENT INFO x"),
                c(0, "CLIENT GETNAME x"),
                c(0, "CLIENT SETINFO LIB-NAME")
                    .on_7_2(b"-ERR wrong number of arguments for 'client|setinfo' command\r\n"),
                c(0, "INFO nosuchsection"),
                c(0, "TIME x"),
                c(0, "COMMAND COUNT x"),
                c(0, "COMMAND NOPE"),
            ],
        ),
        (
            "CONFIG GET defaults and CONFIG SET errors",
            1,
            vec![
                c(0, "CONFIG GET maxclients"),
                // Several patterns come back in Redis' dict order: one per step.
                c(0, "CONFIG GET timeout"),
                c(0, "CONFIG GET tcp-keepalive"),
                c(0, "CONFIG GET proto-max-bulk-len"),
                c(0, "CONFIG GET client-query-buffer-limit"),
                c(0, "CONFIG GET client-output-buffer-limit"),
                c(0, "CONFIG GET databases"),
                c(0, "CONFIG GET nosuch"),
                c(0, "CONFIG SET nosuch 1"),
                c(0, "CONFIG SET maxclients abc"),
                c(0, "CONFIG SET maxclients"),
                c(0, "CONFIG SET timeout 0"),
                c(0, "CONFIG SET timeout 0 timeout 1"),
                c(0, "CONFIG SET client-output-buffer-limit bogus"),
                c(0, "CONFIG GET"),
                c(0, "CONFIG HELP"),
                c(0, "CONFIG REWRITE"),
                c(0, "CONFIG NOPE"),
                c(0, "HELLO 3"),
                c(0, "CONFIG GET maxclients"),
            ],
        ),
        (
            "protocol error: bad count",
            1,
            vec![raw(0, b"*x\r\n", true)],
        ),
        (
            "protocol error: count over INT_MAX",
            1,
            vec![raw(0, b"*2147483648\r\n", true)],
        ),
        (
            "protocol error: expected $",
            1,
            vec![raw(0, b"*1\r\n:4\r\n", true)],
        ),
        (
            "protocol error: negative bulk",
            1,
            vec![raw(0, b"*1\r\n$-5\r\n", true)],
        ),
        (
            "protocol error: null bulk",
            1,
            vec![raw(0, b"*1\r\n$-1\r\n", true)],
        ),
        (
            "protocol error: bulk too big",
            1,
            vec![raw(0, b"*1\r\n$536870913\r\n", true)],
        ),
        (
            "protocol error: unbalanced quotes",
            1,
            vec![raw(0, b"ECHO 'unbalanced\r\n", true)],
        ),
        (
            "protocol error: quote then text",
            1,
            vec![raw(0, b"PING \"a\"b\r\n", true)],
        ),
        (
            "protocol error after pipelined commands",
            1,
            vec![raw(0, b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n!\r\n", true)],
        ),
        (
            "protocol error: inline too big",
            1,
            vec![raw(0, &[b'a'; 70 * 1024], true)],
        ),
        (
            "protocol error: bulk count line too big",
            1,
            vec![raw(
                0,
                &[&b"*1\r\n$"[..], &[b'1'; 70 * 1024]].concat(),
                true,
            )],
        ),
    ]
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
