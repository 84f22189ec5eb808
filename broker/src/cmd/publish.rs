//! PUBLISH and SPUBLISH.
//!
//! The reply is the number of deliveries made. Deliveries to the publisher
//! itself (a RESP3 client may publish to a channel it holds) are queued
//! after its `:N` reply, the order Redis 7.2+ uses.

use bytes::Bytes;

use super::{FAST, MAY_REPLICATE, Spec};
use crate::session::Session;
use crate::stats::Stats;

pub(crate) const PUBLISH: Spec = Spec {
    name: "publish",
    arity: 3,
    flags: MAY_REPLICATE | FAST,
    subcommands: &[],
    run: |s, a| publish(s, a, false),
};
pub(crate) const SPUBLISH: Spec = Spec {
    name: "spublish",
    arity: 3,
    flags: MAY_REPLICATE | FAST,
    subcommands: &[],
    run: |s, a| publish(s, a, true),
};

fn publish(s: &mut Session, args: &[Bytes], sharded: bool) {
    let (Some(channel), Some(message)) = (args.get(1), args.get(2)) else {
        return;
    };
    let registry = &s.shared.registry;
    let config = s.shared.config.load();
    let limit = config.output_limit_pubsub;
    let out = &mut s.fanout;
    let receivers = if sharded {
        registry.spublish(channel, message, s.client.id, &limit, out)
    } else {
        registry.publish(channel, message, s.client.id, &limit, out)
    };
    let stats = &s.shared.stats;
    Stats::add(&stats.messages_published, 1);
    Stats::add(&stats.messages_delivered, receivers as u64);
    s.reply().int(i64::try_from(receivers).unwrap_or(i64::MAX));
    // To the replicas, exactly as received (one atomic load when none
    // ever attached).
    if s.shared.replication.active() {
        let limit = config.output_limit_replica;
        let offset = s.shared.replication.feed(args, &limit, &mut s.fanout.wake);
        if offset != 0 {
            s.woff = offset;
        }
    }
    if !s.fanout.to_self.is_empty() {
        s.pushes.extend_from_slice(&s.fanout.to_self);
        s.fanout.to_self.clear();
    }
}
