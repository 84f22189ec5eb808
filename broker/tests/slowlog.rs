//! SLOWLOG and LATENCY compared with a real redis-server: the same
//! requests to both, every reply compared, with what differs by nature
//! (entry ids, timestamps, durations, client ports) masked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

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

#[test]
fn latency_answers_as_redis_with_the_monitor_off() {
    let (respub, redis) = (TestServer::start(), RedisServer::start());
    let requests: &[&[&str]] = &[
        &["LATENCY", "LATEST"],
        &["LATENCY", "HISTORY", "command"],
        &["LATENCY", "HISTORY"],
        &["LATENCY", "RESET"],
        &["LATENCY", "RESET", "command", "fast-command"],
        &["LATENCY", "DOCTOR"],
        &["LATENCY", "GRAPH", "command"],
        &["LATENCY", "NOSUCH"],
        &["LATENCY"],
        &["HELLO", "3"],
        &["LATENCY", "DOCTOR"],
        &["LATENCY", "LATEST"],
    ];
    let mut ours = Conn::connect(respub.port);
    let mut theirs = Conn::connect(redis.port);
    for request in requests {
        let (a, b) = (ours.call(request), theirs.call(request));
        if request[0] == "HELLO" {
            continue;
        }
        assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            "{request:?}"
        );
    }
}
