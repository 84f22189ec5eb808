//! Criterion benchmarks for the broker's hot paths: request decoding (ours
//! against `redis-protocol`), reply encoding, glob matching and registry
//! fan-out to 1, 100 and 10,000 subscribers, with and without patterns held.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use respub_broker::client::Client;
use respub_broker::parse::{DecodeLimits, Decoder};
use respub_broker::registry::{Fanout, Kind, Registry};
use respub_broker::{OutputLimit, glob, reply};

fn publish_pipeline(n: usize, payload: usize) -> Vec<u8> {
    let body = "x".repeat(payload);
    let one = format!(
        "*3\r\n$7\r\nPUBLISH\r\n$7\r\nchannel\r\n${}\r\n{body}\r\n",
        body.len()
    );
    one.repeat(n).into_bytes()
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for payload in [64usize, 1024] {
        let input = publish_pipeline(1000, payload);
        group.throughput(Throughput::Elements(1000));
        group.bench_with_input(BenchmarkId::new("respub", payload), &input, |b, input| {
            b.iter(|| {
                let mut buf = BytesMut::from(&input[..]);
                let mut d = Decoder::new();
                let mut n = 0;
                while let Ok(Some(args)) = d.decode(&mut buf, DecodeLimits::default()) {
                    n += args.len();
                }
                assert_eq!(n, 3000);
            });
        });
        group.bench_with_input(
            BenchmarkId::new("redis-protocol", payload),
            &input,
            |b, input| {
                b.iter(|| {
                    let mut buf = BytesMut::from(&input[..]);
                    let mut n = 0;
                    while let Ok(Some((frame, _, _))) =
                        redis_protocol::resp2::decode::decode_bytes_mut(&mut buf)
                    {
                        if let redis_protocol::resp2::types::BytesFrame::Array(items) = frame {
                            n += items.len();
                        }
                    }
                    assert_eq!(n, 3000);
                });
            },
        );
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for payload in [64usize, 1024] {
        let body = vec![b'x'; payload];
        group.throughput(Throughput::Bytes(payload as u64));
        group.bench_function(BenchmarkId::new("message-frame", payload), |b| {
            let mut buf = BytesMut::with_capacity(2048);
            b.iter(|| {
                buf.clear();
                reply::put_header(&mut buf, b'>', 3);
                reply::put_bulk(&mut buf, b"message");
                reply::put_bulk(&mut buf, b"channel");
                reply::put_bulk(&mut buf, &body);
                buf.len()
            });
        });
    }
    group.bench_function("subscribe-confirmations-x10", |b| {
        let mut buf = BytesMut::with_capacity(2048);
        b.iter(|| {
            buf.clear();
            let mut r = reply::Reply::new(&mut buf, false);
            for i in 0..10 {
                r.push(3);
                r.bulk(b"subscribe");
                r.bulk(b"channel");
                r.int(i);
            }
            buf.len()
        });
    });
    group.finish();
}

fn globs(c: &mut Criterion) {
    let mut group = c.benchmark_group("glob");
    let cases: &[(&str, &[u8], &[u8])] = &[
        ("socketio-prefix", b"socket.io#/#*", b"socket.io#/#room-42#"),
        ("miss-first-byte", b"news.*", b"sports.football"),
        ("class-and-any", b"h[ae]ll?-*-[0-9]", b"hello-world-7"),
        (
            "pathological",
            b"*a*a*a*a*a*a*b",
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ),
    ];
    for (name, pattern, channel) in cases {
        group.bench_function(*name, |b| b.iter(|| glob::matches(pattern, channel)));
    }
    group.finish();
}

fn client(id: u64, resp3: bool) -> Arc<Client> {
    let c = Client::new(id, String::new(), String::new(), Arc::default());
    c.set_resp3(resp3);
    Arc::new(c)
}

fn fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout");
    let payload = vec![b'x'; 64];
    for subscribers in [1usize, 100, 10_000] {
        let registry = Registry::new();
        let clients: Vec<_> = (0..subscribers)
            .map(|i| client(i as u64 + 1, i % 2 == 1))
            .collect();
        for cl in &clients {
            registry.subscribe(Kind::Channel, Bytes::from_static(b"fan"), cl);
        }
        group.throughput(Throughput::Elements(subscribers as u64));
        let mut out = Fanout::default();
        group.bench_function(BenchmarkId::new("publish", subscribers), |b| {
            b.iter(|| {
                let n = registry.publish(b"fan", &payload, 0, &OutputLimit::UNLIMITED, &mut out);
                out.wake.clear();
                for cl in &clients {
                    cl.out.clear();
                }
                n
            });
        });
    }
    group.finish();
}

fn patterns(c: &mut Criterion) {
    let mut group = c.benchmark_group("publish-with-patterns");
    let payload = vec![b'x'; 64];
    for held in [0usize, 1000, 10_000] {
        let registry = Registry::new();
        let sub = client(1, false);
        registry.subscribe(Kind::Channel, Bytes::from_static(b"chan"), &sub);
        let holders: Vec<_> = (0..held).map(|i| client(i as u64 + 2, false)).collect();
        for (i, h) in holders.iter().enumerate() {
            registry.subscribe(Kind::Pattern, Bytes::from(format!("other:{i}:*")), h);
        }
        let mut out = Fanout::default();
        group.bench_function(BenchmarkId::new("non-matching", held), |b| {
            b.iter(|| {
                let n = registry.publish(b"chan", &payload, 0, &OutputLimit::UNLIMITED, &mut out);
                out.wake.clear();
                sub.out.clear();
                n
            });
        });
    }
    group.finish();
}

/// One PUBLISH through the whole command path (lookup, checks, handler,
/// reply, commandstats and latency histogram), to a channel with one
/// subscriber: alone in its read (timed by itself: two clock reads) and in
/// a pipeline of 100 in one read (timed as one run), with latency tracking
/// on and off.
fn execute(c: &mut Criterion) {
    use respub_broker::session::{Session, Shared};
    let mut group = c.benchmark_group("execute");
    let args = [
        Bytes::from_static(b"PUBLISH"),
        Bytes::from_static(b"ch"),
        Bytes::from(vec![b'x'; 64]),
    ];
    for (tracking, batch) in [(true, 1), (false, 1), (true, 100), (false, 100)] {
        let shared = Arc::new(Shared::new(
            respub_broker::Config::default(),
            0,
            tokio_util::sync::CancellationToken::new(),
        ));
        let session = |id| {
            let client = Client::new(id, "a".into(), "a".into(), Arc::clone(&shared.stats));
            Session::new(Arc::new(client), Arc::clone(&shared))
        };
        let (mut s, mut sub) = (session(1), session(2));
        s.track_latency = tracking;
        let subscribe = [Bytes::from_static(b"SUBSCRIBE"), Bytes::from_static(b"ch")];
        respub_broker::execute(&mut sub, &subscribe);
        let tracked = if tracking { "tracked" } else { "untracked" };
        group.throughput(Throughput::Elements(batch));
        let id = BenchmarkId::new(format!("publish-{tracked}"), format!("{batch}-per-read"));
        group.bench_function(id, |b| {
            b.iter(|| {
                for _ in 0..batch {
                    respub_broker::execute(&mut s, &args);
                    s.flush();
                }
                s.end_run();
                s.wake_all();
                s.client.out.clear();
                sub.client.out.clear();
            });
        });
    }
    group.finish();
}

criterion_group!(benches, decode, encode, globs, fanout, patterns, execute);
criterion_main!(benches);
