//! Requests from different connections run in the order their bytes
//! arrived, as redis-server's event loop runs them.
//!
//! Each round writes a request on connection A, then at once (without
//! waiting for A's reply) a request on connection B whose answer depends on
//! A's having run: a PUBLISH after a SUBSCRIBE must count it, a PUBSUB
//! NUMSUB after A's close must not. The same rounds run against a real
//! redis-server, which proves the premise, and against the respub-server
//! binary with `io-threads` 1 and 2.
//!
//! The three tests run one at a time ([`SERIAL`]): a test that starts its
//! server while another runs its rounds forks this process, and until the
//! child execs it holds every socket of the running test, so a client's
//! close (RST or FIN) reaches the server late. That was most of the rare
//! losses seen on 2026-12-02 (three tests on two test threads, the third
//! starting mid-run); with a thread spawning processes beside the rounds,
//! redis-server too counted a closed client in 261 rounds of 3,000.
//!
//! A case passes with at most [`TOLERATED`] lost round: respub with
//! `io-threads 2` lost one round of a SUBSCRIBE-then-PUBLISH case twice, on
//! a machine loaded with release builds, in about 1.5 million such rounds
//! (docs/protocol.md). Every ordering bug found so far lost far more: a tokio
//! multi-threaded scheduler, or a socket registered for output too, lost up
//! to 2,997 rounds of 3,000.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use common::{Binary, Conn, Frame, RedisServer, Value, free_port};

/// Rounds of each case; `RESPUB_ORDER_ROUNDS` changes it.
fn rounds() -> usize {
    std::env::var("RESPUB_ORDER_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000)
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Channel, Kind::Pattern, Kind::Shard];

    /// The subscribe command, what it subscribes to for round `i`, the
    /// publish command and the channel it publishes to.
    fn names(self, i: usize) -> (&'static str, String, &'static str, String) {
        match self {
            Kind::Channel => ("SUBSCRIBE", format!("ch{i}"), "PUBLISH", format!("ch{i}")),
            Kind::Pattern => (
                "PSUBSCRIBE",
                format!("ch{i}.*"),
                "PUBLISH",
                format!("ch{i}.x"),
            ),
            Kind::Shard => ("SSUBSCRIBE", format!("ch{i}"), "SPUBLISH", format!("ch{i}")),
        }
    }

    /// The introspection request counting round `i`'s subscriber.
    fn count_request(self, i: usize) -> Vec<String> {
        match self {
            Kind::Channel => vec!["PUBSUB".into(), "NUMSUB".into(), format!("ch{i}")],
            Kind::Pattern => vec!["PUBSUB".into(), "NUMPAT".into()],
            Kind::Shard => vec!["PUBSUB".into(), "SHARDNUMSUB".into(), format!("ch{i}")],
        }
    }

    fn delivery(self) -> &'static str {
        match self {
            Kind::Channel => "message",
            Kind::Pattern => "pmessage",
            Kind::Shard => "smessage",
        }
    }
}

fn connect(port: u16, resp3: bool) -> Conn {
    let mut c = Conn::connect(port);
    if resp3 {
        c.send(&["HELLO", "3"]);
    } else {
        c.send(&["PING"]);
    }
    c.frame().expect("no reply to the first request");
    c
}

/// The integer that ends a reply (`:N`, or the last element of an
/// array or map).
fn last_int(f: &Frame) -> Option<i64> {
    fn of(v: &Value) -> Option<i64> {
        match v {
            Value::Line(b':', n) => std::str::from_utf8(n).ok()?.parse().ok(),
            Value::Agg(_, Some(items)) => of(items.last()?),
            _ => None,
        }
    }
    of(&f.value)
}

/// Waits until the server has finished every write it started before:
/// its reply to a PING on a third connection is written after them (one
/// thread writes, in respub with `io-threads` 1 and 2 as in redis-server).
///
/// A request sent within microseconds of the server's write to some
/// socket can be reported by epoll after a request sent later on that
/// socket: the kernel holds a socket's input while a write to it is under
/// way, and its write completes into the ready list. redis-server reorders
/// those as respub does (seen with strace), and that race is not the
/// ordering under test, so each round starts from a quiet server.
fn settle(c: &mut Conn) {
    c.send(&["PING"]);
    c.frame().expect("no PING reply");
}

/// Held by each test from before it starts its server until it is done.
static SERIAL: Mutex<()> = Mutex::new(());

/// Lost rounds a case may have and still pass (see the module's doc).
const TOLERATED: usize = 1;

/// The rounds of one case that lost the order, with what each saw, so that
/// a rare loss says when and how it happened.
#[derive(Debug, Default)]
struct Losses {
    count: usize,
    /// The first few: round, time since the case started, what was seen.
    first: Vec<(usize, Duration, String)>,
}

impl Losses {
    fn add(&mut self, round: usize, since: std::time::Instant, seen: String) {
        self.count += 1;
        if self.first.len() < 5 {
            self.first.push((round, since.elapsed(), seen));
        }
    }
}

/// SUBSCRIBE (or PSUBSCRIBE, SSUBSCRIBE) on a fresh connection A, then the
/// PUBLISH on B straight after: returns the rounds whose PUBLISH did not
/// count A, or whose message A did not get.
fn subscribe_then_publish(port: u16, kind: Kind, resp3: bool) -> Losses {
    let mut b = connect(port, resp3);
    let mut c = connect(port, resp3);
    let mut lost = Losses::default();
    let start = std::time::Instant::now();
    for i in 0..rounds() {
        let (sub, target, publish, channel) = kind.names(i);
        let mut a = connect(port, resp3);
        settle(&mut c);
        a.send(&[sub, &target]);
        b.send(&[publish, &channel, "m"]);
        let counted = last_int(&b.frame().expect("no PUBLISH reply"));
        a.frame().expect("no subscribe confirmation");
        let got = if counted == Some(1) {
            a.frame().and_then(|f| f.kind())
        } else {
            None
        };
        if got.as_deref() != Some(kind.delivery()) {
            lost.add(i, start, format!("counted {counted:?}, A then got {got:?}"));
        }
    }
    lost
}

/// A subscribes, reads its confirmation and closes (FIN, or RST with
/// `reset`); B at once asks for the count: returns the rounds that still
/// counted A.
fn close_then_count(port: u16, resp3: bool, reset: bool) -> Losses {
    let mut b = connect(port, resp3);
    let mut c = connect(port, resp3);
    let mut stale = Losses::default();
    let start = std::time::Instant::now();
    for i in 0..rounds() {
        let kind = Kind::ALL[i % 3];
        let (sub, target, _, _) = kind.names(i);
        let mut a = connect(port, resp3);
        a.send(&[sub, &target]);
        a.frame().expect("no subscribe confirmation");
        settle(&mut c);
        if reset {
            socket2::SockRef::from(&a.stream)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
        }
        drop(a);
        b.send(&kind.count_request(i));
        let counted = last_int(&b.frame().expect("no PUBSUB reply"));
        if counted != Some(0) {
            stale.add(i, start, format!("{kind:?} counted {counted:?}"));
        }
    }
    stale
}

/// Pins the calling thread to one CPU (with util-linux's `taskset`), so
/// that the kernel delivers its packets in the order it sent them. On
/// loopback a packet is delivered from the sending CPU's backlog; a thread
/// that moves to another CPU between two sends can have the second
/// delivered first while the first waits for that backlog's softirq, which
/// on a loaded machine happened about once in 10,000 rounds, to
/// redis-server's rounds as to respub's.
fn pin_to_one_cpu() {
    let me = std::fs::read_link("/proc/thread-self").unwrap();
    let tid = me.file_name().unwrap().to_string_lossy().into_owned();
    let status = std::process::Command::new("taskset")
        .args(["-p", "-c", "0", &tid])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("taskset (util-linux) is needed to pin the test's thread");
    assert!(status.success(), "taskset failed: {status}");
}

/// Every case on the server at `port`; panics naming each that lost more
/// than [`TOLERATED`] rounds, and prints every loss.
fn check_all(port: u16, server: &str) {
    pin_to_one_cpu();
    let mut cases = Vec::new();
    for resp3 in [false, true] {
        let proto = if resp3 { "RESP3" } else { "RESP2" };
        for kind in Kind::ALL {
            let lost = subscribe_then_publish(port, kind, resp3);
            cases.push((format!("{proto} {kind:?}: PUBLISH lost"), lost));
        }
        for (reset, close) in [(false, "FIN"), (true, "RST")] {
            let stale = close_then_count(port, resp3, reset);
            cases.push((format!("{proto} {close}: closed client counted"), stale));
        }
    }
    let n = rounds();
    let mut failures = Vec::new();
    for (case, losses) in &cases {
        if losses.count > 0 {
            let line = format!("{case} {} times, first {:?}", losses.count, losses.first);
            eprintln!("{server}, {n} rounds: {line}");
            if losses.count > TOLERATED {
                failures.push(line);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{server}, {n} rounds each, at most {TOLERATED} lost allowed: {failures:?}"
    );
}

fn respub(io_threads: &str) {
    let _alone = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let port = free_port();
    let _server = Binary::start(&[
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--io-threads",
        io_threads,
    ]);
    check_all(port, &format!("respub-server --io-threads {io_threads}"));
}

#[test]
fn redis_server_runs_requests_in_arrival_order() {
    let _alone = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let redis = RedisServer::start();
    check_all(redis.port, "redis-server");
}

#[test]
fn respub_runs_requests_in_arrival_order_with_one_io_thread() {
    respub("1");
}

#[test]
fn respub_runs_requests_in_arrival_order_with_two_io_threads() {
    respub("2");
}
