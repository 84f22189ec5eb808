//! MONITOR: every command executed, streamed to monitoring clients in
//! Redis' format: `+<secs>.<usecs> [<db> <addr>] "<cmd>" "<arg>" ...`.
//!
//! Like Redis, a command is fed after it ran (a monitor sees its own PING
//! after the PONG), commands that were rejected (unknown, arity, NOAUTH)
//! are not fed, and passwords are shown as `"(redacted)"`.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::{ADMIN, Spec};
use crate::session::Session;

pub(crate) const MONITOR: Spec = Spec {
    name: "monitor",
    arity: 1,
    flags: ADMIN,
    subcommands: &[],
    run: monitor,
};

fn monitor(s: &mut Session, _: &[Bytes]) {
    // Inside EXEC a client expects one reply per command.
    if s.in_exec {
        return s.error(b"ERR MONITOR isn't allowed for DENY BLOCKING client");
    }
    // Redis ignores a second MONITOR, without a reply.
    if s.monitoring {
        return;
    }
    s.shared.monitors.add(&s.client);
    s.monitoring = true;
    s.reply().ok();
}

/// Appends `arg` quoted as Redis' `sdscatrepr` does.
fn repr(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b'"');
    for &b in arg {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            other => out.extend_from_slice(format!("\\x{other:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// The line monitors receive for `args`, run by the session's client.
pub(crate) fn line(s: &Session, args: &[Bytes]) -> Bytes {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let db = s.client.meta.lock().db;
    // Redis shows Unix-socket clients as `unix:<path>`.
    let addr = match s.client.addr.strip_suffix(":0") {
        Some(path) if path.starts_with('/') => format!("unix:{path}"),
        _ => s.client.addr.clone(),
    };
    let mut out = format!(
        "+{}.{:06} [{db} {addr}]",
        now.as_secs(),
        now.subsec_micros()
    )
    .into_bytes();
    for arg in &super::redacted(args) {
        out.push(b' ');
        repr(&mut out, arg);
    }
    out.extend_from_slice(b"\r\n");
    Bytes::from(out)
}
