//! SHUTDOWN: stop the server gracefully, as SIGTERM does.
//!
//! respub persists nothing, so SAVE and NOSAVE mean the same; NOW and FORCE
//! are accepted; ABORT has nothing to abort. On success there is no reply:
//! the connection closes with the server, as in Redis.

use bytes::Bytes;

use super::{ADMIN, NO_MULTI, Spec, is};
use crate::session::{Close, Session};

pub(crate) const SHUTDOWN: Spec = Spec {
    name: "shutdown",
    arity: -1,
    flags: ADMIN | NO_MULTI,
    subcommands: &[],
    run: shutdown,
};

fn shutdown(s: &mut Session, args: &[Bytes]) {
    let mut abort = false;
    for arg in args.iter().skip(1) {
        if is(arg, "ABORT") {
            abort = true;
        } else if !(is(arg, "SAVE") || is(arg, "NOSAVE") || is(arg, "NOW") || is(arg, "FORCE")) {
            return s.error(b"ERR syntax error");
        }
    }
    if abort {
        return s.error(b"ERR No shutdown in progress.");
    }
    tracing::warn!(client = s.client.id, "user requested shutdown");
    s.shared.stop.cancel();
    s.close = Close::AfterReply;
}
