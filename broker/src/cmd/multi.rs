//! MULTI, EXEC, DISCARD, WATCH and UNWATCH, as Redis 7.2 answers them.
//!
//! Sentinel promotes a replica with one MULTI/EXEC block (`SLAVEOF`,
//! `CONFIG REWRITE`, `CLIENT KILL`), and client libraries wrap publishes
//! in transactions; both must work unchanged. Commands between MULTI and
//! EXEC pass every check of `execute` and are queued (`+QUEUED`); a
//! refused one marks the transaction, whose EXEC then answers
//! `-EXECABORT`. EXEC runs the queue inside one command, so no other
//! client's command runs in between (commands run on one thread). With no
//! keys, nothing a client WATCHes can change: WATCH and UNWATCH answer
//! `+OK` and EXEC never fails for them.

use bytes::Bytes;

use super::{FAST, PUSH_REPLY, Spec, TX_CONTROL, denial, monitor};
use crate::acl::{LogContext, Reason};
use crate::cmdstats::SlotId;
use crate::session::Session;
use crate::stats::Stats;

pub(crate) const MULTI: Spec = Spec {
    name: "multi",
    arity: 1,
    flags: TX_CONTROL | FAST,
    subcommands: &[],
    run: multi,
};
pub(crate) const EXEC: Spec = Spec {
    name: "exec",
    arity: 1,
    flags: TX_CONTROL,
    subcommands: &[],
    run: exec,
};
pub(crate) const DISCARD: Spec = Spec {
    name: "discard",
    arity: 1,
    flags: TX_CONTROL | FAST,
    subcommands: &[],
    run: discard,
};
pub(crate) const WATCH: Spec = Spec {
    name: "watch",
    arity: -2,
    flags: TX_CONTROL | FAST,
    subcommands: &[],
    run: watch,
};
pub(crate) const UNWATCH: Spec = Spec {
    name: "unwatch",
    arity: 1,
    flags: FAST,
    subcommands: &[],
    run: unwatch,
};

/// One queued command: what `execute` resolved, and its arguments.
#[derive(Debug)]
pub(super) struct Queued {
    slot: SlotId,
    spec: &'static Spec,
    args: Vec<Bytes>,
}

/// The commands queued since MULTI.
#[derive(Debug, Default)]
pub(crate) struct Transaction {
    queued: Vec<Queued>,
    /// A command was refused while queueing: EXEC aborts.
    dirty: bool,
    /// A queued command is `may-replicate`: `CLIENT PAUSE WRITE` holds the
    /// EXEC, as Redis holds it.
    may_replicate: bool,
    /// Bytes of queued arguments (CLIENT LIST `multi-mem`).
    bytes: usize,
}

impl Transaction {
    /// Queues a command that passed every check.
    pub(crate) fn queue(&mut self, slot: SlotId, spec: &'static Spec, args: &[Bytes]) {
        // Redis stops keeping commands once the transaction will abort.
        if self.dirty {
            return;
        }
        self.may_replicate |= spec.flags & super::MAY_REPLICATE != 0;
        self.bytes += args.iter().map(Bytes::len).sum::<usize>();
        self.queued.push(Queued {
            slot,
            spec,
            args: args.to_vec(),
        });
    }

    /// A command was refused: EXEC will abort.
    pub(crate) fn flag(&mut self) {
        self.dirty = true;
    }

    /// Whether EXEC must wait for a `CLIENT PAUSE WRITE` to end.
    pub(crate) fn may_replicate(&self) -> bool {
        self.may_replicate
    }

    /// Queued commands and their argument bytes, for CLIENT LIST.
    pub(crate) fn size(&self) -> (usize, usize) {
        (self.queued.len(), self.bytes)
    }
}

fn multi(s: &mut Session, _: &[Bytes]) {
    if s.multi.is_some() {
        return s.error(b"ERR MULTI calls can not be nested");
    }
    s.multi = Some(Transaction::default());
    s.sync_multi();
    s.reply().ok();
}

fn discard(s: &mut Session, _: &[Bytes]) {
    if s.multi.take().is_none() {
        return s.error(b"ERR DISCARD without MULTI");
    }
    s.sync_multi();
    s.reply().ok();
}

fn watch(s: &mut Session, _: &[Bytes]) {
    if s.multi.is_some() {
        return s.error(b"ERR WATCH inside MULTI is not allowed");
    }
    s.reply().ok();
}

fn unwatch(s: &mut Session, _: &[Bytes]) {
    s.reply().ok();
}

fn exec(s: &mut Session, _: &[Bytes]) {
    let Some(tx) = s.multi.take() else {
        return s.error(b"ERR EXEC without MULTI");
    };
    s.sync_multi();
    if tx.dirty {
        return s.error(b"EXECABORT Transaction discarded because of previous errors.");
    }
    s.reply().array(tx.queued.len());
    s.in_exec = true;
    // What PUBLISH delivers to this client itself waits for the end of
    // EXEC's reply, as in Redis 7.2.
    let mut deferred = std::mem::take(&mut s.pushes);
    for queued in &tx.queued {
        let (was_off, before) = (s.reply_off, s.out.len());
        run_queued(s, queued);
        if s.reply_off && !was_off {
            // CLIENT REPLY OFF inside EXEC: what EXEC replied so far (its
            // header among it) is sent, the rest is not, as in Redis.
            s.out.truncate(before);
            s.reply_off = false;
            s.flush_replies();
            s.reply_off = true;
        }
        // A queued SUBSCRIBE's confirmations are its reply: they take its
        // place in EXEC's.
        let pushes = std::mem::take(&mut s.pushes);
        if queued.spec.flags & PUSH_REPLY != 0 {
            s.out.extend_from_slice(&pushes);
        } else {
            deferred.extend_from_slice(&pushes);
        }
    }
    s.pushes = deferred;
    s.in_exec = false;
}

/// Runs one queued command as `execute` would have, timed and counted on
/// its own; its ACL permissions are checked again, in case they changed
/// since it was queued.
fn run_queued(s: &mut Session, queued: &Queued) {
    let Queued { slot, spec, args } = queued;
    s.refresh_user();
    s.begin_run(*slot, args);
    if let Some(refusal) = denial(&s.user, spec, args) {
        super::admit::log_denial(s, &refusal, LogContext::Multi);
        let reason = match refusal.reason {
            Reason::Command => "no permission to execute the command or subcommand",
            Reason::Channel => "no permission to access one of the channels used as arguments",
            Reason::Auth => "no permission",
        };
        let text = format!(
            "NOPERM ACLs rules changed between the moment the transaction was accumulated and \
the EXEC call. This command is no longer allowed for the following reason: {reason}"
        );
        return s.error(text.as_bytes());
    }
    Stats::add(&s.shared.stats.commands_processed, 1);
    let errors = s.errors;
    (spec.run)(s, args);
    s.count_call(s.errors != errors);
    if s.shared.monitors.any() && spec.flags & super::ADMIN == 0 {
        s.monitor_lines.push(monitor::line(s, args));
    }
}
