//! CLIENT PAUSE and UNPAUSE against a real redis-server: what each client
//! receives, and in which order, must be the same bytes. Facts are
//! established by replies, not by time: a command is known to be held once
//! INFO counts it in `blocked_clients`, and a subscriber has received
//! nothing more when the reply to its own PING comes first. Only the
//! timeout cases measure time, and only as a lower bound.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::time::{Duration, Instant};

use common::{Conn, RedisServer, TestServer, encode_cmd, eventually, field, text};

/// The same scenario on respub and on a real redis-server.
fn on_both<T>(scenario: fn(u16) -> T) -> (T, T) {
    let respub = TestServer::start();
    let redis = RedisServer::start();
    (scenario(respub.port), scenario(redis.port))
}

/// Waits until `n` clients have a command held by the pause.
fn wait_held(admin: &mut Conn, n: usize) {
    let want = format!("blocked_clients:{n}\r\n");
    eventually(|| text(&admin.call(&["INFO", "clients"])).contains(&want));
}

fn id_of(c: &mut Conn) -> String {
    let id = String::from_utf8(c.call(&["CLIENT", "ID"])).unwrap();
    id.trim_start_matches(':').trim_end().to_owned()
}

/// Everything `c` receives up to the reply to a PING sent now.
fn until_ping(c: &mut Conn, subscribed: bool) -> Vec<u8> {
    c.send(&["PING"]);
    let pong: &[u8] = if subscribed {
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    } else {
        b"+PONG\r\n"
    };
    let frames = c.frames_until(|f| f.raw == pong).unwrap();
    frames.into_iter().flat_map(|f| f.raw).collect()
}

/// A WRITE pause: PUBLISH waits (and so does what was pipelined behind
/// it), everything else runs, and on UNPAUSE the held commands run in the
/// order they were held. Returns what each client received, by step.
fn write_pause(port: u16) -> Vec<Vec<u8>> {
    let mut admin = Conn::connect(port);
    let mut sub = Conn::connect(port);
    let mut b = Conn::connect(port);
    let mut c = Conn::connect(port);
    let b_id = id_of(&mut b);
    let mut seen = vec![sub.call(&["SUBSCRIBE", "ch"])];
    // Queued for the subscriber before the pause, not read yet.
    seen.push(b.call(&["PUBLISH", "ch", "before"]));
    seen.push(admin.call(&["CLIENT", "PAUSE", "60000", "WRITE"]));
    let mut pipelined = encode_cmd(&["PUBLISH", "ch", "first"]);
    pipelined.extend(encode_cmd(&["PING"]));
    b.send_raw(&pipelined);
    wait_held(&mut admin, 1);
    c.send(&["PUBLISH", "ch", "second"]);
    wait_held(&mut admin, 2);
    // The held client as CLIENT LIST shows it.
    let line = text(&admin.call(&["CLIENT", "LIST", "ID", &b_id]));
    let held = ["flags", "cmd", "argv-mem", "qbuf"].map(|f| format!("{f}={}", field(&line, f)));
    seen.push(held.join(" ").into_bytes());
    // Every other command runs.
    seen.push(admin.call(&["PUBSUB", "NUMSUB", "ch"]));
    seen.push(until_ping(&mut admin, false));
    // The subscriber still receives what was queued before the pause.
    seen.push(until_ping(&mut sub, true));
    seen.push(admin.call(&["CLIENT", "UNPAUSE"]));
    seen.push([b.frame().unwrap().raw, b.frame().unwrap().raw].concat());
    seen.push(c.frame().unwrap().raw);
    seen.push(until_ping(&mut sub, true));
    wait_held(&mut admin, 0);
    seen
}

#[test]
fn write_pause_holds_publishes_and_releases_them_in_order() {
    let (ours, theirs) = on_both(write_pause);
    assert_eq!(ours, theirs);
    let text = String::from_utf8_lossy(&ours.concat()).into_owned();
    assert!(
        text.contains("flags=b cmd=publish argv-mem=14 qbuf=14"),
        "{text}"
    );
    let released = String::from_utf8_lossy(ours.last().unwrap()).into_owned();
    let (first, second) = (released.find("first"), released.find("second"));
    assert!(first.is_some() && first < second, "{released}");
}

/// An ALL pause holds every command, CLIENT UNPAUSE included, until its
/// timeout, which ends it with no further traffic.
fn all_pause(port: u16) -> (Vec<Vec<u8>>, Duration) {
    let mut admin = Conn::connect(port);
    let mut b = Conn::connect(port);
    let mut c = Conn::connect(port);
    let start = Instant::now();
    let mut seen = vec![admin.call(&["CLIENT", "PAUSE", "200", "ALL"])];
    b.send(&["PING"]);
    c.send(&["CLIENT", "UNPAUSE"]);
    seen.push(b.frame().unwrap().raw);
    seen.push(c.frame().unwrap().raw);
    (seen, start.elapsed())
}

#[test]
fn all_pause_holds_everything_until_its_timeout() {
    let ((ours, took), (theirs, _)) = on_both(all_pause);
    assert_eq!(ours, theirs);
    assert_eq!(ours, [&b"+OK\r\n"[..], b"+PONG\r\n", b"+OK\r\n"]);
    assert!(took >= Duration::from_millis(200), "{took:?}");
}

/// A WRITE pause's timeout releases a held PUBLISH without any traffic.
fn write_pause_times_out(port: u16) -> (Vec<Vec<u8>>, Duration) {
    let mut admin = Conn::connect(port);
    let mut b = Conn::connect(port);
    let start = Instant::now();
    let mut seen = vec![admin.call(&["CLIENT", "PAUSE", "150", "WRITE"])];
    seen.push(b.call(&["PUBLISH", "ch", "m"]));
    (seen, start.elapsed())
}

#[test]
fn write_pause_ends_at_its_timeout() {
    let ((ours, took), (theirs, _)) = on_both(write_pause_times_out);
    assert_eq!(ours, theirs);
    assert!(took >= Duration::from_millis(150), "{took:?}");
}

/// A held client that disconnects is gone with its command, which never
/// runs.
fn held_client_leaves(port: u16) -> Vec<Vec<u8>> {
    let mut admin = Conn::connect(port);
    let mut sub = Conn::connect(port);
    let mut seen = vec![sub.call(&["SUBSCRIBE", "ch"])];
    seen.push(admin.call(&["CLIENT", "PAUSE", "60000", "WRITE"]));
    let mut b = Conn::connect(port);
    b.send(&["PUBLISH", "ch", "never"]);
    wait_held(&mut admin, 1);
    drop(b);
    wait_held(&mut admin, 0);
    seen.push(admin.call(&["CLIENT", "UNPAUSE"]));
    seen.push(until_ping(&mut sub, true));
    seen
}

#[test]
fn a_held_client_that_leaves_runs_nothing() {
    let (ours, theirs) = on_both(held_client_leaves);
    assert_eq!(ours, theirs);
    assert!(!String::from_utf8_lossy(&ours.concat()).contains("never"));
}
