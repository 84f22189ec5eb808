//! The workloads, and the machinery that runs one of them against one
//! server: subscribe and verify, publish under a closed or open loop model,
//! drain, and collect the figures.
//!
//! Every delivery carries `[publisher u32][channel u32][seq u64][sent ns
//! u64]` (little-endian) then padding, so subscribers can measure latency
//! against the shared epoch (one process, so one `Instant` clock) and check
//! each (publisher, channel) stream for loss, duplicates and reordering.
//! Only messages whose send time falls after the warm-up count towards the
//! figures; sequence checks cover everything.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::{BufMut, BytesMut};
use indicatif::ProgressBar;
use serde::{Serialize, Serializer};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::measure::{
    self, Clock, Deliveries, Latency, LatencySummary, SeqReport, SeqTracker, Series,
};
use crate::resp::{Conn, DeliveryMatcher, Event, Frame, Reader, Writer, parse_event};
use crate::socketio::SioFigures;
use crate::target::Running;

/// Bytes of the header every payload starts with.
pub(crate) const HEADER_LEN: usize = 24;

/// A publisher flushes at the latest when this much is queued, whatever
/// the batch size, so large payloads do not build huge writes.
const MAX_WRITE: usize = 256 * 1024;

/// A subscriber that disconnected stops gating publishers: its counter is
/// pinned this high.
const DEAD: u64 = u64::MAX / 2;

/// The workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ScenarioKind {
    /// P publishers, one channel, S subscribers: fan-out cost.
    Fanout,
    /// C channels with S subscribers each, P publishers spread over them.
    Channels,
    /// N non-matching patterns held while S subscribers receive through a
    /// matching pattern: the cost of PUBLISH as patterns grow.
    Patterns,
    /// SPUBLISH/SSUBSCRIBE over C shard channels with S subscribers each.
    Sharded,
    /// A SUBSCRIBE/UNSUBSCRIBE storm from churner connections while
    /// publishing to S stable subscribers.
    Churn,
    /// K idle subscribed connections: server memory per connection.
    Idle,
}

impl ScenarioKind {
    /// The name used on the command line and in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ScenarioKind::Fanout => "fanout",
            ScenarioKind::Channels => "channels",
            ScenarioKind::Patterns => "patterns",
            ScenarioKind::Sharded => "sharded",
            ScenarioKind::Churn => "churn",
            ScenarioKind::Idle => "idle",
        }
    }

    /// Channels the scenario publishes to, given the `--channels` knob:
    /// only `channels` and `sharded` spread over several.
    pub(crate) fn effective_channels(self, knob: usize) -> usize {
        match self {
            ScenarioKind::Channels | ScenarioKind::Sharded => knob.max(1),
            _ => 1,
        }
    }
}

/// How publishers pace themselves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "model", rename_all = "lowercase")]
pub(crate) enum LoadModel {
    /// Closed loop: publishers stay at most `window` messages ahead of the
    /// slowest subscriber of each channel. Finds peak sustainable
    /// throughput; latency then includes the queueing the window allows.
    Closed {
        /// Messages in flight per channel.
        window: u64,
    },
    /// Open loop: `rate` messages per second in total, send times scheduled
    /// in advance and latency measured from the scheduled time, so a stalled
    /// server shows up as latency instead of silently slowing the sender
    /// (coordinated omission).
    Open {
        /// Messages per second, all publishers together.
        rate: f64,
    },
}

fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Everything that defines one scenario run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Params {
    /// Which workload.
    pub(crate) scenario: ScenarioKind,
    /// Publisher connections.
    pub(crate) publishers: usize,
    /// Subscribers per channel.
    pub(crate) subscribers: usize,
    /// Channels (`channels` and `sharded` only).
    pub(crate) channels: usize,
    /// Non-matching patterns held (`patterns`).
    pub(crate) patterns: usize,
    /// Churning connections (`churn`).
    pub(crate) churners: usize,
    /// Idle connections (`idle`).
    pub(crate) connections: usize,
    /// `idle`: all connections subscribe one shared channel instead of one each.
    pub(crate) idle_shared: bool,
    /// Payload bytes per message, header included.
    pub(crate) payload: usize,
    /// Speak RESP3 (`HELLO 3`) instead of RESP2.
    pub(crate) resp3: bool,
    /// Measured publishing time, after the warm-up.
    #[serde(serialize_with = "secs")]
    pub(crate) duration: Duration,
    /// Publishing time before measuring starts.
    #[serde(serialize_with = "secs")]
    pub(crate) warmup: Duration,
    /// Stop each publisher after this many messages (warm-up included).
    pub(crate) messages: Option<u64>,
    /// Closed or open loop.
    pub(crate) load: LoadModel,
    /// Commands per write (pipelining depth).
    pub(crate) batch: usize,
    /// How long to wait for the last deliveries once publishing stops.
    #[serde(serialize_with = "secs")]
    pub(crate) drain_timeout: Duration,
}

impl Params {
    /// A one-line description for table headers.
    pub(crate) fn describe(&self) -> String {
        let load = match self.load {
            LoadModel::Closed { window } => format!("closed loop, window {window}"),
            LoadModel::Open { rate } => format!("open loop, {rate} msg/s"),
        };
        let proto = if self.resp3 { "RESP3" } else { "RESP2" };
        let time = format!(
            "{}s + {}s warm-up{}",
            self.duration.as_secs_f64(),
            self.warmup.as_secs_f64(),
            self.messages
                .map(|m| format!(", at most {m} msgs/publisher"))
                .unwrap_or_default()
        );
        let ch = self.scenario.effective_channels(self.channels);
        match self.scenario {
            ScenarioKind::Idle => format!(
                "{} idle connections, {}, {proto}",
                self.connections,
                if self.idle_shared {
                    "one shared channel"
                } else {
                    "one channel each"
                }
            ),
            ScenarioKind::Fanout => format!(
                "{} publishers, 1 channel, {} subscribers, {} B, {proto}, {load}, {time}",
                self.publishers, self.subscribers, self.payload
            ),
            ScenarioKind::Channels | ScenarioKind::Sharded => format!(
                "{} publishers, {ch} channels x {} subscribers, {} B, {proto}, {load}, {time}",
                self.publishers, self.subscribers, self.payload
            ),
            ScenarioKind::Patterns => format!(
                "{} publishers, {} non-matching patterns, {} pattern subscribers, {} B, {proto}, {load}, {time}",
                self.publishers, self.patterns, self.subscribers, self.payload
            ),
            ScenarioKind::Churn => format!(
                "{} publishers, {} stable subscribers, {} churners, {} B, {proto}, {load}, {time}",
                self.publishers, self.subscribers, self.churners, self.payload
            ),
        }
    }
}

/// The server's own cost, for targets the load tester started.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct ServerFigures {
    /// User + system CPU seconds from the end of the warm-up to the end of
    /// the drain.
    pub(crate) cpu_seconds: f64,
    /// CPU seconds per million measured deliveries.
    pub(crate) cpu_seconds_per_million_deliveries: Option<f64>,
    /// RSS once everything was subscribed, before publishing.
    pub(crate) rss_before_bytes: u64,
    /// RSS at the end.
    pub(crate) rss_bytes: u64,
    /// Peak RSS of the process.
    pub(crate) peak_rss_bytes: u64,
}

impl ServerFigures {
    /// `cpu` seconds spent from the end of the warm-up to the end of the
    /// drain, RSS `before` publishing and at the `end`, for `delivered`
    /// measured deliveries.
    pub(crate) fn over(
        cpu: f64,
        before: Option<measure::Rss>,
        end: measure::Rss,
        delivered: u64,
    ) -> Self {
        let cpu = cpu.max(0.0);
        Self {
            cpu_seconds: cpu,
            cpu_seconds_per_million_deliveries: (delivered > 0)
                .then(|| cpu / (delivered as f64 / 1e6)),
            rss_before_bytes: before.map(|r| r.rss_bytes).unwrap_or_default(),
            rss_bytes: end.rss_bytes,
            peak_rss_bytes: end.peak_rss_bytes,
        }
    }
}

/// `churn` figures.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct ChurnFigures {
    /// Channel subscribe + unsubscribe operations confirmed.
    pub(crate) operations: u64,
    /// The same per second of publishing.
    pub(crate) operations_per_sec: f64,
    /// Messages the churners received while subscribed (not checked).
    pub(crate) deliveries: u64,
}

/// `idle` figures.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct IdleFigures {
    /// Connections opened and confirmed subscribed.
    pub(crate) connections: u64,
    /// Server RSS before opening them.
    pub(crate) rss_before_bytes: Option<u64>,
    /// Server RSS with all of them subscribed.
    pub(crate) rss_after_bytes: Option<u64>,
    /// (after - before) / connections.
    pub(crate) bytes_per_connection: Option<f64>,
}

/// Throughput over time, for the chart.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct SeriesOut {
    /// Width of one bin.
    pub(crate) bin_secs: f64,
    /// Warm-up length: bins before it are not measured.
    pub(crate) warmup_secs: f64,
    /// Messages published per second, bin by bin.
    pub(crate) published_per_sec: Vec<f64>,
    /// Messages delivered per second, bin by bin.
    pub(crate) delivered_per_sec: Vec<f64>,
}

/// Every figure of one scenario on one target.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct RunResult {
    /// Target name.
    pub(crate) target: String,
    /// Messages published after the warm-up.
    pub(crate) published: u64,
    /// Deliveries of those messages.
    pub(crate) delivered: u64,
    /// Deliveries there should have been: published to a channel x its subscribers.
    pub(crate) expected_deliveries: u64,
    /// Messages published, warm-up included.
    pub(crate) published_total: u64,
    /// Deliveries received, warm-up included.
    pub(crate) delivered_total: u64,
    /// Measured publishing time.
    pub(crate) publish_secs: f64,
    /// From the end of the warm-up to the last measured delivery.
    pub(crate) delivery_secs: f64,
    /// `published / publish_secs`.
    pub(crate) published_per_sec: f64,
    /// `delivered / delivery_secs`.
    pub(crate) delivered_per_sec: f64,
    /// End-to-end latency of measured deliveries.
    pub(crate) latency: LatencySummary,
    /// Loss, duplicates and reordering over all streams and subscribers.
    pub(crate) seq: SeqReport,
    /// Open loop: messages scheduled but never sent because the publishers
    /// fell more than the drain timeout behind (the server could not keep up).
    pub(crate) unsent: u64,
    /// Deliveries from a stream the subscriber did not subscribe to.
    pub(crate) unexpected: u64,
    /// Measuring subscriber connections.
    pub(crate) subscribers: usize,
    /// Subscribers that lost their connection, with the first reason.
    pub(crate) subscriber_failures: usize,
    /// The first subscriber failure, if any.
    pub(crate) first_failure: Option<String>,
    /// The load tester's own CPU seconds over the same interval as the
    /// server's: near the machine's core count means the load tester, not
    /// the server, was the bottleneck.
    pub(crate) loadtest_cpu_seconds: Option<f64>,
    /// CPU and memory of a server the load tester started.
    pub(crate) server: Option<ServerFigures>,
    /// `churn` only.
    pub(crate) churn: Option<ChurnFigures>,
    /// `idle` only.
    pub(crate) idle: Option<IdleFigures>,
    /// `socketio` mode only.
    pub(crate) sio: Option<SioFigures>,
    /// Latency CDF points: (µs, fraction).
    pub(crate) latency_cdf: Vec<(f64, f64)>,
    /// Throughput over time.
    pub(crate) series: SeriesOut,
    /// The merged histogram, for merging across rounds.
    #[serde(skip)]
    pub(crate) histogram: Option<Latency>,
}

impl RunResult {
    /// Fills in the delivery figures from what every receiver `seen`
    /// together, once `published` (after the warm-up) is set: counts,
    /// rates over the measured time, latency and the time series.
    pub(crate) fn set_traffic(
        &mut self,
        seen: Deliveries,
        published: &Series,
        clock: &Clock,
        publish_end_ns: u64,
    ) {
        let warm_end_ns = clock.warm_end_ns;
        let last_measured_ns = seen.last_measured_ns.max(warm_end_ns);
        self.delivered = seen.measured;
        self.delivered_total = seen.total;
        self.publish_secs = publish_end_ns.saturating_sub(warm_end_ns) as f64 / 1e9;
        self.delivery_secs = last_measured_ns.saturating_sub(warm_end_ns) as f64 / 1e9;
        self.published_per_sec = rate(self.published, self.publish_secs);
        self.delivered_per_sec = rate(self.delivered, self.delivery_secs);
        self.latency = seen.latency.summary();
        self.latency_cdf = seen.latency.cdf();
        self.series = SeriesOut {
            bin_secs: measure::BIN_NS as f64 / 1e9,
            warmup_secs: warm_end_ns as f64 / 1e9,
            published_per_sec: published.rates(),
            delivered_per_sec: seen.series.rates(),
        };
        self.histogram = Some(seen.latency);
    }

    /// Folds another round of the same scenario on the same target into
    /// this one: counts and times add up, rates are recomputed from them,
    /// histograms merge, memory takes the maximum. The time series stays
    /// the first round's.
    pub(crate) fn merge(&mut self, other: RunResult) -> anyhow::Result<()> {
        self.published += other.published;
        self.delivered += other.delivered;
        self.expected_deliveries += other.expected_deliveries;
        self.published_total += other.published_total;
        self.delivered_total += other.delivered_total;
        self.publish_secs += other.publish_secs;
        self.delivery_secs += other.delivery_secs;
        self.published_per_sec = rate(self.published, self.publish_secs);
        self.delivered_per_sec = rate(self.delivered, self.delivery_secs);
        self.seq.add(other.seq);
        self.loadtest_cpu_seconds = match (self.loadtest_cpu_seconds, other.loadtest_cpu_seconds) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.unexpected += other.unexpected;
        self.unsent += other.unsent;
        self.subscribers = self.subscribers.max(other.subscribers);
        self.subscriber_failures += other.subscriber_failures;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
        match (&mut self.histogram, &other.histogram) {
            (Some(a), Some(b)) => a.merge(b)?,
            (None, Some(_)) => self.histogram = other.histogram.clone(),
            _ => {}
        }
        if let Some(h) = &self.histogram {
            self.latency = h.summary();
            self.latency_cdf = h.cdf();
        }
        self.server = match (self.server.take(), other.server) {
            (Some(mut a), Some(b)) => {
                a.cpu_seconds += b.cpu_seconds;
                a.cpu_seconds_per_million_deliveries =
                    (self.delivered > 0).then(|| a.cpu_seconds / (self.delivered as f64 / 1e6));
                a.rss_before_bytes = a.rss_before_bytes.max(b.rss_before_bytes);
                a.rss_bytes = a.rss_bytes.max(b.rss_bytes);
                a.peak_rss_bytes = a.peak_rss_bytes.max(b.peak_rss_bytes);
                Some(a)
            }
            (a, b) => a.or(b),
        };
        self.churn = match (self.churn.take(), other.churn) {
            (Some(mut a), Some(b)) => {
                let secs_a = if a.operations_per_sec > 0.0 {
                    a.operations as f64 / a.operations_per_sec
                } else {
                    0.0
                };
                let secs_b = if b.operations_per_sec > 0.0 {
                    b.operations as f64 / b.operations_per_sec
                } else {
                    0.0
                };
                a.operations += b.operations;
                a.deliveries += b.deliveries;
                a.operations_per_sec = if secs_a + secs_b > 0.0 {
                    a.operations as f64 / (secs_a + secs_b)
                } else {
                    0.0
                };
                Some(a)
            }
            (a, b) => a.or(b),
        };
        self.idle = match (self.idle.take(), other.idle) {
            (Some(mut a), Some(b)) => {
                // Memory per connection: the mean over rounds.
                a.bytes_per_connection = match (a.bytes_per_connection, b.bytes_per_connection) {
                    (Some(x), Some(y)) => Some((x + y) / 2.0),
                    (x, y) => x.or(y),
                };
                a.rss_after_bytes = a.rss_after_bytes.max(b.rss_after_bytes);
                Some(a)
            }
            (a, b) => a.or(b),
        };
        Ok(())
    }
}

/// The command used for publishing and subscribing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    Pattern,
    Shard,
}

fn channel_name(c: u32) -> Vec<u8> {
    format!("lt:ch:{c}").into_bytes()
}

/// The pattern `patterns` subscribers receive through; it matches every
/// `lt:ch:N` channel.
const MATCHING_PATTERN: &[u8] = b"lt:ch:*";

/// Back-pressure for one channel in the closed loop.
#[derive(Debug, Default)]
struct Gate {
    /// Messages reserved for sending to the channel, all publishers.
    published: AtomicU64,
    /// Per subscriber of the channel: deliveries received.
    delivered: Vec<Arc<AtomicU64>>,
    /// Woken whenever a subscriber's count moves.
    notify: Notify,
}

impl Gate {
    fn min_delivered(&self) -> u64 {
        self.delivered
            .iter()
            .map(|d| d.load(Ordering::Acquire))
            .min()
            .unwrap_or(DEAD)
    }

    /// Reserves up to `want` sends within `window`; 0 when the channel is full.
    fn reserve(&self, window: u64, want: u64) -> u64 {
        loop {
            let published = self.published.load(Ordering::Acquire);
            let limit = self.min_delivered().saturating_add(window);
            if published >= limit {
                return 0;
            }
            let room = (limit - published).min(want);
            if self
                .published
                .compare_exchange(
                    published,
                    published + room,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                return room;
            }
        }
    }

    fn has_room(&self, window: u64) -> bool {
        self.published.load(Ordering::Acquire) < self.min_delivered().saturating_add(window)
    }
}

/// What one subscriber saw.
#[derive(Debug)]
struct SubOut {
    channel: u32,
    seen: Deliveries,
    seq: SeqTracker,
    failure: Option<String>,
}

/// What one publisher sent.
#[derive(Debug)]
struct PubOut {
    id: u32,
    /// Per channel: (channel, sent in total, sent after the warm-up).
    sent: Vec<(u32, u64, u64)>,
    series: Series,
    last_ns: u64,
    /// Open loop: messages scheduled before the end but never sent because
    /// the publisher fell too far behind.
    unsent: u64,
}

/// The header of a payload.
fn decode_header(p: &[u8]) -> Option<(u32, u32, u64, u64)> {
    let publisher = u32::from_le_bytes(p.get(0..4)?.try_into().ok()?);
    let channel = u32::from_le_bytes(p.get(4..8)?.try_into().ok()?);
    let seq = u64::from_le_bytes(p.get(8..16)?.try_into().ok()?);
    let sent = u64::from_le_bytes(p.get(16..24)?.try_into().ok()?);
    Some((publisher, channel, seq, sent))
}

/// Confirms that a reply to (P/S)SUBSCRIBE or UNSUBSCRIBE is a confirmation.
fn confirmation_kind(frame: &Frame) -> anyhow::Result<&[u8]> {
    if let Frame::Error(e) = frame {
        bail!("server error: {}", String::from_utf8_lossy(e));
    }
    frame
        .items()
        .and_then(|i| i.first())
        .and_then(Frame::as_bytes)
        .with_context(|| format!("expected a subscription confirmation, got {frame:?}"))
}

/// Opens a connection and subscribes it to `names`, reading every
/// confirmation, so the subscription is in force when this returns.
async fn subscribe(
    addr: SocketAddr,
    resp3: bool,
    mode: Mode,
    names: &[Vec<u8>],
) -> anyhow::Result<Conn> {
    let mut conn = Conn::connect(addr, resp3).await?;
    let cmd: &[u8] = match mode {
        Mode::Plain => b"SUBSCRIBE",
        Mode::Pattern => b"PSUBSCRIBE",
        Mode::Shard => b"SSUBSCRIBE",
    };
    for chunk in names.chunks(500) {
        let mut args: Vec<&[u8]> = vec![cmd];
        args.extend(chunk.iter().map(Vec::as_slice));
        conn.writer.push(&args);
    }
    conn.writer.flush().await?;
    let want: &[u8] = match mode {
        Mode::Plain => b"subscribe",
        Mode::Pattern => b"psubscribe",
        Mode::Shard => b"ssubscribe",
    };
    for _ in 0..names.len() {
        let frame = conn.reader.read_frame().await?;
        let kind = confirmation_kind(&frame)?;
        if kind != want {
            bail!(
                "expected {} confirmation, got {frame:?}",
                String::from_utf8_lossy(want)
            );
        }
    }
    Ok(conn)
}

/// Checks with PUBSUB NUMSUB / SHARDNUMSUB that each channel has `expected`
/// subscribers: a second opinion on the confirmations, from the server's
/// own registry.
async fn verify_numsub(
    control: &mut Conn,
    sub: &[u8],
    channels: &[Vec<u8>],
    expected: u64,
) -> anyhow::Result<()> {
    for chunk in channels.chunks(1000) {
        let mut args: Vec<&[u8]> = vec![b"PUBSUB", sub];
        args.extend(chunk.iter().map(Vec::as_slice));
        let reply = control.command(&args).await?;
        let items = reply.items().with_context(|| {
            format!(
                "PUBSUB {}: unexpected reply {reply:?}",
                String::from_utf8_lossy(sub)
            )
        })?;
        for pair in items.chunks(2) {
            if let [name, count] = pair {
                let n = count.as_int().unwrap_or(-1);
                if u64::try_from(n).ok() != Some(expected) {
                    bail!(
                        "PUBSUB {} {} = {n}, expected {expected}",
                        String::from_utf8_lossy(sub),
                        String::from_utf8_lossy(name.as_bytes().unwrap_or_default())
                    );
                }
            }
        }
    }
    Ok(())
}

async fn int_reply(control: &mut Conn, args: &[&[u8]]) -> anyhow::Result<i64> {
    let reply = control.command(args).await?;
    reply
        .as_int()
        .with_context(|| format!("expected an integer, got {reply:?}"))
}

/// Runs one scenario on one started server.
pub(crate) async fn run(
    params: &Params,
    server: &Running,
    target: &str,
    progress: &ProgressBar,
) -> anyhow::Result<RunResult> {
    if params.payload < HEADER_LEN {
        bail!("payload must be at least {HEADER_LEN} bytes");
    }
    let mut result = match params.scenario {
        ScenarioKind::Idle => run_idle(params, server, progress).await?,
        _ => run_pubsub(params, server, progress).await?,
    };
    result.target = target.to_owned();
    Ok(result)
}

async fn run_idle(
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

/// Which channels publisher `p` of `publishers` sends to, out of `channels`:
/// a partition when there are at least as many channels as publishers,
/// otherwise publishers share channels round-robin.
fn publisher_channels(p: usize, publishers: usize, channels: usize) -> Vec<u32> {
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

#[allow(clippy::too_many_lines)]
async fn run_pubsub(
    params: &Params,
    server: &Running,
    progress: &ProgressBar,
) -> anyhow::Result<RunResult> {
    let addr = server.addr;
    let resp3 = params.resp3;
    let channels = params.scenario.effective_channels(params.channels);
    let publishers = params.publishers.max(1);
    let mode = match params.scenario {
        ScenarioKind::Patterns => Mode::Pattern,
        ScenarioKind::Sharded => Mode::Shard,
        _ => Mode::Plain,
    };
    let names: Vec<Vec<u8>> = (0..channels)
        .map(|c| channel_name(u32::try_from(c).unwrap_or(u32::MAX)))
        .collect();
    let mut control = Conn::connect(addr, resp3).await?;
    progress.set_message("subscribing");

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
    for c in 0..channels {
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
    match mode {
        Mode::Plain => {
            verify_numsub(&mut control, b"NUMSUB", &names, params.subscribers as u64).await?
        }
        Mode::Shard => {
            verify_numsub(
                &mut control,
                b"SHARDNUMSUB",
                &names,
                params.subscribers as u64,
            )
            .await?
        }
        Mode::Pattern => {
            let want = params.patterns as i64 + i64::from(params.subscribers > 0);
            let numpat = int_reply(&mut control, &[b"PUBSUB", b"NUMPAT"]).await?;
            if numpat != want {
                bail!("PUBSUB NUMPAT = {numpat}, expected {want}");
            }
        }
    }

    // Gates: one per channel, one counter per subscriber.
    let mut gates: Vec<Gate> = (0..channels).map(|_| Gate::default()).collect();
    let mut sub_specs = Vec::with_capacity(subs.len());
    for (c, conn) in subs {
        let counter = Arc::new(AtomicU64::new(0));
        if let Some(g) = gates.get_mut(c) {
            g.delivered.push(Arc::clone(&counter));
        }
        sub_specs.push((c, conn, counter));
    }
    let gates: Arc<Vec<Gate>> = Arc::new(gates);
    let sigfig = if sub_specs.len() > 2000 { 2 } else { 3 };

    let rss_before = server.pid().map(measure::rss).transpose()?;
    let clock = Arc::new(Clock::new(
        params.warmup,
        params.duration,
        params.drain_timeout,
    ));
    let (start_ns, warm_end_ns) = (clock.start_ns, clock.warm_end_ns);
    let stop_subs = CancellationToken::new();
    let stop_aux = CancellationToken::new();

    let mut sub_tasks = JoinSet::new();
    let mut counters = Vec::new();
    for (c, conn, counter) in sub_specs {
        counters.push((c, Arc::clone(&counter)));
        let clock = Arc::clone(&clock);
        let gates = Arc::clone(&gates);
        let stop = stop_subs.clone();
        let channel = u32::try_from(c).unwrap_or(u32::MAX);
        let seen = Deliveries::new(sigfig)?;
        let (kind, pattern): (&[u8], _) = match mode {
            Mode::Plain => (b"message", None),
            Mode::Shard => (b"smessage", None),
            Mode::Pattern => (b"pmessage", Some(MATCHING_PATTERN)),
        };
        let matcher = DeliveryMatcher::new(
            kind,
            pattern,
            &channel_name(channel),
            params.payload,
            params.resp3,
        );
        sub_tasks.spawn(subscriber(
            conn, channel, matcher, clock, gates, counter, stop, seen,
        ));
    }

    let mut churn_tasks = JoinSet::new();
    if params.scenario == ScenarioKind::Churn {
        for i in 0..params.churners {
            let conn = Conn::connect(addr, resp3).await?;
            let stop = stop_aux.clone();
            churn_tasks.spawn(churner(conn, i, stop));
        }
    }

    let mut pub_tasks = JoinSet::new();
    for p in 0..publishers {
        let conn = Conn::connect(addr, resp3).await?;
        let chans = publisher_channels(p, publishers, channels);
        let clock = Arc::clone(&clock);
        let gates = Arc::clone(&gates);
        let params = params.clone();
        let id = u32::try_from(p).unwrap_or(u32::MAX);
        pub_tasks.spawn(publisher(conn, id, chans, mode, params, clock, gates));
    }

    let ticker = {
        let counters: Vec<Arc<AtomicU64>> = counters.iter().map(|(_, c)| Arc::clone(c)).collect();
        spawn_ticker(progress, &clock, stop_aux.clone(), move || {
            counters
                .iter()
                .map(|c| c.load(Ordering::Relaxed).min(DEAD - 1))
                .sum()
        })
    };

    // CPU from the end of the warm-up.
    tokio::time::sleep_until(clock.instant(warm_end_ns)).await;
    let cpu_start = server.pid().map(measure::cpu_seconds).transpose()?;
    let self_cpu_start = measure::cpu_seconds(std::process::id()).ok();

    let mut pub_outs = Vec::new();
    let mut pub_error = None;
    // Publishers stop by themselves by `give_up_ns`, then wait for the
    // server to answer what they wrote; a server that stops reading
    // altogether would block them forever, hence this guard.
    let pub_guard = clock.instant(clock.give_up_ns) + params.drain_timeout;
    loop {
        let joined = tokio::select! {
            j = pub_tasks.join_next() => j,
            () = tokio::time::sleep_until(pub_guard) => {
                pub_tasks.abort_all();
                stop_subs.cancel();
                stop_aux.cancel();
                bail!("the server stopped answering publishers (nothing read for {:?})", params.drain_timeout);
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
    if let Some(e) = pub_error {
        stop_subs.cancel();
        stop_aux.cancel();
        return Err(e.context("publisher failed"));
    }
    let publish_end_ns = pub_outs
        .iter()
        .map(|p| p.last_ns)
        .max()
        .unwrap_or(clock.now_ns());
    stop_aux.cancel();
    progress.set_message("draining");

    // Expected deliveries per channel, then wait for each subscriber to
    // have received everything sent on its channel (or give up).
    let mut sent_per_channel = vec![(0u64, 0u64); channels];
    let mut sent_by_stream: HashMap<(u32, u32), u64> = HashMap::new();
    for p in &pub_outs {
        for &(c, total, measured) in &p.sent {
            if let Some(s) = sent_per_channel.get_mut(c as usize) {
                s.0 += total;
                s.1 += measured;
            }
            sent_by_stream.insert((p.id, c), total);
        }
    }
    let deadline = tokio::time::Instant::now() + params.drain_timeout;
    for (c, counter) in &counters {
        let Some(gate) = gates.get(*c) else { continue };
        let want = sent_per_channel.get(*c).map_or(0, |s| s.0);
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
    let drained_ns = clock.now_ns();
    let cpu_end = server.pid().map(measure::cpu_seconds).transpose()?;
    let self_cpu_end = measure::cpu_seconds(std::process::id()).ok();
    let rss_end = server.pid().map(measure::rss).transpose()?;
    stop_subs.cancel();
    ticker.abort();

    let mut churn = ChurnFigures::default();
    while let Some(joined) = churn_tasks.join_next().await {
        let (ops, deliveries) = joined.context("churner task")??;
        churn.operations += ops;
        churn.deliveries += deliveries;
    }
    drop(holders);

    // Merge what subscribers saw.
    let mut seen = Deliveries::new(sigfig)?;
    let mut seq = SeqReport::default();
    let mut result = RunResult::default();
    while let Some(joined) = sub_tasks.join_next().await {
        let out = joined.context("subscriber task")?;
        seen.merge(&out.seen)?;
        result.subscribers += 1;
        if let Some(f) = out.failure {
            result.subscriber_failures += 1;
            result.first_failure.get_or_insert(f);
        }
        result.expected_deliveries += sent_per_channel
            .get(out.channel as usize)
            .map_or(0, |s| s.1);
        for (&(p, c), &sent) in &sent_by_stream {
            if c == out.channel {
                seq.add(out.seq.finish((p, c), sent));
            }
        }
        for (p, c) in out.seq.streams() {
            if c != out.channel || !sent_by_stream.contains_key(&(p, c)) {
                result.unexpected += 1;
            }
        }
    }
    let mut published_series = Series::default();
    for p in &pub_outs {
        published_series.merge(&p.series);
        for &(_, total, measured) in &p.sent {
            result.published_total += total;
            result.published += measured;
        }
        result.unsent += p.unsent;
    }
    result.seq = seq;
    result.set_traffic(seen, &published_series, &clock, publish_end_ns);
    if let (Some(c0), Some(c1)) = (self_cpu_start, self_cpu_end) {
        result.loadtest_cpu_seconds = Some((c1 - c0).max(0.0));
    }
    if let (Some(c0), Some(c1), Some(rss)) = (cpu_start, cpu_end, rss_end) {
        result.server = Some(ServerFigures::over(
            c1 - c0,
            rss_before,
            rss,
            result.delivered,
        ));
    }
    if params.scenario == ScenarioKind::Churn {
        let secs = drained_ns.min(publish_end_ns).saturating_sub(start_ns) as f64 / 1e9;
        churn.operations_per_sec = rate(churn.operations, secs);
        result.churn = Some(churn);
    }
    Ok(result)
}

fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

/// 1234567 -> "1.23M".
pub(crate) fn human(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// Shows the phase and the current delivery rate on `progress` until
/// `stop`; `delivered` counts deliveries so far.
pub(crate) fn spawn_ticker(
    progress: &ProgressBar,
    clock: &Clock,
    stop: CancellationToken,
    delivered: impl Fn() -> u64 + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let progress = progress.clone();
    let clock = clock.clone();
    progress.set_length((clock.end_ns / 1_000_000).max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut last = (0u64, clock.now_ns());
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let now = clock.now_ns();
            let total = delivered();
            let rate = (total.saturating_sub(last.0)) as f64 / ((now - last.1).max(1) as f64 / 1e9);
            last = (total, now);
            let phase = if now < clock.warm_end_ns {
                "warm-up"
            } else if now < clock.end_ns {
                "measuring"
            } else {
                "draining"
            };
            progress.set_position((now / 1_000_000).min(clock.end_ns / 1_000_000));
            progress.set_message(format!("{phase}: {} delivered/s", human(rate)));
        }
    })
}

/// Reads deliveries until stopped: latency, sequence checks, time series.
/// The counter it bumps after each read is what the closed loop waits on.
#[allow(clippy::too_many_arguments)]
async fn subscriber(
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

/// Pre-encoded `*3 $7 PUBLISH $n channel $len` up to the payload bytes.
fn publish_prefix(mode: Mode, channel: &[u8], payload: usize) -> BytesMut {
    let cmd: &[u8] = if mode == Mode::Shard {
        b"SPUBLISH"
    } else {
        b"PUBLISH"
    };
    let mut b = BytesMut::new();
    b.put_slice(b"*3\r\n$");
    b.put_slice(itoa::Buffer::new().format(cmd.len()).as_bytes());
    b.put_slice(b"\r\n");
    b.put_slice(cmd);
    b.put_slice(b"\r\n$");
    b.put_slice(itoa::Buffer::new().format(channel.len()).as_bytes());
    b.put_slice(b"\r\n");
    b.put_slice(channel);
    b.put_slice(b"\r\n$");
    b.put_slice(itoa::Buffer::new().format(payload).as_bytes());
    b.put_slice(b"\r\n");
    b
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
        buf.put_u32_le(id);
        buf.put_u32_le(self.channel);
        buf.put_u64_le(self.seq);
        buf.put_u64_le(sent_ns);
        buf.put_bytes(b'.', payload.saturating_sub(HEADER_LEN));
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

async fn publisher(
    conn: Conn,
    id: u32,
    channels: Vec<u32>,
    mode: Mode,
    params: Params,
    clock: Arc<Clock>,
    gates: Arc<Vec<Gate>>,
) -> anyhow::Result<PubOut> {
    let Conn { reader, mut writer } = conn;
    let replies = tokio::spawn(publish_replies(reader));
    let mut chans: Vec<PubChannel> = channels
        .iter()
        .map(|&c| PubChannel {
            channel: c,
            prefix: publish_prefix(mode, &channel_name(c), params.payload),
            seq: 0,
            measured: 0,
            allowance: 0,
        })
        .collect();
    let mut series = Series::default();
    let limit = params.messages.unwrap_or(u64::MAX);
    let batch = params.batch.max(1) as u64;
    let mut sent = 0u64;
    let mut rr = 0usize;
    let mut unsent = 0u64;
    let n_chans = chans.len().max(1);
    tokio::time::sleep_until(clock.instant(clock.start_ns)).await;
    match params.load {
        LoadModel::Closed { window } => loop {
            let now = clock.now_ns();
            if now >= clock.end_ns || sent >= limit {
                break;
            }
            let mut k = 0u64;
            let mut blocked = None;
            while k < batch && sent < limit && writer.pending() < MAX_WRITE {
                let Some(ch) = chans.get_mut(rr % n_chans) else {
                    break;
                };
                let Some(gate) = gates.get(ch.channel as usize) else {
                    break;
                };
                if ch.allowance == 0 {
                    ch.allowance = gate.reserve(window, batch);
                    if ch.allowance == 0 {
                        blocked = Some(gate);
                        break;
                    }
                }
                ch.allowance -= 1;
                ch.write(&mut writer, id, now, params.payload, clock.warm_end_ns);
                k += 1;
                sent += 1;
                rr += 1;
            }
            writer.flush().await?;
            if k > 0 {
                series.add(now.saturating_sub(clock.start_ns), k);
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
        },
        LoadModel::Open { rate } => {
            let per_pub = (rate / params.publishers.max(1) as f64).max(1e-3);
            let interval = 1e9 / per_pub;
            let scheduled = |i: u64| clock.start_ns + (i as f64 * interval) as u64;
            loop {
                let due = scheduled(sent);
                if due >= clock.end_ns || sent >= limit {
                    break;
                }
                let now = clock.now_ns();
                if now >= clock.give_up_ns {
                    let span = clock.end_ns.saturating_sub(clock.start_ns) as f64;
                    let scheduled_total = ((span / interval).ceil() as u64).min(limit);
                    unsent = scheduled_total.saturating_sub(sent);
                    break;
                }
                if due > now {
                    writer.flush().await?;
                    tokio::time::sleep_until(clock.instant(due)).await;
                    continue;
                }
                let mut k = 0;
                while k < batch && sent < limit && writer.pending() < MAX_WRITE {
                    let at = scheduled(sent);
                    if at > now || at >= clock.end_ns {
                        break;
                    }
                    let Some(ch) = chans.get_mut(rr % n_chans) else {
                        break;
                    };
                    // Stamped with the scheduled time: a late send is latency.
                    ch.write(&mut writer, id, at, params.payload, clock.warm_end_ns);
                    k += 1;
                    sent += 1;
                    rr += 1;
                }
                writer.flush().await?;
                series.add(now.saturating_sub(clock.start_ns), k);
            }
        }
    }
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

/// Subscribes and unsubscribes in a loop until stopped: the hot channel
/// (whose subscriber list changes under the publishers' feet) and a
/// channel of its own (created and destroyed in the server's table each
/// time). Returns (confirmed operations, messages received meanwhile).
async fn churner(conn: Conn, i: usize, stop: CancellationToken) -> anyhow::Result<(u64, u64)> {
    let Conn {
        mut reader,
        mut writer,
    } = conn;
    let hot = channel_name(0);
    let own = format!("lt:churn:{i}").into_bytes();
    let (mut ops, mut deliveries) = (0u64, 0u64);
    const PAIRS: u64 = 8;
    loop {
        for _ in 0..PAIRS {
            writer.push(&[b"SUBSCRIBE", &hot, &own]);
            writer.push(&[b"UNSUBSCRIBE", &hot, &own]);
        }
        writer.flush().await?;
        let mut confirmed = 0;
        while confirmed < PAIRS * 4 {
            let parsed = match parse_event(reader.buffer())? {
                Some((Event::Message { .. }, used)) => {
                    deliveries += 1;
                    Some(used)
                }
                Some((Event::Other(frame), used)) => {
                    confirmation_kind(&frame)?;
                    confirmed += 1;
                    Some(used)
                }
                None => None,
            };
            match parsed {
                Some(used) => reader.consume(used),
                // The first batch always completes, so a run that churned at
                // all reports it; later ones give way to the stop signal.
                None if ops == 0 => {
                    reader.fill().await?;
                }
                None => {
                    tokio::select! {
                        () = stop.cancelled() => return Ok((ops + confirmed, deliveries)),
                        r = reader.fill() => { r?; }
                    }
                }
            }
        }
        ops += confirmed;
        if stop.is_cancelled() {
            return Ok((ops, deliveries));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn publishers_spread_over_channels() {
        assert_eq!(publisher_channels(0, 2, 5), vec![0, 2, 4]);
        assert_eq!(publisher_channels(1, 2, 5), vec![1, 3]);
        assert_eq!(publisher_channels(2, 3, 1), vec![0]);
    }

    #[test]
    fn prefix_and_header_round_trip() {
        let mut p = publish_prefix(Mode::Plain, b"ch", 30);
        p.put_u32_le(7);
        p.put_u32_le(1);
        p.put_u64_le(42);
        p.put_u64_le(99);
        p.put_bytes(b'.', 6);
        p.put_slice(b"\r\n");
        let (frame, _) = crate::resp::parse(&p).unwrap().unwrap();
        let items = frame.items().unwrap();
        assert_eq!(items[0].as_bytes(), Some(&b"PUBLISH"[..]));
        let payload = items[2].as_bytes().unwrap();
        assert_eq!(payload.len(), 30);
        assert_eq!(decode_header(payload), Some((7, 1, 42, 99)));
    }
}
