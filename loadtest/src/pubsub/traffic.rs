//! A scenario that publishes (every kind but `idle`) on one started
//! server: subscribe and verify, start subscribers, churners and
//! publishers, wait for the publishers, drain, and collect the figures.
//! Only messages whose send time falls after the warm-up count towards the
//! figures; sequence checks cover everything.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::ProgressBar;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::churn::churner;
use super::gate::{DEAD, Gate};
use super::publisher::{PubOut, publisher, publisher_channels};
use super::subscriber::{SubOut, subscriber};
use super::tally::{Cpu, Sent, add_publishers, join_churners, join_subscribers, set_cost};
use super::wire::{MATCHING_PATTERN, Mode, channel_name, int_reply, subscribe, verify_numsub};
use crate::figures::{Params, RunResult, ScenarioKind, rate};
use crate::measure::{self, Clock, Deliveries};
use crate::progress::spawn_ticker;
use crate::resp::{Conn, DeliveryMatcher};
use crate::target::Running;

/// The connections that are subscribed before anything is published.
struct Subscribed {
    /// Connections holding the non-matching patterns of `patterns`.
    holders: Vec<Conn>,
    /// Measuring subscribers, each with the index of its channel.
    subs: Vec<(usize, Conn)>,
}

/// Subscribes everything, confirmed by the replies and by the server's
/// own counts, before anything is published.
async fn subscribe_all(
    params: &Params,
    addr: SocketAddr,
    mode: Mode,
    names: &[Vec<u8>],
    control: &mut Conn,
) -> anyhow::Result<Subscribed> {
    let resp3 = params.resp3;
    // Non-matching patterns first, so PUBLISH already pays for them.
    let mut holders = Vec::new();
    if params.scenario == ScenarioKind::Patterns && params.patterns > 0 {
        let all: Vec<Vec<u8>> = (0..params.patterns)
            .map(|i| format!("lt:nomatch:{i}:*").into_bytes())
            .collect();
        for chunk in all.chunks(1000) {
            holders.push(subscribe(addr, resp3, Mode::Pattern, chunk).await?);
        }
    }

    // Measuring subscribers, all confirmed before anything is published.
    let mut set = JoinSet::new();
    let limit = Arc::new(Semaphore::new(256));
    for c in 0..names.len() {
        for _ in 0..params.subscribers {
            let limit = Arc::clone(&limit);
            let sub_names = if mode == Mode::Pattern {
                vec![MATCHING_PATTERN.to_vec()]
            } else {
                names.get(c).cloned().into_iter().collect()
            };
            set.spawn(async move {
                let _permit = limit.acquire_owned().await?;
                anyhow::Ok((c, subscribe(addr, resp3, mode, &sub_names).await?))
            });
        }
    }
    let mut subs: Vec<(usize, Conn)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        subs.push(joined.context("subscriber task")??);
    }
    verify_counts(params, mode, control, names).await?;
    Ok(Subscribed { holders, subs })
}

/// Checks that the server counts every subscription made.
async fn verify_counts(
    params: &Params,
    mode: Mode,
    control: &mut Conn,
    names: &[Vec<u8>],
) -> anyhow::Result<()> {
    match mode {
        Mode::Plain => verify_numsub(control, b"NUMSUB", names, params.subscribers as u64).await,
        Mode::Shard => {
            verify_numsub(control, b"SHARDNUMSUB", names, params.subscribers as u64).await
        }
        Mode::Pattern => {
            let want = params.patterns as i64 + i64::from(params.subscribers > 0);
            let numpat = int_reply(control, &[b"PUBSUB", b"NUMPAT"]).await?;
            if numpat != want {
                bail!("PUBSUB NUMPAT = {numpat}, expected {want}");
            }
            Ok(())
        }
    }
}

/// Gates: one per channel, one counter per subscriber.
fn gates(channels: usize, subs: Vec<(usize, Conn)>) -> (Arc<Vec<Gate>>, Vec<SubSpec>) {
    let mut gates: Vec<Gate> = (0..channels).map(|_| Gate::default()).collect();
    let mut sub_specs = Vec::with_capacity(subs.len());
    for (c, conn) in subs {
        let counter = Arc::new(AtomicU64::new(0));
        if let Some(g) = gates.get_mut(c) {
            g.delivered.push(Arc::clone(&counter));
        }
        sub_specs.push((c, conn, counter));
    }
    (Arc::new(gates), sub_specs)
}

/// A subscriber about to start: its channel, connection and counter.
type SubSpec = (usize, Conn, Arc<AtomicU64>);

/// Each subscriber's channel and delivery counter.
type Counters = Vec<(usize, Arc<AtomicU64>)>;

/// Everything the subscribers share.
struct Shared<'a> {
    params: &'a Params,
    mode: Mode,
    clock: &'a Arc<Clock>,
    gates: &'a Arc<Vec<Gate>>,
}

/// Starts every measuring subscriber on its connection.
fn spawn_subscribers(
    s: &Shared<'_>,
    sub_specs: Vec<SubSpec>,
    stop: &CancellationToken,
    sigfig: u8,
) -> anyhow::Result<(JoinSet<SubOut>, Counters)> {
    let mut sub_tasks = JoinSet::new();
    let mut counters = Vec::new();
    for (c, conn, counter) in sub_specs {
        counters.push((c, Arc::clone(&counter)));
        let clock = Arc::clone(s.clock);
        let gates = Arc::clone(s.gates);
        let stop = stop.clone();
        let channel = u32::try_from(c).unwrap_or(u32::MAX);
        let seen = Deliveries::new(sigfig)?;
        let (kind, pattern): (&[u8], _) = match s.mode {
            Mode::Plain => (b"message", None),
            Mode::Shard => (b"smessage", None),
            Mode::Pattern => (b"pmessage", Some(MATCHING_PATTERN)),
        };
        let matcher = DeliveryMatcher::new(
            kind,
            pattern,
            &channel_name(channel),
            s.params.payload,
            s.params.resp3,
        );
        sub_tasks.spawn(subscriber(
            conn, channel, matcher, clock, gates, counter, stop, seen,
        ));
    }
    Ok((sub_tasks, counters))
}

/// Starts the churners of `churn` (none for the other scenarios).
async fn spawn_churners(
    params: &Params,
    addr: SocketAddr,
    stop: &CancellationToken,
) -> anyhow::Result<JoinSet<anyhow::Result<(u64, u64)>>> {
    let mut churn_tasks = JoinSet::new();
    if params.scenario == ScenarioKind::Churn {
        for i in 0..params.churners {
            let conn = Conn::connect(addr, params.resp3).await?;
            churn_tasks.spawn(churner(conn, i, stop.clone()));
        }
    }
    Ok(churn_tasks)
}

/// Starts every publisher on a connection of its own.
async fn spawn_publishers(
    s: &Shared<'_>,
    addr: SocketAddr,
    channels: usize,
) -> anyhow::Result<JoinSet<anyhow::Result<PubOut>>> {
    let publishers = s.params.publishers.max(1);
    let mut pub_tasks = JoinSet::new();
    for p in 0..publishers {
        let conn = Conn::connect(addr, s.params.resp3).await?;
        let chans = publisher_channels(p, publishers, channels);
        let clock = Arc::clone(s.clock);
        let gates = Arc::clone(s.gates);
        let params = s.params.clone();
        let id = u32::try_from(p).unwrap_or(u32::MAX);
        pub_tasks.spawn(publisher(conn, id, chans, s.mode, params, clock, gates));
    }
    Ok(pub_tasks)
}

/// Shows the deliveries so far, summed over every subscriber's counter.
fn ticker(
    progress: &ProgressBar,
    clock: &Clock,
    stop: &CancellationToken,
    counters: &Counters,
) -> JoinHandle<()> {
    let counters: Vec<Arc<AtomicU64>> = counters.iter().map(|(_, c)| Arc::clone(c)).collect();
    spawn_ticker(progress, clock, stop.clone(), move || {
        counters
            .iter()
            .map(|c| c.load(Ordering::Relaxed).min(DEAD - 1))
            .sum()
    })
}

/// Waits for every publisher to finish. Publishers stop by themselves by
/// `give_up_ns`, then wait for the server to answer what they wrote; a
/// server that stops reading altogether would block them forever, hence
/// the guard.
async fn join_publishers(
    mut pub_tasks: JoinSet<anyhow::Result<PubOut>>,
    clock: &Clock,
    drain_timeout: Duration,
) -> anyhow::Result<Vec<PubOut>> {
    let mut pub_outs = Vec::new();
    let mut pub_error = None;
    let pub_guard = clock.instant(clock.give_up_ns) + drain_timeout;
    loop {
        let joined = tokio::select! {
            j = pub_tasks.join_next() => j,
            () = tokio::time::sleep_until(pub_guard) => {
                pub_tasks.abort_all();
                bail!("the server stopped answering publishers (nothing read for {drain_timeout:?})");
            }
        };
        let Some(joined) = joined else { break };
        match joined.context("publisher task")? {
            Ok(out) => pub_outs.push(out),
            Err(e) => {
                pub_error.get_or_insert(e);
            }
        }
    }
    match pub_error {
        Some(e) => Err(e.context("publisher failed")),
        None => Ok(pub_outs),
    }
}

/// Waits for each subscriber to have received everything sent on its
/// channel, or for the drain timeout.
async fn drain(gates: &[Gate], counters: &Counters, sent: &Sent, drain_timeout: Duration) {
    let deadline = tokio::time::Instant::now() + drain_timeout;
    for (c, counter) in counters {
        let Some(gate) = gates.get(*c) else { continue };
        let want = sent.per_channel.get(*c).map_or(0, |s| s.0);
        loop {
            let notified = gate.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if counter.load(Ordering::Acquire) >= want {
                break;
            }
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
    }
}

/// Runs `params` on `server`.
pub(super) async fn run(
    params: &Params,
    server: &Running,
    progress: &ProgressBar,
) -> anyhow::Result<RunResult> {
    let addr = server.addr;
    let channels = params.scenario.effective_channels(params.channels);
    let mode = Mode::of(params.scenario);
    let names: Vec<Vec<u8>> = (0..channels)
        .map(|c| channel_name(u32::try_from(c).unwrap_or(u32::MAX)))
        .collect();
    // For PUBSUB queries; open for the whole run.
    let mut control = Conn::connect(addr, params.resp3).await?;
    progress.set_message("subscribing");
    let Subscribed { holders, subs } =
        subscribe_all(params, addr, mode, &names, &mut control).await?;
    let (gates, sub_specs) = gates(channels, subs);
    let sigfig = if sub_specs.len() > 2000 { 2 } else { 3 };

    let rss_before = server.pid().map(measure::rss).transpose()?;
    let clock = Arc::new(Clock::new(
        params.warmup,
        params.duration,
        params.drain_timeout,
    ));
    let stop_subs = CancellationToken::new();
    let stop_aux = CancellationToken::new();
    let shared = Shared {
        params,
        mode,
        clock: &clock,
        gates: &gates,
    };
    let (sub_tasks, counters) = spawn_subscribers(&shared, sub_specs, &stop_subs, sigfig)?;
    let churn_tasks = spawn_churners(params, addr, &stop_aux).await?;
    let pub_tasks = spawn_publishers(&shared, addr, channels).await?;
    let ticker = ticker(progress, &clock, &stop_aux, &counters);

    // CPU from the end of the warm-up.
    tokio::time::sleep_until(clock.instant(clock.warm_end_ns)).await;
    let cpu_start = Cpu::now(server)?;
    let pub_outs = match join_publishers(pub_tasks, &clock, params.drain_timeout).await {
        Ok(outs) => outs,
        Err(e) => {
            stop_subs.cancel();
            stop_aux.cancel();
            return Err(e);
        }
    };
    let publish_end_ns = pub_outs
        .iter()
        .map(|p| p.last_ns)
        .max()
        .unwrap_or(clock.now_ns());
    stop_aux.cancel();
    progress.set_message("draining");

    let sent = Sent::tally(&pub_outs, channels);
    drain(&gates, &counters, &sent, params.drain_timeout).await;
    let drained_ns = clock.now_ns();
    let cpu_end = Cpu::now(server)?;
    let rss_end = server.pid().map(measure::rss).transpose()?;
    stop_subs.cancel();
    ticker.abort();

    let mut churn = join_churners(churn_tasks).await?;
    drop(holders);

    let mut result = RunResult::default();
    let seen = join_subscribers(sub_tasks, &sent, sigfig, &mut result).await?;
    let published_series = add_publishers(&pub_outs, &mut result);
    result.set_traffic(seen, &published_series, &clock, publish_end_ns);
    set_cost(&mut result, cpu_start, cpu_end, rss_before, rss_end);
    if params.scenario == ScenarioKind::Churn {
        let secs = drained_ns
            .min(publish_end_ns)
            .saturating_sub(clock.start_ns) as f64
            / 1e9;
        churn.operations_per_sec = rate(churn.operations, secs);
        result.churn = Some(churn);
    }
    drop(control);
    Ok(result)
}
