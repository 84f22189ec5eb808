//! The command table and dispatch, with Redis' check order.
//!
//! `processCommand` in Redis checks, first failure wins: the command exists
//! (then the subcommand), the arity, authentication, and last the RESP2
//! subscribed-mode restriction. [`execute`] does the same, so a client gets
//! the error Redis would give it, not just any error.

mod acl;
mod client;
mod command;
mod config;
mod hello;
mod info;
mod latency;
mod monitor;
mod pause;
mod ping;
mod publish;
mod pubsub;
mod shutdown;
mod slowlog;
mod subscribe;

use bytes::Bytes;

use crate::acl::{ChannelArg, Denied, Reason, User};
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
/// Redis' `fast` flag: a slow call is a `fast-command` latency event.
pub(crate) const FAST: u8 = 16;

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

/// A command refused by ACL.
pub(crate) struct Refusal<'a> {
    /// What ACL LOG records.
    pub reason: Reason,
    /// The command's full name, or the channel refused.
    pub object: &'a [u8],
    /// The NOPERM error text.
    pub text: String,
}

/// Why `user` may not run `spec` with `args`; `None` if it may. Channels
/// are checked as Redis does: by glob for the channels of SUBSCRIBE,
/// SSUBSCRIBE, PUBLISH and SPUBLISH, literally for PSUBSCRIBE's patterns;
/// unsubscribing is never refused.
pub(crate) fn denial<'a>(user: &User, spec: &'a Spec, args: &'a [Bytes]) -> Option<Refusal<'a>> {
    if user.unrestricted() || spec.flags & NO_AUTH != 0 {
        return None;
    }
    let id = crate::acl::TABLE.id(spec.name)?;
    let first_arg = args
        .get(if spec.name.contains('|') { 2 } else { 1 })
        .map(|a| &a[..]);
    let names = match spec.name {
        "subscribe" | "ssubscribe" | "psubscribe" => args.get(1..).unwrap_or_default(),
        "publish" | "spublish" => args.get(1..2).unwrap_or_default(),
        _ => &[],
    };
    let pattern = spec.name == "psubscribe";
    let channels: Vec<ChannelArg<'_>> = names
        .iter()
        .map(|n| ChannelArg { name: n, pattern })
        .collect();
    match user.check(id, first_arg, &channels) {
        Ok(()) => None,
        Err((Denied::Command, _)) => Some(Refusal {
            reason: Reason::Command,
            object: spec.name.as_bytes(),
            text: format!(
                "NOPERM User {} has no permissions to run the '{}' command",
                String::from_utf8_lossy(&user.name),
                spec.name
            ),
        }),
        Err((Denied::Channel, i)) => Some(Refusal {
            reason: Reason::Channel,
            object: names.get(i).map(|n| &n[..]).unwrap_or_default(),
            text: "NOPERM No permissions to access a channel".to_owned(),
        }),
    }
}

/// Runs one request and leaves its output in the session's buffers.
#[doc(hidden)]
pub fn execute(s: &mut Session, args: &[Bytes]) {
    s.skip_this = std::mem::take(&mut s.skip_next);
    s.refresh_user();
    let Some((slot, spec)) = resolve_for(s, args) else {
        return s.end_run();
    };
    s.begin_run(slot, args);
    if !admit(s, spec, args) {
        return s.shared.cmdstats.reject(slot);
    }
    s.client.meta.lock().last_cmd = spec.name;
    // After every check, as Redis' processCommand: a held command that
    // would fail fails at once.
    let may_replicate = spec.flags & MAY_REPLICATE != 0;
    if s.shared.pause.holds(may_replicate) {
        s.skip_next = std::mem::take(&mut s.skip_this);
        s.postponed = Some(crate::session::Postponed { may_replicate });
        return;
    }
    // Counted when run, as Redis counts calls: refused and held commands
    // are not processed.
    Stats::add(&s.shared.stats.commands_processed, 1);
    let errors = s.errors;
    (spec.run)(s, args);
    s.count_call(s.errors != errors);
    if s.shared.monitors.any() && spec.flags & ADMIN == 0 {
        s.monitor_line = Some(monitor::line(s, args));
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

/// The checks Redis' processCommand makes after the lookup, in its order:
/// arity, authentication, ACL, the RESP2 subscribed-mode restriction.
/// False when the request is refused, with the refusal already replied.
fn admit(s: &mut Session, spec: &'static Spec, args: &[Bytes]) -> bool {
    if !spec.arity_ok(args.len()) {
        arity_error(s, spec.name);
        return false;
    }
    if !s.authenticated && spec.flags & NO_AUTH == 0 {
        s.error(b"NOAUTH Authentication required.");
        return false;
    }
    if let Some(refusal) = denial(&s.user, spec, args) {
        let max = s.shared.config.load().acllog_max_len;
        s.shared.acl.log.add(
            refusal.reason,
            refusal.object,
            &s.user.name,
            s.client.info_line(),
            usize::try_from(max).unwrap_or(usize::MAX),
        );
        s.shared.stats.count_acl_denial(refusal.reason);
        s.error(refusal.text.as_bytes());
        return false;
    }
    if s.subscribed() && !s.resp3 && spec.flags & PUBSUB_CONTEXT == 0 {
        let text = format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            spec.name
        );
        s.error(text.as_bytes());
        return false;
    }
    true
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
