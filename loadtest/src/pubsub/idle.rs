//! The `idle` scenario: many subscribed connections that receive nothing,
//! to weigh the server's memory per connection.

use std::sync::Arc;

use anyhow::Context;
use indicatif::ProgressBar;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::wire::{Mode, subscribe, verify_numsub};
use crate::figures::{IdleFigures, Params, RunResult, ServerFigures};
use crate::measure;
use crate::resp::Conn;
use crate::target::Running;

/// Opens `connections` subscribed connections, checks the server counts
/// them, and weighs the server before and after.
pub(super) async fn run_idle(
    params: &Params,
    server: &Running,
    progress: &ProgressBar,
) -> anyhow::Result<RunResult> {
    let addr = server.addr;
    let mut control = Conn::connect(addr, params.resp3).await?;
    let before = server.pid().map(measure::rss).transpose()?;
    let k = params.connections;
    progress.set_length(k as u64);
    progress.set_position(0);
    progress.set_message("opening idle connections");
    // Bounded concurrency: a burst of ten thousand SYNs overflows the
    // listen backlog and turns into one-second retransmissions.
    let limit = Arc::new(Semaphore::new(256));
    let mut set = JoinSet::new();
    for i in 0..k {
        let limit = Arc::clone(&limit);
        let name = if params.idle_shared {
            b"lt:idle".to_vec()
        } else {
            format!("lt:idle:{i}").into_bytes()
        };
        let resp3 = params.resp3;
        set.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            subscribe(addr, resp3, Mode::Plain, &[name]).await
        });
    }
    let mut conns = Vec::with_capacity(k);
    while let Some(joined) = set.join_next().await {
        conns.push(joined.context("idle connection task")??);
        progress.inc(1);
    }
    if params.idle_shared {
        verify_numsub(&mut control, b"NUMSUB", &[b"lt:idle".to_vec()], k as u64).await?;
    } else {
        let names: Vec<Vec<u8>> = (0..k)
            .map(|i| format!("lt:idle:{i}").into_bytes())
            .collect();
        verify_numsub(&mut control, b"NUMSUB", &names, 1).await?;
    }
    let after = server.pid().map(measure::rss).transpose()?;
    let bytes_per_connection = match (before, after) {
        (Some(b), Some(a)) if k > 0 => Some((a.rss_bytes as f64 - b.rss_bytes as f64) / k as f64),
        _ => None,
    };
    drop(conns);
    Ok(RunResult {
        subscribers: k,
        server: after.map(|a| ServerFigures {
            rss_before_bytes: before.map(|b| b.rss_bytes).unwrap_or_default(),
            rss_bytes: a.rss_bytes,
            peak_rss_bytes: a.peak_rss_bytes,
            ..ServerFigures::default()
        }),
        idle: Some(IdleFigures {
            connections: k as u64,
            rss_before_bytes: before.map(|b| b.rss_bytes),
            rss_after_bytes: after.map(|a| a.rss_bytes),
            bytes_per_connection,
        }),
        ..RunResult::default()
    })
}
