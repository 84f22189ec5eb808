//! LATENCY DOCTOR's report, worded as Redis' `createLatencyReport` words
//! it for the two events respub records, `command` and `fast-command`.
//!
//! Redis' other advice (fork, AOF, disks, expiry, eviction) follows events
//! respub never has. The transparent-huge-pages advice follows the
//! server's own `AnonHugePages`, which a redis-server with its default
//! `disable-thp yes` does not have either, so it is left out too.

use std::fmt::Write as _;

use super::{Event, Series};

const DISABLED: &str = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis \
instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. \
If we weren't in a deep space mission I'd suggest to take a look at \
https://redis.io/topics/latency-monitor.\n";

const OBSERVED: &str = "Dave, I have observed latency spikes in this Redis instance. \
You don't mind talking about it, do you Dave?\n\n";

const NOTHING: &str = "Dave, no latency spike was observed during the lifetime of this Redis \
instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress \
pill, and think things over.\n";

const SLOWLOG_INSPECT: &str = "- Check your Slow Log to understand what are the commands you are \
running which are too slow to execute. Please check https://redis.io/commands/slowlog for more \
information.\n";

const SCHEDULER: &str = "- The system is slow to execute Redis code paths not containing system \
calls. This usually means the system does not provide Redis CPU time to run for long periods. You \
should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are \
running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" \
problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in \
your system.\n  5) Check if the problem is allocator-related by recompiling Redis with \
MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n";

const LARGE_OBJECTS: &str = "- Deleting, expiring or evicting (because of maxmemory policy) large \
objects is a blocking operation. If you have very large objects that are often deleted, expired, \
or evicted, try to fragment those objects into multiple smaller objects.\n";

/// How the slow log compares with the monitor, for the `command` advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlowlogAdvice {
    None,
    /// The slow log is off.
    Enable,
    /// The slow log's threshold is above the monitor's.
    Tune,
}

/// The report for `events` at `now`, with `latency-monitor-threshold`
/// `threshold_ms` and `slowlog-log-slower-than` `slowlog_us`.
pub fn doctor(events: &[(Event, Series)], threshold_ms: u64, slowlog_us: i64, now: i64) -> String {
    match (events.is_empty(), threshold_ms) {
        (true, 0) => return DISABLED.to_owned(),
        (true, _) => return NOTHING.to_owned(),
        _ => {}
    }
    let mut report = String::new();
    let mut slowlog = SlowlogAdvice::None;
    let (mut commands, mut fast) = (false, false);
    for (i, (event, series)) in events.iter().enumerate() {
        if i == 0 {
            report.push_str(OBSERVED);
        }
        let stats = series.stats(now);
        let _ = writeln!(
            report,
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). \
             Worst all time event {}ms.",
            i + 1,
            event.name(),
            stats.samples,
            stats.avg,
            stats.mad,
            stats.period as f64 / f64::from(stats.samples),
            series.max()
        );
        match event {
            Event::Command => {
                commands = true;
                let threshold = i64::try_from(threshold_ms).unwrap_or(i64::MAX);
                if slowlog_us < 0 {
                    slowlog = SlowlogAdvice::Enable;
                } else if slowlog_us / 1000 > threshold {
                    slowlog = SlowlogAdvice::Tune;
                }
            }
            Event::FastCommand => fast = true,
        }
    }
    // Either event brings advice (Redis' "not able to suggest any easy
    // fix" is for events respub does not have).
    advise(&mut report, slowlog, commands, fast, threshold_ms);
    report
}

/// The advice for the events seen, in Redis' order.
fn advise(
    report: &mut String,
    slowlog: SlowlogAdvice,
    commands: bool,
    fast: bool,
    threshold_ms: u64,
) {
    report.push_str("\nI have a few advices for you:\n\n");
    let suggested = threshold_ms.wrapping_mul(1000);
    match slowlog {
        SlowlogAdvice::Enable => {
            let _ = writeln!(
                report,
                "- There are latency issues with potentially slow commands you are using. Try to \
                 enable the Slow Log Redis feature using the command 'CONFIG SET \
                 slowlog-log-slower-than {suggested}'. If the Slow log is disabled Redis is not \
                 able to log slow commands execution for you."
            );
        }
        SlowlogAdvice::Tune => {
            let _ = writeln!(
                report,
                "- Your current Slow Log configuration only logs events that are slower than your \
                 configured latency monitor threshold. Please use 'CONFIG SET \
                 slowlog-log-slower-than {suggested}'."
            );
        }
        SlowlogAdvice::None => {}
    }
    if commands {
        report.push_str(SLOWLOG_INSPECT);
    }
    if fast {
        report.push_str(SCHEDULER);
    }
    if commands {
        report.push_str(LARGE_OBJECTS);
    }
}
