//! A measuring subscriber: reads deliveries until stopped, checking each
//! stream's sequence and recording latency and arrivals.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;

use super::gate::{DEAD, Gate};
use super::wire::decode_header;
use crate::measure::{Clock, Deliveries, SeqTracker};
use crate::resp::{Conn, DeliveryMatcher, Event, Frame, Reader, parse_event};

/// What one subscriber saw.
#[derive(Debug)]
pub(super) struct SubOut {
    pub(super) channel: u32,
    pub(super) seen: Deliveries,
    pub(super) seq: SeqTracker,
    pub(super) failure: Option<String>,
}

/// Reads deliveries until stopped: latency, sequence checks, time series.
/// The counter it bumps after each read is what the closed loop waits on.
#[allow(clippy::too_many_arguments)]
pub(super) async fn subscriber(
    conn: Conn,
    channel: u32,
    matcher: DeliveryMatcher,
    clock: Arc<Clock>,
    gates: Arc<Vec<Gate>>,
    counter: Arc<AtomicU64>,
    stop: CancellationToken,
    seen: Deliveries,
) -> SubOut {
    let Conn { mut reader, writer } = conn;
    let mut out = SubOut {
        channel,
        seen,
        seq: SeqTracker::default(),
        failure: None,
    };
    let gate = gates.get(channel as usize);
    let run = subscriber_loop(
        &mut reader,
        &matcher,
        &clock,
        gate,
        &counter,
        &stop,
        &mut out,
    );
    if let Err(e) = run.await {
        out.failure = Some(format!("{e:#}"));
        counter.store(DEAD, Ordering::Release);
        if let Some(g) = gate {
            g.notify.notify_waiters();
        }
    }
    // The write half lives until here: closing it early would look like a
    // client disconnect to the server.
    drop(writer);
    out
}

async fn subscriber_loop(
    reader: &mut Reader,
    matcher: &DeliveryMatcher,
    clock: &Clock,
    gate: Option<&Gate>,
    counter: &AtomicU64,
    stop: &CancellationToken,
    out: &mut SubOut,
) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => return Ok(()),
            r = reader.fill() => { r?; }
        }
        // Everything in this read arrived by now.
        let now = clock.now_ns();
        let mut n = 0;
        loop {
            let buf = reader.buffer();
            let (payload, used) = match matcher.matches(buf) {
                Some(hit) => hit,
                None => match parse_event(buf)? {
                    None => break,
                    Some((Event::Message { payload, .. }, used)) => (payload, used),
                    Some((Event::Other(Frame::Error(e)), _)) => {
                        bail!("server error: {}", String::from_utf8_lossy(&e));
                    }
                    Some((Event::Other(_), used)) => {
                        reader.consume(used);
                        continue;
                    }
                },
            };
            let (p, c, seq, sent) =
                decode_header(payload).context("delivery without a load-tester header")?;
            out.seq.observe((p, c), seq);
            out.seen.observe(clock, sent, now);
            n += 1;
            reader.consume(used);
        }
        if n > 0 {
            out.seen.arrived(clock, now, n);
            counter.store(out.seen.total, Ordering::Release);
            if let Some(g) = gate {
                g.notify.notify_waiters();
            }
        }
    }
}
