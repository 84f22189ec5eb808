//! `ACL LOG`: the most recent denials, newest first, with repeats of the
//! same denial within a minute merged into one entry, as Redis keeps them.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::Mutex;

/// Repeats closer than this (ms) update the same entry.
const GROUPING_MS: u64 = 60_000;

/// How many recent entries are searched for a repeat.
const SCAN: usize = 10;

/// What was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A command the user may not run.
    Command,
    /// A channel the user may not use.
    Channel,
    /// Wrong credentials.
    Auth,
}

impl Reason {
    fn text(self) -> &'static str {
        match self {
            Self::Command => "command",
            Self::Channel => "channel",
            Self::Auth => "auth",
        }
    }
}

/// Where the denied command ran (`context`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Sent by the client.
    Toplevel,
    /// Queued by MULTI, refused when EXEC ran it (the user's permissions
    /// changed in between).
    Multi,
}

impl Context {
    /// Redis' `context` field.
    pub fn text(self) -> &'static str {
        match self {
            Self::Toplevel => "toplevel",
            Self::Multi => "multi",
        }
    }
}

/// One entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Where the command ran.
    pub context: Context,
    /// Denials merged into this entry.
    pub count: u64,
    /// What was denied.
    pub reason: Reason,
    /// The command, channel, or `AUTH`/`HELLO`.
    pub object: Bytes,
    /// The user, or the user name tried.
    pub username: Bytes,
    /// The CLIENT INFO line of the client, at the last denial.
    pub client_info: String,
    /// Unique, increasing.
    pub entry_id: u64,
    /// Unix ms of the first denial.
    pub created_ms: u64,
    /// Unix ms of the last denial.
    pub updated_ms: u64,
}

impl Entry {
    /// Redis' `reason` field.
    pub fn reason_text(&self) -> &'static str {
        self.reason.text()
    }
}

/// The log.
#[derive(Debug, Default)]
pub struct Log {
    inner: Mutex<(VecDeque<Entry>, u64)>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

impl Log {
    /// Records a denial, keeping at most `max_len` entries.
    pub fn add(
        &self,
        (reason, context): (Reason, Context),
        object: &[u8],
        username: &[u8],
        client_info: String,
        max_len: usize,
    ) {
        let now = now_ms();
        let mut guard = self.inner.lock();
        let (entries, next_id) = &mut *guard;
        let repeat = entries.iter().take(SCAN).position(|e| {
            e.reason == reason
                && e.context == context
                && e.object == object
                && e.username == username
                && now.abs_diff(e.updated_ms) <= GROUPING_MS
        });
        if let Some(mut entry) = repeat.and_then(|i| entries.remove(i)) {
            entry.count += 1;
            entry.updated_ms = now;
            entry.client_info = client_info;
            entries.push_front(entry);
            return;
        }
        entries.push_front(Entry {
            context,
            count: 1,
            reason,
            object: Bytes::copy_from_slice(object),
            username: Bytes::copy_from_slice(username),
            client_info,
            entry_id: *next_id,
            created_ms: now,
            updated_ms: now,
        });
        *next_id += 1;
        entries.truncate(max_len);
    }

    /// The newest `count` entries and the current time (ms).
    pub fn newest(&self, count: usize) -> (Vec<Entry>, u64) {
        let guard = self.inner.lock();
        (guard.0.iter().take(count).cloned().collect(), now_ms())
    }

    /// `ACL LOG RESET`.
    pub fn clear(&self) {
        self.inner.lock().0.clear();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn repeats_merge_and_the_log_is_bounded() {
        let log = Log::default();
        log.add(
            (Reason::Channel, Context::Toplevel),
            b"other",
            b"u",
            "a".into(),
            3,
        );
        log.add(
            (Reason::Channel, Context::Toplevel),
            b"other",
            b"u",
            "b".into(),
            3,
        );
        log.add(
            (Reason::Command, Context::Toplevel),
            b"publish",
            b"u",
            "c".into(),
            3,
        );
        let (entries, _) = log.newest(10);
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[0].reason_text(), entries[0].count), ("command", 1));
        assert_eq!(
            (entries[1].count, entries[1].client_info.as_str()),
            (2, "b")
        );
        for i in 0..5 {
            log.add(
                (Reason::Auth, Context::Toplevel),
                format!("o{i}").as_bytes(),
                b"u",
                String::new(),
                3,
            );
        }
        assert_eq!(log.newest(10).0.len(), 3);
        log.clear();
        assert!(log.newest(10).0.is_empty());
    }
}
