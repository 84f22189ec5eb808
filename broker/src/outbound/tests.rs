#![allow(clippy::unwrap_used)]

use super::*;
use std::time::Duration;

#[tokio::test]
async fn frames_are_written_in_order_and_coalesced() {
    let q = Outbound::new();
    for i in 0..100u8 {
        assert!(matches!(
            q.push(Bytes::from(vec![i; 3]), &OutputLimit::UNLIMITED),
            Pushed::Queued { .. }
        ));
    }
    q.close_after_flush();
    let mut out = Vec::new();
    let n = q.drain_into(&mut out, &AtomicU64::new(0)).await.unwrap();
    assert_eq!(n, 300);
    assert_eq!(out.len(), 300);
    assert!(out.chunks(3).enumerate().all(|(i, c)| c == [i as u8; 3]));
    assert_eq!(q.pending(), 0);
}

#[test]
fn hard_limit_closes_and_drops() {
    let q = Outbound::new();
    let limit = OutputLimit {
        hard: 10,
        soft: 0,
        soft_seconds: Duration::ZERO,
    };
    assert!(matches!(
        q.push(Bytes::from_static(b"12345"), &limit),
        Pushed::Queued { .. }
    ));
    assert_eq!(
        q.push(Bytes::from_static(b"12345"), &limit),
        Pushed::OverLimit
    );
    assert_eq!(q.push(Bytes::from_static(b"1"), &limit), Pushed::Closed);
    assert_eq!(q.queued_frames(), 0);
}

#[test]
fn soft_limit_needs_more_than_its_seconds_above_it() {
    let limit = OutputLimit {
        hard: 0,
        soft: 4,
        soft_seconds: Duration::from_secs(60),
    };
    let t0 = Instant::now();
    let mut st = State {
        pending: 5,
        ..State::default()
    };
    assert!(!over_limit(&mut st, &limit, || t0));
    assert!(!over_limit(&mut st, &limit, || t0 + Duration::from_secs(60)));
    assert!(over_limit(&mut st, &limit, || t0 + Duration::from_secs(61)));
    // Dropping below the soft limit restarts the clock.
    st.pending = 3;
    assert!(!over_limit(&mut st, &limit, || t0 + Duration::from_secs(62)));
    st.pending = 5;
    assert!(!over_limit(&mut st, &limit, || t0 + Duration::from_secs(100)));
    assert!(over_limit(&mut st, &limit, || t0 + Duration::from_secs(161)));
}
