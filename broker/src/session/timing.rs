//! Timing a session's commands for INFO commandstats and latencystats:
//! consecutive calls of one command in one read share one measurement.

use std::time::Instant;

use super::Session;
use crate::cmdstats::SlotId;

/// Consecutive calls of one command within one read, timed together.
#[derive(Debug)]
pub struct Run {
    slot: SlotId,
    calls: u64,
    failed: u64,
    started: Instant,
}

impl Session {
    /// Starts timing a call of the command counted in `slot`. Calls of one
    /// command in a row share one measurement: the clock is read where the
    /// command changes and at the end of each read, not twice per call, so
    /// a publisher streaming PUBLISHes pays for two clock reads per read
    /// (a clock read costs more than the rest of the accounting). Each call
    /// of a run is recorded with the run's mean time.
    pub fn begin_run(&mut self, slot: SlotId) {
        if self.run.as_ref().is_some_and(|r| r.slot == slot) {
            return;
        }
        let now = Instant::now();
        self.finish_run(now);
        self.run = Some(Run {
            slot,
            calls: 0,
            failed: 0,
            started: now,
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
        }
    }
}
