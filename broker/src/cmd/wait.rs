//! WAIT numreplicas timeout, as Redis' `waitCommand`: the number of
//! replicas that acknowledged this client's last PUBLISH, at once when
//! enough already did (or inside EXEC), else once enough do or the timeout
//! passes. Blocking asks the replicas for an acknowledgement.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Spec, parse_int};
use crate::replication::Wait;
use crate::session::{Postponed, Session};

pub(crate) const WAIT: Spec = super::leaf("wait", 3, 0, wait);

fn wait(s: &mut Session, args: &[Bytes]) {
    let (Some(replicas), Some(timeout)) = (args.get(1), args.get(2)) else {
        return;
    };
    if s.shared.replication.snapshot().master.is_some() {
        return s.error(
            b"ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 \
              if a replica is configured to be writable (which is not the default) writes to \
              replicas are just local and are not propagated.",
        );
    }
    let Some(replicas) = parse_int(replicas) else {
        return s.error(b"ERR value is not an integer or out of range");
    };
    let Some(timeout) = parse_int(timeout) else {
        return s.error(b"ERR timeout is not an integer or out of range");
    };
    let Ok(timeout) = u64::try_from(timeout) else {
        return s.error(b"ERR timeout is negative");
    };
    let deadline = match timeout {
        0 => None,
        ms => match Instant::now().checked_add(Duration::from_millis(ms)) {
            Some(at) => Some(at),
            None => return s.error(b"ERR timeout is out of range"),
        },
    };
    let acked = s.shared.replication.acked(s.woff);
    if acked >= replicas || s.in_exec {
        return s.reply().int(acked);
    }
    s.postponed = Some(Postponed {
        may_replicate: false,
        acks: Some(Wait {
            offset: s.woff,
            replicas,
            deadline,
        }),
    });
    // As Redis, not while a pause holds writes: the GETACK would grow the
    // stream; the replicas' periodic ACKs still arrive.
    if !s.shared.pause.holds(true) {
        let limit = s.shared.config.load().output_limit_replica;
        s.shared
            .replication
            .request_acks(&limit, &mut s.fanout.wake);
    }
}
