//! The replica side of the replication link, without I/O: what to send to
//! the master and what its bytes mean, step by step as Redis'
//! `syncWithMaster` and `readSyncBulkPayload` go. The task in `replica.rs`
//! moves bytes; this decides, and is tested byte by byte.
//!
//! A master may send anything: a reply that is not the expected one ends
//! the link (`Event::Fail`), an RDB of any size is skipped as it streams by
//! (never held in memory), and the command stream is read as the
//! multibulks a master writes, with Redis' length limits.

use bytes::{Bytes, BytesMut};

/// Longest handshake line a master may send before it is cut off.
const LINE_MAX: usize = 64 * 1024;

/// What the replica says of itself and who it logs in as.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// `masteruser` and `masterauth`.
    pub auth: Option<(Option<String>, String)>,
    /// `REPLCONF listening-port`: `replica-announce-port` or `port`.
    pub port: u16,
    /// `REPLCONF ip-address`: `replica-announce-ip`.
    pub ip: Option<String>,
}

#[derive(Debug)]
enum Step {
    /// Waiting for the reply to PING.
    Ping,
    /// Waiting for the replies to AUTH (if sent) and the REPLCONFs.
    Replies { auth: bool, left: usize },
    /// Waiting for the PSYNC reply.
    Psync,
    /// Waiting for the RDB's bulk header.
    RdbHeader,
    /// Skipping `left` more bytes of the RDB.
    RdbLength { left: u64 },
    /// Skipping an RDB that ends with the 40-byte `mark`; `tail` holds the
    /// last bytes seen.
    RdbMark { mark: Vec<u8>, tail: Vec<u8> },
    /// Reading the command stream.
    Stream,
}

/// What the link asks of its task.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// Write these bytes to the master.
    Send(Bytes),
    /// The replica is in sync: from a full resynchronisation (`full`) or
    /// continuing; the master's replication id and the offset reached.
    Synced {
        /// The master's replication id.
        replid: String,
        /// The offset of the last byte received.
        offset: i64,
        /// It started over: sub-replicas must too.
        full: bool,
    },
    /// A command of the stream, processed: its arguments and exact bytes;
    /// the offset now counts them.
    Command {
        /// The command's arguments.
        argv: Vec<Bytes>,
        /// Its bytes as the master sent them, for sub-replicas.
        raw: Bytes,
    },
    /// The master broke the protocol or refused us: close, and try again.
    Fail(String),
    /// The target of a failover refused its `PSYNC ... FAILOVER`: the
    /// failover is over, this server a master again.
    Rejected(String),
}

/// One replication link's state.
#[derive(Debug)]
pub struct Link {
    identity: Identity,
    step: Step,
    buf: BytesMut,
    /// The history the replica has: the master's id and the offset of the
    /// last byte processed.
    replid: Option<String>,
    offset: i64,
    /// PSYNC carries `FAILOVER`: this master hands over to its target.
    failover: bool,
}

/// A command to the master; byte-string literals of different lengths
/// meet as slices here, which a generic `encode` would not infer.
fn command(argv: &[&[u8]]) -> Bytes {
    super::encode(argv)
}

impl Link {
    /// A link for a replica whose history is `cached` (id and offset of
    /// the last byte processed), if it has one.
    pub fn new(identity: Identity, cached: Option<(String, i64)>) -> Self {
        let (replid, offset) = cached.map_or((None, -1), |(id, off)| (Some(id), off));
        Self {
            identity,
            step: Step::Ping,
            buf: BytesMut::new(),
            replid,
            offset,
            failover: false,
        }
    }

    /// Makes the PSYNC ask the master to take over from this server (Redis'
    /// `PSYNC <replid> <offset> FAILOVER`).
    pub fn hand_over(&mut self) {
        self.failover = true;
    }

    /// The first bytes to send, once connected.
    pub fn start(&mut self) -> Event {
        self.step = Step::Ping;
        Event::Send(command(&[b"PING"]))
    }

    /// The offset of the last byte processed (`slave_repl_offset`).
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// Whether the PSYNC was sent and its reply is awaited.
    pub fn awaiting_psync(&self) -> bool {
        matches!(self.step, Step::Psync)
    }

    /// Whether the handshake is over and the stream flows.
    pub fn streaming(&self) -> bool {
        matches!(self.step, Step::Stream)
    }

    /// `REPLCONF ACK <offset>`, sent every second while streaming.
    pub fn ack(&self) -> Option<Bytes> {
        self.streaming()
            .then(|| command(&[b"REPLCONF", b"ACK", self.offset.to_string().as_bytes()]))
    }

    /// Takes bytes from the master; returns what they lead to, in order.
    pub fn receive(&mut self, data: &[u8]) -> Vec<Event> {
        self.buf.extend_from_slice(data);
        let mut events = Vec::new();
        loop {
            let before = events.len();
            let progressed = match self.step {
                Step::Stream => self.stream(&mut events),
                Step::RdbLength { .. } | Step::RdbMark { .. } => self.rdb(&mut events),
                _ => self.handshake(&mut events),
            };
            if matches!(events.last(), Some(Event::Fail(_) | Event::Rejected(_)))
                || (!progressed && events.len() == before)
            {
                return events;
            }
        }
    }

    /// One line of the handshake, without CR LF; `None` until complete.
    fn line(&mut self, events: &mut Vec<Event>) -> Option<Vec<u8>> {
        let Some(end) = memchr::memchr(b'\n', &self.buf) else {
            if self.buf.len() > LINE_MAX {
                events.push(Event::Fail("the master sent a line too long".into()));
            }
            return None;
        };
        let mut line = self.buf.split_to(end + 1).to_vec();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(line)
    }

    fn handshake(&mut self, events: &mut Vec<Event>) -> bool {
        let Some(line) = self.line(events) else {
            return false;
        };
        // Empty lines keep the link alive while the master prepares.
        if line.is_empty() {
            return true;
        }
        match std::mem::replace(&mut self.step, Step::Stream) {
            Step::Ping => self.after_ping(&line, events),
            Step::Replies { auth, left } => self.after_reply(&line, auth, left, events),
            Step::Psync => self.after_psync(&line, events),
            Step::RdbHeader => self.rdb_header(&line, events),
            other => self.step = other,
        }
        true
    }

    fn after_ping(&mut self, line: &[u8], events: &mut Vec<Event>) {
        // Redis goes on after -NOAUTH and -NOPERM: AUTH comes next.
        let ok = line.starts_with(b"+")
            || line.starts_with(b"-NOAUTH")
            || line.starts_with(b"-NOPERM")
            || line.starts_with(b"-ERR operation not permitted");
        if !ok {
            return fail(events, "Error reply to PING from master", line);
        }
        let mut out = Vec::new();
        let auth = self.identity.auth.clone();
        if let Some((user, pass)) = &auth {
            let cmd = match user {
                Some(user) => command(&[b"AUTH", user.as_bytes(), pass.as_bytes()]),
                None => command(&[b"AUTH", pass.as_bytes()]),
            };
            out.extend_from_slice(&cmd);
        }
        let port = self.identity.port.to_string();
        out.extend_from_slice(&command(&[b"REPLCONF", b"listening-port", port.as_bytes()]));
        let mut left = 2;
        if let Some(ip) = &self.identity.ip {
            out.extend_from_slice(&command(&[b"REPLCONF", b"ip-address", ip.as_bytes()]));
            left += 1;
        }
        out.extend_from_slice(&command(&[
            b"REPLCONF",
            b"capa",
            b"eof",
            b"capa",
            b"psync2",
        ]));
        events.push(Event::Send(Bytes::from(out)));
        self.step = Step::Replies {
            auth: auth.is_some(),
            left,
        };
    }

    fn after_reply(&mut self, line: &[u8], auth: bool, left: usize, events: &mut Vec<Event>) {
        if auth {
            if line.starts_with(b"-") {
                return fail(events, "Unable to AUTH to MASTER", line);
            }
            self.step = Step::Replies { auth: false, left };
            return;
        }
        // REPLCONF errors are not critical (an older master).
        if left > 1 {
            self.step = Step::Replies {
                auth: false,
                left: left - 1,
            };
            return;
        }
        let (id, from) = match &self.replid {
            Some(id) => (id.clone(), (self.offset + 1).to_string()),
            None => ("?".to_owned(), "-1".to_owned()),
        };
        let mut psync: Vec<&[u8]> = vec![b"PSYNC", id.as_bytes(), from.as_bytes()];
        if self.failover {
            psync.push(b"FAILOVER");
        }
        events.push(Event::Send(command(&psync)));
        self.step = Step::Psync;
    }

    fn after_psync(&mut self, line: &[u8], events: &mut Vec<Event>) {
        let text = String::from_utf8_lossy(line).into_owned();
        let words: Vec<&str> = text.split(' ').collect();
        match words.as_slice() {
            ["+FULLRESYNC", id, offset] if id.len() == 40 => {
                let Ok(offset) = offset.parse::<i64>() else {
                    return fail(events, "Bad +FULLRESYNC offset from master", line);
                };
                self.replid = Some((*id).to_owned());
                self.offset = offset;
                self.step = Step::RdbHeader;
            }
            ["+CONTINUE", rest @ ..] => {
                if let [id] = rest {
                    if id.len() == 40 {
                        self.replid = Some((*id).to_owned());
                    }
                }
                self.step = Step::Stream;
                events.push(Event::Synced {
                    replid: self.replid.clone().unwrap_or_default(),
                    offset: self.offset,
                    full: false,
                });
            }
            _ if self.failover => events.push(Event::Rejected(format!(
                "Failover target rejected psync request: {text}"
            ))),
            _ => fail(events, "Unexpected reply to PSYNC from master", line),
        }
    }

    fn rdb_header(&mut self, line: &[u8], events: &mut Vec<Event>) {
        if let Some(mark) = line.strip_prefix(b"$EOF:") {
            if mark.len() != 40 {
                return fail(events, "Bad EOF mark from master", line);
            }
            self.step = Step::RdbMark {
                mark: mark.to_vec(),
                tail: Vec::new(),
            };
            return;
        }
        match line.strip_prefix(b"$").and_then(crate::parse::string2ll) {
            Some(len) if len >= 0 => {
                self.step = Step::RdbLength {
                    left: u64::try_from(len).unwrap_or_default(),
                }
            }
            _ => fail(
                events,
                "Bad protocol from MASTER, the first byte is not '$'",
                line,
            ),
        }
    }

    /// Skips RDB bytes; on its end, the link is in sync.
    fn rdb(&mut self, events: &mut Vec<Event>) -> bool {
        if self.buf.is_empty() {
            return false;
        }
        let done = match &mut self.step {
            Step::RdbLength { left } => {
                let take = usize::try_from(*left)
                    .unwrap_or(usize::MAX)
                    .min(self.buf.len());
                let _ = self.buf.split_to(take);
                *left -= take as u64;
                *left == 0
            }
            Step::RdbMark { mark, tail } => {
                // The mark may straddle reads: look in what was kept
                // from before plus what arrived.
                let data = self.buf.split().to_vec();
                tail.extend_from_slice(&data);
                match tail.windows(mark.len()).position(|w| w == &mark[..]) {
                    Some(at) => {
                        let after = tail.split_off(at + mark.len());
                        self.buf = BytesMut::from(&after[..]);
                        true
                    }
                    None => {
                        let keep = tail.len().saturating_sub(mark.len());
                        tail.drain(..keep);
                        false
                    }
                }
            }
            _ => false,
        };
        if done {
            self.step = Step::Stream;
            events.push(Event::Synced {
                replid: self.replid.clone().unwrap_or_default(),
                offset: self.offset,
                full: true,
            });
            if let Some(ack) = self.ack() {
                events.push(Event::Send(ack));
            }
        }
        true
    }

    fn stream(&mut self, events: &mut Vec<Event>) -> bool {
        let (len, ranges) = match scan(&self.buf) {
            Ok(Some(found)) => found,
            Ok(None) => return false,
            Err(why) => {
                events.push(Event::Fail(format!("protocol error from master: {why}")));
                return false;
            }
        };
        // The command's own bytes, for sub-replicas and the backlog, and
        // its arguments as slices of them: no copy, no allocation per
        // argument.
        let raw = self.buf.split_to(len).freeze();
        let argv: Vec<Bytes> = ranges.iter().map(|&(a, b)| raw.slice(a..b)).collect();
        let getack = argv.len() == 3
            && argv
                .first()
                .is_some_and(|a| a.eq_ignore_ascii_case(b"replconf"))
            && argv
                .get(1)
                .is_some_and(|a| a.eq_ignore_ascii_case(b"getack"));
        if getack {
            // Acknowledged before it counts itself, as Redis does.
            if let Some(ack) = self.ack() {
                events.push(Event::Send(ack));
            }
        }
        self.offset += i64::try_from(len).unwrap_or(i64::MAX);
        events.push(Event::Command { argv, raw });
        true
    }
}

/// A whole multibulk: its length and its arguments' byte ranges.
type Scanned = (usize, Vec<(usize, usize)>);

/// Most arguments one stream command may have (Redis' multibulk limit).
const MAX_ARGS: i64 = 1024 * 1024;

/// The length of the multibulk at the start of `buf` and its arguments'
/// ranges, once it is whole; the error of one that can never be. A master
/// only ever sends multibulks.
fn scan(buf: &[u8]) -> Result<Option<Scanned>, &'static str> {
    let Some((count, mut at)) = header(buf, b'*', 0)? else {
        return Ok(None);
    };
    if !(0..=MAX_ARGS).contains(&count) {
        return Err("invalid multibulk length");
    }
    let mut ranges = Vec::with_capacity(usize::try_from(count).unwrap_or_default());
    for _ in 0..count {
        let Some((len, start)) = header(buf, b'$', at)? else {
            return Ok(None);
        };
        let len = usize::try_from(len).map_err(|_| "invalid bulk length")?;
        if len > 512 * 1024 * 1024 {
            return Err("invalid bulk length");
        }
        let end = start + len;
        if buf.len() < end + 2 {
            return Ok(None);
        }
        ranges.push((start, end));
        at = end + 2;
    }
    Ok(Some((at, ranges)))
}

/// `<kind><number>\r\n` at `at`: the number and where the line ends.
fn header(buf: &[u8], kind: u8, at: usize) -> Result<Option<(i64, usize)>, &'static str> {
    let Some(rest) = buf.get(at..) else {
        return Ok(None);
    };
    match rest.first() {
        None => return Ok(None),
        Some(b) if *b != kind => return Err("expected a multibulk from the master"),
        Some(_) => {}
    }
    let Some(cr) = memchr::memchr(b'\r', rest) else {
        return if rest.len() > 32 {
            Err("header line too long")
        } else {
            Ok(None)
        };
    };
    if rest.len() < cr + 2 {
        return Ok(None);
    }
    let n = rest
        .get(1..cr)
        .and_then(crate::parse::string2ll)
        .ok_or("invalid length")?;
    Ok(Some((n, at + cr + 2)))
}

fn fail(events: &mut Vec<Event>, what: &str, line: &[u8]) {
    events.push(Event::Fail(format!(
        "{what}: {}",
        String::from_utf8_lossy(line)
    )));
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
