//! The differential harness: the same steps, over several clients, go to
//! respub and to a real redis-server, and every byte each client receives
//! is compared (see `tests/differential.rs` for how the barrier works).
//! Shared by the differential and ACL tests.

use super::{Conn, Frame, RedisServer, bulk_of};

/// One request from one client.
#[derive(Clone, Debug)]
pub struct Step {
    pub client: usize,
    /// The request as sent (multibulk, or raw inline/malformed bytes).
    pub bytes: Vec<u8>,
    /// Arguments, when the request is a well-formed command.
    pub args: Vec<Vec<u8>>,
    /// The server closes the connection after this step.
    pub closes: bool,
    /// Redis 7.2+ bytes for the issuer, where Debian's 7.0.15 differs in a
    /// way that cannot be normalised (e.g. a command it does not have).
    pub expect_72: Option<Vec<u8>>,
}

pub fn cmd(client: usize, args: &[&[u8]]) -> Step {
    Step {
        client,
        bytes: super::encode_cmd(args),
        args: args.iter().map(|a| a.to_vec()).collect(),
        closes: false,
        expect_72: None,
    }
}

/// A command written as space-separated words.
pub fn c(client: usize, line: &str) -> Step {
    let words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    cmd(client, &words)
}

pub fn raw(client: usize, bytes: &[u8], closes: bool) -> Step {
    Step {
        client,
        bytes: bytes.to_vec(),
        args: Vec::new(),
        closes,
        expect_72: None,
    }
}

impl Step {
    pub fn closing(mut self) -> Self {
        self.closes = true;
        self
    }

    pub fn on_7_2(mut self, bytes: &[u8]) -> Self {
        self.expect_72 = Some(bytes.to_vec());
        self
    }

    pub fn name(&self) -> String {
        self.args
            .first()
            .map(|a| String::from_utf8_lossy(a).to_ascii_uppercase())
            .unwrap_or_default()
    }

    pub fn display(&self) -> String {
        format!(
            "client {}: {}",
            self.client,
            String::from_utf8_lossy(&self.bytes).escape_debug()
        )
    }
}

/// What one client received during one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Frames(Vec<Vec<u8>>),
    /// Everything up to the server closing the connection.
    Closed(Vec<u8>),
    /// The client was already closed.
    Gone,
}

/// How each step is closed off on every client.
#[derive(Clone, Copy, Debug)]
pub enum Barrier {
    /// SUBSCRIBE + UNSUBSCRIBE of a marker channel: works in every state
    /// but before authentication.
    Subscribe,
    /// An unknown command named after the marker: Redis checks that a
    /// command exists before authentication, so this works before AUTH (but
    /// not under CLIENT REPLY OFF, which suppresses errors).
    UnknownCommand,
}

/// Runs the barrier on `conn` and returns the frames received before it.
pub fn barrier(conn: &mut Conn, marker: &[u8], kind: Barrier) -> Option<Vec<Frame>> {
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
pub fn run(
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
                // Another client's step may disconnect this one (ACL
                // revocation, CLIENT KILL): compared as a close.
                match barrier(conn, &marker, kind) {
                    Some(frames) => got[k] = (Segment::Frames(Vec::new()), frames),
                    None => {
                        got[k] = (Segment::Closed(Vec::new()), Vec::new());
                        *slot = None;
                    }
                }
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
pub fn normalize(step: &Step, issuer: bool, frames: &[Frame]) -> Vec<Vec<u8>> {
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
    let acl_cat = name == "ACL" && sub.as_deref() == Some("CAT") && step.args.len() == 3;
    if acl_cat || name == "PUBSUB" && matches!(sub.as_deref(), Some("CHANNELS" | "SHARDCHANNELS")) {
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

pub fn mask_hello(raw: &[u8]) -> Vec<u8> {
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
pub fn known_7_0(step: &Step, issuer: bool, frames: Vec<Frame>) -> Vec<Frame> {
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
    // 7.2 fixed the grammar of the last line of every HELP that Redis'
    // `addReplyHelp` writes (PUBSUB, LATENCY and SLOWLOG HELP).
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
pub fn compare(
    respub: u16,
    redis: &RedisServer,
    clients: usize,
    steps: &[Step],
) -> Result<(), String> {
    compare_with(respub, redis, clients, steps, Barrier::Subscribe)
}

pub fn compare_with(
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

pub fn diff(i: usize, step: &Step, client: usize, ours: &[Vec<u8>], theirs: &[Vec<u8>]) -> String {
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

pub fn script(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| format!("  {}\n", s.display()))
        .collect()
}

/// A named scripted case: its name, how many clients, its steps.
pub type Case = (&'static str, usize, Vec<Step>);

/// Runs every case on fresh connections of both servers and fails the test
/// listing every case that differs, with its script.
pub fn assert_cases(respub: u16, redis: &RedisServer, cases: &[Case], kind: Barrier) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, clients, steps)| {
            compare_with(respub, redis, *clients, steps, kind)
                .err()
                .map(|e| format!("case '{name}':\n{e}\nscript:\n{}", script(steps)))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "against redis-server {}:\n{}",
        redis.version,
        failures.join("\n\n")
    );
}
