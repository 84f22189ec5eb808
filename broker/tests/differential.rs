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

use common::{Conn, Frame, RedisServer, TestServer, bulk_of};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

/// One request from one client.
#[derive(Clone, Debug)]
struct Step {
    client: usize,
    /// The request as sent (multibulk, or raw inline/malformed bytes).
    bytes: Vec<u8>,
    /// Arguments, when the request is a well-formed command.
    args: Vec<Vec<u8>>,
    /// The server closes the connection after this step.
    closes: bool,
    /// Redis 7.2+ bytes for the issuer, where Debian's 7.0.15 differs in a
    /// way that cannot be normalised (e.g. a command it does not have).
    expect_72: Option<Vec<u8>>,
}

fn cmd(client: usize, args: &[&[u8]]) -> Step {
    Step {
        client,
        bytes: common::encode_cmd(args),
        args: args.iter().map(|a| a.to_vec()).collect(),
        closes: false,
        expect_72: None,
    }
}

/// A command written as space-separated words.
fn c(client: usize, line: &str) -> Step {
    let words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    cmd(client, &words)
}

fn raw(client: usize, bytes: &[u8], closes: bool) -> Step {
    Step {
        client,
        bytes: bytes.to_vec(),
        args: Vec::new(),
        closes,
        expect_72: None,
    }
}

impl Step {
    fn closing(mut self) -> Self {
        self.closes = true;
        self
    }

    fn on_7_2(mut self, bytes: &[u8]) -> Self {
        self.expect_72 = Some(bytes.to_vec());
        self
    }

    fn name(&self) -> String {
        self.args
            .first()
            .map(|a| String::from_utf8_lossy(a).to_ascii_uppercase())
            .unwrap_or_default()
    }

    fn display(&self) -> String {
        format!(
            "client {}: {}",
            self.client,
            String::from_utf8_lossy(&self.bytes).escape_debug()
        )
    }
}

/// What one client received during one step.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Frames(Vec<Vec<u8>>),
    /// Everything up to the server closing the connection.
    Closed(Vec<u8>),
    /// The client was already closed.
    Gone,
}

/// How each step is closed off on every client.
#[derive(Clone, Copy, Debug)]
enum Barrier {
    /// SUBSCRIBE + UNSUBSCRIBE of a marker channel: works in every state
    /// but before authentication.
    Subscribe,
    /// An unknown command named after the marker: Redis checks that a
    /// command exists before authentication, so this works before AUTH (but
    /// not under CLIENT REPLY OFF, which suppresses errors).
    UnknownCommand,
}

/// Runs the barrier on `conn` and returns the frames received before it.
fn barrier(conn: &mut Conn, marker: &[u8], kind: Barrier) -> Option<Vec<Frame>> {
    if let Barrier::UnknownCommand = kind {
        conn.send(&[&b"__BARRIER__"[..], marker]);
        let mut end = b"-ERR unknown command '__BARRIER__', with args beginning with: '".to_vec();
        end.extend_from_slice(marker);
        end.extend_from_slice(b"' \r\n");
        return conn.frames_until(|f| f.raw == end);
    }
    conn.send(&[&b"SUBSCRIBE"[..], marker]);
    conn.send(&[&b"UNSUBSCRIBE"[..], marker]);
    let is = |f: &Frame, kind: &str| {
        f.kind().as_deref() == Some(kind)
            && f.items().and_then(|i| i.get(1)).and_then(bulk_of) == Some(marker)
    };
    let mut frames = conn.frames_until(|f| is(f, "unsubscribe"))?;
    let pos = frames.iter().rposition(|f| is(f, "subscribe"))?;
    frames.remove(pos);
    Some(frames)
}

/// Runs `steps` against one server; returns, per step, per client, what was received.
fn run(
    port: u16,
    clients: usize,
    steps: &[Step],
    kind: Barrier,
) -> Vec<Vec<(Segment, Vec<Frame>)>> {
    let mut conns: Vec<Option<Conn>> = (0..clients).map(|_| Some(Conn::connect(port))).collect();
    let mut transcript = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let marker = format!("__barrier:{i}").into_bytes();
        let mut got: Vec<(Segment, Vec<Frame>)> = vec![(Segment::Gone, Vec::new()); clients];
        if let Some(conn) = conns[step.client].as_mut() {
            conn.send_raw(&step.bytes);
            if step.closes {
                got[step.client] = (Segment::Closed(conn.read_to_eof()), Vec::new());
                conns[step.client] = None;
            } else {
                let frames = barrier(conn, &marker, kind)
                    .unwrap_or_else(|| panic!("connection closed at step {i}: {}", step.display()));
                got[step.client] = (Segment::Frames(Vec::new()), frames);
            }
        }
        for (k, slot) in conns.iter_mut().enumerate() {
            if k == step.client {
                continue;
            }
            if let Some(conn) = slot {
                let frames = barrier(conn, &marker, kind).unwrap();
                got[k] = (Segment::Frames(Vec::new()), frames);
            }
        }
        transcript.push(got);
    }
    // Leave nothing behind for the next sequence, synchronously.
    for conn in conns.iter_mut().flatten() {
        conn.send(&[b"RESET"]);
        conn.frames_until(|f| f.raw == b"+RESET\r\n").unwrap();
    }
    transcript
}

/// Canonical form of what one client got in one step, for comparison.
fn normalize(step: &Step, issuer: bool, frames: &[Frame]) -> Vec<Vec<u8>> {
    let name = step.name();
    let mut out: Vec<Vec<u8>> = Vec::new();
    // pmessages of one PUBLISH across several patterns follow Redis' pattern
    // dictionary order: compare each run of them as a set.
    let mut run: Vec<Vec<u8>> = Vec::new();
    for f in frames {
        if f.kind().as_deref() == Some("pmessage") {
            run.push(f.raw.clone());
            continue;
        }
        run.sort();
        out.append(&mut run);
        out.push(f.raw.clone());
    }
    run.sort();
    out.append(&mut run);
    if !issuer {
        return out;
    }
    let argless_unsub = step.args.len() == 1
        && ["UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"].contains(&name.as_str());
    if argless_unsub {
        // Hash order: keep the kinds and counts in order, compare names as a set.
        let mut names = Vec::new();
        let mut shapes = Vec::new();
        for f in frames {
            match f.items() {
                Some([kind, ch, count]) => {
                    names.push(
                        bulk_of(ch)
                            .map(<[u8]>::to_vec)
                            .unwrap_or_else(|| b"<null>".to_vec()),
                    );
                    shapes.push(format!("{:?} {:?}", bulk_of(kind), count).into_bytes());
                }
                _ => shapes.push(f.raw.clone()),
            }
        }
        names.sort();
        shapes.extend(names);
        return shapes;
    }
    let sub = step
        .args
        .get(1)
        .map(|a| String::from_utf8_lossy(a).to_ascii_uppercase());
    if name == "PUBSUB" && matches!(sub.as_deref(), Some("CHANNELS" | "SHARDCHANNELS")) {
        return frames
            .iter()
            .map(|f| match f.items() {
                Some(items) => {
                    let mut names: Vec<Vec<u8>> = items
                        .iter()
                        .filter_map(bulk_of)
                        .map(<[u8]>::to_vec)
                        .collect();
                    names.sort();
                    format!("array of {}: {:?}", items.len(), names).into_bytes()
                }
                None => f.raw.clone(),
            })
            .collect();
    }
    if name == "HELLO" {
        // The client id and the version string identify the server, not behaviour.
        return out.into_iter().map(|raw| mask_hello(&raw)).collect();
    }
    out
}

fn mask_hello(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw).into_owned();
    let mut parts: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
    for i in 0..parts.len() {
        if parts[i] == "version" && i + 2 < parts.len() {
            parts[i + 1] = "$?".into();
            parts[i + 2] = "?".into();
        }
        if parts[i] == "id" && i + 1 < parts.len() {
            parts[i + 1] = ":?".into();
        }
    }
    parts.join("\r\n").into_bytes()
}

/// Every place where Debian's redis-server 7.0.15 legitimately differs from
/// the Redis 7.2+ behaviour respub follows, applied to the reference's
/// frames so that the comparison checks the 7.2+ bytes.
fn known_7_0(step: &Step, issuer: bool, frames: Vec<Frame>) -> Vec<Frame> {
    let name = step.name();
    let mut frames = frames;
    // 7.2 (redis/redis#12326): a RESP3 client publishing to a channel it
    // holds gets its `:N` before its own pushes; 7.0 sends the pushes first.
    if issuer && (name == "PUBLISH" || name == "SPUBLISH") {
        if let Some(pos) = frames.iter().position(|f| f.raw.first() == Some(&b':')) {
            let reply = frames.remove(pos);
            frames.insert(0, reply);
        }
    }
    // 7.2 fixed the grammar of the last PUBSUB HELP line.
    for f in &mut frames {
        if f.raw.ends_with(b"+    Prints this help.\r\n") {
            let cut = f.raw.len() - b"+    Prints this help.\r\n".len();
            f.raw.truncate(cut);
            f.raw.extend_from_slice(b"+    Print this help.\r\n");
        }
    }
    frames
}

/// Compares one sequence on both servers; `Err` describes the first difference.
fn compare(respub: u16, redis: &RedisServer, clients: usize, steps: &[Step]) -> Result<(), String> {
    compare_with(respub, redis, clients, steps, Barrier::Subscribe)
}

fn compare_with(
    respub: u16,
    redis: &RedisServer,
    clients: usize,
    steps: &[Step],
    kind: Barrier,
) -> Result<(), String> {
    let ours = run(respub, clients, steps, kind);
    let theirs = run(redis.port, clients, steps, kind);
    for (i, step) in steps.iter().enumerate() {
        for k in 0..clients {
            let issuer = k == step.client;
            let (seg_a, frames_a) = &ours[i][k];
            let (seg_b, frames_b) = &theirs[i][k];
            if let (Segment::Closed(a), Segment::Closed(b)) = (seg_a, seg_b) {
                if a != b {
                    return Err(diff(
                        i,
                        step,
                        k,
                        std::slice::from_ref(a),
                        std::slice::from_ref(b),
                    ));
                }
                continue;
            }
            if seg_a != seg_b {
                return Err(format!(
                    "step {i} ({}): client {k}: {:?} vs redis {:?}",
                    step.display(),
                    seg_a,
                    seg_b
                ));
            }
            let a = normalize(step, issuer, frames_a);
            if issuer && redis.is_7_0() {
                if let Some(expected) = &step.expect_72 {
                    let got: Vec<u8> = frames_a.iter().flat_map(|f| f.raw.clone()).collect();
                    if &got != expected {
                        return Err(diff(i, step, k, &[got], std::slice::from_ref(expected)));
                    }
                    continue;
                }
            }
            let reference = if redis.is_7_0() {
                known_7_0(step, issuer, frames_b.clone())
            } else {
                frames_b.clone()
            };
            let b = normalize(step, issuer, &reference);
            if a != b {
                return Err(diff(i, step, k, &a, &b));
            }
        }
    }
    Ok(())
}

fn diff(i: usize, step: &Step, client: usize, ours: &[Vec<u8>], theirs: &[Vec<u8>]) -> String {
    let show = |v: &[Vec<u8>]| -> String {
        v.iter()
            .map(|f| format!("    {}", String::from_utf8_lossy(f).escape_debug()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "step {i} ({}), client {client} received different bytes\n  respub:\n{}\n  redis-server:\n{}",
        step.display(),
        show(ours),
        show(theirs)
    )
}

fn script(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| format!("  {}\n", s.display()))
        .collect()
}

// ---------------------------------------------------------------- scripted

/// Scripted cases covering the rows of the pub/sub reference, each run on
/// fresh connections.
fn scripted_cases() -> Vec<(&'static str, usize, Vec<Step>)> {
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
    let mut failures = Vec::new();
    let cases = scripted_cases();
    let steps: usize = cases.iter().map(|(_, _, s)| s.len()).sum();
    for (name, clients, steps) in &cases {
        if let Err(e) = compare(respub.port, &redis, *clients, steps) {
            failures.push(format!("case '{name}':\n{e}\nscript:\n{}", script(steps)));
        }
    }
    println!(
        "differential scripted: {} cases, {steps} steps against redis-server {}",
        cases.len(),
        redis.version
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// With `requirepass`: NOAUTH in Redis' check order, AUTH and HELLO AUTH,
/// RESET back to unauthenticated, and the unauthenticated protocol limits.
fn auth_cases() -> Vec<(&'static str, usize, Vec<Step>)> {
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
    let mut failures = Vec::new();
    for (name, clients, steps) in auth_cases() {
        if let Err(e) = compare_with(
            respub.port,
            &redis,
            clients,
            &steps,
            Barrier::UnknownCommand,
        ) {
            failures.push(format!("case '{name}':\n{e}\nscript:\n{}", script(&steps)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
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
