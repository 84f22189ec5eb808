//! The checks a request passes before it runs, in Redis' order, and the
//! replies of a refused one.

use bytes::Bytes;

use super::{NO_AUTH, NO_MULTI, PUBSUB_CONTEXT, Spec, monitor};
use crate::acl::{ChannelArg, Denied, LogContext, Reason, User};
use crate::session::Session;

/// Records an ACL denial in ACL LOG and the INFO counters.
pub(crate) fn log_denial(s: &Session, refusal: &Refusal<'_>, context: LogContext) {
    let max = s.shared.config.load().acllog_max_len;
    s.shared.acl.log.add(
        (refusal.reason, context),
        refusal.object,
        &s.user.name,
        s.client.info_line(),
        usize::try_from(max).unwrap_or(usize::MAX),
    );
    s.shared.stats.count_acl_denial(refusal.reason);
}

/// Why a request was refused, as Redis' `rejectCommand` has it.
pub(super) enum Rejection {
    /// A text `-ERR ` goes before.
    Err(String),
    /// A text with its own code (`NOAUTH`, `NOPERM`).
    Coded(String),
}

impl Rejection {
    /// Replies with the refusal; a refused EXEC also ends the transaction,
    /// and says why in Redis' `EXECABORT` words.
    pub(super) fn reply(self, s: &mut Session, spec: &Spec, args: &[Bytes]) {
        if spec.name != "exec" {
            return match self {
                Self::Err(text) => s.error(format!("ERR {text}").as_bytes()),
                Self::Coded(text) => s.error(text.trim_end().as_bytes()),
            };
        }
        s.multi = None;
        s.sync_multi();
        let (Self::Err(text) | Self::Coded(text)) = self;
        // Redis formats the reason without its line end.
        let text = text.trim_end();
        s.error(format!("EXECABORT Transaction discarded because of: {text}").as_bytes());
        // MONITOR saw the MULTI, so it is told the transaction is over.
        if s.shared.monitors.any() {
            s.monitor_lines.push(monitor::line(s, args));
        }
    }
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

/// The checks Redis' processCommand makes after the lookup, in its order:
/// arity, authentication, `no-multi` inside a transaction, ACL, the RESP2
/// subscribed-mode restriction.
/// The error text when the request is refused (as Redis' `rejectCommand`
/// gets it: `ERR` texts without their code), `None` when it may run.
pub(super) fn refusal(s: &mut Session, spec: &'static Spec, args: &[Bytes]) -> Option<Rejection> {
    if !spec.arity_ok(args.len()) {
        return Some(Rejection::Err(format!(
            "wrong number of arguments for '{}' command",
            spec.name
        )));
    }
    if !s.authenticated && spec.flags & NO_AUTH == 0 {
        // Redis' shared error object carries its line end.
        return Some(Rejection::Coded(
            "NOAUTH Authentication required.\r\n".into(),
        ));
    }
    if s.multi.is_some() && spec.flags & NO_MULTI != 0 {
        return Some(Rejection::Err(
            "Command not allowed inside a transaction".into(),
        ));
    }
    if let Some(refusal) = denial(&s.user, spec, args) {
        log_denial(s, &refusal, LogContext::Toplevel);
        return Some(Rejection::Coded(refusal.text));
    }
    if s.subscribed() && !s.resp3 && spec.flags & PUBSUB_CONTEXT == 0 {
        return Some(Rejection::Err(format!(
            "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            spec.name
        )));
    }
    None
}
