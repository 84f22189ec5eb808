//! The state of the dead-node test (`dead_node.rs`): its clients, the ticks they must get,
//! and what the survivors' requests see of the room.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use futures_util::StreamExt;
use serde_json::{Value as Json, json};

use super::{
    Balancer,
    members::Member,
    mixed::Mixed,
    traffic::{Ledger, Ticker},
};
use crate::interop::clients::Clients;

/// Every node's request timeout: a request that waits for the dead node fails the test.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// What a request on the survivors may take.
pub const QUICK: Duration = Duration::from_secs(10);
pub const TICK_EVERY: Duration = Duration::from_millis(20);

pub async fn quick<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(QUICK, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} took over {QUICK:?}: it waited for the dead node"))
}

/// The test's clients and what it knows of them.
pub struct Run {
    pub c: Clients,
    pub lb: Balancer,
    pub mixed: Mixed,
    pub ticker: Ticker,
    pub ledger: Ledger,
    /// Per client: the first tick it must get (it was in the room on a living node when
    /// that tick started).
    pub must_from: BTreeMap<String, u64>,
}

impl Run {
    /// Joins `m` to the room and notes from which tick on it must get every tick.
    pub async fn join(&mut self, m: &Member) {
        assert_eq!(
            self.c.call(&m.name, "join", json!("room")).await,
            json!("ok")
        );
        self.must_from
            .insert(m.name.clone(), self.ticker.sent() + 1);
    }

    /// Waits until `m` joined the room again by itself after a reconnection; notes from
    /// which tick on it must get every tick.
    pub async fn rejoined(&mut self, m: &Member) {
        let got = self
            .ledger
            .until_event(&mut self.c, &m.name, "rejoined")
            .await;
        assert_eq!(got, json!(["rejoined", "room", "ok"]), "{}", m.name);
        self.must_from
            .insert(m.name.clone(), self.ticker.sent() + 1);
    }

    /// Names (sorted) answering `ask` to a broadcast with acks to `room` from the Rust node,
    /// and [`Self::rust_fetch`].
    pub async fn rust_view(&self, room: &str) -> (Vec<String>, BTreeSet<String>) {
        let (io, to) = (self.mixed.rust.io.clone(), room.to_owned());
        let acks = quick("a broadcast with acks from the Rust node", async move {
            let stream = io
                .to(to)
                .timeout(REQUEST_TIMEOUT)
                .emit_with_ack::<_, Json>("ask", &())
                .await
                .unwrap();
            let mut names: Vec<String> = stream
                .map(|(_, r)| r.unwrap().as_str().unwrap().to_owned())
                .collect()
                .await;
            names.sort();
            names
        })
        .await;
        (acks, self.rust_fetch(room).await)
    }

    /// The ids fetchSockets finds in `room` from the Rust node.
    pub async fn rust_fetch(&self, room: &str) -> BTreeSet<String> {
        let (cluster, room) = (self.mixed.rust.cluster.clone(), room.to_owned());
        quick("fetchSockets from the Rust node", async move {
            let got = cluster
                .fetch_sockets("/", vec![room], vec![])
                .await
                .unwrap();
            got.into_iter().map(|s| s.id).collect()
        })
        .await
    }

    /// The same from client `via` on a Node node: `broadcastAck` and `fetch`.
    pub async fn node_view(&mut self, via: &str, room: &str) -> (Vec<String>, BTreeSet<String>) {
        let arg = json!({"rooms": [room], "event": "ask", "timeout": REQUEST_TIMEOUT.as_millis()});
        let acks = quick(
            "a broadcast with acks from a Node node",
            self.c.call(via, "broadcastAck", arg),
        )
        .await;
        let acks = serde_json::from_value(acks).unwrap();
        let got = quick(
            "fetchSockets from a Node node",
            self.c.call(via, "fetch", json!({"rooms": [room]})),
        )
        .await;
        let ids = got
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        (acks, ids)
    }
}

/// A view of the room (ack names, fetched ids) just after the death: every survivor, none
/// of the dead node's sessions; victims that are back already (they rejoin by themselves)
/// may be in it with their new ids.
pub fn just_after_death(
    (acks, fetched): (Vec<String>, BTreeSet<String>),
    alive: &[&Member],
    victims: &[Member],
) {
    let victim_names: BTreeSet<&str> = victims.iter().map(|v| v.name.as_str()).collect();
    let acks: BTreeSet<&str> = acks.iter().map(String::as_str).collect();
    for m in alive {
        assert!(
            acks.contains(m.name.as_str()),
            "{} did not answer: {acks:?}",
            m.name
        );
        assert!(
            fetched.contains(&m.id),
            "{} not fetched: {fetched:?}",
            m.name
        );
    }
    let alive_names: BTreeSet<&str> = alive.iter().map(|m| m.name.as_str()).collect();
    assert!(
        acks.difference(&alive_names)
            .all(|n| victim_names.contains(n)),
        "{acks:?}"
    );
    for v in victims {
        assert!(
            !fetched.contains(&v.id),
            "{}'s dead session was fetched",
            v.name
        );
    }
}

pub fn names(ms: &[&Member]) -> Vec<String> {
    let mut v: Vec<String> = ms.iter().map(|m| m.name.clone()).collect();
    v.sort();
    v
}

pub fn ids(ms: &[&Member]) -> BTreeSet<String> {
    ms.iter().map(|m| m.id.clone()).collect()
}

/// `[3, 4, 5, 9]` as `[(3, 5), (9, 9)]`.
pub fn ranges(ks: &[u64]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &k in ks {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == k => *end = k,
            _ => out.push((k, k)),
        }
    }
    out
}
