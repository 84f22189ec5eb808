//! The slow log (SLOWLOG): calls that took at least
//! `slowlog-log-slower-than` microseconds, the newest first, at most
//! `slowlog-max-len` of them, each as Redis records it: arguments cut to 32
//! and each to 128 bytes, passwords redacted, with the client's address and
//! name.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::Mutex;

/// Redis' `SLOWLOG_ENTRY_MAX_ARGC` and `SLOWLOG_ENTRY_MAX_STRING`.
const MAX_ARGS: usize = 32;
const MAX_STRING: usize = 128;

/// One logged call.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Counts every entry ever logged (SLOWLOG RESET keeps counting).
    pub id: u64,
    /// Unix time, seconds.
    pub time: u64,
    /// How long the call took, microseconds.
    pub micros: u64,
    /// The arguments, cut and redacted.
    pub args: Vec<Bytes>,
    /// The client's `ip:port`.
    pub peer: String,
    /// The client's name, empty if none.
    pub name: Bytes,
}

/// The slow log of one server.
#[derive(Debug, Default)]
pub struct Slowlog {
    inner: Mutex<Log>,
}

#[derive(Debug, Default)]
struct Log {
    entries: VecDeque<Entry>,
    next_id: u64,
}

impl Slowlog {
    /// Logs a call of `args` (passwords already redacted) that took
    /// `micros`, keeping at most `max_len` entries.
    pub fn push(&self, args: &[Bytes], micros: u64, peer: String, name: Bytes, max_len: usize) {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut log = self.inner.lock();
        let id = log.next_id;
        log.next_id += 1;
        log.entries.push_front(Entry {
            id,
            time,
            micros,
            args: cut(args),
            peer,
            name,
        });
        log.entries.truncate(max_len);
    }

    /// The newest `count` entries (all with `None`).
    pub fn newest(&self, count: Option<usize>) -> Vec<Entry> {
        let log = self.inner.lock();
        let n = count.unwrap_or(log.entries.len());
        log.entries.iter().take(n).cloned().collect()
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// SLOWLOG RESET: drops the entries; ids go on counting.
    pub fn reset(&self) {
        self.inner.lock().entries.clear();
    }
}

/// Redis' cuts: past 32 arguments the 32nd says how many more there were;
/// past 128 bytes an argument says how many more bytes it had.
fn cut(args: &[Bytes]) -> Vec<Bytes> {
    let kept = if args.len() > MAX_ARGS {
        MAX_ARGS - 1
    } else {
        args.len()
    };
    let mut out: Vec<Bytes> = args
        .iter()
        .take(kept)
        .map(|a| match a.get(..MAX_STRING) {
            Some(head) if a.len() > MAX_STRING => {
                let mut s = head.to_vec();
                s.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes(),
                );
                Bytes::from(s)
            }
            _ => a.clone(),
        })
        .collect();
    if args.len() > MAX_ARGS {
        let more = args.len() - kept;
        out.push(Bytes::from(format!("... ({more} more arguments)")));
    }
    out
}
