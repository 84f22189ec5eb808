//! LATENCY LATEST, HISTORY, RESET, DOCTOR, GRAPH and HELP.
//!
//! respub has no latency monitor (Redis' default, `latency-monitor-threshold
//! 0`, has it off), so there are never samples: each subcommand answers
//! what Redis answers with the monitor off. Monitoring tools (the Prometheus
//! exporter asks LATENCY LATEST on every scrape) get a reply, not an error.

use bytes::Bytes;

use super::pubsub::help_lines;
use super::{ADMIN, Spec, c_str, leaf};
use crate::session::Session;

const SUBCOMMANDS: &[Spec] = &[
    leaf("latency|latest", 2, ADMIN, empty),
    leaf("latency|history", 3, ADMIN, empty),
    leaf("latency|reset", -2, ADMIN, reset),
    leaf("latency|doctor", 2, ADMIN, doctor),
    leaf("latency|graph", 3, ADMIN, graph),
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
    "HELP",
    "    Prints this help.",
];

const DOCTOR: &[u8] = b"I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis \
instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. \
If we weren't in a deep space mission I'd suggest to take a look at \
https://redis.io/topics/latency-monitor.\n";

fn empty(s: &mut Session, _: &[Bytes]) {
    s.reply().array(0);
}

fn reset(s: &mut Session, _: &[Bytes]) {
    s.reply().int(0);
}

fn doctor(s: &mut Session, _: &[Bytes]) {
    s.reply().verbatim(DOCTOR);
}

fn graph(s: &mut Session, args: &[Bytes]) {
    let mut text = b"ERR No samples available for event '".to_vec();
    text.extend_from_slice(c_str(
        args.get(2).map(|a| &a[..]).unwrap_or_default(),
        usize::MAX,
    ));
    text.push(b'\'');
    s.error(&text);
}

fn help(s: &mut Session, _: &[Bytes]) {
    help_lines(s, HELP);
}
