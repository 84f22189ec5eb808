//! Client libraries through Redis Sentinel across a failover: a master with
//! two replicas under three real `redis-sentinel`s, and one subscriber (with
//! a publisher) per library, each told only the sentinels: ioredis
//! (`sentinels`), node-redis 5 (`createSentinel`), redis-py (`Sentinel`) and
//! fred (`redis-sentinel://`). The master is killed with SIGKILL; once the
//! sentinels switched the master, each subscriber must have found the new
//! master and resubscribed by itself, and each library's publisher must
//! publish there. The same deployment of redis-servers runs too, so that a
//! failure there is known to be the library's, not respub's.
//!
//! Needs `npm ci --prefix broker/tests/interop/node`, redis-py
//! (`RESPUB_PYTHON`), `redis-server` and `redis-sentinel`; `--nocapture`
//! shows what each library did and when.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod clients;
#[path = "../common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use clients::Client;
use common::sentinel::{SLOW_GUARD, Sentinels, poll};
use common::{Binary, Conn, RedisServer, free_port};

const LIBRARIES: [&str; 4] = ["ioredis", "node-redis-5", "redis-py", "fred"];

/// What the master and the replicas run.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Respub,
    Redis,
}

/// A data node, killed with SIGKILL when dropped.
struct DataNode {
    port: u16,
    _process: Box<dyn std::any::Any>,
}

impl DataNode {
    fn start(kind: Kind, dir: &std::path::Path, master: Option<u16>) -> Self {
        let master = master.map(|p| p.to_string());
        let mut args: Vec<&str> = Vec::new();
        if let Some(master) = &master {
            args.extend(["--replicaof", "127.0.0.1", master]);
        }
        match kind {
            Kind::Respub => {
                let port = free_port();
                let port_arg = port.to_string();
                let mut all = vec!["--port", &port_arg, "--bind", "127.0.0.1"];
                all.extend(args);
                let process = Box::new(Binary::start(&all));
                Self {
                    port,
                    _process: process,
                }
            }
            Kind::Redis => {
                // A replica writes the master's RDB into its directory.
                let dir = dir.to_str().unwrap();
                args.extend(["--dir", dir]);
                let server = RedisServer::start_with(&args);
                Self {
                    port: server.port,
                    _process: Box::new(server),
                }
            }
        }
    }
}

/// The replicas the master lists as online in `INFO replication`.
fn online_replicas(master: u16) -> usize {
    let info = Conn::connect(master).call(&["INFO", "replication"]);
    String::from_utf8_lossy(&info)
        .matches("state=online")
        .count()
}

/// Publishes `payload` on `port` with a fresh connection (Sentinel closes
/// ordinary clients of the nodes it reconfigures).
fn publish(port: u16, payload: &str) {
    let mut c = Conn::connect(port);
    c.send(&["PUBLISH", clients::CHANNEL, payload]);
    let _ = c.frame();
}

/// Calls `publish(n)` for n = 0, 1, ... until every client received a
/// message starting with `prefix`, reading the clients' lines in between.
fn until_all_received(
    clients: &mut [Client],
    prefix: &str,
    mut publish: impl FnMut(&mut [Client], usize),
) {
    let message = format!("MESSAGE {prefix}");
    let deadline = Instant::now() + SLOW_GUARD;
    let mut n = 0;
    while clients.iter().any(|c| c.first(&message).is_none()) {
        let missing: Vec<&str> = clients
            .iter()
            .filter(|c| c.first(&message).is_none())
            .map(|c| c.lib)
            .collect();
        assert!(
            Instant::now() < deadline,
            "{missing:?} never received {prefix:?}\n{}",
            transcripts(clients)
        );
        publish(clients, n);
        n += 1;
        for c in clients.iter_mut() {
            c.drain(Duration::from_millis(25));
        }
    }
}

/// Asks `clients[i]`'s publisher to publish until every subscriber got one
/// of its messages; each request waits for the library's answer.
fn publishes_through_sentinel(clients: &mut [Client], i: usize) {
    let prefix = format!("via-{}-", clients[i].lib);
    until_all_received(clients, &prefix, |clients, n| {
        let payload = format!("{prefix}{n}");
        clients[i].publish(&payload);
        let answered = |c: &Client| {
            c.first(&format!("PUBLISHED {payload} ")).is_some()
                || c.first(&format!("PUBLISH-FAILED {payload} ")).is_some()
        };
        // The library may queue the command while it reconnects.
        let deadline = Instant::now() + SLOW_GUARD;
        while !answered(&clients[i]) && Instant::now() < deadline {
            clients[i].drain(Duration::from_millis(100));
        }
    });
}

fn failover(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let master = DataNode::start(kind, dir.path(), None);
    let nodes = [
        DataNode::start(kind, dir.path(), Some(master.port)),
        DataNode::start(kind, dir.path(), Some(master.port)),
    ];
    poll("both replicas online", || online_replicas(master.port) == 2);
    let sentinels = Sentinels::start(master.port, &[]);
    sentinels.wait_discovered(2);

    let mut clients: Vec<Client> = LIBRARIES
        .iter()
        .map(|lib| Client::start(lib, &sentinels.ports()))
        .collect();
    for c in &mut clients {
        let deadline = Instant::now() + SLOW_GUARD;
        while c.first("READY").is_none() {
            assert!(Instant::now() < deadline, "{}", c.transcript());
            c.drain(Duration::from_millis(100));
        }
    }
    until_all_received(&mut clients, "before-", |_, n| {
        publish(master.port, &format!("before-{n}"));
    });

    let old = master.port;
    drop(master);
    let killed = Instant::now();
    // Until the sentinels name a new master, both replicas publish (a
    // replica delivers to its own subscribers), so that when each library
    // resubscribed on the replica that is promoted shows.
    let mut n = 0;
    while sentinels.master_port() == old {
        assert!(killed.elapsed() < SLOW_GUARD, "{}", sentinels.logs());
        for node in &nodes {
            publish(node.port, &format!("outage-{n}"));
        }
        n += 1;
        for c in &mut clients {
            c.drain(Duration::from_millis(10));
        }
    }
    sentinels.wait_event("+switch-master", 1);
    let switched = Instant::now();
    let new = sentinels.master_port();
    assert!(
        nodes.iter().any(|n| n.port == new),
        "the new master is not a replica"
    );

    // On the master the sentinels name at each message: should Sentinel
    // fail over once more, the clients follow it there.
    until_all_received(&mut clients, "after-", |_, n| {
        publish(sentinels.master_port(), &format!("after-{n}"));
    });
    for i in 0..clients.len() {
        publishes_through_sentinel(&mut clients, i);
    }
    report(kind, &clients, killed, switched);
}

fn transcripts(clients: &[Client]) -> String {
    clients.iter().map(Client::transcript).collect()
}

/// What each library did, for `--nocapture` and the operations guide.
fn report(kind: Kind, clients: &[Client], killed: Instant, switched: Instant) {
    let ms = |d: Duration| d.as_millis();
    println!(
        "{kind:?}: +switch-master {} ms after the kill",
        ms(switched - killed)
    );
    for c in clients {
        let again = [c.first("MESSAGE outage-"), c.first("MESSAGE after-")];
        let again = again.into_iter().flatten().min().unwrap();
        println!(
            "{kind:?}: {} received again {} ms after the kill",
            c.lib,
            ms(again - killed)
        );
    }
    println!("{}", transcripts(clients));
}

#[test]
fn clients_follow_a_failover_of_respub() {
    failover(Kind::Respub);
}

#[test]
fn clients_follow_a_failover_of_redis_server() {
    failover(Kind::Redis);
}
