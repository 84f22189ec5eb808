//! PING, ECHO, SELECT, QUIT and RESET: the small connection commands.

use bytes::Bytes;

use super::{FAST, NO_AUTH, PUBSUB_CONTEXT, Spec, TX_CONTROL, arity_error, parse_int};
use crate::session::{Close, Session};

pub(crate) const PING: Spec = Spec {
    name: "ping",
    arity: -1,
    flags: PUBSUB_CONTEXT | FAST,
    subcommands: &[],
    run: ping,
};
pub(crate) const ECHO: Spec = Spec {
    name: "echo",
    arity: 2,
    flags: FAST,
    subcommands: &[],
    run: echo,
};
pub(crate) const SELECT: Spec = Spec {
    name: "select",
    arity: 2,
    flags: FAST,
    subcommands: &[],
    run: select,
};
pub(crate) const QUIT: Spec = Spec {
    name: "quit",
    arity: -1,
    flags: PUBSUB_CONTEXT | NO_AUTH | TX_CONTROL | FAST,
    subcommands: &[],
    run: quit,
};
pub(crate) const RESET: Spec = Spec {
    name: "reset",
    arity: 1,
    flags: PUBSUB_CONTEXT | NO_AUTH | TX_CONTROL | FAST,
    subcommands: &[],
    run: reset,
};

fn ping(s: &mut Session, args: &[Bytes]) {
    if args.len() > 2 {
        return arity_error(s, "ping");
    }
    let arg = args.get(1);
    let subscribed_resp2 = s.subscribed() && !s.resp3;
    let mut r = s.reply();
    if subscribed_resp2 {
        r.array(2);
        r.bulk(b"pong");
        r.bulk(arg.map(|a| &a[..]).unwrap_or_default());
    } else {
        match arg {
            Some(a) => r.bulk(a),
            None => r.simple(b"PONG"),
        }
    }
}

fn echo(s: &mut Session, args: &[Bytes]) {
    let arg = args.get(1).cloned().unwrap_or_default();
    s.reply().bulk(&arg);
}

fn select(s: &mut Session, args: &[Bytes]) {
    let Some(db) = args
        .get(1)
        .and_then(|a| parse_int(a))
        .filter(|n| i32::try_from(*n).is_ok())
    else {
        return s.error(b"ERR value is not an integer or out of range");
    };
    if !(0..i64::from(s.shared.config.load().databases)).contains(&db) {
        return s.error(b"ERR DB index is out of range");
    }
    s.client.meta.lock().db = u32::try_from(db).unwrap_or_default();
    s.reply().ok();
}

fn quit(s: &mut Session, _: &[Bytes]) {
    s.reply().ok();
    s.close = Close::AfterReply;
}

/// RESET: back to a fresh connection's state, silently dropping every
/// subscription, but keeping CLIENT SETINFO's library fields as Redis does.
fn reset(s: &mut Session, _: &[Bytes]) {
    s.drop_subscriptions();
    s.stop_monitoring();
    s.set_resp3(false);
    let default = s.shared.acl.default_user();
    s.authenticated = default.nopass() && default.enabled();
    s.set_user(default);
    s.multi = None;
    s.sync_multi();
    s.reply_off = false;
    s.skip_next = false;
    s.skip_this = false;
    {
        let mut meta = s.client.meta.lock();
        meta.name = None;
        meta.db = 0;
    }
    s.reply().simple(b"RESET");
}
