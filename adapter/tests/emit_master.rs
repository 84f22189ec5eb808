//! The emit-master example (`examples/emit_master.rs`, compiled into this test): three
//! workers with two socket.io-client clients each, through an in-process respub broker.
//!
//! * A master that only emits: every client gets exactly one `data` per tick.
//! * The anti-pattern, every worker calling `io.emit` each tick: every client gets one
//!   copy per worker per tick.
//!
//! The counts per client are printed (`--nocapture`) for docs/operations.md. Needs
//! `npm ci --prefix adapter/tests/node`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod fixture;
mod interop;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/emit_master.rs"]
mod emit_master;

use std::{collections::BTreeMap, time::Duration};

use fixture::{Broker, raw};
use interop::clients::{Clients, Ev};
use respub_socketio::{Emitter, FredDriver};
use serde_json::json;

const WORKERS: usize = 3;
const CLIENTS_PER_WORKER: usize = 2;
const TICKS: u64 = 5;
/// Paces the ticks; nothing depends on its length.
const INTERVAL: Duration = Duration::from_millis(10);

/// For each client, how many `data` events it got for each tick (by `seq`) and from whom,
/// up to the `end` event.
async fn counts(c: &mut Clients, names: &[String]) -> BTreeMap<String, BTreeMap<u64, Vec<String>>> {
    let mut out = BTreeMap::new();
    for name in names {
        let mut got: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        loop {
            match c.next(name).await {
                Ev::Event(e, v) if e == "data" => {
                    let seq = v[1]["seq"].as_u64().unwrap();
                    got.entry(seq)
                        .or_default()
                        .push(v[1]["from"].as_str().unwrap().to_owned());
                }
                Ev::Event(e, _) if e == "end" => break,
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
        out.insert(name.clone(), got);
    }
    out
}

/// Prints the figures and checks that each client got `per_tick` copies of every tick.
fn report(what: &str, counts: &BTreeMap<String, BTreeMap<u64, Vec<String>>>, per_tick: usize) {
    for (name, got) in counts {
        let total: usize = got.values().map(Vec::len).sum();
        eprintln!(
            "{what}: client {name} got {total} data events for {TICKS} ticks ({} per tick)",
            total as f64 / TICKS as f64
        );
        assert_eq!(
            got.len() as u64,
            TICKS,
            "{what}: {name} missed ticks: {got:?}"
        );
        for (seq, from) in got {
            assert_eq!(from.len(), per_tick, "{what}: {name}, tick {seq}: {from:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_emitter_delivers_once_and_per_worker_emits_multiply() {
    interop::node_dir();
    let broker = Broker::start().await;
    let prefix = format!("m{:016x}", rand::random::<u64>());
    let mut ios = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..WORKERS {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ports.push(listener.local_addr().unwrap().port());
        ios.push(
            emit_master::worker(listener, &broker.url(), &prefix)
                .await
                .unwrap(),
        );
    }
    let request = format!("{prefix}-request#/#");
    raw::wait_count(broker.addr, &["PUBSUB", "NUMSUB", &request], WORKERS as i64).await;

    let mut c = Clients::start().await;
    let mut names = Vec::new();
    for (w, port) in ports.iter().enumerate() {
        for k in 0..CLIENTS_PER_WORKER {
            let name = format!("w{w}c{k}");
            c.connect(&name, *port).await;
            names.push(name);
        }
    }
    let driver = FredDriver::connect(&broker.url()).await.unwrap();
    let emitter = Emitter::new(driver).with_prefix(&prefix);

    // The master: one emit per tick, whatever the number of workers.
    emit_master::every(INTERVAL, Some(TICKS), |seq| {
        emit_master::master_tick(&emitter, seq)
    })
    .await
    .unwrap();
    emitter.emit("end", &()).await.unwrap();
    let got = counts(&mut c, &names).await;
    report("master emitter", &got, 1);
    assert!(
        got.values()
            .flat_map(|g| g.values().flatten())
            .all(|f| f == "master")
    );

    // Every worker emitting on its own: each tick reaches every client once per worker.
    let loops = ios.iter().enumerate().map(|(w, io)| {
        let name = format!("worker{w}");
        async move {
            emit_master::every(INTERVAL, Some(TICKS), |seq| {
                let name = name.clone();
                async move { emit_master::worker_tick(io, &name, seq).await }
            })
            .await
        }
    });
    for r in futures_util::future::join_all(loops).await {
        r.unwrap();
    }
    emitter.emit("end", &json!(null)).await.unwrap();
    let got = counts(&mut c, &names).await;
    report("per-worker io.emit", &got, WORKERS);
    for g in got.values() {
        for from in g.values() {
            let mut from = from.clone();
            from.sort();
            assert_eq!(from, ["worker0", "worker1", "worker2"]);
        }
    }
}
