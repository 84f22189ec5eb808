//! A publisher: sends PUBLISH (or SPUBLISH) under the closed or the open
//! loop model, then waits until the server has answered every one.

use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::{BufMut, BytesMut};

use super::gate::Gate;
use super::wire::{Mode, channel_name, publish_prefix};
use crate::figures::{LoadModel, Params};
use crate::measure::{Clock, Series};
use crate::resp::{Conn, Frame, Reader, Writer};
use crate::stamp::put_message;

/// A publisher flushes at the latest when this much is queued, whatever
/// the batch size, so large payloads do not build huge writes.
const MAX_WRITE: usize = 256 * 1024;

/// What one publisher sent.
#[derive(Debug)]
pub(super) struct PubOut {
    pub(super) id: u32,
    /// Per channel: (channel, sent in total, sent after the warm-up).
    pub(super) sent: Vec<(u32, u64, u64)>,
    pub(super) series: Series,
    pub(super) last_ns: u64,
    /// Open loop: messages scheduled before the end but never sent because
    /// the publisher fell too far behind.
    pub(super) unsent: u64,
}

/// Per-channel state of a publisher.
#[derive(Debug)]
struct PubChannel {
    channel: u32,
    prefix: BytesMut,
    seq: u64,
    measured: u64,
    allowance: u64,
}

impl PubChannel {
    fn write(&mut self, w: &mut Writer, id: u32, sent_ns: u64, payload: usize, warm_end_ns: u64) {
        let buf = w.buf_mut();
        buf.put_slice(&self.prefix);
        put_message(buf, (id, self.channel, self.seq, sent_ns), payload);
        buf.put_slice(b"\r\n");
        self.seq += 1;
        if sent_ns >= warm_end_ns {
            self.measured += 1;
        }
    }
}

/// Reads a publisher's replies until the PONG that follows its last
/// PUBLISH, so the publisher finishes only once the server has handled
/// every message it sent.
async fn publish_replies(mut reader: Reader) -> anyhow::Result<u64> {
    let mut replies = 0u64;
    loop {
        match reader.read_frame().await? {
            Frame::Integer(_) => replies += 1,
            Frame::Simple(s) if s.as_ref() == b"PONG" => return Ok(replies),
            Frame::Error(e) => bail!("PUBLISH failed: {}", String::from_utf8_lossy(&e)),
            other => bail!("unexpected reply to PUBLISH: {other:?}"),
        }
    }
}

/// A publisher's state while it sends: its connection, its channels and
/// what it sent so far.
struct Sender<'a> {
    writer: Writer,
    id: u32,
    chans: Vec<PubChannel>,
    params: &'a Params,
    clock: &'a Clock,
    series: Series,
    limit: u64,
    batch: u64,
    sent: u64,
    rr: usize,
}

impl Sender<'_> {
    /// Sends until the end of the run or the message limit, at most
    /// `window` messages ahead of each channel's slowest subscriber.
    async fn closed_loop(&mut self, window: u64, gates: &[Gate]) -> anyhow::Result<()> {
        let clock = self.clock;
        let n_chans = self.chans.len().max(1);
        loop {
            let now = clock.now_ns();
            if now >= clock.end_ns || self.sent >= self.limit {
                return Ok(());
            }
            let mut k = 0u64;
            let mut blocked = None;
            while k < self.batch && self.sent < self.limit && self.writer.pending() < MAX_WRITE {
                let Some(ch) = self.chans.get_mut(self.rr % n_chans) else {
                    break;
                };
                let Some(gate) = gates.get(ch.channel as usize) else {
                    break;
                };
                if ch.allowance == 0 {
                    ch.allowance = gate.reserve(window, self.batch);
                    if ch.allowance == 0 {
                        blocked = Some(gate);
                        break;
                    }
                }
                ch.allowance -= 1;
                ch.write(
                    &mut self.writer,
                    self.id,
                    now,
                    self.params.payload,
                    clock.warm_end_ns,
                );
                k += 1;
                self.sent += 1;
                self.rr += 1;
            }
            self.writer.flush().await?;
            if k > 0 {
                self.series.add(now.saturating_sub(clock.start_ns), k);
            }
            if let Some(gate) = blocked {
                let notified = gate.notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if !gate.has_room(window) {
                    tokio::select! {
                        () = notified => {}
                        () = tokio::time::sleep_until(clock.instant(clock.end_ns)) => {}
                    }
                }
            }
        }
    }

    /// Sends `rate` messages per second (all publishers together) on a
    /// fixed schedule; returns how many it never sent because it fell
    /// more than the drain timeout behind.
    async fn open_loop(&mut self, rate: f64) -> anyhow::Result<u64> {
        let clock = self.clock;
        let n_chans = self.chans.len().max(1);
        let per_pub = (rate / self.params.publishers.max(1) as f64).max(1e-3);
        let interval = 1e9 / per_pub;
        let scheduled = |i: u64| clock.start_ns + (i as f64 * interval) as u64;
        loop {
            let due = scheduled(self.sent);
            if due >= clock.end_ns || self.sent >= self.limit {
                return Ok(0);
            }
            let now = clock.now_ns();
            if now >= clock.give_up_ns {
                let span = clock.end_ns.saturating_sub(clock.start_ns) as f64;
                let scheduled_total = ((span / interval).ceil() as u64).min(self.limit);
                return Ok(scheduled_total.saturating_sub(self.sent));
            }
            if due > now {
                self.writer.flush().await?;
                tokio::time::sleep_until(clock.instant(due)).await;
                continue;
            }
            let mut k = 0;
            while k < self.batch && self.sent < self.limit && self.writer.pending() < MAX_WRITE {
                let at = scheduled(self.sent);
                if at > now || at >= clock.end_ns {
                    break;
                }
                let Some(ch) = self.chans.get_mut(self.rr % n_chans) else {
                    break;
                };
                // Stamped with the scheduled time: a late send is latency.
                ch.write(
                    &mut self.writer,
                    self.id,
                    at,
                    self.params.payload,
                    clock.warm_end_ns,
                );
                k += 1;
                self.sent += 1;
                self.rr += 1;
            }
            self.writer.flush().await?;
            self.series.add(now.saturating_sub(clock.start_ns), k);
        }
    }
}

/// Publisher `id`: sends to `channels` as `params` say, then checks that
/// the server answered every message.
pub(super) async fn publisher(
    conn: Conn,
    id: u32,
    channels: Vec<u32>,
    mode: Mode,
    params: Params,
    clock: Arc<Clock>,
    gates: Arc<Vec<Gate>>,
) -> anyhow::Result<PubOut> {
    let Conn { reader, writer } = conn;
    let replies = tokio::spawn(publish_replies(reader));
    let chans: Vec<PubChannel> = channels
        .iter()
        .map(|&c| PubChannel {
            channel: c,
            prefix: publish_prefix(mode, &channel_name(c), params.payload),
            seq: 0,
            measured: 0,
            allowance: 0,
        })
        .collect();
    let mut s = Sender {
        writer,
        id,
        chans,
        params: &params,
        clock: &clock,
        series: Series::default(),
        limit: params.messages.unwrap_or(u64::MAX),
        batch: params.batch.max(1) as u64,
        sent: 0,
        rr: 0,
    };
    tokio::time::sleep_until(clock.instant(clock.start_ns)).await;
    let unsent = match params.load {
        LoadModel::Closed { window } => {
            s.closed_loop(window, &gates).await?;
            0
        }
        LoadModel::Open { rate } => s.open_loop(rate).await?,
    };
    let Sender {
        mut writer,
        chans,
        series,
        sent,
        ..
    } = s;
    let last_ns = clock.now_ns();
    writer.push(&[b"PING"]);
    writer.flush().await?;
    let acked = replies.await.context("publisher reply task")??;
    if acked != sent {
        bail!("publisher {id}: {sent} PUBLISH sent, {acked} replies");
    }
    drop(writer);
    Ok(PubOut {
        id,
        sent: chans
            .iter()
            .map(|c| (c.channel, c.seq, c.measured))
            .collect(),
        series,
        last_ns,
        unsent,
    })
}

/// Which channels publisher `p` of `publishers` sends to, out of `channels`:
/// a partition when there are at least as many channels as publishers,
/// otherwise publishers share channels round-robin.
pub(super) fn publisher_channels(p: usize, publishers: usize, channels: usize) -> Vec<u32> {
    let to_u32 = |c: usize| u32::try_from(c).unwrap_or(u32::MAX);
    if channels >= publishers {
        (0..channels)
            .filter(|c| c % publishers == p)
            .map(to_u32)
            .collect()
    } else {
        vec![to_u32(p % channels)]
    }
}
