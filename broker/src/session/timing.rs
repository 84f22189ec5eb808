//! Timing a session's commands for INFO commandstats and latencystats,
//! SLOWLOG and the latency monitor: consecutive calls of one command in one
//! read share one measurement.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::Session;
use crate::cmdstats::SlotId;

/// Consecutive calls of one command within one read, timed together.
#[derive(Debug)]
pub struct Run {
    slot: SlotId,
    calls: u64,
    failed: u64,
    started: Instant,
    /// The first call's arguments, kept while the slow log is on: a run
    /// slower than its threshold is logged as that call with the run's mean.
    args: Vec<Bytes>,
}

impl Session {
    /// Starts timing a call of the command counted in `slot`. Calls of one
    /// command in a row share one measurement: the clock is read where the
    /// command changes and at the end of each read, not twice per call, so
    /// a publisher streaming PUBLISHes pays for two clock reads per read
    /// (a clock read costs more than the rest of the accounting). Each call
    /// of a run is recorded with the run's mean time.
    pub fn begin_run(&mut self, slot: SlotId, args: &[Bytes]) {
        if self.run.as_ref().is_some_and(|r| r.slot == slot) {
            return;
        }
        let now = Instant::now();
        self.finish_run(now);
        let args = if self.slowlog_us >= 0 {
            args.to_vec()
        } else {
            Vec::new()
        };
        self.run = Some(Run {
            slot,
            calls: 0,
            failed: 0,
            started: now,
            args,
        });
    }

    /// The call begun by [`Session::begin_run`] ran; `failed` if it replied
    /// with an error.
    pub fn count_call(&mut self, failed: bool) {
        if let Some(run) = self.run.as_mut() {
            run.calls += 1;
            run.failed += u64::from(failed);
        }
    }

    /// Records the run being timed, if any (at the end of a read, and
    /// before a request that is not a command).
    pub fn end_run(&mut self) {
        if self.run.is_some() {
            self.finish_run(Instant::now());
        }
    }

    fn finish_run(&mut self, end: Instant) {
        if let Some(run) = self.run.take() {
            let took = end.saturating_duration_since(run.started);
            self.shared.cmdstats.record(
                run.slot,
                took,
                (run.calls, run.failed),
                self.track_latency,
            );
            let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX) / run.calls.max(1);
            let slow = u64::try_from(self.slowlog_us).is_ok_and(|t| micros >= t);
            if slow && run.calls > 0 {
                self.log_slow(&run.args, micros);
            }
            // Off (the default): this comparison is all the monitor costs.
            if self.latency_ms != 0 {
                self.sample_latency(run.slot, took, run.calls);
            }
        }
    }

    /// A LATENCY sample if the run's mean call, the figure commandstats
    /// record, took at least `latency-monitor-threshold`, in whole
    /// milliseconds rounded down as Redis rounds its `duration/1000`.
    fn sample_latency(&self, slot: SlotId, took: Duration, calls: u64) {
        let Some(mean) = u64::try_from(took.as_nanos())
            .unwrap_or(u64::MAX)
            .checked_div(calls)
        else {
            return;
        };
        let ms = mean / 1_000_000;
        if ms >= self.latency_ms {
            // The clock is read only for a sample, as Redis does.
            let event = self.shared.cmdstats.event(slot);
            self.shared
                .latency
                .add(event, crate::latency::unix_now(), ms);
        }
    }

    fn log_slow(&self, args: &[Bytes], micros: u64) {
        let name = self.client.meta.lock().name.clone().unwrap_or_default();
        let max = self.shared.config.load().slowlog_max_len;
        self.shared.slowlog.push(
            &crate::cmd::redacted(args),
            micros,
            self.client.addr.clone(),
            name,
            usize::try_from(max).unwrap_or(usize::MAX),
        );
    }
}
