//! The command table and dispatch, with Redis' check order.
//!
//! `processCommand` in Redis checks, first failure wins: the command exists
//! (then the subcommand), the arity, authentication, and last the RESP2
//! subscribed-mode restriction. [`execute`] does the same, so a client gets
//! the error Redis would give it, not just any error.

mod acl;
mod admit;
mod client;
mod command;
mod config;
mod failover;
mod hello;
mod info;
mod latency;
mod monitor;
mod multi;
mod pause;
mod ping;
mod publish;
mod pubsub;
mod replication;
mod shutdown;
mod slowlog;
mod subscribe;
mod wait;

use bytes::Bytes;

use crate::cmdstats::{CommandStats, SlotId};
use crate::session::Session;
use crate::stats::Stats;

/// A command implementation: arguments include the command name.
pub(crate) type Handler = fn(&mut Session, &[Bytes]);

/// Allowed while a RESP2 client is in subscribed mode.
pub(crate) const PUBSUB_CONTEXT: u8 = 1;
/// Allowed before authentication.
pub(crate) const NO_AUTH: u8 = 2;
/// An administrative command (Redis' `admin` flag): never fed to MONITOR.
pub(crate) const ADMIN: u8 = 4;
/// Redis' `may-replicate` flag: held by `CLIENT PAUSE WRITE`.
pub(crate) const MAY_REPLICATE: u8 = 8;
/// Redis' `no-multi` flag: refused between MULTI and EXEC.
pub(crate) const NO_MULTI: u8 = 16;
/// Runs at once between MULTI and EXEC instead of being queued (MULTI,
/// EXEC, DISCARD, WATCH, QUIT, RESET).
pub(crate) const TX_CONTROL: u8 = 32;
/// Replies with push frames (the SUBSCRIBE family, Redis'
/// `cmdHasPushAsReply`): inside EXEC they stay in place in its reply.
pub(crate) const PUSH_REPLY: u8 = 64;

pub(crate) use admit::denial;
/// Redis' `fast` flag: a slow call is a `fast-command` latency event.
pub(crate) const FAST: u8 = 128;

pub(crate) use multi::Transaction;
pub(crate) use replication::Announced;

/// One command or subcommand.
#[derive(Debug)]
pub(crate) struct Spec {
    /// Lowercase full name, `container|sub` for subcommands.
    pub name: &'static str,
    /// Redis arity: exact count if positive, minimum count if negative,
    /// counting the command name (and the subcommand name).
    pub arity: i32,
    pub flags: u8,
    /// Subcommands; a container's own handler runs only when none match.
    pub subcommands: &'static [Spec],
    pub run: Handler,
}

/// A command without subcommands (most subcommands are built with it).
pub(crate) const fn leaf(name: &'static str, arity: i32, flags: u8, run: Handler) -> Spec {
    Spec {
        name,
        arity,
        flags,
        subcommands: &[],
        run,
    }
}

impl Spec {
    pub(crate) fn arity_ok(&self, argc: usize) -> bool {
        let argc = i64::try_from(argc).unwrap_or(i64::MAX);
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }
}

/// Every command respub answers, most frequent first.
pub(crate) static COMMANDS: &[Spec] = &[
    publish::PUBLISH,
    publish::SPUBLISH,
    subscribe::SUBSCRIBE,
    subscribe::UNSUBSCRIBE,
    subscribe::PSUBSCRIBE,
    subscribe::PUNSUBSCRIBE,
    subscribe::SSUBSCRIBE,
    subscribe::SUNSUBSCRIBE,
    ping::PING,
    pubsub::PUBSUB,
    ping::ECHO,
    hello::HELLO,
    hello::AUTH,
    client::CLIENT,
    ping::SELECT,
    ping::QUIT,
    ping::RESET,
    info::INFO,
    info::TIME,
    command::COMMAND,
    config::CONFIG,
    shutdown::SHUTDOWN,
    monitor::MONITOR,
    acl::ACL,
    slowlog::SLOWLOG,
    latency::LATENCY,
    multi::MULTI,
    multi::EXEC,
    multi::DISCARD,
    multi::WATCH,
    multi::UNWATCH,
    replication::REPLCONF,
    replication::PSYNC,
    replication::SYNC,
    replication::ROLE,
    replication::REPLICAOF,
    replication::SLAVEOF,
    wait::WAIT,
    failover::FAILOVER,
];

/// Finds `name` in a table of commands, or of one container's subcommands
/// (`sub`), whose full names are `container|name`, with its position there.
/// Compares the tail of the full name instead of splitting it: this runs
/// for every request.
fn lookup<'a>(table: &'a [Spec], name: &[u8], sub: bool) -> Option<(usize, &'a Spec)> {
    table.iter().enumerate().find(|(_, s)| {
        let full = s.name.as_bytes();
        let Some(cut) = full.len().checked_sub(name.len()) else {
            return false;
        };
        let (head, tail) = full.split_at(cut);
        let whole = if sub {
            head.last() == Some(&b'|')
        } else {
            head.is_empty()
        };
        whole && tail.eq_ignore_ascii_case(name)
    })
}

/// Cuts a C-formatted `%.128s` argument: at most 128 bytes, and no further
/// than a NUL byte (Redis formats arguments as C strings).
pub(crate) fn c_str(arg: &[u8], max: usize) -> &[u8] {
    let end = memchr::memchr(0, arg).unwrap_or(arg.len()).min(max);
    arg.get(..end).unwrap_or_default()
}

fn unknown_command(s: &mut Session, args: &[Bytes]) {
    let name = args.first().map(|a| c_str(a, 128)).unwrap_or_default();
    let mut text = b"ERR unknown command '".to_vec();
    text.extend_from_slice(name);
    text.extend_from_slice(b"', with args beginning with: ");
    let mut listed: Vec<u8> = Vec::new();
    for arg in args.iter().skip(1) {
        if listed.len() >= 128 {
            break;
        }
        let room = 128 - listed.len();
        listed.push(b'\'');
        listed.extend_from_slice(c_str(arg, room));
        listed.extend_from_slice(b"' ");
    }
    text.extend_from_slice(&listed);
    s.error(&text);
}

/// `-ERR wrong number of arguments for '<fullname>' command`.
pub(crate) fn arity_error(s: &mut Session, fullname: &str) {
    s.error(format!("ERR wrong number of arguments for '{fullname}' command").as_bytes());
}

/// `-ERR unknown subcommand '<sub>'. Try <CMD> HELP.`
pub(crate) fn unknown_subcommand(s: &mut Session, args: &[Bytes]) {
    let cmd = args
        .first()
        .map(|a| a.to_ascii_uppercase())
        .unwrap_or_default();
    let mut text = b"ERR unknown subcommand '".to_vec();
    text.extend_from_slice(args.get(1).map(|a| c_str(a, 128)).unwrap_or_default());
    text.extend_from_slice(b"'. Try ");
    text.extend_from_slice(c_str(&cmd, usize::MAX));
    text.extend_from_slice(b" HELP.");
    s.error(&text);
}

/// The command (or subcommand) `args` names, if any.
pub(crate) fn resolve(args: &[Bytes]) -> Option<&'static Spec> {
    let (_, spec) = lookup(COMMANDS, args.first()?, false)?;
    if spec.subcommands.is_empty() || args.len() < 2 {
        return Some(spec);
    }
    lookup(spec.subcommands, args.get(1)?, true).map(|(_, s)| s)
}

/// The counters of every command and subcommand, in table order.
pub(crate) fn command_stats() -> CommandStats {
    let name = |s: &Spec| (s.name, s.flags & FAST != 0);
    let subs: Vec<(_, Vec<_>)> = COMMANDS
        .iter()
        .map(|c| (name(c), c.subcommands.iter().map(name).collect()))
        .collect();
    CommandStats::new(subs.iter().map(|(c, subs)| (*c, &subs[..])))
}

/// Runs one request and leaves its output in the session's buffers.
#[doc(hidden)]
pub fn execute(s: &mut Session, args: &[Bytes]) {
    s.skip_this = std::mem::take(&mut s.skip_next);
    s.refresh_user();
    let Some((slot, spec)) = resolve_for(s, args) else {
        flag_transaction(s);
        return s.end_run();
    };
    s.begin_run(slot, args);
    if let Some(rejection) = admit::refusal(s, spec, args) {
        flag_transaction(s);
        rejection.reply(s, spec, args);
        return s.shared.cmdstats.reject(slot);
    }
    s.client.meta.lock().last_cmd = spec.name;
    // After every check, as Redis' processCommand: a held command that
    // would fail fails at once.
    let may_replicate = spec.flags & MAY_REPLICATE != 0
        || (spec.name == "exec" && s.multi.as_ref().is_some_and(Transaction::may_replicate));
    if s.shared.pause.holds(may_replicate) {
        s.skip_next = std::mem::take(&mut s.skip_this);
        s.postponed = Some(crate::session::Postponed {
            may_replicate,
            acks: None,
        });
        return;
    }
    if spec.flags & TX_CONTROL == 0 {
        if let Some(tx) = s.multi.as_mut() {
            tx.queue(slot, spec, args);
            let (_, bytes) = tx.size();
            s.sync_multi();
            s.reply().simple(b"QUEUED");
            // The queue is unparsed input kept for later: bounded as the
            // query buffer is (Redis leaves it to maxmemory-clients).
            if bytes > s.shared.config.load().client_query_buffer_limit {
                tracing::warn!(
                    client = s.client.id,
                    "closing client whose MULTI queue reached max query buffer length"
                );
                s.close = crate::session::Close::AfterReply;
            }
            return;
        }
    }
    // Counted when run, as Redis counts calls: refused, held and queued
    // commands are not processed.
    Stats::add(&s.shared.stats.commands_processed, 1);
    let errors = s.errors;
    (spec.run)(s, args);
    // EXEC timed its commands one by one: its own call starts a new run.
    s.begin_run(slot, args);
    s.count_call(s.errors != errors);
    if s.shared.monitors.any() && spec.flags & ADMIN == 0 {
        s.monitor_lines.push(monitor::line(s, args));
    }
}

/// A refused command makes the transaction it was sent in abort at EXEC.
fn flag_transaction(s: &mut Session) {
    if let Some(tx) = s.multi.as_mut() {
        tx.flag();
    }
}

/// The command `args` names and its counters, or `None` after replying
/// that there is no such command or subcommand.
fn resolve_for(s: &mut Session, args: &[Bytes]) -> Option<(SlotId, &'static Spec)> {
    let name = args.first()?;
    let Some((top, spec)) = lookup(COMMANDS, name, false) else {
        unknown_command(s, args);
        return None;
    };
    if spec.subcommands.is_empty() || args.len() < 2 {
        return Some((s.shared.cmdstats.slot(top, None), spec));
    }
    match args
        .get(1)
        .and_then(|name| lookup(spec.subcommands, name, true))
    {
        Some((i, sub)) => Some((s.shared.cmdstats.slot(top, Some(i)), sub)),
        None => {
            unknown_subcommand(s, args);
            None
        }
    }
}

/// Parses an integer argument the way Redis' `getLongLongFromObject` does.
pub(crate) fn parse_int(arg: &[u8]) -> Option<i64> {
    crate::parse::string2ll(arg)
}

/// Whether `arg` equals `word`, ignoring ASCII case.
pub(crate) fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// `args` as SLOWLOG and MONITOR show them: AUTH's arguments, HELLO's
/// two after AUTH, ACL SETUSER's rules and the values of CONFIG SET
/// requirepass and masterauth replaced by `(redacted)`, as Redis does.
pub(crate) fn redacted(args: &[Bytes]) -> Vec<Bytes> {
    let hidden = |i: usize| -> bool {
        let Some(name) = args.first() else {
            return false;
        };
        let word = |j: usize| args.get(j).map(|a| &a[..]).unwrap_or_default();
        if is(name, "AUTH") {
            return i >= 1;
        }
        if is(name, "HELLO") {
            let at = args.iter().position(|a| is(a, "AUTH"));
            return at.is_some_and(|at| i > at && i <= at + 2);
        }
        if is(name, "ACL") && is(word(1), "SETUSER") {
            return i >= 2;
        }
        if is(name, "CONFIG") && is(word(1), "SET") && i >= 3 && (i - 2) % 2 == 1 {
            let key = word(i - 1);
            return is(key, "requirepass") || is(key, "masterauth");
        }
        false
    };
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            if hidden(i) {
                Bytes::from_static(b"(redacted)")
            } else {
                a.clone()
            }
        })
        .collect()
}
