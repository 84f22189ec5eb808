//! The `emitter` scenario: the load tester's own `respub_socketio::Emitter`s
//! publish into a cluster of real Rust node processes (on a respub broker
//! inside the test), which relay to their members; and the refusal of
//! sharded stacks before anything runs. Node nodes are in
//! [`super::tests`]' contract test.

use std::cell::Cell;

use clap::Parser;

use super::findmax::offered_per_sec;
use super::layout::{Origin, layout};
use super::node::NodeKind;
use super::tests::{params, programs, run_on};
use crate::cli::{Cli, Command};
use crate::figures::{ProxyKind, SioScenario, Transport};

#[test]
fn no_client_emits_and_each_broker_emitter_has_a_stream_per_room() {
    let p = params(SioScenario::Emitter);
    let l = layout(&p, 3);
    assert_eq!(l.clients.len(), 4 * 7, "the members of `rooms`");
    let origins: Vec<_> = l.emitters.iter().map(|e| (e.origin, e.room)).collect();
    let want: Vec<_> = (0..2)
        .flat_map(|k| (0..4).map(move |r| (Origin::Broker(k), Some(r))))
        .collect();
    assert_eq!(origins, want);
    let ids: Vec<u32> = l.emitters.iter().map(|e| e.id).collect();
    assert_eq!(ids, (0..8).collect::<Vec<_>>(), "one stamp id per stream");
    assert!(l.emitters.iter().all(|e| e.client().is_none()));
    // The same offered load as `rooms` with the same flags, which --find-max
    // reports against: 2 x 4 streams x 500 msg/s, each to 7 members.
    assert_eq!(p.total_emitters(), 8);
    assert_eq!(offered_per_sec(&p), 500.0 * 8.0 * 7.0);
    assert_eq!(
        offered_per_sec(&params(SioScenario::Rooms)),
        500.0 * 8.0 * 7.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_emitters_reach_every_member_on_three_rust_nodes_once() {
    let programs = programs();
    let ways = [
        (Transport::Websocket, ProxyKind::None, 40),
        (Transport::Polling, ProxyKind::Nginx, 20),
    ];
    for (transport, proxy, messages) in ways {
        let mut p = params(SioScenario::Emitter);
        (p.transport, p.proxy, p.messages) = (transport, proxy, Some(messages));
        let r = run_on(NodeKind::Rust, &p, &programs).await;
        let way = format!("{transport:?} via {proxy:?}");
        // 2 broker emitters x 4 rooms x `messages`, each to the room's 7
        // members, whichever node they are on.
        let emitted = 2 * 4 * messages;
        assert_eq!(r.published, emitted, "{way}: {r:#?}");
        assert_eq!(r.expected_deliveries, emitted * 7, "{way}");
        assert_eq!(r.delivered, emitted * 7, "{way}: {r:#?}");
        assert_eq!(
            (r.seq.lost, r.seq.duplicates, r.seq.reordered),
            (0, 0, 0),
            "{way}: each stream arrives whole and in order"
        );
        assert_eq!(r.unexpected, 0, "{way}: no member hears another room");
        assert_eq!(r.subscribers, 28, "{way}");
        assert_eq!(r.subscriber_failures, 0, "{way}: {:?}", r.first_failure);
        assert_eq!(r.latency.count, r.delivered, "{way}");
        let sio = r.sio.as_ref().unwrap();
        assert_eq!(sio.clients, 28, "{way}");
        assert!(
            sio.clients_per_node.iter().all(|&n| n > 0),
            "{way}: members on every node {:?}",
            sio.clients_per_node
        );
        // The emitter is on no node: every delivery came through the broker.
        assert_eq!(sio.cross_node_expected, emitted * 7, "{way}");
        assert_eq!(sio.cross_node_delivered, emitted * 7, "{way}");
    }
}

#[tokio::test]
async fn sharded_stacks_are_refused_before_anything_runs() {
    let run = |stacks: &[&str], scenarios: &str| {
        let mut argv = vec!["respub-loadtest", "socketio", "--scenario", scenarios];
        for s in stacks {
            argv.extend(["--stack", s]);
        }
        // Nothing could start: a refusal must come before the broker is looked for.
        argv.extend([
            "--respub-bin",
            "/nonexistent",
            "--redis-bin",
            "/nonexistent",
        ]);
        let Command::Socketio(args) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not socketio");
        };
        async move {
            let ran = Cell::new(0);
            let r = super::run(&args, &mut |_| ran.set(ran.get() + 1), &mut |_| {
                ran.set(ran.get() + 1)
            })
            .await;
            assert_eq!(ran.get(), 0, "nothing ran");
            r.map(|_| ()).map_err(|e| format!("{e:#}"))
        }
    };
    let err = run(&["respub", "node-redis-sharded-static"], "rooms,emitter")
        .await
        .unwrap_err();
    assert!(err.contains("not on node-redis-sharded-static:"), "{err}");
    assert!(!err.contains("/nonexistent"), "{err}");
    // Without `emitter`, or on classic stacks only, the run goes ahead and
    // fails where the broker is looked for.
    for (stacks, scenarios) in [
        (&["respub-sharded-dynamic"][..], "rooms"),
        (&["respub", "rust-redis"][..], "emitter"),
    ] {
        let err = run(stacks, scenarios).await.unwrap_err();
        assert!(
            err.contains("/nonexistent"),
            "{stacks:?} {scenarios}: {err}"
        );
    }
}
