//! respub under the real `redis-sentinel`: three sentinels (quorum 2)
//! watch a respub master with two respub replicas. Sentinel discovers the
//! replicas from INFO; `kill -9` of the master gives `+switch-master` and a
//! promoted replica, the other replica follows it; the old master, restarted
//! still believing it is the master, is converted into a replica; a manual
//! `SENTINEL FAILOVER` moves the master again. Subscribers on every node get
//! what the current master publishes at each step. The same deployment runs
//! without authentication, with `requirepass`, and with ACL users for
//! Sentinel and the replicas.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::sentinel::{Node, Sentinels, reached, role};
use common::{Conn, bulk_of};

/// How the deployment authenticates.
#[derive(Clone, Copy)]
enum Auth {
    None,
    Requirepass,
    AclUsers,
}

const PASSWORD: &str = "s3cret";

impl Auth {
    fn node_args(self) -> Vec<String> {
        let args: &[&str] = match self {
            Auth::None => &[],
            Auth::Requirepass => &["--requirepass", PASSWORD, "--masterauth", PASSWORD],
            // The users Redis' Sentinel documentation prescribes.
            // Each rule is its own argument, as redis-server needs them.
            Auth::AclUsers => &[
                "--requirepass",
                PASSWORD,
                "--user",
                "sentinel-user",
                "on",
                ">sentpw",
                "allchannels",
                "+multi",
                "+slaveof",
                "+ping",
                "+exec",
                "+subscribe",
                "+config|rewrite",
                "+role",
                "+publish",
                "+info",
                "+client|setname",
                "+client|kill",
                "+script|kill",
                "--user",
                "replica-user",
                "on",
                ">replpw",
                "+psync",
                "+replconf",
                "+ping",
                "--masteruser",
                "replica-user",
                "--masterauth",
                "replpw",
            ],
        };
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    fn sentinel_conf(self) -> Vec<String> {
        let name = common::sentinel::NAME;
        match self {
            Auth::None => vec![],
            Auth::Requirepass => vec![format!("sentinel auth-pass {name} {PASSWORD}")],
            Auth::AclUsers => vec![
                format!("sentinel auth-user {name} sentinel-user"),
                format!("sentinel auth-pass {name} sentpw"),
            ],
        }
    }

    fn connect(self, port: u16) -> Conn {
        self.try_connect(port).expect("AUTH reply")
    }

    /// A connection, or `None` if it was closed before AUTH's reply.
    fn try_connect(self, port: u16) -> Option<Conn> {
        let mut c = Conn::connect(port);
        if !matches!(self, Auth::None) {
            c.send(&["AUTH", PASSWORD]);
            assert_eq!(c.frame()?.raw, b"+OK\r\n");
        }
        Some(c)
    }
}

/// A subscriber to `news` on one node.
fn subscriber(auth: Auth, port: u16) -> Conn {
    let mut s = auth.connect(port);
    s.call(&["SUBSCRIBE", "news"]);
    s
}

/// Publishes `text` on `master` until a subscriber on each of `nodes`
/// receives it. Sentinel reconfigures nodes with CLIENT KILL TYPE normal
/// and pubsub, sometimes twice (a second sentinel acting on an older
/// INFO), so each subscriber, like a client library, reconnects when its
/// connection is closed and tries again.
fn delivered(auth: Auth, master: u16, nodes: &[u16], text: &str) {
    for &node in nodes {
        let ok = reached(|| {
            let Some(mut sub) = auth.try_connect(node) else {
                return false;
            };
            sub.send(&["SUBSCRIBE", "news"]);
            let Some(mut publisher) = sub.frame().and_then(|_| auth.try_connect(master)) else {
                return false;
            };
            publisher.send(&["PUBLISH", "news", text]);
            let Some(frame) = publisher.frame().and_then(|_| sub.frame()) else {
                return false;
            };
            let items = frame.items().unwrap();
            assert_eq!(bulk_of(items.last().unwrap()), Some(text.as_bytes()));
            true
        });
        assert!(ok, "{text:?} published on {master} never reached {node}");
    }
}

/// Waits until every node but `master` reports, by ROLE, a connected link
/// to `master`, and `master` reports itself master.
fn wait_topology(auth: Auth, nodes: &[&Node], master: u16, sentinels: Option<&Sentinels>) {
    let want = format!("slave 127.0.0.1 {master} connected");
    for node in nodes {
        let expected = if node.port == master { "master" } else { &want };
        let mut last = String::new();
        let ok = reached(|| {
            last = auth
                .try_connect(node.port)
                .map(|mut c| role(&mut c))
                .unwrap_or_default();
            last == expected
        });
        assert!(
            ok,
            "node {} is {last:?}, not {expected:?}\n{}",
            node.port,
            sentinels.map(Sentinels::logs).unwrap_or_default()
        );
    }
}

/// Waits until `sub`'s connection is closed (Sentinel's CLIENT KILL TYPE
/// pubsub on a promoted or re-pointed node), past the messages it got
/// before; a read that times out fails the test.
fn wait_closed(sub: &mut Conn) {
    while sub.frame().is_some() {}
}

fn failover_cycle(auth: Auth) {
    let mut master = Node::start(&auth.node_args());
    let mut replica_args = auth.node_args();
    replica_args.extend([
        "--replicaof".into(),
        "127.0.0.1".into(),
        master.port.to_string(),
    ]);
    let a = Node::start(&replica_args);
    let b = Node::start(&replica_args);
    wait_topology(auth, &[&master, &a, &b], master.port, None);
    let sentinels = Sentinels::start(master.port, &auth.sentinel_conf());
    sentinels.wait_discovered(2);

    // Replicas as a fan-out tree: subscribers on both get the master's messages.
    let mut subs = vec![subscriber(auth, a.port), subscriber(auth, b.port)];
    delivered(auth, master.port, &[a.port, b.port], "before the crash");

    master.kill();
    sentinels.wait_event("+switch-master", 1);
    let promoted = sentinels.master_port();
    assert!(
        promoted == a.port || promoted == b.port,
        "promoted {promoted}:\n{}",
        sentinels.logs()
    );
    wait_topology(auth, &[&a, &b], promoted, Some(&sentinels));
    // Both nodes got Sentinel's block, which ends with CLIENT KILL TYPE
    // pubsub: subscribers reconnect, as client libraries do.
    for sub in &mut subs {
        wait_closed(sub);
    }
    let other = if promoted == a.port { b.port } else { a.port };
    delivered(auth, promoted, &[other], "after the crash");

    // The old master comes back as a master; Sentinel converts it.
    master.restart();
    sentinels.wait_event_any("+convert-to-slave");
    wait_topology(auth, &[&master, &a, &b], promoted, Some(&sentinels));
    delivered(auth, promoted, &[master.port, other], "old master is back");

    // A manual failover picks one of the two replicas, once every
    // sentinel has seen the conversion.
    sentinels.wait_settled(2);
    let mut s = sentinels.conn();
    assert_eq!(
        s.call(&["SENTINEL", "FAILOVER", common::sentinel::NAME]),
        b"+OK\r\n"
    );
    sentinels.wait_event("+switch-master", 2);
    let chosen = sentinels.master_port();
    assert_ne!(chosen, promoted, "{}", sentinels.logs());
    wait_topology(auth, &[&master, &a, &b], chosen, Some(&sentinels));
    let others: Vec<u16> = [master.port, a.port, b.port]
        .into_iter()
        .filter(|p| *p != chosen)
        .collect();
    delivered(auth, chosen, &others, "after SENTINEL FAILOVER");
}

#[test]
fn sentinel_fails_over_converts_and_switches_respub_nodes() {
    failover_cycle(Auth::None);
}

#[test]
fn sentinel_fails_over_respub_nodes_with_requirepass() {
    failover_cycle(Auth::Requirepass);
}

#[test]
fn sentinel_fails_over_respub_nodes_with_acl_users() {
    failover_cycle(Auth::AclUsers);
}
