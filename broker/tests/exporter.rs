//! Debian's `prometheus-redis-exporter` scraping respub and a real
//! redis-server after the same traffic: the metric families a pub/sub
//! server is watched by are there for both, with the values the traffic
//! implies, and every family redis-server has and respub lacks is one of
//! [`ABSENT`], each explained in docs/protocol.md ("Prometheus exporter").
//! `./scripts/test` installs the exporter.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use common::{Conn, RedisServer, TestServer, bulk_of, eventually, free_port};

const EXPORTER: &str = "prometheus-redis-exporter";

/// What dashboards and alerts on a pub/sub server read.
const REQUIRED: &[&str] = &[
    "redis_up",
    "redis_instance_info",
    "redis_uptime_in_seconds",
    "redis_connected_clients",
    "redis_connections_received_total",
    "redis_rejected_connections_total",
    "redis_commands_processed_total",
    "redis_commands_total",
    "redis_commands_duration_seconds_total",
    "redis_commands_failed_calls_total",
    "redis_commands_rejected_calls_total",
    "redis_latency_percentiles_usec",
    "redis_errors_total",
    "redis_total_error_replies",
    "redis_pubsub_channels",
    "redis_pubsub_patterns",
    "redis_net_input_bytes_total",
    "redis_net_output_bytes_total",
    "redis_memory_used_bytes",
    "redis_cpu_user_seconds_total",
    "redis_cpu_sys_seconds_total",
];

/// Families redis-server has and respub lacks, by reason.
const ABSENT: &[(&str, &[&str])] = &[
    (
        "no allocator statistics: used_memory is the process RSS",
        &[
            "redis_allocator_active_bytes",
            "redis_allocator_allocated_bytes",
            "redis_allocator_frag_bytes",
            "redis_allocator_frag_ratio",
            "redis_allocator_resident_bytes",
            "redis_allocator_rss_bytes",
            "redis_allocator_rss_ratio",
            "redis_mem_fragmentation_bytes",
            "redis_mem_fragmentation_ratio",
            "redis_mem_not_counted_for_eviction_bytes",
            "redis_memory_used_dataset_bytes",
            "redis_memory_used_overhead_bytes",
            "redis_memory_used_peak_bytes",
            "redis_memory_used_startup_bytes",
            "redis_mem_clients_normal",
            "redis_mem_clients_slaves",
            "redis_active_defrag_running",
            "redis_defrag_hits",
            "redis_defrag_misses",
            "redis_defrag_key_hits",
            "redis_defrag_key_misses",
        ],
    ),
    (
        "no keyspace: nothing expires, is freed lazily, tracked, dumped or migrated",
        &[
            "redis_expired_stale_percentage",
            "redis_expired_time_cap_reached_total",
            "redis_lazyfree_pending_objects",
            "redis_slave_expires_tracked_keys",
            "redis_tracking_total_items",
            "redis_tracking_total_keys",
            "redis_tracking_total_prefixes",
            "redis_dump_payload_sanitizations",
            "redis_migrate_cached_sockets_total",
        ],
    ),
    (
        "no scripting",
        &[
            "redis_memory_used_lua_bytes",
            "redis_memory_used_scripts_bytes",
            "redis_number_of_cached_scripts",
        ],
    ),
    (
        "no persistence, so no AOF, RDB or fork figures",
        &[
            "redis_aof_current_rewrite_duration_sec",
            "redis_aof_last_bgrewrite_status",
            "redis_aof_last_cow_size_bytes",
            "redis_aof_last_rewrite_duration_sec",
            "redis_aof_last_write_status",
            "redis_aof_rewrite_scheduled",
            "redis_rdb_current_bgsave_duration_sec",
            "redis_rdb_last_bgsave_duration_sec",
            "redis_rdb_last_cow_size_bytes",
            "redis_rdb_last_save_timestamp_seconds",
            "redis_latest_fork_seconds",
            "redis_module_fork_in_progress",
            "redis_module_fork_last_cow_size",
        ],
    ),
    (
        "no replica side yet: no replies to a master",
        &["redis_unexpected_error_replies"],
    ),
    (
        "no main thread or I/O threads: tokio's workers do all of it",
        &[
            "redis_cpu_sys_main_thread_seconds_total",
            "redis_cpu_user_main_thread_seconds_total",
            "redis_io_threaded_reads_processed",
            "redis_io_threaded_writes_processed",
            "redis_total_reads_processed",
            "redis_total_writes_processed",
        ],
    ),
];

/// The exporter on a free port, scraping the server on `redis_port`;
/// killed on drop.
struct Exporter {
    child: Child,
    port: u16,
}

impl Exporter {
    fn start(redis_port: u16) -> Self {
        let port = free_port();
        let child = Command::new(EXPORTER)
            .args([
                "--web.listen-address",
                &format!("127.0.0.1:{port}"),
                "--redis.addr",
                &format!("redis://127.0.0.1:{redis_port}"),
                "--redis-only-metrics",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {EXPORTER} ({e}): ./scripts/test installs it with apt-get")
            });
        // It connects to the server only when scraped: a bare connect
        // tells that it serves without sending the server anything.
        eventually(|| TcpStream::connect(("127.0.0.1", port)).is_ok());
        Self { child, port }
    }

    fn scrape(&self) -> Scrape {
        let mut http = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        http.set_read_timeout(Some(common::GUARD)).unwrap();
        http.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        http.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.0 200"), "scrape failed:\n{head}");
        Scrape::parse(body)
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One scrape: the `redis_` families its `# TYPE` lines declare and every
/// sample, keyed by its series as written (`name{labels}`).
struct Scrape {
    families: BTreeSet<String>,
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    fn parse(text: &str) -> Self {
        let mut families = BTreeSet::new();
        let mut samples = BTreeMap::new();
        for line in text.lines() {
            if let Some(declared) = line.strip_prefix("# TYPE ") {
                let name = declared.split(' ').next().unwrap();
                if name.starts_with("redis_") {
                    families.insert(name.to_owned());
                }
            } else if !line.starts_with('#') && !line.is_empty() {
                let (series, value) = line.rsplit_once(' ').unwrap();
                samples.insert(series.to_owned(), value.parse().unwrap());
            }
        }
        Self { families, samples }
    }

    fn value(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("no sample {series}"))
    }
}

/// Holds two channels and a pattern, publishes to both kinds, fails one
/// command and has one connection refused at `maxclients`. The returned
/// subscriber and publisher stay connected through the scrape.
fn traffic(port: u16) -> (Conn, Conn) {
    let mut sub = Conn::connect(port);
    sub.send(&["SUBSCRIBE", "exporter:a", "exporter:b"]);
    sub.send(&["PSUBSCRIBE", "exporter:p*"]);
    for _ in 0..3 {
        assert!(sub.frame().is_some(), "subscription not confirmed");
    }
    let mut publisher = Conn::connect(port);
    assert_eq!(publisher.call(&["PUBLISH", "exporter:a", "m"]), b":1\r\n");
    assert_eq!(publisher.call(&["PUBLISH", "exporter:p1", "m"]), b":1\r\n");
    assert!(
        publisher
            .call(&["NOSUCHCOMMAND"])
            .starts_with(b"-ERR unknown command")
    );
    publisher.send(&["CONFIG", "GET", "maxclients"]);
    let reply = publisher.frame().unwrap();
    let maxclients = bulk_of(&reply.items().unwrap()[1]).unwrap().to_vec();
    assert_eq!(
        publisher.call(&["CONFIG", "SET", "maxclients", "2"]),
        b"+OK\r\n"
    );
    assert_eq!(
        Conn::connect(port).read_to_eof(),
        b"-ERR max number of clients reached\r\n"
    );
    let restore: [&[u8]; 4] = [b"CONFIG", b"SET", b"maxclients", &maxclients];
    assert_eq!(publisher.call(&restore), b"+OK\r\n");
    (sub, publisher)
}

fn scrape_after_traffic(port: u16) -> Scrape {
    let exporter = Exporter::start(port);
    let _clients = traffic(port);
    exporter.scrape()
}

fn check_pubsub_families(server: &str, scrape: &Scrape) {
    for family in REQUIRED {
        assert!(
            scrape.families.contains(*family),
            "{server}: no {family} family"
        );
    }
    let value = |series: &str| scrape.value(series);
    assert_eq!(value("redis_up"), 1.0, "{server}: redis_up");
    assert_eq!(value("redis_pubsub_channels"), 2.0, "{server}");
    assert_eq!(value("redis_pubsub_patterns"), 1.0, "{server}");
    assert_eq!(value("redis_rejected_connections_total"), 1.0, "{server}");
    // The subscriber, the publisher and the exporter's own connection.
    assert!(value("redis_connected_clients") >= 3.0, "{server}");
    assert!(
        value(r#"redis_commands_total{cmd="publish"}"#) >= 2.0,
        "{server}"
    );
    assert!(value(r#"redis_commands_duration_seconds_total{cmd="publish"}"#) >= 0.0);
    assert!(value(r#"redis_errors_total{err="ERR"}"#) >= 1.0, "{server}");
    assert!(value("redis_net_input_bytes_total") > 0.0, "{server}");
}

#[test]
fn exporter_reads_the_pubsub_families_of_both() {
    let redis = RedisServer::start();
    let respub = TestServer::start();
    let theirs = scrape_after_traffic(redis.port);
    let ours = scrape_after_traffic(respub.port);
    check_pubsub_families("redis-server", &theirs);
    check_pubsub_families("respub", &ours);

    let reasons: BTreeMap<&str, &str> = ABSENT
        .iter()
        .flat_map(|(reason, names)| names.iter().map(move |name| (*name, *reason)))
        .collect();
    let missing: Vec<&String> = theirs.families.difference(&ours.families).collect();
    println!(
        "families redis-server has and respub lacks ({}):",
        missing.len()
    );
    for family in &missing {
        let reason = reasons
            .get(family.as_str())
            .copied()
            .unwrap_or("UNEXPLAINED");
        println!("  {family}: {reason}");
    }
    let unexplained: Vec<_> = missing
        .iter()
        .filter(|f| !reasons.contains_key(f.as_str()))
        .collect();
    assert!(
        unexplained.is_empty(),
        "respub lacks {unexplained:?}: add them to INFO, or to ABSENT and docs/protocol.md"
    );
    let stale: Vec<_> = reasons
        .keys()
        .filter(|f| ours.families.contains(**f))
        .collect();
    assert!(
        stale.is_empty(),
        "respub exports {stale:?} now: remove them from ABSENT and docs/protocol.md"
    );
    let extra: Vec<_> = ours.families.difference(&theirs.families).collect();
    assert!(
        extra.is_empty(),
        "respub exports families redis-server does not: {extra:?}"
    );
}
