#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use crate::stats::Stats;

/// Publishes and returns the receivers and the publisher's own frames.
fn publish(r: &Registry, kind: Kind, channel: &[u8], publisher: u64) -> (usize, BytesMut) {
    let mut out = Fanout::default();
    let n = match kind {
        Kind::Shard => r.spublish(channel, b"x", publisher, &OutputLimit::UNLIMITED, &mut out),
        _ => r.publish(channel, b"x", publisher, &OutputLimit::UNLIMITED, &mut out),
    };
    (n, out.to_self)
}

fn client(id: u64) -> Arc<Client> {
    Arc::new(Client::new(
        id,
        String::new(),
        String::new(),
        Arc::new(Stats::default()),
    ))
}

#[test]
fn empty_names_leave_the_registry() {
    let r = Registry::new();
    let clients: Vec<_> = (1..=50).map(client).collect();
    for c in &clients {
        for i in 0..20 {
            r.subscribe(Kind::Channel, Bytes::from(format!("ch{i}")), c);
            r.subscribe(Kind::Pattern, Bytes::from(format!("p{i}*")), c);
            r.subscribe(Kind::Shard, Bytes::from(format!("s{i}")), c);
        }
    }
    assert_eq!(r.count(Kind::Channel, b"ch3"), 50);
    assert_eq!(r.pattern_count(), 20);
    for c in &clients {
        for i in 0..20 {
            r.unsubscribe(Kind::Channel, format!("ch{i}").as_bytes(), c.id);
            r.unsubscribe(Kind::Pattern, format!("p{i}*").as_bytes(), c.id);
            r.unsubscribe(Kind::Shard, format!("s{i}").as_bytes(), c.id);
        }
    }
    assert!(r.is_empty());
    assert!(r.names(Kind::Channel, None).is_empty());
}

#[test]
fn publish_counts_channel_and_pattern_deliveries() {
    let r = Registry::new();
    let (a, c) = (client(1), client(2));
    r.subscribe(Kind::Channel, Bytes::from_static(b"foo"), &a);
    r.subscribe(Kind::Pattern, Bytes::from_static(b"*"), &a);
    r.subscribe(Kind::Pattern, Bytes::from_static(b"f*"), &a);
    r.subscribe(Kind::Channel, Bytes::from_static(b"foo"), &c);
    assert_eq!(publish(&r, Kind::Channel, b"foo", 99).0, 4);
    assert_eq!(publish(&r, Kind::Shard, b"foo", 99).0, 0);
    assert_eq!(publish(&r, Kind::Channel, b"", 99).0, 0);
    assert_eq!(a.out.queued_frames(), 3);
    let (n, own) = publish(&r, Kind::Channel, b"foo", 1);
    assert_eq!(n, 4);
    assert_eq!(
        &own[..],
        &b"*3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$1\r\nx\r\n\
           *4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$3\r\nfoo\r\n$1\r\nx\r\n\
           *4\r\n$8\r\npmessage\r\n$2\r\nf*\r\n$3\r\nfoo\r\n$1\r\nx\r\n"[..]
    );
}

#[test]
fn pattern_index_finds_exactly_the_matching_patterns() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let alphabet = b"ab*?[]^\\-";
    let word = |rng: &mut rand::rngs::StdRng, max: usize| -> Vec<u8> {
        let n = rng.random_range(0..=max);
        (0..n)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect()
    };
    let r = Registry::new();
    let c = client(1);
    let mut held: Vec<Vec<u8>> = (0..300).map(|_| word(&mut rng, 5)).collect();
    held.sort();
    held.dedup();
    for p in &held {
        r.subscribe(Kind::Pattern, Bytes::from(p.clone()), &c);
    }
    // Remove a third again, to exercise bucket and length bookkeeping.
    for p in held.iter().step_by(3) {
        r.unsubscribe(Kind::Pattern, p, c.id);
    }
    let kept: Vec<&Vec<u8>> = held
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 0)
        .map(|(_, p)| p)
        .collect();
    assert_eq!(r.pattern_count(), kept.len());
    for _ in 0..2000 {
        let channel = word(&mut rng, 6);
        let want = kept.iter().filter(|p| glob::matches(p, &channel)).count();
        assert_eq!(
            publish(&r, Kind::Channel, &channel, 0).0,
            want,
            "channel {channel:?}"
        );
        c.out.clear();
    }
    for p in &kept {
        r.unsubscribe(Kind::Pattern, p, c.id);
    }
    assert!(r.is_empty());
    assert!(r.patterns.read().lengths.is_empty());
}

#[test]
fn frames_follow_each_subscribers_protocol() {
    let r = Registry::new();
    let (a, b) = (client(1), client(2));
    b.set_resp3(true);
    r.subscribe(Kind::Shard, Bytes::from_static(b"sh"), &a);
    r.subscribe(Kind::Shard, Bytes::from_static(b"sh"), &b);
    let (_, own) = publish(&r, Kind::Shard, b"sh", 1);
    assert_eq!(
        &own[..],
        &b"*3\r\n$8\r\nsmessage\r\n$2\r\nsh\r\n$1\r\nx\r\n"[..]
    );
    assert_eq!(b.out.queued_frames(), 1);
}
