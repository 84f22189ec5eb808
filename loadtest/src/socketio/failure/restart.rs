//! The failure itself: the kill, the restart on the same port, and a
//! probe that the restarted node is back in the cluster.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use serde::de::IgnoredAny;
use tokio_util::sync::CancellationToken;

use crate::child::{Process, Stdin};
use crate::figures::SioParams;
use crate::measure::Clock;
use crate::socketio::client::{self, Dial, Handler};
use crate::socketio::layout::room_name;
use crate::socketio::node::{Cluster, Programs, READY_TIMEOUT};
use crate::socketio::receiver::Shared;
use crate::socketio::stack::Nodes;

/// When the node went down and came back, in ns on the run's clock.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Timeline {
    pub(super) killed: usize,
    pub(super) kill_ns: u64,
    pub(super) restart_ns: u64,
    pub(super) ready_ns: Option<u64>,
    pub(super) delivery_ns: Option<u64>,
}

/// Kills node `killed` at a third of the measured time, restarts it on
/// its port at two thirds, and checks that a fresh client of it receives
/// a room message from another node.
pub(super) async fn fail_and_restart(
    cluster: &mut Cluster,
    killed: usize,
    programs: &Programs,
    kind: Nodes,
    clock: &Clock,
    params: &SioParams,
    shared: &Arc<Shared>,
) -> anyhow::Result<Timeline> {
    let third = crate::measure::nanos(params.duration) / 3;
    tokio::time::sleep_until(clock.instant(clock.warm_end_ns + third)).await;
    let node = cluster.nodes.get_mut(killed).context("no node to kill")?;
    let addr = node.addr;
    // Before the signal: the clients may see their connections close
    // before the reaping `kill` returns.
    let mut t = Timeline {
        killed,
        kill_ns: clock.now_ns(),
        ..Timeline::default()
    };
    node.process.kill()?;
    tokio::time::sleep_until(clock.instant(clock.warm_end_ns + 2 * third)).await;
    t.restart_ns = clock.now_ns();
    let cmd = programs.command_on(kind, cluster.broker.addr, addr.port());
    let mut process = Process::spawn(cmd, &format!("sio-node-{}", killed + 1), Stdin::Pipe, true)?;
    process
        .wait_line("READY ", READY_TIMEOUT)
        .await
        .context("restarting the killed node")?;
    t.ready_ns = Some(clock.now_ns());
    if let Some(node) = cluster.nodes.get_mut(killed) {
        node.process = process;
    }
    t.delivery_ns = probe(addr, params, shared, clock).await?;
    Ok(t)
}

/// Tells its run when it hears a message from an emitter on another node.
struct Probe {
    node: u16,
    shared: Arc<Shared>,
    heard: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Handler for Probe {
    fn on_event(&mut self, json: &str) -> anyhow::Result<()> {
        let (_, (emitter, ..)): (
            IgnoredAny,
            (u32, IgnoredAny, IgnoredAny, IgnoredAny, IgnoredAny),
        ) = serde_json::from_str(json)?;
        let from = self.shared.emitter_node(emitter);
        if from != self.node
            && from != u16::MAX
            && let Some(tx) = self.heard.take()
        {
            let _ = tx.send(());
        }
        Ok(())
    }

    fn on_node(&mut self, node: SocketAddr) {
        self.node = self.shared.node_index(node);
    }
}

/// A client connected straight to `addr` that joins room 0: when its
/// first message from another node arrived, or `None` by the drain
/// timeout.
async fn probe(
    addr: SocketAddr,
    params: &SioParams,
    shared: &Arc<Shared>,
    clock: &Clock,
) -> anyhow::Result<Option<u64>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let probe = Probe {
        node: u16::MAX,
        shared: Arc::clone(shared),
        heard: Some(tx),
    };
    let dial = Dial {
        addr,
        source: None,
        transport: params.transport,
    };
    let stop = CancellationToken::new();
    let _guard = stop.clone().drop_guard();
    let (handle, _task) = client::connect(dial, probe, stop)
        .await
        .context("probe client")?;
    handle.call("join", room_name(0)).await?;
    Ok(tokio::time::timeout(params.drain_timeout, rx)
        .await
        .ok()
        .and_then(Result::ok)
        .map(|()| clock.now_ns()))
}
