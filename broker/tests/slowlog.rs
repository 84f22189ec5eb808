//! SLOWLOG and LATENCY compared with a real redis-server: the same
//! requests to both, every reply compared, with what differs by nature
//! (entry ids, timestamps, durations, client ports) masked.
//!
//! The latency monitor needs calls of at least a millisecond on both
//! servers: hashing a 4 MiB password (ACL SETUSER `>`, and AUTH, which
//! hashes the password it is given) is one, without sleeping anywhere.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::diff::{self, known_7_0};
use common::{Conn, Frame, RedisServer, TestServer, Value, bulk_of};

/// A SLOWLOG GET reply with each entry's id, time, duration and the port
/// of its client masked; ids are checked to count down.
fn masked_entries(f: &Frame) -> Vec<Vec<String>> {
    let entries = f.items().unwrap();
    let mut last_id = i64::MAX;
    entries
        .iter()
        .map(|e| {
            let Value::Agg(_, Some(fields)) = e else {
                panic!("entry {e:?}")
            };
            let Value::Line(b':', id) = &fields[0] else {
                panic!("id {e:?}")
            };
            let id: i64 = std::str::from_utf8(id).unwrap().parse().unwrap();
            assert!(id < last_id, "ids count down");
            last_id = id;
            let Value::Agg(_, Some(args)) = &fields[3] else {
                panic!("args {e:?}")
            };
            let mut shown: Vec<String> = args
                .iter()
                .map(|a| String::from_utf8_lossy(bulk_of(a).unwrap()).into_owned())
                .collect();
            let peer = String::from_utf8_lossy(bulk_of(&fields[4]).unwrap()).into_owned();
            shown.push(peer.rsplit_once(':').unwrap().0.to_owned());
            shown.push(String::from_utf8_lossy(bulk_of(&fields[5]).unwrap()).into_owned());
            shown
        })
        .collect()
}

fn slowlog_session(port: u16) -> (Vec<Vec<u8>>, Vec<Vec<String>>) {
    let mut c = Conn::connect(port);
    let mut replies = Vec::new();
    let long = "c".repeat(140);
    let many: Vec<String> = (0..40).map(|i| format!("a{i}")).collect();
    let mut ping = vec!["PING"];
    ping.extend(many.iter().map(String::as_str));
    let script: Vec<Vec<&str>> = vec![
        vec!["CONFIG", "SET", "slowlog-log-slower-than", "0"],
        vec!["SLOWLOG", "RESET"],
        vec!["CLIENT", "SETNAME", "slow"],
        vec!["AUTH", "default", "anything"],
        vec!["HELLO", "2", "AUTH", "default", "anything"],
        vec!["CONFIG", "SET", "requirepass", "", "maxclients", "10000"],
        vec!["ACL", "SETUSER", "zz", "on", ">secret"],
        vec!["ACL", "DELUSER", "zz"],
        vec!["PUBLISH", &long, "m"],
        vec!["PUBLISH", "too", "many", "args"],
        ping,
        vec!["SLOWLOG", "LEN"],
        vec!["SLOWLOG", "GET", "0"],
        vec!["SLOWLOG", "GET", "-2"],
        vec!["SLOWLOG", "GET", "x"],
        vec!["SLOWLOG", "NOSUCH"],
        vec!["SLOWLOG", "LEN", "extra"],
    ];
    for request in &script {
        let reply = c.call(request);
        // HELLO's reply names the version and the client id.
        replies.push(if request[0] == "HELLO" {
            Vec::new()
        } else {
            reply
        });
    }
    c.send(&["SLOWLOG", "GET", "-1"]);
    let all = masked_entries(&c.frame().unwrap());
    c.call(&["CONFIG", "SET", "slowlog-log-slower-than", "10000"]);
    (replies, all)
}

#[test]
fn slowlog_records_redacts_and_cuts_as_redis_does() {
    let (respub, redis) = (TestServer::start(), RedisServer::start());
    let ours = slowlog_session(respub.port);
    let theirs = slowlog_session(redis.port);
    let text = |r: &[Vec<u8>]| -> Vec<String> {
        r.iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    };
    assert_eq!(text(&ours.0), text(&theirs.0));
    assert_eq!(ours.1, theirs.1);
    assert!(ours.1.len() >= 10, "{:?}", ours.1);
}

/// `request`'s reply from `c`; from a 7.0 `redis`, as 7.2 sends it.
fn reply_72(c: &mut Conn, request: &[&str], redis: Option<&RedisServer>) -> Vec<u8> {
    c.send(request);
    let frame = c.frame().unwrap();
    match redis {
        Some(r) if r.is_7_0() => {
            let args: Vec<&[u8]> = request.iter().map(|a| a.as_bytes()).collect();
            let frames = known_7_0(&diff::cmd(0, &args), true, vec![frame]);
            frames.into_iter().flat_map(|f| f.raw).collect()
        }
        _ => frame.raw,
    }
}

fn monitor_off_session(port: u16, redis: Option<&RedisServer>) -> Vec<String> {
    let requests: &[&[&str]] = &[
        &["LATENCY", "LATEST"],
        &["LATENCY", "HISTORY", "command"],
        &["LATENCY", "HISTORY"],
        &["LATENCY", "RESET"],
        &["LATENCY", "RESET", "command", "fast-command"],
        &["LATENCY", "DOCTOR"],
        &["LATENCY", "GRAPH", "command"],
        &[
            "LATENCY",
            "HISTOGRAM",
            "nosuch",
            "",
            "publish",
            "publish|x",
            "config|",
            "|",
        ],
        &["LATENCY", "HELP"],
        &["LATENCY", "HELP", "x"],
        &["LATENCY", "NOSUCH"],
        &["LATENCY"],
        &["CONFIG", "SET", "latency-monitor-threshold", "-1"],
        &["CONFIG", "SET", "latency-monitor-threshold", "abc"],
        &[
            "CONFIG",
            "SET",
            "latency-monitor-threshold",
            "9223372036854775808",
        ],
        &["CONFIG", "GET", "latency-monitor-threshold"],
        &[
            "CONFIG",
            "SET",
            "latency-monitor-threshold",
            "9223372036854775807",
        ],
        &["CONFIG", "GET", "latency-monitor-threshold"],
        &["CONFIG", "SET", "latency-monitor-threshold", "0"],
        &["HELLO", "3"],
        &["LATENCY", "DOCTOR"],
        &["LATENCY", "LATEST"],
        &["LATENCY", "HISTOGRAM", "nosuch"],
        &["LATENCY", "HELP"],
        &["COMMAND", "INFO", "latency|histogram"],
        &["SLOWLOG", "HELP"],
    ];
    let mut c = Conn::connect(port);
    requests
        .iter()
        .map(|request| {
            let reply = reply_72(&mut c, request, redis);
            // HELLO's reply names the version and the client id.
            if request[0] == "HELLO" {
                String::new()
            } else {
                format!("{request:?} {}", String::from_utf8_lossy(&reply))
            }
        })
        .collect()
}

#[test]
fn latency_answers_as_redis_with_the_monitor_off() {
    let (respub, redis) = (TestServer::start(), RedisServer::start());
    assert_eq!(
        monitor_off_session(respub.port, None),
        monitor_off_session(redis.port, Some(&redis))
    );
}

/// Runs of digits as `#`: times, durations and lengths differ by nature.
fn masked(bytes: &[u8]) -> String {
    let mut out = String::new();
    for ch in String::from_utf8_lossy(bytes).chars() {
        if !ch.is_ascii_digit() {
            out.push(ch);
        } else if !out.ends_with('#') {
            out.push('#');
        }
    }
    out
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Line(b':', n) => std::str::from_utf8(n).unwrap().parse().unwrap(),
        other => panic!("not an integer: {other:?}"),
    }
}

fn items_of(v: &Value) -> &[Value] {
    match v {
        Value::Agg(_, Some(items)) => items,
        other => panic!("not an aggregate: {other:?}"),
    }
}

/// LATENCY LATEST's event names, sorted (Redis lists its events in hash
/// order), after checking each entry is `[name, time, latest, max]` with
/// `1 <= latest <= max`.
fn latest(f: &Frame) -> Vec<String> {
    let mut entries: Vec<String> = f
        .items()
        .unwrap()
        .iter()
        .map(|e| {
            let [name, time, last, max] = items_of(e) else {
                panic!("entry {e:?}")
            };
            assert!(
                int_of(time) > 0 && (1..=int_of(max)).contains(&int_of(last)),
                "{e:?}"
            );
            String::from_utf8_lossy(bulk_of(name).unwrap()).into_owned()
        })
        .collect();
    entries.sort();
    entries
}

/// LATENCY HISTORY's samples checked (`[time, latency]`, oldest first,
/// at least the threshold) and counted.
fn history(f: &Frame) -> usize {
    let samples = f.items().unwrap();
    let mut last = 0;
    for s in samples {
        let [time, latency] = items_of(s) else {
            panic!("sample {s:?}")
        };
        assert!(int_of(time) >= last && int_of(latency) >= 1, "{s:?}");
        last = int_of(time);
    }
    samples.len()
}

/// LATENCY DOCTOR masked, with its numbered event lines sorted.
fn doctor(f: &Frame) -> Vec<String> {
    let text = masked(bulk_of(&f.value).unwrap());
    let (mut events, rest): (Vec<&str>, Vec<&str>) =
        text.lines().partition(|l| l.starts_with("#. "));
    events.sort_unstable();
    events.into_iter().chain(rest).map(str::to_owned).collect()
}

/// Redis' histogram keys: the highest value equivalent to 1024 ns * 2^k in
/// its hdr histogram, in microseconds, and the last bucket's.
fn redis_key(micros: i64) -> bool {
    (0..20).any(|k| (1032_i64 << k) / 1000 == micros || ((1032_i64 << k) - 1) / 1000 == micros)
        || micros == 1_073_741
}

/// LATENCY HISTOGRAM as `name calls kinds`, sorted (Redis lists
/// subcommands in hash order), after checking that the buckets are Redis'
/// keys with cumulative counts ending at the calls.
fn histogram(f: &Frame) -> Vec<String> {
    let kind = |v: &Value| match v {
        Value::Agg(k, _) => char::from(*k),
        _ => '?',
    };
    let mut shown: Vec<String> = items_of(&f.value)
        .chunks(2)
        .map(|pair| {
            let name = String::from_utf8_lossy(bulk_of(&pair[0]).unwrap()).into_owned();
            let [calls_key, calls, usec_key, buckets] = items_of(&pair[1]) else {
                panic!("{pair:?}")
            };
            assert_eq!(bulk_of(calls_key), Some(&b"calls"[..]));
            assert_eq!(bulk_of(usec_key), Some(&b"histogram_usec"[..]));
            let counts: Vec<(i64, i64)> = items_of(buckets)
                .chunks(2)
                .map(|b| (int_of(&b[0]), int_of(&b[1])))
                .collect();
            assert!(
                counts
                    .windows(2)
                    .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1),
                "{counts:?}"
            );
            assert!(
                counts.iter().all(|(k, _)| redis_key(*k)),
                "{name}: {counts:?}"
            );
            assert_eq!(counts.last().map(|c| c.1), Some(int_of(calls)), "{name}");
            format!(
                "{name} calls={} {}{}{}",
                int_of(calls),
                kind(&f.value),
                kind(&pair[1]),
                kind(buckets)
            )
        })
        .collect();
    shown.sort();
    shown
}

/// A request and its reply, as text.
fn raw(c: &mut Conn, request: &[&str]) -> String {
    let reply = c.call(request);
    format!("{request:?} {}", String::from_utf8_lossy(&reply))
}

fn look(c: &mut Conn, request: &[&str]) -> Frame {
    c.send(request);
    c.frame().unwrap()
}

fn monitor_session(port: u16) -> Vec<String> {
    let mut c = Conn::connect(port);
    let c = &mut c;
    let mut seen = vec![
        raw(c, &["CONFIG", "SET", "latency-monitor-threshold", "1"]),
        raw(c, &["CONFIG", "GET", "latency-monitor-threshold"]),
    ];
    let password = "x".repeat(4 << 20);
    // A slow `command`, then a slow `fast-command`, the only fast one.
    seen.push(raw(
        c,
        &["ACL", "SETUSER", "zz", "on", &format!(">{password}")],
    ));
    seen.push(raw(c, &["AUTH", "zz", &password[1..]]));
    for event in ["COMMAND", "nosuch"] {
        seen.push(raw(c, &["LATENCY", "HISTORY", event]));
        seen.push(raw(c, &["LATENCY", "GRAPH", event]));
    }
    seen.push(format!("{:?}", latest(&look(c, &["LATENCY", "LATEST"]))));
    let fast = look(c, &["LATENCY", "HISTORY", "fast-command"]);
    assert_eq!(history(&fast), 1, "AUTH was the only fast command");
    seen.push(masked(&fast.raw));
    let slow = look(c, &["LATENCY", "HISTORY", "command"]);
    assert!(history(&slow) >= 1, "ACL SETUSER was slow");
    seen.push(masked(&look(c, &["LATENCY", "GRAPH", "fast-command"]).raw));
    // Other calls may have been slow too: the title and the rule only.
    let graph = look(c, &["LATENCY", "GRAPH", "command"]);
    let text = masked(bulk_of(&graph.value).unwrap());
    seen.extend(text.lines().take(2).map(str::to_owned));
    seen.extend(doctor(&look(c, &["LATENCY", "DOCTOR"])));
    seen.push(raw(c, &["LATENCY", "RESET", "FAST-COMMAND", "nosuch"]));
    seen.push(format!("{:?}", latest(&look(c, &["LATENCY", "LATEST"]))));
    // Off before the last RESET, which could otherwise be sampled itself.
    seen.push(raw(c, &["CONFIG", "SET", "latency-monitor-threshold", "0"]));
    seen.push(raw(c, &["LATENCY", "RESET"]));
    seen.push(raw(c, &["LATENCY", "LATEST"]));
    seen.push(raw(c, &["LATENCY", "DOCTOR"]));
    let named = [
        "LATENCY",
        "HISTOGRAM",
        "auth",
        "ACL",
        "config|set",
        "nosuch",
        "latency|latest",
    ];
    seen.extend(histogram(&look(c, &named)));
    c.call(&["HELLO", "3"]);
    seen.extend(histogram(&look(c, &named)));
    seen.extend(histogram(&look(c, &["LATENCY", "HISTOGRAM"])));
    seen.push(raw(c, &["ACL", "DELUSER", "zz"]));
    seen
}

#[test]
fn latency_monitor_samples_slow_calls_as_redis_does() {
    let (respub, redis) = (TestServer::start(), RedisServer::start());
    let ours = monitor_session(respub.port);
    let theirs = monitor_session(redis.port);
    assert_eq!(ours, theirs);
    assert!(
        ours.iter().any(|l| l.starts_with("auth calls=1 ")),
        "{ours:#?}"
    );
}
