//! The failure tally and the re-routing, without a cluster.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::supervise::{Outage, Reroute};
use super::{restart::Timeline, tally};
use crate::figures::{ProxyKind, SioParams, SioScenario, Transport};
use crate::measure::{SeqTracker, Series};
use crate::socketio::emitter::EmitOut;
use crate::socketio::layout::layout;
use crate::socketio::receiver::{Receiver, Shared};

const MS: u64 = 1_000_000;

fn params() -> SioParams {
    SioParams {
        scenario: SioScenario::NodeFailure,
        nodes: 2,
        rooms: 1,
        members: 4,
        emitters: 2,
        clients: 0,
        churners: 0,
        rate: 10.0,
        payload: 0,
        transport: Transport::Websocket,
        proxy: ProxyKind::None,
        duration: Duration::from_secs(1),
        warmup: Duration::ZERO,
        messages: None,
        drain_timeout: Duration::from_secs(1),
    }
}

fn sent(stream: (u32, u32)) -> EmitOut {
    EmitOut {
        stream,
        sent: 10,
        measured: 10,
        series: Series::default(),
        last_ns: 0,
        unsent: 0,
    }
}

/// A receiver of room 0 that saw `seen` of emitters 0 and 1.
fn receiver(index: usize, shared: &Arc<Shared>, seen: [&[u64]; 2]) -> Receiver {
    let mut seq = SeqTracker::default();
    for (e, seqs) in seen.iter().enumerate() {
        for &s in *seqs {
            seq.observe((e as u32, 0), s);
        }
    }
    Receiver {
        index,
        node: 0,
        expect: crate::socketio::receiver::Expect::Room(0),
        seq,
        cross_node: 0,
        shared: Arc::clone(shared),
    }
}

#[test]
fn the_tally_splits_outages_and_losses_by_the_killed_node() {
    // Clients 0..4 on nodes 0, 1, 0, 1; emitters are clients 0 (node 0)
    // and 1 (node 1, killed).
    let layout = layout(&params(), 2);
    assert_eq!(layout.emitters.len(), 2);
    let shared = Arc::new(Shared::new(4, vec![Some(0), Some(1)], Vec::new()).unwrap());
    let all: &[u64] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    let gap: &[u64] = &[0, 1, 2, 3, 6, 7, 8, 9];
    let receivers = [
        // Lost one message its killed emitter wrote to the dead node.
        receiver(0, &shared, [all, &[0, 1, 2, 3, 5, 6, 7, 8, 9]]),
        receiver(1, &shared, [gap, gap]),
        receiver(2, &shared, [all, all]),
        receiver(3, &shared, [gap, all]),
    ];
    let t = Timeline {
        killed: 1,
        kill_ns: 1000 * MS,
        restart_ns: 5000 * MS,
        ready_ns: Some(5100 * MS),
        delivery_ns: Some(5150 * MS),
    };
    let back = |down, connected, joined: Option<u64>, first| Outage {
        down_ns: down * MS,
        connected_ns: Some(connected * MS),
        joined_ns: joined.map(|j| j * MS),
        first_ns: Some(first * MS),
    };
    let outages = [
        vec![],
        vec![back(1001, 1010, Some(1020), 1100)],
        // A polling client a balancer sent back to the restarted node.
        vec![back(5200, 5210, Some(5220), 5300)],
        // Its first new session broke before the join was answered.
        vec![
            back(1002, 1050, None, 1060),
            back(1070, 1080, Some(1090), 1200),
        ],
    ];
    let ended: Vec<_> = receivers
        .iter()
        .zip(&outages)
        .map(|(r, o)| (r, o.as_slice()))
        .collect();
    let f = tally::figures(&ended, &layout, &[sent((0, 0)), sent((1, 0))], &t).unwrap();

    assert_eq!(f.killed_node, 2);
    assert_eq!(f.clients_on_killed, 2);
    assert_eq!(f.reconnected, 2);
    assert_eq!(
        f.requests_unanswered, 1,
        "client 3's first join got no answer"
    );
    assert_eq!(f.lost_by_killed_clients, 2 + 2 + 2);
    assert_eq!(f.lost_by_others, 0);
    assert_eq!(f.lost_by_others_from_killed_emitters, 1);
    assert_eq!(
        f.others_disconnected, 0,
        "client 2 went down after the restart"
    );
    assert_eq!(f.reconnections_after_restart, 1);
    assert_eq!(f.noticed.count, 2);
    assert_eq!(f.reconnect.count, 2);
    assert_eq!(f.rejoin.count, 2);
    assert_eq!(f.first_message.count, 2);
    // From the kill to the connection that held: 80 ms, and 200 ms to the
    // first message, at most (3 significant digits).
    assert!(
        (f.reconnect.max_us - 80_000.0).abs() < 100.0,
        "{:?}",
        f.reconnect
    );
    assert!((f.noticed.max_us - 2_000.0).abs() < 10.0, "{:?}", f.noticed);
    assert!((f.first_message.max_us - 200_000.0).abs() < 300.0);
    assert_eq!(f.restart_ready_ms, Some(100.0));
    assert_eq!(f.restart_delivery_ms, Some(50.0));
}

#[test]
fn clients_are_rerouted_away_from_their_node_or_through_the_proxy() {
    let nodes: Vec<SocketAddr> = (1..=3)
        .map(|p| SocketAddr::from(([127, 0, 0, 1], 4000 + p)))
        .collect();
    let direct = Reroute {
        proxy: None,
        nodes: nodes.clone(),
        transport: Transport::Polling,
    };
    let mut targets = std::collections::HashSet::new();
    for index in 0..10 {
        for attempt in 0..3 {
            let d = direct.dial(index, 2, attempt);
            assert_ne!(d.addr, nodes[2], "back to the dead node");
            assert_eq!(d.source, None);
            assert_eq!(d.transport, Transport::Polling);
            targets.insert(d.addr);
        }
    }
    assert_eq!(targets.len(), 2, "spread over both survivors");
    assert_ne!(
        direct.dial(0, 2, 0).addr,
        direct.dial(0, 2, 1).addr,
        "retries move on"
    );

    let proxy = SocketAddr::from(([127, 0, 0, 1], 8080));
    let via = Reroute {
        proxy: Some(proxy),
        ..direct
    };
    let d = via.dial(7, 2, 1);
    assert_eq!(d.addr, proxy);
    assert_eq!(d.source, Some(crate::socketio::proxy::source_address(7)));
}
