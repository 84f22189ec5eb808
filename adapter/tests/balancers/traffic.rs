//! Traffic that keeps flowing while a node dies: numbered `tick` broadcasts to a room from
//! the Rust node, and a ledger of the ticks each client got, so a test can count what a
//! client missed and check what it must not have missed.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use serde_json::Value as Json;
use tokio::{sync::oneshot, task::JoinHandle};

use crate::interop::{
    Io,
    clients::{Clients, Ev},
};

/// Broadcasts `tick` k (k = 0, 1, ...) to `room` every `every`. The period sets the traffic's
/// rate only; nothing waits on it.
pub struct Ticker {
    sent: Arc<AtomicU64>,
    /// Broadcasts that some local socket could not take (its buffer was full: a session
    /// whose client left without closing it). The others got the tick.
    refused: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Ticker {
    pub fn start(io: Io, room: &'static str, every: Duration) -> Self {
        let sent = Arc::new(AtomicU64::new(0));
        let (stop, mut stopped) = oneshot::channel();
        let refused = Arc::new(AtomicU64::new(0));
        let (s, r) = (sent.clone(), refused.clone());
        let task = tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    _ = &mut stopped => return,
                }
                let k = s.load(Ordering::SeqCst);
                if io.to(room).emit("tick", &k).await.is_err() {
                    r.fetch_add(1, Ordering::SeqCst);
                }
                s.store(k + 1, Ordering::SeqCst);
            }
        });
        Self {
            sent,
            refused,
            stop: Some(stop),
            task,
        }
    }

    /// How many ticks were emitted. Every tick from `sent() + 1` on starts after this call
    /// (tick `sent()` may be on its way).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Stops ticking; returns how many ticks were emitted, and how many of them some local
    /// socket refused.
    pub async fn stop(mut self) -> (u64, u64) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap();
        (self.sent(), self.refused.load(Ordering::SeqCst))
    }
}

/// The ticks each client got, and how many times it was disconnected.
#[derive(Default)]
pub struct Ledger {
    pub ticks: BTreeMap<String, BTreeSet<u64>>,
    pub disconnects: BTreeMap<String, Vec<String>>,
}

impl Ledger {
    /// Reads `name`'s events until `stop` accepts one (returned), booking ticks and
    /// disconnects on the way.
    pub async fn until(
        &mut self,
        c: &mut Clients,
        name: &str,
        mut stop: impl FnMut(&Ev) -> bool,
    ) -> Ev {
        loop {
            let ev = c.next(name).await;
            match &ev {
                Ev::Event(e, v) if e == "tick" => {
                    let k = v[1].as_u64().unwrap();
                    self.ticks.entry(name.to_owned()).or_default().insert(k);
                }
                Ev::Disconnect(reason) => self
                    .disconnects
                    .entry(name.to_owned())
                    .or_default()
                    .push(reason.clone()),
                Ev::Event(..) => {}
            }
            if stop(&ev) {
                return ev;
            }
        }
    }

    /// Reads `name`'s events until it got the event `event`; returns it.
    pub async fn until_event(&mut self, c: &mut Clients, name: &str, event: &str) -> Json {
        match self
            .until(c, name, |ev| matches!(ev, Ev::Event(e, _) if e == event))
            .await
        {
            Ev::Event(_, v) => v,
            Ev::Disconnect(_) => unreachable!(),
        }
    }

    /// Reads `name`'s events until it got a tick.
    pub async fn until_tick(&mut self, c: &mut Clients, name: &str) {
        self.until(c, name, |ev| matches!(ev, Ev::Event(e, _) if e == "tick"))
            .await;
    }

    /// Reads `name`'s events until it was disconnected.
    pub async fn until_disconnect(&mut self, c: &mut Clients, name: &str) -> String {
        match self
            .until(c, name, |ev| matches!(ev, Ev::Disconnect(_)))
            .await
        {
            Ev::Disconnect(r) => r,
            Ev::Event(..) => unreachable!(),
        }
    }

    /// The ticks below `total` that `name` did not get.
    pub fn missed(&self, name: &str, total: u64) -> Vec<u64> {
        let got = self.ticks.get(name);
        (0..total)
            .filter(|k| got.is_none_or(|g| !g.contains(k)))
            .collect()
    }
}
