//! HELLO and AUTH.
//!
//! Every client library's handshake goes through here, so the HELLO map has
//! Redis' seven fields in Redis' order, `id` is an integer and `proto` the
//! protocol after the switch (redis-py, Lettuce and Jedis check both).
//! Credentials are checked against the ACL users (`default` is `nopass`
//! in a stock redis-server, or protected by `requirepass`); a wrong pair
//! gets Redis' WRONGPASS text, whichever part was wrong.

use bytes::Bytes;

use super::{FAST, NO_AUTH, Spec, c_str, is, parse_int};
use crate::acl::{LogContext, Reason};
use crate::session::Session;

pub(crate) const HELLO: Spec = Spec {
    name: "hello",
    arity: -1,
    flags: NO_AUTH | FAST,
    subcommands: &[],
    run: hello,
};
pub(crate) const AUTH: Spec = Spec {
    name: "auth",
    arity: -2,
    flags: NO_AUTH | FAST,
    subcommands: &[],
    run: auth,
};

const WRONGPASS: &[u8] = b"WRONGPASS invalid username-password pair or user is disabled.";

/// Logs the client in as `user` if `password` is right for it; a failure
/// goes to ACL LOG under the command name as sent (`AUTH`, `hello`).
fn log_in(s: &mut Session, command: &[u8], user: &[u8], password: &[u8]) -> bool {
    match s.shared.acl.get(user) {
        Some(u) if u.password_ok(password) => {
            s.set_user(u);
            s.authenticated = true;
            true
        }
        _ => {
            let max = s.shared.config.load().acllog_max_len;
            s.shared.acl.log.add(
                (Reason::Auth, LogContext::Toplevel),
                command,
                user,
                s.client.info_line(),
                usize::try_from(max).unwrap_or(usize::MAX),
            );
            s.shared.stats.count_acl_denial(Reason::Auth);
            false
        }
    }
}

const HELLO_NOAUTH: &[u8] = b"NOAUTH HELLO must be called with the client already authenticated, otherwise the \
HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol \
version at the same time";

/// Redis' `validateClientName`: printable ASCII without spaces.
pub(crate) fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|b| (b'!'..=b'~').contains(b))
}

pub(crate) const BAD_NAME: &[u8] =
    b"ERR Client names cannot contain spaces, newlines or special characters.";

fn hello(s: &mut Session, args: &[Bytes]) {
    let mut version = None;
    if let Some(v) = args.get(1) {
        match parse_int(v) {
            None => return s.error(b"ERR Protocol version is not an integer or out of range"),
            Some(v) if !(2..=3).contains(&v) => {
                return s.error(b"NOPROTO unsupported protocol version");
            }
            Some(v) => version = Some(v),
        }
    }
    let mut auth = None;
    let mut name = None;
    let mut j = 2;
    while let Some(opt) = args.get(j) {
        let more = args.len() - 1 - j;
        if is(opt, "AUTH") && more >= 2 {
            auth = args.get(j + 1).zip(args.get(j + 2));
            j += 3;
        } else if is(opt, "SETNAME") && more >= 1 {
            let candidate = args.get(j + 1);
            if candidate.is_some_and(|n| !valid_name(n)) {
                return s.error(BAD_NAME);
            }
            name = candidate;
            j += 2;
        } else {
            let mut text = b"ERR Syntax error in HELLO option '".to_vec();
            text.extend_from_slice(c_str(opt, usize::MAX));
            text.push(b'\'');
            return s.error(&text);
        }
    }
    if let Some((user, pass)) = auth {
        let command = args.first().cloned().unwrap_or_default();
        if !log_in(s, &command, user, pass) {
            return s.error(WRONGPASS);
        }
    }
    if !s.authenticated {
        return s.error(HELLO_NOAUTH);
    }
    if let Some(name) = name {
        s.client.meta.lock().name = (!name.is_empty()).then(|| Bytes::copy_from_slice(name));
    }
    if let Some(v) = version {
        s.set_resp3(v == 3);
    }
    let id = i64::try_from(s.client.id).unwrap_or(i64::MAX);
    let proto = if s.resp3 { 3 } else { 2 };
    let version = s.shared.config.load().redis_version.clone();
    let mut r = s.reply();
    r.map(7);
    r.bulk(b"server");
    r.bulk(b"redis");
    r.bulk(b"version");
    r.bulk(version.as_bytes());
    r.bulk(b"proto");
    r.int(proto);
    r.bulk(b"id");
    r.int(id);
    r.bulk(b"mode");
    r.bulk(b"standalone");
    r.bulk(b"role");
    r.bulk(b"master");
    r.bulk(b"modules");
    r.array(0);
}

fn auth(s: &mut Session, args: &[Bytes]) {
    if args.len() > 3 {
        return s.error(b"ERR syntax error");
    }
    let nopass = s.shared.acl.default_user().nopass();
    let (user, pass): (&[u8], &[u8]) = match (args.get(1), args.get(2)) {
        (Some(pass), None) => {
            if nopass {
                return s.error(
                    b"ERR AUTH <password> called without any password configured for the default user. \
                      Are you sure your configuration is correct?",
                );
            }
            (b"default", pass)
        }
        (Some(user), Some(pass)) => (user, pass),
        _ => return,
    };
    let command = args.first().cloned().unwrap_or_default();
    if log_in(s, &command, user, pass) {
        s.reply().ok();
    } else {
        s.error(WRONGPASS);
    }
}
