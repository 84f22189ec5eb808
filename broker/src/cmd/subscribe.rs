//! SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBEs.
//!
//! One reply per argument, in argument order, each carrying the count after
//! that argument was applied: channels + patterns for the plain and pattern
//! commands, shard channels alone for the S-commands. The registry is
//! updated before the confirmation is queued, so a PUBSUB NUMSUB that runs
//! after a client has read its confirmation always counts it.

use bytes::Bytes;

use super::{PUBSUB_CONTEXT, PUSH_REPLY, Spec};
use crate::registry::Kind;
use crate::session::Session;

const FLAGS: u8 = PUBSUB_CONTEXT | PUSH_REPLY;

pub(crate) const SUBSCRIBE: Spec = Spec {
    name: "subscribe",
    arity: -2,
    flags: FLAGS,
    subcommands: &[],
    run: |s, a| subscribe(s, a, Kind::Channel),
};
pub(crate) const PSUBSCRIBE: Spec = Spec {
    name: "psubscribe",
    arity: -2,
    flags: FLAGS,
    subcommands: &[],
    run: |s, a| subscribe(s, a, Kind::Pattern),
};
pub(crate) const SSUBSCRIBE: Spec = Spec {
    name: "ssubscribe",
    arity: -2,
    flags: FLAGS,
    subcommands: &[],
    run: |s, a| subscribe(s, a, Kind::Shard),
};
pub(crate) const UNSUBSCRIBE: Spec = Spec {
    name: "unsubscribe",
    arity: -1,
    flags: FLAGS,
    subcommands: &[],
    run: |s, a| unsubscribe(s, a, Kind::Channel),
};
pub(crate) const PUNSUBSCRIBE: Spec = Spec {
    name: "punsubscribe",
    arity: -1,
    flags: FLAGS,
    subcommands: &[],
    run: |s, a| unsubscribe(s, a, Kind::Pattern),
};
pub(crate) const SUNSUBSCRIBE: Spec = Spec {
    name: "sunsubscribe",
    arity: -1,
    flags: FLAGS,
    subcommands: &[],
    run: |s, a| unsubscribe(s, a, Kind::Shard),
};

fn kind_words(kind: Kind) -> (&'static [u8], &'static [u8]) {
    match kind {
        Kind::Channel => (b"subscribe", b"unsubscribe"),
        Kind::Pattern => (b"psubscribe", b"punsubscribe"),
        Kind::Shard => (b"ssubscribe", b"sunsubscribe"),
    }
}

fn count(s: &Session, kind: Kind) -> usize {
    match kind {
        Kind::Shard => s.shards.len(),
        Kind::Channel | Kind::Pattern => s.plain_count(),
    }
}

fn confirm(s: &mut Session, word: &[u8], name: Option<&[u8]>, n: usize) {
    let mut r = s.push_reply();
    r.push(3);
    r.bulk(word);
    match name {
        Some(name) => r.bulk(name),
        None => r.null(),
    }
    r.int(i64::try_from(n).unwrap_or(i64::MAX));
}

fn subscribe(s: &mut Session, args: &[Bytes], kind: Kind) {
    let (word, _) = kind_words(kind);
    for name in args.iter().skip(1) {
        if !s.set_of(kind).contains(name) {
            // Own the name: a slice of the read buffer would pin the whole
            // buffer for as long as the subscription lives.
            let owned = Bytes::copy_from_slice(name);
            s.shared.registry.subscribe(kind, owned.clone(), &s.client);
            s.set_of(kind).insert(owned);
        }
        let n = count(s, kind);
        confirm(s, word, Some(name), n);
    }
    s.sync_counts();
}

fn unsubscribe(s: &mut Session, args: &[Bytes], kind: Kind) {
    let (_, word) = kind_words(kind);
    let id = s.client.id;
    if args.len() <= 1 {
        let held: Vec<Bytes> = s.set_of(kind).iter().cloned().collect();
        if held.is_empty() {
            let n = count(s, kind);
            confirm(s, word, None, n);
        }
        for name in held {
            s.set_of(kind).shift_remove(&name);
            s.shared.registry.unsubscribe(kind, &name, id);
            let n = count(s, kind);
            confirm(s, word, Some(&name), n);
        }
    } else {
        for name in args.iter().skip(1) {
            if s.set_of(kind).shift_remove(name) {
                s.shared.registry.unsubscribe(kind, name, id);
            }
            let n = count(s, kind);
            confirm(s, word, Some(name), n);
        }
    }
    s.sync_counts();
}
