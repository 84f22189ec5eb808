//! INFO commandstats, errorstats and latencystats, the sections INFO
//! selects, and CONFIG RESETSTAT, compared with a real redis-server: the
//! same requests go to both, then each server's INFO is compared line by
//! line with the measured times masked (and, since Redis lists commands in
//! its hash table's order, as sets of lines).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::collections::BTreeSet;

use common::{Conn, RedisServer, TestServer, bulk_of};

/// Requests that succeed, fail while running, and are refused before
/// running (unknown command and subcommand, arity, authentication, ACL,
/// RESP2 subscribed mode), from several clients.
const SCRIPT: &[(usize, &str)] = &[
    (0, "PUBLISH ch m"),
    (0, "PUBLISH ch"),
    (0, "SPUBLISH ch m"),
    (0, "PUBSUB NUMSUB ch"),
    (0, "PUBSUB NOSUCH"),
    (0, "NOSUCHCOMMAND a b"),
    (0, "CLIENT KILL 1.2.3.4:5"),
    (0, "CLIENT SETNAME has space"),
    (0, "ACL SETUSER u on >pw -@all +ping +auth"),
    (1, "AUTH u wrong"),
    (1, "AUTH u pw"),
    (1, "PUBLISH ch m"),
    (1, "PING"),
    (2, "SUBSCRIBE ch"),
    (2, "PUBLISH ch m"),
    (2, "PING"),
    (2, "UNSUBSCRIBE"),
    (0, "ECHO"),
    (0, "HELLO 4"),
];

fn send_script(port: u16) -> Vec<Conn> {
    let mut conns: Vec<Conn> = (0..3).map(|_| Conn::connect(port)).collect();
    conns[0].call(&["CONFIG", "RESETSTAT"]);
    for (client, line) in SCRIPT {
        let args: Vec<&str> = line.split(' ').collect();
        let c = &mut conns[*client];
        c.send(&args);
        // SUBSCRIBE and UNSUBSCRIBE of one channel answer one frame.
        c.frame().expect("no reply");
    }
    conns
}

fn info(c: &mut Conn, section: &str) -> String {
    let raw = c.call(&["INFO", section]);
    let frame = common::parse_value(&raw).unwrap().unwrap().0;
    String::from_utf8(bulk_of(&frame).unwrap().to_vec()).unwrap()
}

/// Each line with the values that measure time replaced by `T`.
fn masked(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|line| {
            line.split(',')
                .map(|field| match field.split_once('=') {
                    Some((k, _)) if k.ends_with("usec") || k == "usec_per_call" => format!("{k}=T"),
                    Some((k, _)) if k.contains(":p") || k.starts_with('p') => format!("{k}=T"),
                    _ => field.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

fn both() -> (TestServer, RedisServer) {
    (TestServer::start(), RedisServer::start())
}

#[test]
fn commandstats_errorstats_and_latencystats_count_as_redis_does() {
    let (respub, redis) = both();
    let mut ours = send_script(respub.port);
    let mut theirs = send_script(redis.port);
    for section in ["commandstats", "errorstats", "latencystats"] {
        let (a, b) = (info(&mut ours[0], section), info(&mut theirs[0], section));
        assert_eq!(
            masked(&a),
            masked(&b),
            "INFO {section}\nrespub:\n{a}\nredis:\n{b}"
        );
    }
    let stats = info(&mut ours[0], "commandstats");
    assert!(
        stats.contains("cmdstat_publish:calls=1,") && stats.contains(",rejected_calls=3,"),
        "{stats}"
    );
}

#[test]
fn resetstat_clears_the_statistics() {
    let (respub, redis) = both();
    for port in [respub.port, redis.port] {
        let mut conns = send_script(port);
        let c = &mut conns[0];
        assert_eq!(c.call(&["CONFIG", "RESETSTAT"]), b"+OK\r\n");
        assert_eq!(info(c, "errorstats"), "# Errorstats\r\n");
        // Only the RESETSTAT itself has been counted since (INFO is
        // counted once it has run).
        let stats = info(c, "commandstats");
        let names: BTreeSet<&str> = stats
            .lines()
            .skip(1)
            .filter_map(|l| l.split(':').next())
            .collect();
        let expected = BTreeSet::from(["cmdstat_config|resetstat", "cmdstat_info"]);
        assert_eq!(names, expected, "{stats}");
    }
}

#[test]
fn latency_tracking_and_its_percentiles_are_configurable() {
    let (respub, redis) = both();
    let mut results = Vec::new();
    for port in [respub.port, redis.port] {
        let mut c = Conn::connect(port);
        let mut replies = Vec::new();
        for value in ["abc", "101", "-1", "50 99.99 1.5", ""] {
            replies.push(c.call(&["CONFIG", "SET", "latency-tracking-info-percentiles", value]));
        }
        c.call(&[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "50 99.99 1.5",
        ]);
        replies.push(c.call(&["CONFIG", "GET", "latency-tracking-info-percentiles"]));
        c.call(&["CONFIG", "RESETSTAT"]);
        c.call(&["PING"]);
        let shown = masked(&info(&mut c, "latencystats"));
        replies.push(
            shown
                .into_iter()
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes(),
        );
        replies.push(c.call(&["CONFIG", "SET", "latency-tracking", "maybe"]));
        replies.push(c.call(&["CONFIG", "SET", "latency-tracking", "no"]));
        c.call(&["CONFIG", "RESETSTAT"]);
        c.call(&["PING"]);
        replies.push(info(&mut c, "latencystats").into_bytes());
        replies.push(c.call(&["CONFIG", "GET", "latency-tracking"]));
        results.push(replies);
    }
    let texts: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            r.iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect()
        })
        .collect();
    assert_eq!(texts[0], texts[1]);
}

#[test]
fn info_selects_sections_in_redis_order() {
    let (respub, redis) = both();
    let headers = |port: u16, args: &[&str]| -> Vec<String> {
        let mut c = Conn::connect(port);
        let mut request = vec!["INFO"];
        request.extend_from_slice(args);
        let raw = c.call(&request);
        let frame = common::parse_value(&raw).unwrap().unwrap().0;
        let text = String::from_utf8(bulk_of(&frame).unwrap().to_vec()).unwrap();
        text.lines()
            .filter(|l| l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    for args in [
        &[][..],
        &["default"],
        &["all"],
        &["everything"],
        &["ALL", "commandstats"],
        &["default", "latencystats"],
        &["clients", "server"],
        &["keyspace"],
        &["bogus"],
        &["errorstats", "commandstats", "stats"],
    ] {
        assert_eq!(
            headers(respub.port, args),
            headers(redis.port, args),
            "INFO {args:?}"
        );
    }
}

/// A pipeline read at once, whose calls respub times in runs of one
/// command: every call is still counted, and INFO in the same pipeline
/// sees the calls before it, as in Redis.
#[test]
fn pipelined_calls_are_each_counted() {
    let (respub, redis) = both();
    let mut seen = Vec::new();
    for port in [respub.port, redis.port] {
        let mut c = Conn::connect(port);
        c.call(&["CONFIG", "RESETSTAT"]);
        let mut pipeline = Vec::new();
        for i in 0..300 {
            let request: &[&str] = match i % 3 {
                0 | 1 => &["PUBLISH", "ch", "m"],
                _ => &["PING"],
            };
            pipeline.extend(common::encode_cmd(request));
        }
        pipeline.extend(common::encode_cmd(&["INFO", "commandstats"]));
        c.send_raw(&pipeline);
        for _ in 0..300 {
            c.frame().unwrap();
        }
        let frame = c.frame().unwrap();
        let text = String::from_utf8(bulk_of(&frame.value).unwrap().to_vec()).unwrap();
        seen.push(masked(&text));
    }
    assert_eq!(seen[0], seen[1]);
    assert!(
        seen[0].contains(
            "cmdstat_publish:calls=200,usec=T,usec_per_call=T,rejected_calls=0,failed_calls=0"
        ),
        "{:?}",
        seen[0]
    );
}
