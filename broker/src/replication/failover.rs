//! A coordinated failover (`FAILOVER`), as Redis' `failoverCommand` and
//! `updateFailoverStatus` run it: writes are held, the master waits until
//! a replica acknowledged its whole stream, then follows that replica and
//! asks it, with `PSYNC <replid> <offset> FAILOVER`, to take over. Nothing
//! published is lost: what the clients publish meanwhile waits, and runs
//! on the new replica once the new master answered.
//!
//! The check runs every 100 ms, as Redis' `replicationCron` does while it
//! fails over; it relies on the replicas' `REPLCONF ACK` every second, as
//! Redis does (a `REPLCONF GETACK` would grow the stream it waits for).

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::session::Shared;

/// Where a failover is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Writes are held until a replica caught up (`waiting-for-sync`).
    WaitForSync,
    /// Following the new master, whose PSYNC reply ends it
    /// (`failover-in-progress`).
    InProgress,
}

/// What `FAILOVER` asked for.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `TO host port`; set to the chosen replica once one caught up.
    pub target: Option<(String, u16)>,
    /// `TIMEOUT ms`.
    pub deadline: Option<Instant>,
    /// `FORCE`: fail over at the deadline even if the target lags.
    pub force: bool,
}

#[derive(Debug)]
struct Running {
    plan: Plan,
    phase: Phase,
    /// Stops the check's task.
    stop: CancellationToken,
}

/// The failover state of one server.
#[derive(Debug, Default)]
pub struct Failover {
    running: Mutex<Option<Running>>,
}

impl Failover {
    /// The phase, while a failover runs.
    pub fn phase(&self) -> Option<Phase> {
        self.running.lock().as_ref().map(|r| r.phase)
    }

    /// INFO's `master_failover_state`.
    pub fn state_name(&self) -> &'static str {
        match self.phase() {
            None => "no-failover",
            Some(Phase::WaitForSync) => "waiting-for-sync",
            Some(Phase::InProgress) => "failover-in-progress",
        }
    }

    /// Whether the keepalive `ping` is left out of the stream: while a
    /// failover with a timeout holds writes, so the offsets stay still (as
    /// Redis does, only with a timeout).
    pub fn holds_pings(&self) -> bool {
        self.running
            .lock()
            .as_ref()
            .is_some_and(|r| r.phase == Phase::WaitForSync && r.plan.deadline.is_some())
    }

    fn take(&self) -> Option<Running> {
        let running = self.running.lock().take();
        if let Some(r) = &running {
            r.stop.cancel();
        }
        running
    }
}

/// `FAILOVER` was accepted: hold writes and start checking.
pub fn start(shared: &Arc<Shared>, plan: Plan) {
    let stop = CancellationToken::new();
    *shared.failover.running.lock() = Some(Running {
        plan,
        phase: Phase::WaitForSync,
        stop: stop.clone(),
    });
    shared.pause.hold_for_failover(true);
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = shared.shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if !update(&shared) {
                return;
            }
        }
    });
}

/// One check while waiting for a replica; false once there is nothing
/// more to wait for.
fn update(shared: &Arc<Shared>) -> bool {
    let mut guard = shared.failover.running.lock();
    let Some(running) = guard.as_mut() else {
        return false;
    };
    if running.phase != Phase::WaitForSync {
        return false;
    }
    let plan = &running.plan;
    if plan.deadline.is_some_and(|d| d <= Instant::now()) {
        let forced = plan.target.clone().filter(|_| plan.force);
        let Some((host, port)) = forced else {
            drop(guard);
            abort(shared, "Replica never caught up before timeout");
            return false;
        };
        tracing::info!("FAILOVER to {host}:{port} time out exceeded, failing over.");
        running.phase = Phase::InProgress;
        drop(guard);
        follow(shared, &host, port);
        return false;
    }
    let snap = shared.replication.snapshot();
    let caught_up = snap.replicas.iter().find(|r| {
        r.ack == snap.offset
            && plan
                .target
                .as_ref()
                .is_none_or(|(host, port)| r.ip.eq_ignore_ascii_case(host) && r.port == *port)
    });
    let Some(replica) = caught_up else {
        return true;
    };
    let (host, port) = (replica.ip.clone(), replica.port);
    running.plan.target = Some((host.clone(), port));
    running.phase = Phase::InProgress;
    drop(guard);
    tracing::info!("Failover target {host}:{port} is synced, failing over.");
    follow(shared, &host, port);
    false
}

/// Becomes a replica of the target; its link sends `PSYNC ... FAILOVER`.
fn follow(shared: &Arc<Shared>, host: &str, port: u16) {
    if let Some(cancel) = shared.replication.set_master(host, port) {
        super::follow(Arc::clone(shared), host.to_owned(), port, cancel);
    }
}

/// The new master accepted the PSYNC: the failover is over, writes go on.
pub fn finished(shared: &Shared) {
    if shared.failover.phase() == Some(Phase::InProgress) {
        shared.failover.take();
        shared.pause.hold_for_failover(false);
    }
}

/// Redis' `abortFailover`: a master again if it already followed the
/// target, writes go on. False when no failover runs.
pub fn abort(shared: &Shared, why: &str) -> bool {
    let Some(running) = shared.failover.take() else {
        return false;
    };
    match &running.plan.target {
        Some((host, port)) => tracing::info!("FAILOVER to {host}:{port} aborted: {why}"),
        None => tracing::info!("FAILOVER to any replica aborted: {why}"),
    }
    if running.phase == Phase::InProgress {
        shared.replication.unset_master();
    }
    shared.pause.hold_for_failover(false);
    true
}
