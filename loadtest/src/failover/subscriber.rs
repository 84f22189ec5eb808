//! A subscriber through Sentinel: subscribed on the master, and whenever
//! its connection drops, back through a sentinel to whichever node is the
//! master now, subscribing again (as ioredis' autoResubscribe does). It
//! records when each message first arrived and every connection it had,
//! until it has seen every publisher's end marker.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;

use super::client::Resolver;
use super::{CHANNEL, END, Progress};
use crate::figures::FailoverParams;
use crate::measure::{Clock, SeqTracker};
use crate::resp::{Conn, Event, Frame, parse_event};
use crate::stamp::decode_header;

/// Sequence numbers beyond this are not a load-tester message (a run
/// publishes far fewer), so a bad payload cannot make the table huge.
const MAX_SEQ: u64 = 100_000_000;

/// One connection of a subscriber.
#[derive(Debug, Clone)]
pub(super) struct Epoch {
    pub(super) addr: SocketAddr,
    /// When its SUBSCRIBE was confirmed.
    pub(super) subscribed_ns: u64,
    /// Its first delivery.
    pub(super) first_delivery_ns: Option<u64>,
}

/// What one subscriber saw.
#[derive(Debug, Default)]
pub(super) struct SubOut {
    /// Per publisher, per sequence number: when it first arrived (0: never).
    pub(super) arrivals: Vec<Vec<u64>>,
    /// Duplicates and reordering.
    pub(super) seq: SeqTracker,
    /// Deliveries from no known publisher.
    pub(super) unexpected: u64,
    pub(super) epochs: Vec<Epoch>,
    /// Why the last connection ended, if it did.
    pub(super) last_error: Option<String>,
}

/// Opens a Sentinel-aware connection and subscribes it: `None` once `stop`
/// fires first.
pub(super) async fn subscribe(
    resolver: &mut Resolver,
    params: &FailoverParams,
    clock: &Clock,
    stop: &CancellationToken,
) -> Option<(Conn, Epoch)> {
    loop {
        let (mut conn, addr) = resolver.until_connected(params.retry, stop).await?;
        match conn.command(&[b"SUBSCRIBE", CHANNEL]).await {
            Ok(f) if f.head() == Some(b"subscribe") => {
                let epoch = Epoch {
                    addr,
                    subscribed_ns: clock.now_ns(),
                    first_delivery_ns: None,
                };
                return Some((conn, epoch));
            }
            other => tracing::debug!("SUBSCRIBE on {addr}: {other:?}"),
        }
        tokio::select! {
            () = stop.cancelled() => return None,
            () = tokio::time::sleep(params.retry) => {}
        }
    }
}

/// Where a subscriber stands: which end markers it saw, and whether it has
/// been counted as back after the kill.
#[derive(Debug)]
struct State {
    ended: Vec<bool>,
    back: bool,
}

/// Reads and resubscribes until every end marker arrived or `stop`.
pub(super) async fn subscriber(
    first: (Conn, Epoch),
    mut resolver: Resolver,
    params: Arc<FailoverParams>,
    clock: Arc<Clock>,
    progress: Arc<Progress>,
    stop: CancellationToken,
) -> SubOut {
    let mut out = SubOut {
        arrivals: vec![Vec::new(); params.publishers],
        ..SubOut::default()
    };
    let mut state = State {
        ended: vec![false; params.publishers],
        back: false,
    };
    let mut current = Some(first);
    while let Some((mut conn, epoch)) = current.take() {
        out.epochs.push(epoch);
        match read(&mut conn, &clock, &stop, &progress, &mut out, &mut state).await {
            Ok(()) => break,
            Err(e) => out.last_error = Some(format!("{e:#}")),
        }
        current = subscribe(&mut resolver, &params, &clock, &stop).await;
    }
    out
}

/// Reads deliveries on one connection: `Ok` when done (every end marker
/// seen, or `stop`), `Err` when the connection failed.
async fn read(
    conn: &mut Conn,
    clock: &Clock,
    stop: &CancellationToken,
    progress: &Progress,
    out: &mut SubOut,
    state: &mut State,
) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => return Ok(()),
            r = conn.reader.fill() => { r?; }
        }
        let now = clock.now_ns();
        while let Some((event, used)) = parse_event(conn.reader.buffer())? {
            if let Event::Message { payload, .. } = &event {
                let (p, _, seq, _) =
                    decode_header(payload).context("delivery without a load-tester header")?;
                note(out, &mut state.ended, p, seq, now)?;
            } else if let Event::Other(Frame::Error(e)) = &event {
                bail!("server error: {}", String::from_utf8_lossy(e));
            }
            conn.reader.consume(used);
        }
        if !state.back
            && let Some(e) = out.epochs.last()
            && e.first_delivery_ns.is_some()
            && progress.after_kill(e.subscribed_ns)
        {
            state.back = true;
            progress.subscribers_back.fetch_add(1, Ordering::AcqRel);
        }
        if state.ended.iter().all(|&e| e) {
            return Ok(());
        }
    }
}

/// Records the arrival of `seq` from publisher `p` at `now`.
fn note(out: &mut SubOut, ended: &mut [bool], p: u32, seq: u64, now: u64) -> anyhow::Result<()> {
    let (Some(arrivals), Some(end)) = (out.arrivals.get_mut(p as usize), ended.get_mut(p as usize))
    else {
        out.unexpected += 1;
        return Ok(());
    };
    if let Some(e) = out.epochs.last_mut() {
        e.first_delivery_ns.get_or_insert(now);
    }
    if seq == END {
        *end = true;
        return Ok(());
    }
    if seq >= MAX_SEQ {
        bail!("sequence number {seq} out of range");
    }
    let at = usize::try_from(seq)?;
    if arrivals.len() <= at {
        arrivals.resize(at + 1, 0);
    }
    if let Some(slot) = arrivals.get_mut(at)
        && *slot == 0
    {
        *slot = now;
    }
    out.seq.observe((p, 0), seq);
    Ok(())
}
