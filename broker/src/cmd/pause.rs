//! CLIENT PAUSE and CLIENT UNPAUSE (the pause itself is `crate::pause`).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::{c_str, is, parse_int};
use crate::pause::{Mode, after_ms};
use crate::session::Session;

/// `CLIENT PAUSE timeout [WRITE|ALL]`, checked in Redis' order: the mode,
/// then the timeout.
pub(super) fn pause(s: &mut Session, args: &[Bytes]) {
    if args.len() > 4 {
        let mut text = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
        text.extend_from_slice(args.get(1).map(|a| c_str(a, 128)).unwrap_or_default());
        text.extend_from_slice(b"'. Try CLIENT HELP.");
        return s.error(&text);
    }
    let mode = match args.get(3) {
        None => Mode::All,
        Some(m) if is(m, "WRITE") => Mode::Write,
        Some(m) if is(m, "ALL") => Mode::All,
        Some(_) => return s.error(b"ERR CLIENT PAUSE mode must be WRITE or ALL"),
    };
    let Some(ms) = args.get(2).and_then(|a| parse_int(a)) else {
        return s.error(b"ERR timeout is not an integer or out of range");
    };
    let Ok(ms) = u64::try_from(ms) else {
        return s.error(b"ERR timeout is negative");
    };
    // Redis adds the timeout to its clock in milliseconds since the epoch
    // and refuses what would overflow.
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    if ms > 0 && ms > (i64::MAX as u64).saturating_sub(now_ms) {
        return s.error(b"ERR timeout is out of range");
    }
    let until = s.shared.pause.pause(mode, after_ms(ms));
    if until > std::time::Instant::now() {
        // The pause ends on time even if no client sends anything.
        let shared = Arc::clone(&s.shared);
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep_until(until.into()) => shared.pause.expire(),
                () = shared.shutdown.cancelled() => {}
            }
        });
    }
    s.reply().ok();
}

/// `CLIENT UNPAUSE`: held commands run, in the order they were held.
pub(super) fn unpause(s: &mut Session, _: &[Bytes]) {
    s.shared.pause.unpause();
    s.reply().ok();
}
