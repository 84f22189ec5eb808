//! The state every connection of one server shares.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::acl::Acl;
use crate::client::{Client, Clients};
use crate::cmdstats::CommandStats;
use crate::config::Config;
use crate::flush::Flusher;
use crate::registry::Registry;
use crate::stats::Stats;

/// State shared by every connection of one server.
#[derive(Debug)]
pub struct Shared {
    /// Users and their permissions.
    pub acl: Acl,
    /// Subscriptions.
    pub registry: Registry,
    /// Connected clients.
    pub clients: Clients,
    /// Configuration; CONFIG SET swaps in a new one, readers load it once
    /// per command or per PUBLISH.
    pub config: ArcSwap<Config>,
    /// The TCP port actually bound (INFO `tcp_port`; 0 when not on TCP);
    /// `CONFIG SET port` changes it.
    pub port: std::sync::atomic::AtomicU16,
    /// The listening sockets, which `CONFIG SET port` and `bind` replace.
    pub listening: crate::listen::Listening,
    /// Counters.
    pub stats: Arc<Stats>,
    /// When the server started (INFO `uptime_in_seconds`).
    pub started: Instant,
    /// A random 40-hex-digit id per run (INFO `run_id`).
    pub run_id: String,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Cancelled to ask the server to shut down (the SHUTDOWN command).
    pub stop: CancellationToken,
    /// Clients that ran MONITOR.
    pub monitors: Monitors,
    /// INFO commandstats, latencystats and errorstats.
    pub cmdstats: CommandStats,
    /// Subscribers' writers, woken once per turn.
    pub flusher: Flusher,
    /// SLOWLOG.
    pub slowlog: crate::slowlog::Slowlog,
    /// The latency monitor (LATENCY).
    pub latency: crate::latency::Monitor,
    /// The `io-threads` writer pool, where each connection's writer task
    /// runs; `None` runs them beside the readers.
    pub writers: Option<tokio::runtime::Handle>,
    /// `CLIENT PAUSE`.
    pub pause: crate::pause::Pause,
    /// The master side of replication.
    pub replication: crate::replication::Replication,
    /// A FAILOVER in progress, if any.
    pub failover: crate::replication::failover::Failover,
}

impl Shared {
    /// Fresh shared state for one server run.
    pub fn new(config: Config, port: u16, shutdown: CancellationToken) -> Self {
        let run_id = crate::replication::random_id();
        let acl = Acl::new(config.requirepass.as_deref(), config.acl_pubsub_default_all);
        let lines: Vec<(usize, Vec<String>)> = config
            .users
            .iter()
            .enumerate()
            .map(|(i, words)| {
                let mut line = vec!["user".to_owned()];
                line.extend(words.iter().cloned());
                (i + 1, line)
            })
            .collect();
        if !lines.is_empty() {
            // Checked line by line when the configuration was read.
            if let Err(e) = acl.load_lines(&lines, "config") {
                tracing::warn!("{e}");
            }
        }
        Self {
            acl,
            registry: Registry::new(),
            clients: Clients::new(),
            config: ArcSwap::from_pointee(config),
            port: port.into(),
            listening: crate::listen::Listening::default(),
            stats: Arc::new(Stats::default()),
            started: Instant::now(),
            run_id,
            shutdown,
            stop: CancellationToken::new(),
            monitors: Monitors::default(),
            writers: None,
            cmdstats: crate::cmd::command_stats(),
            flusher: Flusher::default(),
            slowlog: crate::slowlog::Slowlog::default(),
            latency: crate::latency::Monitor::default(),
            pause: crate::pause::Pause::default(),
            replication: crate::replication::Replication::default(),
            failover: crate::replication::failover::Failover::default(),
        }
    }
}

/// The clients that ran MONITOR. `any` is one atomic load, so commands pay
/// nothing while nobody monitors.
#[derive(Debug, Default)]
pub struct Monitors {
    clients: parking_lot::RwLock<Vec<Arc<Client>>>,
    count: std::sync::atomic::AtomicUsize,
}

impl Monitors {
    /// Whether any client is monitoring.
    pub fn any(&self) -> bool {
        self.count.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    /// Adds a monitoring client (idempotent).
    pub fn add(&self, client: &Arc<Client>) {
        let mut all = self.clients.write();
        if !all.iter().any(|c| c.id == client.id) {
            all.push(Arc::clone(client));
            self.count
                .store(all.len(), std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Removes a client (on RESET or disconnect).
    pub fn remove(&self, id: u64) {
        let mut all = self.clients.write();
        all.retain(|c| c.id != id);
        self.count
            .store(all.len(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Sends `line` to every monitor, waking each writer at once.
    pub fn feed(&self, line: &Bytes) {
        for c in self.clients.read().iter() {
            c.out
                .push(line.clone(), &crate::config::OutputLimit::UNLIMITED);
        }
    }
}
