//! SLOWLOG GET, LEN, RESET and HELP.

use bytes::Bytes;

use super::pubsub::help_lines;
use super::{ADMIN, Spec, leaf, parse_int};
use crate::session::Session;

const SUBCOMMANDS: &[Spec] = &[
    leaf("slowlog|get", -2, ADMIN, get),
    leaf("slowlog|len", 2, ADMIN, len),
    leaf("slowlog|reset", 2, ADMIN, reset),
    leaf("slowlog|help", 2, 0, help),
];

pub(crate) const SLOWLOG: Spec = Spec {
    name: "slowlog",
    arity: -2,
    flags: 0,
    subcommands: SUBCOMMANDS,
    run: super::unknown_subcommand,
};

const HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Print this help.",
];

fn get(s: &mut Session, args: &[Bytes]) {
    let count = match args.get(2) {
        None => Some(10),
        Some(raw) => match parse_int(raw) {
            Some(-1) => None,
            Some(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => return s.error(b"ERR count should be greater than or equal to -1"),
        },
    };
    let entries = s.shared.slowlog.newest(count);
    let mut r = s.reply();
    r.array(entries.len());
    for e in &entries {
        r.array(6);
        for n in [e.id, e.time, e.micros] {
            r.int(i64::try_from(n).unwrap_or(i64::MAX));
        }
        r.array(e.args.len());
        for a in &e.args {
            r.bulk(a);
        }
        r.bulk(e.peer.as_bytes());
        r.bulk(&e.name);
    }
}

fn len(s: &mut Session, _: &[Bytes]) {
    let n = s.shared.slowlog.len();
    s.reply().int(i64::try_from(n).unwrap_or(i64::MAX));
}

fn reset(s: &mut Session, _: &[Bytes]) {
    s.shared.slowlog.reset();
    s.reply().ok();
}

fn help(s: &mut Session, _: &[Bytes]) {
    help_lines(s, HELP);
}
