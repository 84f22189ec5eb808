//! The latency monitor (LATENCY LATEST, HISTORY, RESET, DOCTOR, GRAPH), kept
//! as Redis' `latency.c` keeps it, so that the tools that read Redis'
//! latency events read respub's alike.
//!
//! A call at least `latency-monitor-threshold` milliseconds long is a
//! sample of its event: `fast-command` for the commands Redis flags fast,
//! `command` for the others (respub has none of Redis' other events: it
//! does not fork, expire or persist). Each event keeps the last
//! [`SERIES_LEN`] seconds that had a sample, at most one sample a second
//! (the slowest), and its all-time maximum.
//!
//! Sans-IO: the caller passes the time, so the ring, the report and the
//! graph are tested with fixed clocks. Samples are rare (a call slower than
//! the threshold), so the lock is taken only then and by LATENCY.

use parking_lot::Mutex;

mod graph;
mod report;

pub use graph::graph;
pub use report::doctor;

/// Samples per event, as Redis' `LATENCY_TS_LEN`.
pub const SERIES_LEN: usize = 160;

/// Unix time in seconds (Redis' `time(NULL)`): what the callers pass in.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// What a sample measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A call of a command Redis does not flag fast.
    Command,
    /// A call of a command Redis flags fast (`PUBLISH`, `PING`, ...).
    FastCommand,
}

impl Event {
    /// The event's name, as LATENCY shows it.
    pub fn name(self) -> &'static str {
        match self {
            Event::Command => "command",
            Event::FastCommand => "fast-command",
        }
    }
}

/// One second's slowest call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    /// Unix time, seconds; 0 marks a slot never written.
    pub time: i64,
    /// Milliseconds.
    pub latency: u32,
}

/// One event's samples: a ring of the last [`SERIES_LEN`] seconds with a
/// sample.
#[derive(Debug, Clone)]
pub struct Series {
    /// The slot the next sample of a new second goes to.
    next: usize,
    /// The slowest sample since the event was created or reset.
    max: u32,
    samples: [Sample; SERIES_LEN],
}

impl Default for Series {
    fn default() -> Self {
        Self {
            next: 0,
            max: 0,
            samples: [Sample::default(); SERIES_LEN],
        }
    }
}

impl Series {
    /// Records a call of `latency` ms at `now`: a second that already has a
    /// sample keeps the slower one (Redis' `latencyAddSample`).
    pub fn add(&mut self, now: i64, latency: u32) {
        self.max = self.max.max(latency);
        let prev = (self.next + SERIES_LEN - 1) % SERIES_LEN;
        if let Some(last) = self.samples.get_mut(prev).filter(|s| s.time == now) {
            last.latency = last.latency.max(latency);
            return;
        }
        if let Some(slot) = self.samples.get_mut(self.next) {
            *slot = Sample { time: now, latency };
        }
        self.next = (self.next + 1) % SERIES_LEN;
    }

    /// The newest sample.
    pub fn latest(&self) -> Sample {
        let prev = (self.next + SERIES_LEN - 1) % SERIES_LEN;
        self.samples.get(prev).copied().unwrap_or_default()
    }

    /// The slowest sample ever recorded (Redis' all-time high).
    pub fn max(&self) -> u32 {
        self.max
    }

    /// The samples kept, oldest first.
    pub fn history(&self) -> impl Iterator<Item = Sample> + '_ {
        (0..SERIES_LEN)
            .filter_map(|j| self.samples.get((self.next + j) % SERIES_LEN))
            .copied()
            .filter(|s| s.time != 0)
    }

    /// What DOCTOR reports of the samples kept, at `now`.
    pub fn stats(&self, now: i64) -> Stats {
        let mut stats = Stats::default();
        let mut sum: u64 = 0;
        let mut oldest = 0;
        for s in self.history() {
            stats.samples += 1;
            if stats.samples == 1 {
                (stats.min, stats.max) = (s.latency, s.latency);
            } else {
                stats.min = stats.min.min(s.latency);
                stats.max = stats.max.max(s.latency);
            }
            sum += u64::from(s.latency);
            if oldest == 0 || s.time < oldest {
                oldest = s.time;
            }
        }
        if stats.samples == 0 {
            return stats;
        }
        let n = u64::from(stats.samples);
        stats.avg = u32::try_from(sum / n).unwrap_or(u32::MAX);
        stats.period = match now - oldest {
            0 => 1,
            p => p,
        };
        let deviation: u64 = self
            .history()
            .map(|s| i64::from(stats.avg).abs_diff(i64::from(s.latency)))
            .sum();
        stats.mad = u32::try_from(deviation / n).unwrap_or(u32::MAX);
        stats
    }
}

/// Figures of one event's samples (Redis' `struct latencyStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Samples kept.
    pub samples: u32,
    /// Their mean, milliseconds, rounded down.
    pub avg: u32,
    /// The fastest and slowest of them.
    pub min: u32,
    /// See `min`.
    pub max: u32,
    /// Their mean absolute deviation from `avg`, rounded down.
    pub mad: u32,
    /// Seconds from the oldest to now, at least 1.
    pub period: i64,
}

/// The events of one server, in the order they were first sampled.
#[derive(Debug, Default)]
pub struct Monitor {
    events: Mutex<Vec<(Event, Series)>>,
}

impl Monitor {
    /// Records a sample of `event`, creating the event at its first one.
    pub fn add(&self, event: Event, now: i64, latency_ms: u64) {
        let latency = u32::try_from(latency_ms).unwrap_or(u32::MAX);
        let mut events = self.events.lock();
        if let Some((_, series)) = events.iter_mut().find(|(e, _)| *e == event) {
            series.add(now, latency);
        } else {
            let mut series = Series::default();
            series.add(now, latency);
            events.push((event, series));
        }
    }

    /// Forgets the event named `name` (any case), or every event: how many
    /// were forgotten.
    pub fn reset(&self, name: Option<&[u8]>) -> usize {
        let mut events = self.events.lock();
        let before = events.len();
        events.retain(|(e, _)| name.is_some_and(|n| !n.eq_ignore_ascii_case(e.name().as_bytes())));
        before - events.len()
    }

    /// The event named exactly `name`, as it is now.
    pub fn find(&self, name: &[u8]) -> Option<(Event, Series)> {
        self.events
            .lock()
            .iter()
            .find(|(e, _)| e.name().as_bytes() == name)
            .cloned()
    }

    /// Every event, as it is now.
    pub fn events(&self) -> Vec<(Event, Series)> {
        self.events.lock().clone()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests;
