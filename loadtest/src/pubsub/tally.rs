//! What a publishing run's tasks report, added up into its figures: what
//! the publishers sent, what the subscribers and churners saw, and what the
//! server and the load tester cost.

use std::collections::HashMap;

use anyhow::Context;
use tokio::task::JoinSet;

use super::publisher::PubOut;
use super::subscriber::SubOut;
use crate::figures::{ChurnFigures, RunResult, ServerFigures};
use crate::measure::{self, Deliveries, SeqReport, Series};
use crate::target::Running;

/// What the publishers sent, per channel and per stream: the drain waits
/// for each channel's total, and each subscriber's sequence check closes a
/// stream at what its publisher sent, so that loss at the tail counts too.
pub(super) struct Sent {
    /// Per channel: (sent in total, sent after the warm-up).
    pub(super) per_channel: Vec<(u64, u64)>,
    /// Per (publisher, channel): sent in total.
    by_stream: HashMap<(u32, u32), u64>,
}

impl Sent {
    /// Adds up every publisher's report.
    pub(super) fn tally(pub_outs: &[PubOut], channels: usize) -> Self {
        let mut per_channel = vec![(0u64, 0u64); channels];
        let mut by_stream: HashMap<(u32, u32), u64> = HashMap::new();
        for p in pub_outs {
            for &(c, total, measured) in &p.sent {
                if let Some(s) = per_channel.get_mut(c as usize) {
                    s.0 += total;
                    s.1 += measured;
                }
                by_stream.insert((p.id, c), total);
            }
        }
        Self {
            per_channel,
            by_stream,
        }
    }
}

/// What the churners did, added up.
pub(super) async fn join_churners(
    mut churn_tasks: JoinSet<anyhow::Result<(u64, u64)>>,
) -> anyhow::Result<ChurnFigures> {
    let mut churn = ChurnFigures::default();
    while let Some(joined) = churn_tasks.join_next().await {
        let (ops, deliveries) = joined.context("churner task")??;
        churn.operations += ops;
        churn.deliveries += deliveries;
    }
    Ok(churn)
}

/// Merges what the subscribers saw into the result's counts and checks.
pub(super) async fn join_subscribers(
    mut sub_tasks: JoinSet<SubOut>,
    sent: &Sent,
    sigfig: u8,
    result: &mut RunResult,
) -> anyhow::Result<Deliveries> {
    let mut seen = Deliveries::new(sigfig)?;
    let mut seq = SeqReport::default();
    while let Some(joined) = sub_tasks.join_next().await {
        let out = joined.context("subscriber task")?;
        seen.merge(&out.seen)?;
        result.subscribers += 1;
        if let Some(f) = out.failure {
            result.subscriber_failures += 1;
            result.first_failure.get_or_insert(f);
        }
        result.expected_deliveries += sent
            .per_channel
            .get(out.channel as usize)
            .map_or(0, |s| s.1);
        for (&(p, c), &n) in &sent.by_stream {
            if c == out.channel {
                seq.add(out.seq.finish((p, c), n));
            }
        }
        for (p, c) in out.seq.streams() {
            if c != out.channel || !sent.by_stream.contains_key(&(p, c)) {
                result.unexpected += 1;
            }
        }
    }
    result.seq = seq;
    Ok(seen)
}

/// Adds up what the publishers sent; returns their time series together.
pub(super) fn add_publishers(pub_outs: &[PubOut], result: &mut RunResult) -> Series {
    let mut published_series = Series::default();
    for p in pub_outs {
        published_series.merge(&p.series);
        for &(_, total, measured) in &p.sent {
            result.published_total += total;
            result.published += measured;
        }
        result.unsent += p.unsent;
    }
    published_series
}

/// CPU seconds so far of the server (when it is a child) and of the load
/// tester itself.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cpu {
    server: Option<f64>,
    own: Option<f64>,
}

impl Cpu {
    pub(super) fn now(server: &Running) -> anyhow::Result<Self> {
        Ok(Self {
            server: server.pid().map(measure::cpu_seconds).transpose()?,
            own: measure::cpu_seconds(std::process::id()).ok(),
        })
    }
}

/// Fills in what the server and the load tester cost between `start` and
/// `end`, the server's memory `before` publishing and at the end.
pub(super) fn set_cost(
    result: &mut RunResult,
    start: Cpu,
    end: Cpu,
    rss_before: Option<measure::Rss>,
    rss_end: Option<measure::Rss>,
) {
    if let (Some(c0), Some(c1)) = (start.own, end.own) {
        result.loadtest_cpu_seconds = Some((c1 - c0).max(0.0));
    }
    if let (Some(c0), Some(c1), Some(rss)) = (start.server, end.server, rss_end) {
        result.server = Some(ServerFigures::over(
            c1 - c0,
            rss_before,
            rss,
            result.delivered,
        ));
    }
}
