//! `FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]`, parsed and
//! checked in the order of Redis' `failoverCommand`, so that each mistake
//! gets Redis' error (the failover itself is `crate::replication::failover`).

use bytes::Bytes;

use super::{ADMIN, Spec, is, parse_int};
use crate::replication::failover::{self, Plan};
use crate::session::Session;

pub(crate) const FAILOVER: Spec = super::leaf("failover", -1, ADMIN, run);

const NOT_AN_INTEGER: &[u8] = b"ERR value is not an integer or out of range";

/// What the arguments ask for: `TO`'s host and port (any integer, as
/// Redis reads a long), `TIMEOUT`, `FORCE`.
#[derive(Debug, Default)]
struct Request {
    to: Option<(Bytes, i64)>,
    timeout: Option<i64>,
    force: bool,
}

/// Redis' loop: each option once, in any order; anything else, or an
/// option without its values, is a syntax error.
fn parse(args: &[Bytes]) -> Result<Request, &'static [u8]> {
    let mut request = Request::default();
    let mut rest = args.get(1..).unwrap_or_default();
    while let Some((word, tail)) = rest.split_first() {
        rest = tail;
        if is(word, "timeout") && request.timeout.is_none() && !tail.is_empty() {
            let ms = tail
                .first()
                .and_then(|a| parse_int(a))
                .ok_or(NOT_AN_INTEGER)?;
            if ms <= 0 {
                return Err(b"ERR FAILOVER timeout must be greater than 0");
            }
            request.timeout = Some(ms);
            rest = tail.get(1..).unwrap_or_default();
        } else if let (true, None, [host, port, after @ ..]) = (is(word, "to"), &request.to, tail) {
            let port = parse_int(port).ok_or(NOT_AN_INTEGER)?;
            request.to = Some((host.clone(), port));
            rest = after;
        } else if is(word, "force") && !request.force {
            request.force = true;
        } else {
            return Err(b"ERR syntax error");
        }
    }
    Ok(request)
}

fn run(s: &mut Session, args: &[Bytes]) {
    if let [_, word] = args {
        if is(word, "abort") {
            if !failover::abort(&s.shared, "Failover manually aborted") {
                return s.error(b"ERR No failover in progress.");
            }
            return s.reply().ok();
        }
    }
    let request = match parse(args) {
        Ok(request) => request,
        Err(text) => return s.error(text),
    };
    if s.shared.failover.phase().is_some() {
        return s.error(b"ERR FAILOVER already in progress.");
    }
    let snap = s.shared.replication.snapshot();
    if snap.master.is_some() {
        return s.error(b"ERR FAILOVER is not valid when server is a replica.");
    }
    if snap.replicas.is_empty() {
        return s.error(b"ERR FAILOVER requires connected replicas.");
    }
    if request.force && (request.timeout.is_none() || request.to.is_none()) {
        return s.error(
            b"ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
        );
    }
    let mut target = None;
    if let Some((host, port)) = &request.to {
        let found = snap
            .replicas
            .iter()
            .find(|r| r.ip.as_bytes().eq_ignore_ascii_case(host) && i64::from(r.port) == *port);
        let Some(replica) = found else {
            return s.error(b"ERR FAILOVER target HOST and PORT is not a replica.");
        };
        let host = String::from_utf8_lossy(host).into_owned();
        tracing::info!("FAILOVER requested to {host}:{port}.");
        target = Some((host, replica.port));
    } else {
        tracing::info!("FAILOVER requested to any replica.");
    }
    let deadline = request
        .timeout
        .map(|ms| crate::pause::after_ms(u64::try_from(ms).unwrap_or(u64::MAX)));
    failover::start(
        &s.shared,
        Plan {
            target,
            deadline,
            force: request.force,
        },
    );
    s.reply().ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn options_parse_as_redis_reads_them() {
        let r = parse(&args(&[
            "failover", "to", "h", "7", "force", "timeout", "5",
        ]))
        .unwrap();
        assert_eq!(r.to, Some((Bytes::from_static(b"h"), 7)));
        assert_eq!((r.timeout, r.force), (Some(5), true));
        for bad in [
            &["failover", "to", "h"][..],
            &["failover", "timeout"],
            &["failover", "force", "force"],
            &["failover", "timeout", "1", "timeout", "2"],
            &["failover", "abort", "timeout", "1"],
        ] {
            assert_eq!(
                parse(&args(bad)).unwrap_err(),
                b"ERR syntax error",
                "{bad:?}"
            );
        }
        assert_eq!(
            parse(&args(&["failover", "to", "h", "x"])).unwrap_err(),
            NOT_AN_INTEGER
        );
    }
}
