//! `CLIENT PAUSE`: commands held back until the pause ends.
//!
//! Failover tooling pauses writes, waits for replicas to catch up and then
//! unpauses; a pub/sub server is part of that dance when its clients treat
//! it as a Redis. As in Redis 7.2, a `WRITE` pause holds the commands that
//! may replicate (PUBLISH, SPUBLISH) and an `ALL` pause holds every command,
//! `CLIENT UNPAUSE` included, so that only its timeout ends it. A held
//! command is not refused: its connection stops running requests (its
//! later ones stay behind it) and runs it once the pause is over, so every
//! connection's requests keep their order. Nothing here blocks the command
//! thread: a held connection awaits [`Pause::wait`] in its own task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Notify;

/// What a pause holds back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Commands that may replicate (Redis' `PAUSE_ACTIONS_CLIENT_WRITE_SET`).
    Write,
    /// Every command (`PAUSE_ACTIONS_CLIENT_ALL_SET`).
    All,
}

#[derive(Debug, Clone, Copy)]
struct Active {
    mode: Mode,
    until: Instant,
}

/// The server's pause, shared by every connection.
#[derive(Debug, Default)]
pub struct Pause {
    /// Whether a pause may be in force: one atomic load per command while
    /// none is, and no clock read.
    on: AtomicBool,
    state: Mutex<Option<Active>>,
    /// FAILOVER's write pause, apart from CLIENT PAUSE's as Redis keeps
    /// its pause purposes apart: CLIENT UNPAUSE leaves it, and its end
    /// leaves a client's pause.
    failover: AtomicBool,
    /// Woken when the pause ends or changes; waiters are woken in the order
    /// they started waiting, so held connections resume in Redis' order
    /// (its list of postponed clients).
    changed: Notify,
}

impl Pause {
    /// Pauses until `until` (kept if a later end is already set, as Redis
    /// keeps the later end) with `mode`, or with `All` if an `All` pause is
    /// in force: the more restrictive mode wins. An `until` in the past
    /// (`CLIENT PAUSE 0`) pauses nothing, but changes the mode of a pause in
    /// force. Returns when the pause will end, for the caller's timer.
    /// Nothing held is released: the pause only grows, in time and in mode.
    pub fn pause(&self, mode: Mode, until: Instant) -> Instant {
        let now = Instant::now();
        let mut state = self.state.lock();
        let current = state.filter(|a| a.until > now);
        let mode = match current {
            Some(a) if a.mode == Mode::All => Mode::All,
            _ => mode,
        };
        let until = current.map_or(until, |a| a.until.max(until));
        *state = (until > now).then_some(Active { mode, until });
        self.on.store(state.is_some(), Ordering::Relaxed);
        until
    }

    /// Ends the pause (`CLIENT UNPAUSE`).
    pub fn unpause(&self) {
        *self.state.lock() = None;
        self.on.store(false, Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    /// Ends the pause if its time has come; the timer started with each
    /// `CLIENT PAUSE` calls this, so the pause ends without any traffic.
    pub fn expire(&self) {
        let mut state = self.state.lock();
        if state.is_some_and(|a| a.until <= Instant::now()) {
            *state = None;
            self.on.store(false, Ordering::Relaxed);
            drop(state);
            self.changed.notify_waiters();
        }
    }

    /// Holds writes while a FAILOVER runs (`on`), or ends that hold.
    pub fn hold_for_failover(&self, on: bool) {
        self.failover.store(on, Ordering::Relaxed);
        if !on {
            self.changed.notify_waiters();
        }
    }

    /// The mode in force now, if any: the more restrictive of CLIENT
    /// PAUSE's and FAILOVER's.
    pub fn mode(&self) -> Option<Mode> {
        let failover = self.failover.load(Ordering::Relaxed).then_some(Mode::Write);
        if !self.on.load(Ordering::Relaxed) {
            return failover;
        }
        let now = Instant::now();
        let client = self.state.lock().filter(|a| a.until > now).map(|a| a.mode);
        client.or(failover)
    }

    /// Whether a command holds now: every command under `All`, those that
    /// may replicate under `Write`.
    pub fn holds(&self, may_replicate: bool) -> bool {
        match self.mode() {
            Some(Mode::All) => true,
            Some(Mode::Write) => may_replicate,
            None => false,
        }
    }

    /// Waits until a command of this kind no longer holds.
    pub async fn wait(&self, may_replicate: bool) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before the check, so an unpause in between is seen.
            changed.as_mut().enable();
            if !self.holds(may_replicate) {
                return;
            }
            changed.await;
        }
    }
}

/// The instant `ms` milliseconds from now, or a far one when that does not
/// fit an `Instant` (Redis accepts timeouts up to the end of its clock).
pub fn after_ms(ms: u64) -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_millis(ms))
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_holds_only_replicating_commands_and_all_wins() {
        let p = Pause::default();
        assert!(!p.holds(true));
        p.pause(Mode::Write, after_ms(60_000));
        assert!(p.holds(true) && !p.holds(false));
        p.pause(Mode::All, after_ms(1));
        assert!(p.holds(false), "ALL is kept with the later end");
        p.pause(Mode::Write, after_ms(0));
        assert_eq!(p.mode(), Some(Mode::All), "the more restrictive mode stays");
        p.unpause();
        assert_eq!(p.mode(), None);
    }

    #[test]
    fn the_failover_hold_outlives_client_unpause() {
        let p = Pause::default();
        p.hold_for_failover(true);
        p.pause(Mode::All, after_ms(60_000));
        assert_eq!(p.mode(), Some(Mode::All));
        p.unpause();
        assert_eq!(p.mode(), Some(Mode::Write));
        p.hold_for_failover(false);
        assert_eq!(p.mode(), None);
    }

    #[test]
    fn a_past_end_pauses_nothing() {
        let p = Pause::default();
        p.pause(Mode::All, Instant::now());
        assert_eq!(p.mode(), None);
        p.expire();
        assert_eq!(p.mode(), None);
    }
}
