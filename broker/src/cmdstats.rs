//! Per-command counters and latency histograms (INFO `commandstats` and
//! `latencystats`), and error replies by code (INFO `errorstats`), kept as
//! Redis keeps them so that dashboards and `prometheus-redis-exporter` read
//! respub as they read redis-server.
//!
//! Every command and subcommand of the command table has a slot, found by
//! index arithmetic from its place in the table. Commands run on one thread
//! (`runtime.rs`), so the counters are bumped with a plain load and store,
//! not a locked add, and the histogram's lock is never contended. A
//! session times consecutive calls of one command together
//! (`Session::begin_run`), so a pipelined PUBLISH costs a comparison and
//! an add.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use hdrhistogram::Histogram;
use parking_lot::Mutex;

/// Redis' latency histograms: nanoseconds from 1 to 1 s, 2 significant
/// digits (`LATENCY_HISTOGRAM_*` in server.h).
const LATENCY_MAX_NS: u64 = 1_000_000_000;
const LATENCY_SIGFIG: u8 = 2;

/// Distinct error codes tracked at most, as Redis' `ERROR_STATS_NUMBER`.
/// A guard only: respub answers with a handful of codes (ERR, NOAUTH,
/// NOPERM, WRONGPASS, NOPROTO), so the limit is never reached.
const ERROR_CODES_MAX: usize = 128;

/// One command's or subcommand's counters.
#[derive(Debug)]
struct Slot {
    /// The full name, `container|sub` for subcommands.
    name: &'static str,
    /// Redis flags it fast: its slow calls are `fast-command` latency
    /// events, not `command` ones.
    fast: bool,
    calls: AtomicU64,
    nanos: AtomicU64,
    /// Refused before running: arity, authentication, ACL, context.
    rejected: AtomicU64,
    /// Ran and replied with an error.
    failed: AtomicU64,
    /// Created by the first call measured, as Redis does.
    latency: Mutex<Option<Histogram<u64>>>,
}

/// Adds `n` to a counter only the command thread writes: an embedder that
/// runs commands on several threads at once may lose a count, never more.
fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

/// Counters for every command of one server.
#[derive(Debug)]
pub struct CommandStats {
    slots: Box<[Slot]>,
    /// The slot of each top-level command; its subcommands follow it.
    offsets: Box<[usize]>,
    /// Error replies by code, in the order INFO lists them (Redis keeps
    /// them in a radix tree, so sorted).
    errors: Mutex<BTreeMap<Box<[u8]>, u64>>,
}

/// Where one command's counters are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotId(usize);

/// A command of the table: its full name, and whether Redis flags it fast.
pub type Name = (&'static str, bool);

/// One command's latency distribution, as LATENCY HISTOGRAM shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cdf {
    /// The full name.
    pub name: &'static str,
    /// Calls measured.
    pub calls: u64,
    /// `(microseconds, calls at most about that long)`, ascending.
    pub buckets: Vec<(u64, u64)>,
}

impl CommandStats {
    /// Slots for a command table: each entry is a command and its
    /// subcommands (full names).
    pub fn new<'a>(table: impl IntoIterator<Item = (Name, &'a [Name])>) -> Self {
        let mut slots = Vec::new();
        let mut offsets = Vec::new();
        for (command, subs) in table {
            offsets.push(slots.len());
            for &(name, fast) in std::iter::once(&command).chain(subs) {
                slots.push(Slot {
                    name,
                    fast,
                    calls: AtomicU64::new(0),
                    nanos: AtomicU64::new(0),
                    rejected: AtomicU64::new(0),
                    failed: AtomicU64::new(0),
                    latency: Mutex::new(None),
                });
            }
        }
        Self {
            slots: slots.into(),
            offsets: offsets.into(),
            errors: Mutex::new(BTreeMap::new()),
        }
    }

    /// The slot of command `top` of the table, or of its subcommand `sub`.
    pub fn slot(&self, top: usize, sub: Option<usize>) -> SlotId {
        let base = self.offsets.get(top).copied().unwrap_or(usize::MAX);
        SlotId(sub.map_or(base, |s| base.saturating_add(1 + s)))
    }

    /// `calls` calls of one command that ran for `took` together, `failed`
    /// of which replied with an error; each call counts with their mean.
    pub fn record(
        &self,
        id: SlotId,
        took: Duration,
        (calls, failed): (u64, u64),
        track_latency: bool,
    ) {
        let Some(slot) = self.slots.get(id.0).filter(|_| calls > 0) else {
            return;
        };
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        bump(&slot.calls, calls);
        bump(&slot.nanos, nanos);
        bump(&slot.failed, failed);
        if track_latency {
            let mut latency = slot.latency.lock();
            if latency.is_none() {
                *latency = Histogram::new_with_bounds(1, LATENCY_MAX_NS, LATENCY_SIGFIG).ok();
            }
            if let Some(h) = latency.as_mut() {
                let mean = (nanos / calls).clamp(1, LATENCY_MAX_NS);
                let _ = h.record_n(mean, calls);
            }
        }
    }

    /// The latency event a slow call of `id` is sampled under.
    pub fn event(&self, id: SlotId) -> crate::latency::Event {
        match self.slots.get(id.0) {
            Some(slot) if slot.fast => crate::latency::Event::FastCommand,
            _ => crate::latency::Event::Command,
        }
    }

    /// A call refused before it ran.
    pub fn reject(&self, id: SlotId) {
        if let Some(slot) = self.slots.get(id.0) {
            bump(&slot.rejected, 1);
        }
    }

    /// Counts an error reply under its code: the text before the first
    /// space, within the first 32 bytes, else `ERR` (Redis'
    /// `afterErrorReply`).
    pub fn error(&self, text: &[u8]) {
        let head = text.get(..text.len().min(32)).unwrap_or_default();
        let code = match memchr::memchr(b' ', head) {
            Some(end) => head.get(..end).unwrap_or_default(),
            None => b"ERR",
        };
        let mut errors = self.errors.lock();
        if let Some(n) = errors.get_mut(code) {
            *n += 1;
        } else if errors.len() < ERROR_CODES_MAX {
            errors.insert(code.into(), 1);
        }
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for slot in &self.slots {
            for counter in [&slot.calls, &slot.nanos, &slot.rejected, &slot.failed] {
                counter.store(0, Relaxed);
            }
            *slot.latency.lock() = None;
        }
        self.errors.lock().clear();
    }

    /// The body of INFO `commandstats`: the commands called or refused.
    pub fn commandstats(&self, out: &mut String) {
        for slot in &self.slots {
            let calls = slot.calls.load(Relaxed);
            let (rejected, failed) = (slot.rejected.load(Relaxed), slot.failed.load(Relaxed));
            if calls == 0 && rejected == 0 && failed == 0 {
                continue;
            }
            let usec = slot.nanos.load(Relaxed) / 1000;
            let per_call = if calls == 0 {
                0.0
            } else {
                usec as f64 / calls as f64
            };
            let _ = write!(
                out,
                "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per_call:.2},\
                 rejected_calls={rejected},failed_calls={failed}\r\n",
                slot.name
            );
        }
    }

    /// The body of INFO `errorstats`.
    pub fn errorstats(&self, out: &mut String) {
        for (code, count) in self.errors.lock().iter() {
            let _ = write!(
                out,
                "errorstat_{}:count={count}\r\n",
                String::from_utf8_lossy(code)
            );
        }
    }

    /// The latency distribution of `id`, if it has one (calls measured
    /// since the start or CONFIG RESETSTAT, with `latency-tracking` on).
    pub fn cdf(&self, id: SlotId) -> Option<Cdf> {
        let slot = self.slots.get(id.0)?;
        let latency = slot.latency.lock();
        let h = latency.as_ref()?;
        Some(Cdf {
            name: slot.name,
            calls: h.len(),
            buckets: cumulative(h),
        })
    }

    /// Every command's latency distribution, in table order.
    pub fn cdfs(&self) -> Vec<Cdf> {
        (0..self.slots.len())
            .filter_map(|i| self.cdf(SlotId(i)))
            .collect()
    }

    /// The body of INFO `latencystats`: `percentiles` of each measured
    /// command, in microseconds.
    pub fn latencystats(&self, percentiles: &[f64], out: &mut String) {
        for slot in &self.slots {
            let latency = slot.latency.lock();
            let Some(h) = latency.as_ref().filter(|h| !h.is_empty()) else {
                continue;
            };
            let _ = write!(out, "latency_percentiles_usec_{}:", slot.name);
            for (i, p) in percentiles.iter().enumerate() {
                let sep = if i == 0 { "" } else { "," };
                let usec = h.value_at_percentile(*p) as f64 / 1000.0;
                let _ = write!(out, "{sep}p{p}={usec:.3}");
            }
            out.push_str("\r\n");
        }
    }
}

/// Redis' `fillCommandCDF`: hdr_histogram's logarithmic iteration from
/// 1024 ns, doubling, walked as the C library walks it (so that the keys
/// are Redis' 1, 2, 4, 8, 16, 33, 66, ... and each count includes the
/// bucket the level falls in), keeping the levels that added calls.
fn cumulative(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    let (total, buckets) = (h.len(), h.distinct_values());
    let mut level_low = h.lowest_equivalent(1024);
    let mut level: u64 = 1024;
    // The iterator's bucket (`None` before the first), its lowest and
    // highest values, and the calls up to it.
    let mut index: Option<usize> = None;
    let (mut value, mut highest, mut count) = (0, 0, 0);
    let mut out: Vec<(u64, u64)> = Vec::new();
    loop {
        // Done once every call is counted, unless the next bucket is
        // already past the level (C's `log_iter_next`).
        let peek = index.map_or(0, |_| h.next_non_equivalent(value));
        if count >= total && peek <= level_low {
            return out;
        }
        let mut exhausted = false;
        while value < level_low {
            let next = index.map_or(0, |i| i + 1);
            if next >= buckets {
                exhausted = true;
                break;
            }
            value = if index.is_some() {
                h.next_non_equivalent(value)
            } else {
                0
            };
            index = Some(next);
            highest = h.highest_equivalent(value);
            count += h.count_at(value);
        }
        if !exhausted {
            level = level.saturating_mul(2);
            level_low = h.lowest_equivalent(level);
        }
        if out.last().map_or(0, |&(_, c)| c) < count {
            out.push((highest / 1000, count));
        }
        if exhausted {
            return out;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cdf_of(values: &[(u64, u64)]) -> Vec<(u64, u64)> {
        let mut h = Histogram::new_with_bounds(1, LATENCY_MAX_NS, LATENCY_SIGFIG).unwrap();
        for &(ns, n) in values {
            h.record_n(ns, n).unwrap();
        }
        cumulative(&h)
    }

    #[test]
    fn histogram_buckets_are_redis_power_of_two_levels() {
        // Under 1024 ns counts at the first level; a value at a level counts
        // there; levels that add nothing are left out; the keys are the
        // levels' highest equivalent values in microseconds, as in Redis
        // (1, 2, 4, 8, 16, 33, 66, 132, ...).
        assert_eq!(
            cdf_of(&[(500, 2), (1500, 3), (70_000, 1)]),
            [(1, 2), (2, 5), (132, 6)]
        );
        assert_eq!(cdf_of(&[(1024, 1)]), [(1, 1)]);
        assert_eq!(cdf_of(&[(2_100_000, 4)]), [(2113, 4)]);
        // Past the last level the histogram can hold: its last bucket.
        assert_eq!(cdf_of(&[(LATENCY_MAX_NS, 1)]), [(1_073_741, 1)]);
    }

    #[test]
    fn a_slot_knows_its_latency_event() {
        let stats = CommandStats::new([
            (("ping", true), &[][..]),
            (("acl", false), &[("acl|cat", false)][..]),
        ]);
        assert_eq!(
            stats.event(stats.slot(0, None)),
            crate::latency::Event::FastCommand
        );
        assert_eq!(
            stats.event(stats.slot(1, Some(0))),
            crate::latency::Event::Command
        );
        assert!(stats.cdf(stats.slot(0, None)).is_none());
        stats.record(
            stats.slot(1, Some(0)),
            Duration::from_micros(3),
            (2, 0),
            true,
        );
        let cdf = stats.cdf(stats.slot(1, Some(0))).unwrap();
        assert_eq!(
            (cdf.name, cdf.calls, cdf.buckets),
            ("acl|cat", 2, vec![(2, 2)])
        );
        assert_eq!(stats.cdfs().len(), 1);
    }
}
