//! What sends: emitters on an open-loop schedule, clients asking their
//! node to emit (with acks in `acks`) or the load tester's own broker
//! emitters (`emitter`), and churners that join and leave rooms
//! (`join-storm`).
//!
//! Emitters stamp each message with its scheduled send time, so a node or
//! broker that stalls shows up as latency instead of slowing the senders
//! down (coordinated omission).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::{Context, bail};
use respub_socketio::FredDriver;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::client::{self, Handle};
use super::codec;
use super::layout::{Emitter, room, room_name, to_u32};
use crate::figures::{SioParams, SioScenario};
use crate::measure::{Clock, Latency, Series, StreamId};

/// The message: `[emitter, room, seq, sent ns, padding]`.
fn payload(e: &Emitter, seq: u64, sent_ns: u64, padding: &str) -> String {
    let mut b = itoa::Buffer::new();
    let mut out = String::with_capacity(48 + padding.len());
    out.push('[');
    for n in [
        u64::from(e.id),
        u64::from(e.room.unwrap_or(0)),
        seq,
        sent_ns,
    ] {
        out.push_str(b.format(n));
        out.push(',');
    }
    out.push('"');
    out.push_str(padding);
    out.push_str("\"]");
    out
}

/// Where an emitter's messages go.
#[derive(Debug, Clone)]
pub(super) enum Sink {
    /// A client, which asks its node to emit them.
    Client(Handle),
    /// A `respub_socketio::Emitter`, which publishes them for every node
    /// to relay, as Node's `@socket.io/redis-emitter` does (`emitter`).
    Broker(respub_socketio::Emitter<FredDriver>),
}

/// What one emitter sent.
#[derive(Debug)]
pub(super) struct EmitOut {
    pub(super) stream: StreamId,
    pub(super) sent: u64,
    pub(super) measured: u64,
    pub(super) series: Series,
    pub(super) last_ns: u64,
    pub(super) unsent: u64,
}

/// Broadcasts with acks: the nodes' replies as they come.
#[derive(Debug)]
pub(super) struct AckTally {
    pub(super) round_trip: Mutex<Latency>,
    pub(super) replies: AtomicU64,
    pub(super) answers: AtomicU64,
    notify: Notify,
}

impl AckTally {
    /// No replies yet.
    pub(super) fn new() -> anyhow::Result<Self> {
        Ok(Self {
            round_trip: Mutex::new(Latency::new(3)?),
            replies: AtomicU64::new(0),
            answers: AtomicU64::new(0),
            notify: Notify::new(),
        })
    }

    async fn await_reply(
        self: Arc<Self>,
        pending: client::Pending,
        epoch: Instant,
        due_ns: u64,
        measured: bool,
    ) {
        let Ok(reply) = pending.reply().await else {
            return;
        };
        let answers = serde_json::from_str::<(u64,)>(&reply.json).map_or(0, |(n,)| n);
        if measured {
            let rtt = reply.at.saturating_duration_since(epoch).as_nanos();
            let rtt = u64::try_from(rtt)
                .unwrap_or(u64::MAX)
                .saturating_sub(due_ns);
            self.round_trip
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .record(rtt);
        }
        self.answers.fetch_add(answers, Ordering::Relaxed);
        self.replies.fetch_add(1, Ordering::AcqRel);
        self.notify.notify_one();
    }

    pub(super) async fn drained(&self, requests: u64, deadline: tokio::time::Instant) {
        while self.replies.load(Ordering::Acquire) < requests {
            tokio::select! {
                () = self.notify.notified() => {}
                () = tokio::time::sleep_until(deadline) => return,
            }
        }
    }
}

/// Sends on schedule until the end of the run, the message limit, or until
/// it falls more than the drain timeout behind.
pub(super) async fn emit(
    sink: Sink,
    e: Emitter,
    scenario: SioScenario,
    p: Arc<SioParams>,
    clock: Clock,
    offset_ns: u64,
    acks: Option<Arc<AckTally>>,
) -> anyhow::Result<EmitOut> {
    let padding = "x".repeat(p.payload);
    let interval = 1e9 / p.rate.max(1e-3);
    let scheduled = |i: u64| clock.start_ns + offset_ns + (i as f64 * interval) as u64;
    let limit = p.messages.unwrap_or(u64::MAX);
    let mut out = EmitOut {
        stream: e.stream(),
        sent: 0,
        measured: 0,
        series: Series::default(),
        last_ns: 0,
        unsent: 0,
    };
    loop {
        let due = scheduled(out.sent);
        if due >= clock.end_ns || out.sent >= limit {
            break;
        }
        if clock.now_ns() >= clock.give_up_ns {
            let span = clock.end_ns.saturating_sub(clock.start_ns + offset_ns) as f64;
            out.unsent = ((span / interval).ceil() as u64)
                .min(limit)
                .saturating_sub(out.sent);
            break;
        }
        tokio::time::sleep_until(clock.instant(due)).await;
        let measured = due >= clock.warm_end_ns;
        let body = || payload(&e, out.sent, due, &padding);
        match (&sink, scenario, &acks) {
            (Sink::Broker(emitter), ..) => publish(emitter, &e, out.sent, due, &padding).await?,
            (Sink::Client(handle), SioScenario::Acks, Some(tally)) => {
                let pending = handle.request("ackcast", body()).await?;
                tokio::spawn(Arc::clone(tally).await_reply(pending, clock.epoch, due, measured));
            }
            (Sink::Client(handle), SioScenario::Broadcast, _) => {
                handle
                    .send(codec::event(None, "broadcast", &body()))
                    .await?;
            }
            (Sink::Client(handle), ..) => {
                let args = format!("{},{}", room_name(e.room.unwrap_or(0)), body());
                handle.send(codec::event(None, "emit", &args)).await?;
            }
        }
        out.sent += 1;
        out.measured += u64::from(measured);
        out.series.add(due.saturating_sub(clock.start_ns), 1);
    }
    out.last_ns = clock.now_ns();
    Ok(out)
}

/// Publishes message `seq` of `e`'s stream through the broker, to its
/// room: `emitter.to(room).emit("m", payload)`, the message a node's
/// `emit` handler sends, so the clients check both alike.
async fn publish(
    emitter: &respub_socketio::Emitter<FredDriver>,
    e: &Emitter,
    seq: u64,
    sent_ns: u64,
    padding: &str,
) -> anyhow::Result<()> {
    let r = e.room.unwrap_or(0);
    // A tuple is a list of arguments: this is one, the stamp array.
    let args = ((u64::from(e.id), u64::from(r), seq, sent_ns, padding),);
    emitter
        .to(room(r))
        .emit("m", &args)
        .await
        .with_context(|| format!("emitting to {} through the broker", room(r)))?;
    Ok(())
}

/// Joins and leaves rooms in turn until stopped; returns the operations
/// acknowledged and their latency. The first join and leave always
/// complete, so that a run that churned at all reports it.
pub(super) async fn churn(
    handle: Handle,
    c: usize,
    rooms: usize,
    stop: CancellationToken,
) -> anyhow::Result<(u64, Latency)> {
    let mut latency = Latency::new(3)?;
    let mut ops = 0u64;
    for k in 0.. {
        let room = room_name(to_u32((c + k) % rooms.max(1)));
        for event in ["join", "leave"] {
            let sent = Instant::now();
            let call = handle.call(event, room.clone());
            let reply = if k == 0 {
                call.await?
            } else {
                tokio::select! {
                    () = stop.cancelled() => return Ok((ops, latency)),
                    r = call => r?,
                }
            };
            if reply.json != "[\"ok\"]" {
                bail!("{event} {room} answered {}", reply.json);
            }
            let ns = reply.at.saturating_duration_since(sent).as_nanos();
            latency.record(u64::try_from(ns).unwrap_or(u64::MAX));
            ops += 1;
        }
    }
    Ok((ops, latency))
}
