//! One failover run on one server kind: deploy, subscribe, publish, kill
//! the master, wait for every client to come back, publish a while more,
//! drain, and hand everything recorded to the tally.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::ProgressBar;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::client::Resolver;
use super::deploy::{Deployment, poll_until};
use super::publisher::{PubOut, publisher};
use super::sentinel::Watch;
use super::subscriber::{SubOut, subscribe, subscriber};
use super::tally::{Recorded, tally};
use super::{CHANNEL, Progress};
use crate::figures::{FailoverParams, RunResult};
use crate::measure::Clock;
use crate::resp::Conn;
use crate::target::ServerKind;

/// How long the first subscriptions may take.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Deploys `kind`, crashes its master under traffic and measures.
pub(super) async fn run(
    kind: ServerKind,
    bin: &Path,
    sentinel_bin: &Path,
    params: &FailoverParams,
    bar: &ProgressBar,
) -> anyhow::Result<RunResult> {
    bar.set_message("deploying");
    let mut deploy = Deployment::start(kind, bin, sentinel_bin, params).await?;
    let params = Arc::new(params.clone());
    let clock = Arc::new(Clock::new(
        Duration::ZERO,
        params.before_kill,
        params.drain_timeout,
    ));
    let progress = Arc::new(Progress::default());
    let stop_watch = CancellationToken::new();
    let watch = Watch::start(&deploy.sentinel_addrs, &clock, &stop_watch).await?;
    let subs = start_subscribers(&deploy, &params, &clock, &progress).await?;
    let stop_pubs = CancellationToken::new();
    let mut pubs = JoinSet::new();
    for id in 0..params.publishers {
        let resolver = Resolver::new(&deploy.sentinel_addrs, &params.master_name, id);
        let id = u32::try_from(id).context("too many publishers")?;
        let task = publisher(
            id,
            resolver,
            Arc::clone(&params),
            Arc::clone(&clock),
            Arc::clone(&progress),
            stop_pubs.clone(),
        );
        pubs.spawn(task);
    }

    bar.set_message("publishing");
    // The scenario's own timing: publish this long before the crash.
    tokio::time::sleep_until(clock.instant(clock.end_ns)).await;
    let old_master = deploy.master.addr;
    progress.kill_ns.store(clock.now_ns(), Ordering::Release);
    deploy.master.kill().context("killing the master")?;
    bar.set_message("master killed, waiting for the clients to come back");
    let recovered = poll_until(
        "every client back on a new master",
        params.outage_timeout,
        || {
            let p = Arc::clone(&progress);
            let (np, ns) = (params.publishers, params.subscribers);
            async move {
                Ok(p.publishers_back.load(Ordering::Acquire) >= np
                    && p.subscribers_back.load(Ordering::Acquire) >= ns)
            }
        },
    )
    .await;
    if let Err(e) = &recovered {
        tracing::warn!("{kind:?}: {e:#}");
    } else {
        bar.set_message("recovered, publishing");
        tokio::time::sleep(params.after_recovery).await;
    }
    stop_pubs.cancel();
    bar.set_message("draining");
    let mut pub_outs: Vec<PubOut> = Vec::new();
    while let Some(joined) = pubs.join_next().await {
        pub_outs.push(joined.context("publisher task")?);
    }
    let sub_outs = finish_subscribers(subs, &params).await?;
    stop_watch.cancel();
    let events = watch.finish().await?;
    deploy.check_sentinels()?;
    let recorded = Recorded {
        kill_ns: progress.kill_ns.load(Ordering::Acquire),
        old_master,
        replicas: deploy.replicas.iter().map(|r| r.addr).collect(),
        pubs: pub_outs,
        subs: sub_outs,
        events,
    };
    drop(deploy);
    let mut result = tally(&recorded);
    result.target = kind.name().to_owned();
    Ok(result)
}

/// The subscribers' tasks and the token that stops them early.
struct Subs {
    tasks: JoinSet<SubOut>,
    stop: CancellationToken,
}

/// Subscribes every subscriber on the master, confirmed by the master's
/// own count, and starts their tasks.
async fn start_subscribers(
    deploy: &Deployment,
    params: &Arc<FailoverParams>,
    clock: &Arc<Clock>,
    progress: &Arc<Progress>,
) -> anyhow::Result<Subs> {
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    for i in 0..params.subscribers {
        let mut resolver = Resolver::new(&deploy.sentinel_addrs, &params.master_name, i);
        let first = tokio::time::timeout(
            SUBSCRIBE_TIMEOUT,
            subscribe(&mut resolver, params, clock, &stop),
        )
        .await
        .ok()
        .flatten()
        .context("subscribing through the sentinels")?;
        if first.1.addr != deploy.master.addr {
            bail!(
                "the sentinels sent a subscriber to {}, not to the master {}",
                first.1.addr,
                deploy.master.addr
            );
        }
        let task = subscriber(
            first,
            resolver,
            Arc::clone(params),
            Arc::clone(clock),
            Arc::clone(progress),
            stop.clone(),
        );
        tasks.spawn(task);
    }
    let mut control = Conn::connect(deploy.master.addr, false).await?;
    let reply = control.command(&[b"PUBSUB", b"NUMSUB", CHANNEL]).await?;
    let n = reply
        .items()
        .and_then(|i| i.get(1))
        .and_then(|f| f.as_int());
    if n != i64::try_from(params.subscribers).ok() {
        bail!(
            "PUBSUB NUMSUB on the master = {reply:?}, expected {}",
            params.subscribers
        );
    }
    Ok(Subs { tasks, stop })
}

/// Waits for the subscribers to see every end marker, stopping those that
/// have not within the drain timeout.
async fn finish_subscribers(
    mut subs: Subs,
    params: &FailoverParams,
) -> anyhow::Result<Vec<SubOut>> {
    let mut outs = Vec::new();
    let drained = tokio::time::timeout(params.drain_timeout, async {
        while let Some(joined) = subs.tasks.join_next().await {
            outs.push(joined.context("subscriber task")?);
        }
        anyhow::Ok(())
    })
    .await;
    if drained.is_err() {
        subs.stop.cancel();
    }
    while let Some(joined) = subs.tasks.join_next().await {
        outs.push(joined.context("subscriber task")?);
    }
    if let Ok(r) = drained {
        r?;
    }
    Ok(outs)
}
