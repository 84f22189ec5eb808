//! What is measured and how: latency histograms, the loss / duplicate /
//! reorder detector, throughput time series, and the server's CPU time and
//! memory read from `/proc`.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency the histograms hold (60 s in ns); anything slower is
/// recorded as 60 s, which is already a failed run.
const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// End-to-end latency of deliveries, in nanoseconds.
///
/// HdrHistogram because percentiles up to p99.9 and the max must be exact
/// to a fixed relative precision, and histograms of many subscribers must
/// merge losslessly.
#[derive(Debug, Clone)]
pub(crate) struct Latency {
    hist: Histogram<u64>,
}

/// Percentiles of a latency histogram, in microseconds.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub(crate) struct LatencySummary {
    /// Deliveries measured.
    pub(crate) count: u64,
    /// Mean.
    pub(crate) mean_us: f64,
    /// Median.
    pub(crate) p50_us: f64,
    /// 90th percentile.
    pub(crate) p90_us: f64,
    /// 99th percentile.
    pub(crate) p99_us: f64,
    /// 99.9th percentile.
    pub(crate) p999_us: f64,
    /// Slowest delivery.
    pub(crate) max_us: f64,
}

impl Latency {
    /// A histogram with `sigfig` significant digits. Three digits cost about
    /// 200 kB per histogram; callers with thousands of subscribers use two.
    pub(crate) fn new(sigfig: u8) -> anyhow::Result<Self> {
        let hist = Histogram::new_with_bounds(1, MAX_LATENCY_NS, sigfig.clamp(1, 5))
            .context("creating a latency histogram")?;
        Ok(Self { hist })
    }

    /// Records one latency.
    pub(crate) fn record(&mut self, ns: u64) {
        self.hist.saturating_record(ns.max(1));
    }

    /// Adds another histogram's counts into this one.
    pub(crate) fn merge(&mut self, other: &Latency) -> anyhow::Result<()> {
        self.hist
            .add(&other.hist)
            .context("merging latency histograms")
    }

    /// Mean, percentiles and max.
    pub(crate) fn summary(&self) -> LatencySummary {
        let us = |ns: u64| ns as f64 / 1_000.0;
        if self.hist.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: self.hist.len(),
            mean_us: self.hist.mean() / 1_000.0,
            p50_us: us(self.hist.value_at_quantile(0.50)),
            p90_us: us(self.hist.value_at_quantile(0.90)),
            p99_us: us(self.hist.value_at_quantile(0.99)),
            p999_us: us(self.hist.value_at_quantile(0.999)),
            max_us: us(self.hist.max()),
        }
    }

    /// The cumulative distribution as (latency in µs, fraction at or below)
    /// points, dense in the tail, for the CDF chart and the JSON file.
    pub(crate) fn cdf(&self) -> Vec<(f64, f64)> {
        if self.hist.is_empty() {
            return Vec::new();
        }
        let mut points: Vec<(f64, f64)> = self
            .hist
            .iter_quantiles(4)
            .map(|v| {
                (
                    v.value_iterated_to() as f64 / 1_000.0,
                    v.quantile_iterated_to(),
                )
            })
            .collect();
        points.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        points
    }
}

/// A set of `u64` ranges: the sequence numbers a stream skipped and that may
/// still arrive late. Gaps are rare, so a map of `start -> end` (exclusive)
/// stays tiny even when a gap is huge.
#[derive(Debug, Default, Clone)]
struct RangeSet {
    ranges: BTreeMap<u64, u64>,
}

impl RangeSet {
    fn insert(&mut self, start: u64, end: u64) {
        if start < end {
            self.ranges.insert(start, end);
        }
    }

    /// Removes `v` if present; true when it was.
    fn remove(&mut self, v: u64) -> bool {
        let Some((&start, &end)) = self.ranges.range(..=v).next_back() else {
            return false;
        };
        if v >= end {
            return false;
        }
        self.ranges.remove(&start);
        self.insert(start, v);
        self.insert(v + 1, end);
        true
    }

    fn len(&self) -> u64 {
        self.ranges.iter().map(|(s, e)| e - s).sum()
    }
}

/// Checks one stream (one publisher to one channel, seen by one subscriber)
/// whose sequence numbers start at 0 and step by 1.
///
/// A number above the next expected one opens a gap; a number inside an open
/// gap closes that slot and counts as reordered; any other number at or
/// below the highest seen is a duplicate. Whatever is still missing when the
/// publisher's final count is known is lost.
#[derive(Debug, Default, Clone)]
pub(crate) struct SeqChecker {
    next: u64,
    missing: RangeSet,
    duplicates: u64,
    reordered: u64,
}

/// Loss, duplicates and reordering of one or many streams.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub(crate) struct SeqReport {
    /// Messages sent and never received.
    pub(crate) lost: u64,
    /// Messages received more than once (extra copies).
    pub(crate) duplicates: u64,
    /// Messages received after a later one from the same stream.
    pub(crate) reordered: u64,
}

impl SeqReport {
    /// Adds another report's counts.
    pub(crate) fn add(&mut self, other: SeqReport) {
        self.lost += other.lost;
        self.duplicates += other.duplicates;
        self.reordered += other.reordered;
    }
}

impl SeqChecker {
    /// Records the arrival of `seq`.
    pub(crate) fn observe(&mut self, seq: u64) {
        if seq == self.next {
            self.next += 1;
        } else if seq > self.next {
            self.missing.insert(self.next, seq);
            self.next = seq + 1;
        } else if self.missing.remove(seq) {
            self.reordered += 1;
        } else {
            self.duplicates += 1;
        }
    }

    /// The verdict once the publisher has sent `sent` messages in total.
    pub(crate) fn finish(&self, sent: u64) -> SeqReport {
        SeqReport {
            lost: self.missing.len() + sent.saturating_sub(self.next),
            duplicates: self.duplicates,
            reordered: self.reordered,
        }
    }
}

/// A stream's identity: (publisher id, channel index).
pub(crate) type StreamId = (u32, u32);

/// All the streams one subscriber sees.
///
/// A subscriber sees a handful of streams (the publishers of its channel),
/// and consecutive deliveries mostly come from the same one, so a short
/// vector with a cached last hit beats hashing on every delivery.
#[derive(Debug, Default, Clone)]
pub(crate) struct SeqTracker {
    streams: Vec<(StreamId, SeqChecker)>,
    last: usize,
}

impl SeqTracker {
    /// Records `seq` on `stream`.
    pub(crate) fn observe(&mut self, stream: StreamId, seq: u64) {
        if let Some((id, checker)) = self.streams.get_mut(self.last)
            && *id == stream
        {
            checker.observe(seq);
            return;
        }
        let at = match self.streams.iter().position(|(id, _)| *id == stream) {
            Some(at) => at,
            None => {
                self.streams.push((stream, SeqChecker::default()));
                self.streams.len() - 1
            }
        };
        self.last = at;
        if let Some((_, checker)) = self.streams.get_mut(at) {
            checker.observe(seq);
        }
    }

    /// The verdict for `stream` given the publisher sent `sent` on it; a
    /// stream never seen lost everything.
    pub(crate) fn finish(&self, stream: StreamId, sent: u64) -> SeqReport {
        match self.streams.iter().find(|(id, _)| *id == stream) {
            Some((_, c)) => c.finish(sent),
            None => SeqReport {
                lost: sent,
                ..SeqReport::default()
            },
        }
    }

    /// Streams observed, for spotting deliveries nobody expected.
    pub(crate) fn streams(&self) -> impl Iterator<Item = StreamId> + '_ {
        self.streams.iter().map(|(id, _)| *id)
    }
}

/// Event counts in fixed-width time bins since the start of a run, for the
/// throughput-over-time chart.
#[derive(Debug, Clone, Default)]
pub(crate) struct Series {
    bins: Vec<u64>,
}

/// Width of a [`Series`] bin.
pub(crate) const BIN_NS: u64 = 100_000_000;

impl Series {
    /// Counts `n` events at `t_ns` after the start.
    pub(crate) fn add(&mut self, t_ns: u64, n: u64) {
        let i = usize::try_from(t_ns / BIN_NS)
            .unwrap_or(usize::MAX)
            .min(100_000);
        if self.bins.len() <= i {
            self.bins.resize(i + 1, 0);
        }
        if let Some(b) = self.bins.get_mut(i) {
            *b += n;
        }
    }

    /// Adds another series bin by bin.
    pub(crate) fn merge(&mut self, other: &Series) {
        if self.bins.len() < other.bins.len() {
            self.bins.resize(other.bins.len(), 0);
        }
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            *a += b;
        }
    }

    /// Events per second in each bin. The last bin is cut short by the end
    /// of the run, so its rate would read as a collapse: it is left out.
    pub(crate) fn rates(&self) -> Vec<f64> {
        let secs = BIN_NS as f64 / 1e9;
        let full = self
            .bins
            .len()
            .saturating_sub(1)
            .max(1)
            .min(self.bins.len());
        self.bins
            .iter()
            .take(full)
            .map(|&n| n as f64 / secs)
            .collect()
    }
}

/// The time base of one run. Every task stamps and compares times as
/// nanoseconds since one `Instant` of the load tester's own process, so
/// end-to-end latencies need no clock synchronisation.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    /// Time zero.
    pub(crate) epoch: Instant,
    /// When sending starts (a moment after zero, so that the tasks of the
    /// run are all spawned by then).
    pub(crate) start_ns: u64,
    /// End of the warm-up: only messages sent from here on are measured.
    pub(crate) warm_end_ns: u64,
    /// When sending stops.
    pub(crate) end_ns: u64,
    /// An open-loop sender that fell behind its schedule stops sending
    /// here (end + drain timeout), so an overloaded server cannot stretch
    /// the run without bound; what it did not send was never published.
    pub(crate) give_up_ns: u64,
}

impl Clock {
    /// A clock starting now: 1 ms of set-up, then `warmup`, then `duration`.
    pub(crate) fn new(warmup: Duration, duration: Duration, drain_timeout: Duration) -> Self {
        let start_ns = 1_000_000;
        let warm_end_ns = start_ns + nanos(warmup);
        let end_ns = warm_end_ns + nanos(duration);
        Self {
            epoch: Instant::now(),
            start_ns,
            warm_end_ns,
            end_ns,
            give_up_ns: end_ns + nanos(drain_timeout),
        }
    }

    /// Nanoseconds since time zero.
    pub(crate) fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The instant `ns` after time zero, for timers.
    pub(crate) fn instant(&self, ns: u64) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.epoch + Duration::from_nanos(ns))
    }
}

/// A duration in nanoseconds, saturating far beyond any run.
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX / 4)
}

/// What one receiver, or a group of them, saw: the latency of measured
/// deliveries, arrivals over time and the counts.
#[derive(Debug, Clone)]
pub(crate) struct Deliveries {
    /// Latency of deliveries of messages sent after the warm-up.
    pub(crate) latency: Latency,
    /// Arrivals over time, warm-up included.
    pub(crate) series: Series,
    /// Deliveries of messages sent after the warm-up.
    pub(crate) measured: u64,
    /// Every delivery.
    pub(crate) total: u64,
    /// When the last measured delivery arrived (0: none).
    pub(crate) last_measured_ns: u64,
}

impl Deliveries {
    /// Empty, with histograms of `sigfig` digits (see [`Latency::new`]).
    pub(crate) fn new(sigfig: u8) -> anyhow::Result<Self> {
        Ok(Self {
            latency: Latency::new(sigfig)?,
            series: Series::default(),
            measured: 0,
            total: 0,
            last_measured_ns: 0,
        })
    }

    /// A message sent at `sent_ns` arrived at `now_ns`: measured when it
    /// was sent after the warm-up. [`Deliveries::arrived`] counts it.
    pub(crate) fn observe(&mut self, clock: &Clock, sent_ns: u64, now_ns: u64) {
        if sent_ns >= clock.warm_end_ns {
            self.measured += 1;
            self.latency.record(now_ns.saturating_sub(sent_ns));
            self.last_measured_ns = now_ns;
        }
    }

    /// `n` messages arrived at `now_ns`.
    pub(crate) fn arrived(&mut self, clock: &Clock, now_ns: u64, n: u64) {
        self.total += n;
        self.series.add(now_ns.saturating_sub(clock.start_ns), n);
    }

    /// Adds another receiver's figures.
    pub(crate) fn merge(&mut self, other: &Deliveries) -> anyhow::Result<()> {
        self.latency.merge(&other.latency)?;
        self.series.merge(&other.series);
        self.measured += other.measured;
        self.total += other.total;
        self.last_measured_ns = self.last_measured_ns.max(other.last_measured_ns);
        Ok(())
    }
}

/// The kernel's clock tick (`CLK_TCK`), the unit of CPU times in
/// `/proc/PID/stat`. Asked of `getconf` once, because reading it from libc
/// would need `unsafe`; 100 is what every Linux build uses anyway.
fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|&t| t > 0.0)
            .unwrap_or(100.0)
    })
}

/// User plus system CPU seconds the process `pid` has used, all threads.
pub(crate) fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    parse_cpu_ticks(&stat)
        .map(|ticks| ticks as f64 / clock_ticks())
        .with_context(|| format!("parsing /proc/{pid}/stat"))
}

/// utime + stime from a `/proc/PID/stat` line. The command name may hold
/// spaces and parentheses, so fields are counted after the last `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after = stat.rsplit_once(')')?.1;
    let mut fields = after.split_whitespace();
    // Fields after ")" start at field 3 (state); utime is 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Resident memory of a process now and at its peak, in bytes.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub(crate) struct Rss {
    /// `VmRSS`.
    pub(crate) rss_bytes: u64,
    /// `VmHWM`: the high-water mark since the process started.
    pub(crate) peak_rss_bytes: u64,
}

/// Reads `VmRSS` and `VmHWM` of `pid` from `/proc/PID/status`.
pub(crate) fn rss(pid: u32) -> anyhow::Result<Rss> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Ok(Rss {
        rss_bytes: field("VmRSS:").context("no VmRSS")?,
        peak_rss_bytes: field("VmHWM:").context("no VmHWM")?,
    })
}

/// A process's CPU time and memory at the start of a measured interval.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    pid: u32,
    cpu_seconds: f64,
    /// Its memory then.
    pub(crate) rss: Rss,
}

impl Mark {
    /// Reads `pid`'s figures now.
    pub(crate) fn take(pid: u32) -> anyhow::Result<Self> {
        Ok(Self {
            pid,
            cpu_seconds: cpu_seconds(pid)?,
            rss: rss(pid)?,
        })
    }

    /// CPU seconds used since the mark, and the memory now.
    pub(crate) fn since(&self) -> anyhow::Result<(f64, Rss)> {
        Ok((cpu_seconds(self.pid)? - self.cpu_seconds, rss(self.pid)?))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn detectors_fire_on_gap_repeat_and_swap() {
        // 2 never arrives (gap), 4 arrives twice (repeat), 6 before 5 (swap).
        let mut c = SeqChecker::default();
        for s in [0, 1, 3, 4, 4, 6, 5, 7] {
            c.observe(s);
        }
        assert_eq!(
            c.finish(8),
            SeqReport {
                lost: 1,
                duplicates: 1,
                reordered: 1
            }
        );
        // The publisher sent two more that never came: tail loss.
        assert_eq!(c.finish(10).lost, 3);
    }

    #[test]
    fn detectors_stay_quiet_on_a_clean_stream() {
        let mut c = SeqChecker::default();
        (0..1000).for_each(|s| c.observe(s));
        assert_eq!(c.finish(1000), SeqReport::default());
    }

    #[test]
    fn late_arrival_then_repeat_of_it() {
        let mut c = SeqChecker::default();
        for s in [0, 5, 2, 2, 1, 3, 4] {
            c.observe(s);
        }
        // 2, 1, 3, 4 all arrive after 5: four reordered; the second 2 is a repeat.
        assert_eq!(
            c.finish(6),
            SeqReport {
                lost: 0,
                duplicates: 1,
                reordered: 4
            }
        );
    }

    #[test]
    fn tracker_counts_unseen_streams_as_lost() {
        let mut t = SeqTracker::default();
        t.observe((0, 0), 0);
        t.observe((2, 0), 0);
        t.observe((0, 0), 1);
        t.observe((2, 0), 1);
        assert_eq!(t.finish((0, 0), 2), SeqReport::default());
        assert_eq!(t.finish((2, 0), 2), SeqReport::default());
        assert_eq!(t.finish((1, 0), 7).lost, 7);
    }

    #[test]
    fn histogram_percentiles_and_merge() {
        let mut a = Latency::new(3).unwrap();
        let mut b = Latency::new(3).unwrap();
        (1..=100).for_each(|i| a.record(i * 1_000));
        b.record(1_000_000);
        a.merge(&b).unwrap();
        let s = a.summary();
        assert_eq!(s.count, 101);
        assert!((s.p50_us - 51.0).abs() < 0.1, "{s:?}");
        assert!((s.max_us - 1000.0).abs() < 1.0, "{s:?}");
        let cdf = a.cdf();
        assert!(cdf.last().unwrap().1 > 0.999);
    }

    #[test]
    fn proc_stat_parsing_survives_odd_names() {
        let line = "123 (a) b) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(parse_cpu_ticks(line), Some(300));
        let me = std::process::id();
        assert!(cpu_seconds(me).unwrap() >= 0.0);
        assert!(rss(me).unwrap().rss_bytes > 0);
    }

    #[test]
    fn series_bins_and_merges() {
        let mut a = Series::default();
        a.add(0, 1);
        a.add(BIN_NS * 2 + 1, 3);
        let mut b = Series::default();
        b.add(BIN_NS * 3, 5);
        a.merge(&b);
        assert_eq!(a.bins, vec![1, 0, 3, 5]);
        assert_eq!(a.rates(), vec![10.0, 0.0, 30.0]);
    }
}
