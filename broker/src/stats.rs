//! Server-wide counters, plain atomics read by INFO.
//!
//! Counters are bumped once per command or per PUBLISH (never once per
//! delivery) so that they stay off the fan-out hot path.

use std::sync::atomic::{AtomicU64, Ordering};

/// The counters INFO reports, with Redis' field names in the comments.
#[derive(Debug, Default)]
pub struct Stats {
    /// `total_connections_received`.
    pub connections_received: AtomicU64,
    /// `rejected_connections` (over `maxclients`).
    pub rejected_connections: AtomicU64,
    /// `total_commands_processed`.
    pub commands_processed: AtomicU64,
    /// PUBLISH and SPUBLISH commands executed.
    pub messages_published: AtomicU64,
    /// Deliveries made by them (the sum of their replies).
    pub messages_delivered: AtomicU64,
    /// `total_net_input_bytes`.
    pub net_input_bytes: AtomicU64,
    /// `total_net_output_bytes`.
    pub net_output_bytes: AtomicU64,
    /// `client_output_buffer_limit_disconnections`.
    pub output_limit_disconnections: AtomicU64,
    /// `total_error_replies`.
    pub error_replies: AtomicU64,
    /// `acl_access_denied_auth`.
    pub acl_denied_auth: AtomicU64,
    /// `acl_access_denied_cmd`.
    pub acl_denied_cmd: AtomicU64,
    /// `acl_access_denied_channel`.
    pub acl_denied_channel: AtomicU64,
}

impl Stats {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts an ACL denial under its INFO field.
    pub fn count_acl_denial(&self, reason: crate::acl::Reason) {
        use crate::acl::Reason;
        let counter = match reason {
            Reason::Auth => &self.acl_denied_auth,
            Reason::Command => &self.acl_denied_cmd,
            Reason::Channel => &self.acl_denied_channel,
        };
        Self::add(counter, 1);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Resident set size of this process in bytes, from `/proc/self/statm`
/// (0 where /proc is unavailable).
pub fn process_rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

/// User and system CPU seconds of this process, from `/proc/self/stat`
/// (assuming the usual 100 ticks per second).
pub fn process_cpu() -> (f64, f64) {
    let parse = || -> Option<(f64, f64)> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the parenthesised command name; utime and stime are
        // the 14th and 15th fields of the whole line.
        let after = stat.rsplit_once(')')?.1;
        let mut fields = after.split_whitespace().skip(11);
        let user: f64 = fields.next()?.parse().ok()?;
        let sys: f64 = fields.next()?.parse().ok()?;
        Some((user / 100.0, sys / 100.0))
    };
    parse().unwrap_or((0.0, 0.0))
}
