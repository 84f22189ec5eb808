//! REPLCONF, PSYNC, SYNC and ROLE: the master side of the replication
//! handshake, as a Redis replica (or respub) performs it, and what Sentinel
//! and client libraries ask of a master.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::{ADMIN, FAST, Spec, c_str, is, parse_int};
use crate::replication::{EMPTY_RDB, LinkState, Replica, Sync};
use crate::session::Session;

/// Redis' flags for these: admin, no-script, and no-multi for the syncs.
pub(crate) const REPLCONF: Spec = Spec {
    name: "replconf",
    arity: -1,
    flags: ADMIN,
    subcommands: &[],
    run: replconf,
};
pub(crate) const PSYNC: Spec = Spec {
    name: "psync",
    arity: -3,
    flags: ADMIN | super::NO_MULTI,
    subcommands: &[],
    run: psync,
};
pub(crate) const SYNC: Spec = Spec {
    name: "sync",
    arity: 1,
    flags: ADMIN | super::NO_MULTI,
    subcommands: &[],
    run: sync,
};
pub(crate) const REPLICAOF: Spec = Spec {
    name: "replicaof",
    arity: 3,
    flags: ADMIN,
    subcommands: &[],
    run: replicaof,
};
pub(crate) const SLAVEOF: Spec = Spec {
    name: "slaveof",
    arity: 3,
    flags: ADMIN,
    subcommands: &[],
    run: replicaof,
};
pub(crate) const ROLE: Spec = Spec {
    name: "role",
    arity: 1,
    flags: FAST,
    subcommands: &[],
    run: role,
};

/// What a replica said of itself before PSYNC.
#[derive(Debug, Default, Clone)]
pub(crate) struct Announced {
    /// `REPLCONF listening-port`.
    pub(crate) port: u16,
    /// `REPLCONF ip-address`.
    pub(crate) ip: Option<String>,
    /// `REPLCONF capa psync2`: `+CONTINUE` carries the replication id.
    pub(crate) psync2: bool,
}

fn replconf(s: &mut Session, args: &[Bytes]) {
    if args.len() % 2 == 0 {
        return s.error(b"ERR syntax error");
    }
    for pair in args.get(1..).unwrap_or_default().chunks(2) {
        let [option, value] = pair else { continue };
        if is(option, "listening-port") {
            let Some(port) = parse_int(value).and_then(|p| u16::try_from(p).ok()) else {
                return s.error(b"ERR value is not an integer or out of range");
            };
            s.announced.port = port;
        } else if is(option, "ip-address") {
            // NET_HOST_STR_LEN: an address and a port, with room.
            if value.len() >= 256 {
                let text = format!(
                    "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                    value.len()
                );
                return s.error(text.as_bytes());
            }
            s.announced.ip = Some(String::from_utf8_lossy(value).into_owned());
        } else if is(option, "capa") {
            s.announced.psync2 |= is(value, "psync2");
        } else if is(option, "ack") || is(option, "fack") {
            // An acknowledgement is never answered.
            if s.replica() && is(option, "ack") {
                if let Some(offset) = parse_int(value) {
                    s.shared.replication.ack(s.client.id, offset);
                }
            }
            return;
        } else if is(option, "getack") {
            // Only a master asks for acknowledgements; respub is one.
            return;
        } else if is(option, "rdb-only") || is(option, "rdb-filter-only") {
            // Both ask for an RDB without the stream: accepted, as Redis does.
        } else {
            let mut text = b"ERR Unrecognized REPLCONF option: ".to_vec();
            text.extend_from_slice(c_str(option, usize::MAX));
            return s.error(&text);
        }
    }
    s.reply().ok();
}

fn psync(s: &mut Session, args: &[Bytes]) {
    let (Some(replid), Some(offset)) = (args.get(1), args.get(2)) else {
        return;
    };
    if s.replica() {
        return;
    }
    if let Some(word) = args.get(3) {
        if is(word, "failover") && !take_over(s, replid) {
            return;
        }
    }
    // `PSYNC ? -1` and an offset that is no number ask for everything.
    let request = parse_int(offset).map(|offset| (&replid[..], offset));
    start(s, request, true);
}

/// `PSYNC <replid> <offset> FAILOVER`: the master fails over to this
/// replica, which becomes a master (and continues its history) if it
/// shares the master's; false when refused.
fn take_over(s: &mut Session, replid: &[u8]) -> bool {
    tracing::warn!(
        "Failover request received for replid {}.",
        String::from_utf8_lossy(replid)
    );
    let snap = s.shared.replication.snapshot();
    if snap.master.is_none() {
        s.error(b"ERR PSYNC FAILOVER can't be sent to a master.");
        return false;
    }
    if !replid.eq_ignore_ascii_case(snap.replid.as_bytes()) {
        s.error(b"ERR PSYNC FAILOVER replid must match my replid.");
        return false;
    }
    s.shared.replication.unset_master();
    tracing::info!(
        "MASTER MODE enabled (failover request from '{}')",
        s.client.info_line()
    );
    true
}

fn sync(s: &mut Session, _: &[Bytes]) {
    start(s, None, false);
}

/// Attaches this client as a replica: the handshake's reply and the RDB,
/// or the missed part of the stream, are queued before any of the stream
/// (the stream is fed on the command thread, after this command).
fn start(s: &mut Session, request: Option<(&[u8], i64)>, psync: bool) {
    if s.replica() {
        return;
    }
    // Replicas may not attach while this master hands over.
    if s.shared.failover.phase().is_some() {
        return s.error(b"NOMASTERLINK Can't SYNC while failing over");
    }
    // A replica passes on only a history it is in sync with.
    let linked = s.shared.replication.snapshot().master.map(|m| m.state);
    if linked.is_some_and(|state| state != LinkState::Connected) {
        return s.error(b"NOMASTERLINK Can't SYNC while not connected with my master");
    }
    let config = s.shared.config.load_full();
    let announced = s.announced.clone();
    let ip = announced
        .ip
        .clone()
        .unwrap_or_else(|| peer_ip(&s.client.addr));
    let replica = Replica {
        client: Arc::clone(&s.client),
        port: announced.port,
        ip,
        ack: 0,
        ack_at: Instant::now(),
        psync,
    };
    let backlog = config.number("repl-backlog-size").unwrap_or(1 << 20);
    let answer = s.shared.replication.attach(
        replica,
        request,
        usize::try_from(backlog).unwrap_or(usize::MAX),
    );
    let mut out = Vec::new();
    match answer {
        Sync::Full { replid, offset } => {
            if psync {
                out.extend_from_slice(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes());
            }
            out.extend_from_slice(format!("${}\r\n", EMPTY_RDB.len()).as_bytes());
            out.extend_from_slice(EMPTY_RDB);
        }
        Sync::Continue { replid, missed } => {
            if announced.psync2 {
                out.extend_from_slice(format!("+CONTINUE {replid}\r\n").as_bytes());
            } else {
                out.extend_from_slice(b"+CONTINUE\r\n");
            }
            missed.iter().for_each(|b| out.extend_from_slice(b));
        }
    }
    let limit = config.output_limit_replica;
    s.wake_self |= s
        .client
        .send_deferred(crate::outbound::Frame::Borrowed(&out), &limit);
    s.client.set_flag(crate::client::REPLICA, true);
}

/// The address part of `ip:port` (IPv6 addresses contain colons).
fn peer_ip(addr: &str) -> String {
    addr.rsplit_once(':')
        .map_or(addr, |(ip, _)| ip)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

/// `REPLICAOF host port` follows a master; `REPLICAOF NO ONE` makes this
/// server a master again, keeping its clients and its history.
fn replicaof(s: &mut Session, args: &[Bytes]) {
    let (Some(host), Some(port)) = (args.get(1), args.get(2)) else {
        return;
    };
    if s.shared.failover.phase().is_some() {
        return s.error(b"ERR REPLICAOF not allowed while failing over.");
    }
    if is(host, "no") && is(port, "one") {
        if s.shared.replication.snapshot().master.is_some() {
            s.shared.replication.unset_master();
            tracing::info!(
                "MASTER MODE enabled (user request from '{}')",
                s.client.info_line()
            );
        }
        return s.reply().ok();
    }
    // Only following a master is refused to a replica's link (it would
    // drop that link with the other replicas).
    if s.replica() {
        return s.error(b"ERR Command is not valid when client is a replica.");
    }
    let Some(port) = parse_int(port).and_then(|p| u16::try_from(p).ok()) else {
        return s.error(b"ERR Invalid master port");
    };
    let host = String::from_utf8_lossy(host).into_owned();
    match s.shared.replication.set_master(&host, port) {
        None => s
            .reply()
            .simple(b"OK Already connected to specified master"),
        Some(cancel) => {
            tracing::info!(
                "REPLICAOF {host}:{port} enabled (user request from '{}')",
                s.client.info_line()
            );
            crate::replication::follow(Arc::clone(&s.shared), host, port, cancel);
            s.reply().ok();
        }
    }
}

fn role(s: &mut Session, _: &[Bytes]) {
    let snap = s.shared.replication.snapshot();
    if let Some(m) = &snap.master {
        let mut r = s.reply();
        r.array(5);
        r.bulk(b"slave");
        r.bulk(m.host.as_bytes());
        r.int(i64::from(m.port));
        r.bulk(m.state.name().as_bytes());
        r.int(if m.was_up { snap.offset } else { -1 });
        return;
    }
    let mut r = s.reply();
    r.array(3);
    r.bulk(b"master");
    r.int(snap.offset);
    r.array(snap.replicas.len());
    for replica in &snap.replicas {
        r.array(3);
        r.bulk(replica.ip.as_bytes());
        r.bulk(replica.port.to_string().as_bytes());
        r.bulk(replica.ack.to_string().as_bytes());
    }
}
