//! LATENCY LATEST, HISTORY, RESET, DOCTOR, GRAPH, HISTOGRAM and HELP, as
//! Redis 7.2 answers them.
//!
//! The monitor ([`crate::latency`]) has samples once
//! `latency-monitor-threshold` is set and a call took that long; with the
//! default, 0, it has none and each subcommand answers what Redis answers
//! with the monitor off, so the tools that ask on every scrape (the
//! Prometheus exporter asks LATENCY LATEST) get a reply, not an error.
//! HISTOGRAM reads the per-command histograms of INFO latencystats
//! ([`crate::cmdstats`]).
//!
//! Events are named as C strings, as Redis looks them up: HISTORY and
//! GRAPH match exactly, RESET in any case, all up to a NUL byte.

use bytes::Bytes;

use super::pubsub::help_lines;
use super::{ADMIN, COMMANDS, Spec, c_str, leaf, lookup};
use crate::cmdstats::{Cdf, CommandStats, SlotId};
use crate::latency::{self, unix_now};
use crate::session::Session;

const SUBCOMMANDS: &[Spec] = &[
    leaf("latency|latest", 2, ADMIN, latest),
    leaf("latency|history", 3, ADMIN, history),
    leaf("latency|reset", -2, ADMIN, reset),
    leaf("latency|doctor", 2, ADMIN, doctor),
    leaf("latency|graph", 3, ADMIN, graph),
    leaf("latency|histogram", -2, ADMIN, histogram),
    leaf("latency|help", 2, 0, help),
];

pub(crate) const LATENCY: Spec = Spec {
    name: "latency",
    arity: -2,
    flags: 0,
    subcommands: SUBCOMMANDS,
    run: super::unknown_subcommand,
};

const HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Print this help.",
];

/// An event's name as the argument gives it: up to a NUL byte.
fn event_arg(args: &[Bytes]) -> &[u8] {
    c_str(args.get(2).map(|a| &a[..]).unwrap_or_default(), usize::MAX)
}

/// Each event: its name, the newest sample's time and latency, its maximum.
fn latest(s: &mut Session, _: &[Bytes]) {
    let events = s.shared.latency.events();
    let mut r = s.reply();
    r.array(events.len());
    for (event, series) in &events {
        let last = series.latest();
        r.array(4);
        r.bulk(event.name().as_bytes());
        r.int(last.time);
        r.int(i64::from(last.latency));
        r.int(i64::from(series.max()));
    }
}

/// The event's samples, oldest first, as `[time, latency]` pairs.
fn history(s: &mut Session, args: &[Bytes]) {
    let samples: Vec<latency::Sample> = s
        .shared
        .latency
        .find(event_arg(args))
        .map(|(_, series)| series.history().collect())
        .unwrap_or_default();
    let mut r = s.reply();
    r.array(samples.len());
    for sample in samples {
        r.array(2);
        r.int(sample.time);
        r.int(i64::from(sample.latency));
    }
}

/// How many events were forgotten: every one, or those named.
fn reset(s: &mut Session, args: &[Bytes]) {
    let monitor = &s.shared.latency;
    let forgotten: usize = match args.get(2..) {
        Some(names) if !names.is_empty() => names
            .iter()
            .map(|name| monitor.reset(Some(c_str(name, usize::MAX))))
            .sum(),
        _ => monitor.reset(None),
    };
    s.reply().int(i64::try_from(forgotten).unwrap_or(i64::MAX));
}

fn doctor(s: &mut Session, _: &[Bytes]) {
    let config = s.shared.config.load();
    let report = latency::doctor(
        &s.shared.latency.events(),
        config.latency_monitor_threshold,
        config.slowlog_log_slower_than,
        unix_now(),
    );
    drop(config);
    s.reply().verbatim(report.as_bytes());
}

fn graph(s: &mut Session, args: &[Bytes]) {
    let name = event_arg(args);
    match s.shared.latency.find(name) {
        Some((event, series)) => {
            let text = latency::graph(event, &series, unix_now());
            s.reply().verbatim(text.as_bytes());
        }
        None => {
            let mut text = b"ERR No samples available for event '".to_vec();
            text.extend_from_slice(name);
            text.push(b'\'');
            s.error(&text);
        }
    }
}

/// Each command's calls and cumulative distribution: those named (a
/// container with its subcommands, `container|sub` alone, unknown names
/// skipped), or every command measured.
fn histogram(s: &mut Session, args: &[Bytes]) {
    let stats = &s.shared.cmdstats;
    let cdfs: Vec<Cdf> = match args.get(2..) {
        Some(names) if !names.is_empty() => names
            .iter()
            .flat_map(|name| named(stats, name))
            .filter_map(|id| stats.cdf(id))
            .collect(),
        _ => stats.cdfs(),
    };
    let mut r = s.reply();
    r.map(cdfs.len());
    for cdf in &cdfs {
        r.bulk(cdf.name.as_bytes());
        r.map(2);
        r.bulk(b"calls");
        r.int(i64::try_from(cdf.calls).unwrap_or(i64::MAX));
        r.bulk(b"histogram_usec");
        r.map(cdf.buckets.len());
        for &(micros, calls) in &cdf.buckets {
            r.int(i64::try_from(micros).unwrap_or(i64::MAX));
            r.int(i64::try_from(calls).unwrap_or(i64::MAX));
        }
    }
}

/// The slots a HISTOGRAM argument names, as Redis' `lookupCommandBySds`
/// finds them: `name` (with its subcommands) or `container|sub`.
fn named(stats: &CommandStats, name: &[u8]) -> Vec<SlotId> {
    let mut parts = name.split(|&b| b == b'|');
    let (Some(first), second, None) = (parts.next(), parts.next(), parts.next()) else {
        return Vec::new();
    };
    let Some((top, spec)) = lookup(COMMANDS, first, false) else {
        return Vec::new();
    };
    match second {
        None => std::iter::once(None)
            .chain((0..spec.subcommands.len()).map(Some))
            .map(|sub| stats.slot(top, sub))
            .collect(),
        Some(sub) => lookup(spec.subcommands, sub, true)
            .map(|(i, _)| vec![stats.slot(top, Some(i))])
            .unwrap_or_default(),
    }
}

fn help(s: &mut Session, _: &[Bytes]) {
    help_lines(s, HELP);
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::super::FAST;
    use super::*;

    /// Redis puts exactly the commands it flags fast in `@fast`, so the
    /// ACL table (taken from a real redis-server) checks the command
    /// table's flags, which choose a slow call's latency event.
    #[test]
    fn fast_flags_are_redis_fast_category() {
        let fast = crate::acl::category_flag("fast").unwrap_or_default();
        for spec in COMMANDS
            .iter()
            .flat_map(|c| std::iter::once(c).chain(c.subcommands))
        {
            let Some(id) = crate::acl::TABLE.id(spec.name) else {
                continue;
            };
            let in_category = crate::acl::TABLE
                .commands
                .get(id)
                .is_some_and(|c| c.categories & fast != 0);
            assert_eq!(spec.flags & FAST != 0, in_category, "{}", spec.name);
        }
    }

    #[test]
    fn histogram_arguments_name_commands_as_redis_looks_them_up() {
        let stats = super::super::command_stats();
        let config = COMMANDS
            .iter()
            .position(|c| c.name == "config")
            .unwrap_or(0);
        let publish = COMMANDS
            .iter()
            .position(|c| c.name == "publish")
            .unwrap_or(0);
        let set = stats.slot(config, Some(1));
        assert_eq!(named(&stats, b"CONFIG|Set"), [set]);
        assert_eq!(
            named(&stats, b"config").len(),
            1 + COMMANDS[config].subcommands.len()
        );
        assert_eq!(named(&stats, b"publish"), [stats.slot(publish, None)]);
        for none in [
            &b""[..],
            b"nosuch",
            b"publish|x",
            b"config|",
            b"|config",
            b"config|set|x",
        ] {
            assert!(
                named(&stats, none).is_empty(),
                "{:?}",
                String::from_utf8_lossy(none)
            );
        }
    }
}
