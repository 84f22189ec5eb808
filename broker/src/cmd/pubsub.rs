//! PUBSUB CHANNELS, NUMSUB, NUMPAT, SHARDCHANNELS, SHARDNUMSUB and HELP.
//!
//! NUMSUB and SHARDNUMSUB are flat arrays in RESP3 too, never maps: the
//! Socket.IO adapter reads the count as `reply[1]`.

use bytes::Bytes;

use super::Spec;
use crate::registry::Kind;
use crate::session::Session;

const SUBCOMMANDS: &[Spec] = &[
    Spec {
        name: "pubsub|channels",
        arity: -2,
        flags: 0,
        subcommands: &[],
        run: |s, a| names(s, a, Kind::Channel),
    },
    Spec {
        name: "pubsub|numsub",
        arity: -2,
        flags: 0,
        subcommands: &[],
        run: |s, a| numsub(s, a, Kind::Channel),
    },
    Spec {
        name: "pubsub|numpat",
        arity: 2,
        flags: 0,
        subcommands: &[],
        run: numpat,
    },
    Spec {
        name: "pubsub|shardchannels",
        arity: -2,
        flags: 0,
        subcommands: &[],
        run: |s, a| names(s, a, Kind::Shard),
    },
    Spec {
        name: "pubsub|shardnumsub",
        arity: -2,
        flags: 0,
        subcommands: &[],
        run: |s, a| numsub(s, a, Kind::Shard),
    },
    Spec {
        name: "pubsub|help",
        arity: 2,
        flags: 0,
        subcommands: &[],
        run: help,
    },
];

pub(crate) const PUBSUB: Spec = Spec {
    name: "pubsub",
    arity: -2,
    flags: 0,
    subcommands: SUBCOMMANDS,
    run: super::unknown_subcommand,
};

const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Print this help.",
];

/// Writes a Redis-style HELP reply: one status line each.
pub(crate) fn help_lines(s: &mut Session, lines: &[&str]) {
    let mut r = s.reply();
    r.array(lines.len());
    for line in lines {
        r.simple(line.as_bytes());
    }
}

fn help(s: &mut Session, _: &[Bytes]) {
    help_lines(s, HELP);
}

fn names(s: &mut Session, args: &[Bytes], kind: Kind) {
    if args.len() > 3 {
        let cmd = args
            .first()
            .map(|a| a.to_ascii_uppercase())
            .unwrap_or_default();
        let mut text = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
        text.extend_from_slice(
            args.get(1)
                .map(|a| super::c_str(a, 128))
                .unwrap_or_default(),
        );
        text.extend_from_slice(b"'. Try ");
        text.extend_from_slice(&cmd);
        text.extend_from_slice(b" HELP.");
        return s.error(&text);
    }
    let list = s.shared.registry.names(kind, args.get(2).map(|p| &p[..]));
    let mut r = s.reply();
    r.array(list.len());
    for name in &list {
        r.bulk(name);
    }
}

fn numsub(s: &mut Session, args: &[Bytes], kind: Kind) {
    let registry = &s.shared.registry;
    let counts: Vec<usize> = args
        .iter()
        .skip(2)
        .map(|c| registry.count(kind, c))
        .collect();
    let mut r = s.reply();
    r.array(counts.len() * 2);
    for (name, n) in args.iter().skip(2).zip(counts) {
        r.bulk(name);
        r.int(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

fn numpat(s: &mut Session, _: &[Bytes]) {
    let n = s.shared.registry.pattern_count();
    s.reply().int(i64::try_from(n).unwrap_or(i64::MAX));
}
