//! Redis directives respub accepts but has no use for.
//!
//! An existing redis.conf names many of them; refusing it would stop a
//! drop-in replacement at its first line, so they load with a warning. Each
//! is checked as redis-server checks it (`kind.rs`), and what a file or
//! CONFIG SET gave it is what CONFIG GET shows, so tools that set and read
//! them back (job queues' `CONFIG SET save ""`, exporters, failover
//! scripts) see a Redis. A directive respub comes to implement moves from
//! here to the directive table.

mod kind;

use std::collections::BTreeMap;

pub(super) use self::kind::{Context, Kind, Unit};
use self::kind::{INT_MAX, LLONG_MAX, ULLONG_MAX};
use super::error::DirectiveError;

/// One directive respub accepts unused.
#[derive(Debug)]
pub(super) struct Entry {
    /// The name, lowercase.
    pub(super) name: &'static str,
    /// How its value is checked; the entry it stands for, for an alias.
    kind: Kind,
    alias_of: Option<&'static str>,
    /// Redis' default, as CONFIG GET shows it (respub's own for `save`,
    /// which is a server that never saves).
    default: &'static str,
    /// CONFIG SET may change it (Redis' `MODIFIABLE_CONFIG`).
    settable: bool,
    /// Read by replication (see `Config::number`): set without a warning.
    used: bool,
}

const fn entry(name: &'static str, kind: Kind, default: &'static str) -> Entry {
    Entry {
        name,
        kind,
        alias_of: None,
        default,
        settable: true,
        used: false,
    }
}

const fn num(lo: i128, hi: i128, unit: Unit) -> Kind {
    Kind::Number { lo, hi, unit }
}

/// A second name of `of` (`hash-max-ziplist-entries`): same value, same
/// checks.
const fn alias(name: &'static str, of: &'static str) -> Entry {
    Entry {
        name,
        kind: Kind::Text,
        alias_of: Some(of),
        default: "",
        settable: true,
        used: false,
    }
}

const fn file_line(name: &'static str) -> Entry {
    entry(name, Kind::FileLine, "").fixed()
}

impl Entry {
    /// Read at startup only (Redis' `IMMUTABLE_CONFIG`).
    const fn fixed(self) -> Self {
        Self {
            settable: false,
            ..self
        }
    }

    /// Read by replication: no longer unused.
    const fn used(self) -> Self {
        Self { used: true, ..self }
    }
}

const APPENDFSYNC: &[&str] = &["everysec", "always", "no"];
const MAXMEMORY_POLICY: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];
const SANITIZE: &[&str] = &["no", "yes", "clients"];
const DISKLESS_LOAD: &[&str] = &["disabled", "on-empty-db", "swapdb"];
const SYSLOG_FACILITY: &[&str] = &[
    "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];
const PROTECTED_ACTION: &[&str] = &["no", "yes", "local"];
const OOM_SCORE_ADJ: &[&str] = &["no", "yes", "relative", "absolute"];
const BASE_RDB_FILE: Kind = Kind::BaseName {
    directive: "dbfilename",
    noun: "filename",
    empty_ok: true,
};
const BASE_AOF_FILE: Kind = Kind::BaseName {
    directive: "appendfilename",
    noun: "filename",
    empty_ok: false,
};
const BASE_AOF_DIR: Kind = Kind::BaseName {
    directive: "appenddirname",
    noun: "dirname",
    empty_ok: false,
};

/// Directives that only concern a keyspace, persistence, replication or
/// clustering, in the order CONFIG GET lists them; types, ranges and
/// mutability are Redis 7.2's (`config.c`).
const IGNORED: &[Entry] = &[
    entry("save", Kind::Save, ""),
    entry("appendonly", Kind::Bool, "no"),
    entry("appendfilename", BASE_AOF_FILE, "appendonly.aof").fixed(),
    entry("appenddirname", BASE_AOF_DIR, "appendonlydir").fixed(),
    entry("appendfsync", Kind::Enum(APPENDFSYNC), "everysec"),
    entry("dbfilename", BASE_RDB_FILE, "dump.rdb"),
    entry("maxmemory", num(0, ULLONG_MAX, Unit::Memory), "0"),
    entry(
        "maxmemory-policy",
        Kind::Enum(MAXMEMORY_POLICY),
        "noeviction",
    ),
    entry("maxmemory-samples", num(1, INT_MAX, Unit::Plain), "5"),
    entry(
        "maxmemory-eviction-tenacity",
        num(0, 100, Unit::Plain),
        "10",
    ),
    entry(
        "maxmemory-clients",
        num(-100, LLONG_MAX, Unit::MemoryOrPercent),
        "0",
    ),
    entry("rdbcompression", Kind::Bool, "yes"),
    entry("rdbchecksum", Kind::Bool, "yes").fixed(),
    entry("rdb-del-sync-files", Kind::Bool, "no"),
    entry(
        "rdb-key-save-delay",
        num(-INT_MAX - 1, INT_MAX, Unit::Plain),
        "0",
    ),
    entry("rdb-save-incremental-fsync", Kind::Bool, "yes"),
    entry("stop-writes-on-bgsave-error", Kind::Bool, "yes"),
    entry("sanitize-dump-payload", Kind::Enum(SANITIZE), "no"),
    entry("lazyfree-lazy-eviction", Kind::Bool, "no"),
    entry("lazyfree-lazy-expire", Kind::Bool, "no"),
    entry("lazyfree-lazy-server-del", Kind::Bool, "no"),
    entry("lazyfree-lazy-user-del", Kind::Bool, "no"),
    entry("lazyfree-lazy-user-flush", Kind::Bool, "no"),
    entry("replica-lazy-flush", Kind::Bool, "no"),
    entry("io-threads-do-reads", Kind::Bool, "no").fixed(),
    entry("activerehashing", Kind::Bool, "yes"),
    entry("activedefrag", Kind::NoDefrag, "no"),
    entry("aof-use-rdb-preamble", Kind::Bool, "yes"),
    entry("aof-load-truncated", Kind::Bool, "yes"),
    entry("aof-rewrite-incremental-fsync", Kind::Bool, "yes"),
    entry("aof-timestamp-enabled", Kind::Bool, "no"),
    entry(
        "auto-aof-rewrite-percentage",
        num(0, INT_MAX, Unit::Plain),
        "100",
    ),
    entry(
        "auto-aof-rewrite-min-size",
        num(0, LLONG_MAX, Unit::Memory),
        "67108864",
    ),
    entry("no-appendfsync-on-rewrite", Kind::Bool, "no"),
    entry(
        "hash-max-listpack-entries",
        num(0, LLONG_MAX, Unit::Plain),
        "512",
    ),
    entry(
        "hash-max-listpack-value",
        num(0, LLONG_MAX, Unit::Memory),
        "64",
    ),
    alias("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    alias("hash-max-ziplist-value", "hash-max-listpack-value"),
    entry(
        "list-max-listpack-size",
        num(-INT_MAX - 1, INT_MAX, Unit::Plain),
        "-2",
    ),
    alias("list-max-ziplist-size", "list-max-listpack-size"),
    entry("list-compress-depth", num(0, INT_MAX, Unit::Plain), "0"),
    entry(
        "set-max-intset-entries",
        num(0, LLONG_MAX, Unit::Plain),
        "512",
    ),
    entry(
        "set-max-listpack-entries",
        num(0, LLONG_MAX, Unit::Plain),
        "128",
    ),
    entry(
        "set-max-listpack-value",
        num(0, LLONG_MAX, Unit::Plain),
        "64",
    ),
    entry(
        "zset-max-listpack-entries",
        num(0, LLONG_MAX, Unit::Plain),
        "128",
    ),
    entry(
        "zset-max-listpack-value",
        num(0, LLONG_MAX, Unit::Memory),
        "64",
    ),
    alias("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    alias("zset-max-ziplist-value", "zset-max-listpack-value"),
    entry(
        "hll-sparse-max-bytes",
        num(0, LLONG_MAX, Unit::Memory),
        "3000",
    ),
    entry(
        "stream-node-max-bytes",
        num(0, LLONG_MAX, Unit::Memory),
        "4096",
    ),
    entry(
        "stream-node-max-entries",
        num(0, LLONG_MAX, Unit::Plain),
        "100",
    ),
    alias("lua-time-limit", "busy-reply-threshold"),
    entry(
        "busy-reply-threshold",
        num(0, LLONG_MAX, Unit::Plain),
        "5000",
    ),
    entry(
        "latency-monitor-threshold",
        num(0, LLONG_MAX, Unit::Plain),
        "0",
    ),
    entry("replicaof", Kind::ReplicaOf, "").fixed().used(),
    alias("slaveof", "replicaof"),
    entry("masterauth", Kind::Text, "").used(),
    entry("masteruser", Kind::Text, "").used(),
    entry("replica-serve-stale-data", Kind::Bool, "yes"),
    entry("replica-read-only", Kind::Bool, "yes"),
    entry("replica-priority", num(0, INT_MAX, Unit::Plain), "100").used(),
    alias("slave-priority", "replica-priority"),
    entry("replica-announce-ip", Kind::Text, "").used(),
    alias("slave-announce-ip", "replica-announce-ip"),
    entry("replica-announce-port", num(0, 65535, Unit::Plain), "0").used(),
    alias("slave-announce-port", "replica-announce-port"),
    entry("replica-announced", Kind::Bool, "yes").used(),
    entry("repl-diskless-sync", Kind::Bool, "yes"),
    entry(
        "repl-diskless-sync-delay",
        num(0, INT_MAX, Unit::Plain),
        "5",
    ),
    entry(
        "repl-diskless-sync-max-replicas",
        num(0, INT_MAX, Unit::Plain),
        "0",
    ),
    entry("repl-diskless-load", Kind::Enum(DISKLESS_LOAD), "disabled"),
    entry(
        "repl-backlog-size",
        num(1, LLONG_MAX, Unit::Memory),
        "1048576",
    )
    .used(),
    entry("repl-backlog-ttl", num(0, LLONG_MAX, Unit::Plain), "3600"),
    entry("repl-timeout", num(1, INT_MAX, Unit::Plain), "60").used(),
    entry(
        "repl-ping-replica-period",
        num(1, INT_MAX, Unit::Plain),
        "10",
    )
    .used(),
    alias("repl-ping-slave-period", "repl-ping-replica-period"),
    entry("repl-disable-tcp-nodelay", Kind::Bool, "no"),
    entry("min-replicas-to-write", num(0, INT_MAX, Unit::Plain), "0").used(),
    alias("min-slaves-to-write", "min-replicas-to-write"),
    entry("min-replicas-max-lag", num(0, INT_MAX, Unit::Plain), "10").used(),
    alias("min-slaves-max-lag", "min-replicas-max-lag"),
    entry("cluster-enabled", Kind::Bool, "no").fixed(),
    entry("cluster-config-file", Kind::Text, "nodes.conf").fixed(),
    entry(
        "cluster-node-timeout",
        num(0, LLONG_MAX, Unit::Plain),
        "15000",
    ),
    entry("always-show-logo", Kind::Bool, "no").fixed(),
    entry("set-proc-title", Kind::Bool, "yes").fixed(),
    entry(
        "proc-title-template",
        Kind::ProcTitle,
        "{title} {listen-addr} {server-mode}",
    ),
    entry("locale-collate", Kind::Text, ""),
    entry("syslog-enabled", Kind::Bool, "no").fixed(),
    entry("syslog-ident", Kind::Text, "redis").fixed(),
    entry("syslog-facility", Kind::Enum(SYSLOG_FACILITY), "local0").fixed(),
    entry("crash-log-enabled", Kind::Bool, "yes"),
    entry("crash-memcheck-enabled", Kind::Bool, "yes"),
    entry("enable-debug-command", Kind::Enum(PROTECTED_ACTION), "no").fixed(),
    entry("enable-module-command", Kind::Enum(PROTECTED_ACTION), "no").fixed(),
    entry(
        "enable-protected-configs",
        Kind::Enum(PROTECTED_ACTION),
        "no",
    )
    .fixed(),
    entry("jemalloc-bg-thread", Kind::Bool, "yes"),
    entry("dynamic-hz", Kind::Bool, "yes"),
    entry("hz", num(0, INT_MAX, Unit::Plain), "10"),
    entry("oom-score-adj", Kind::Enum(OOM_SCORE_ADJ), "no"),
    entry("oom-score-adj-values", Kind::OomValues, "0 200 800"),
    entry("disable-thp", Kind::Bool, "yes").fixed(),
    entry("lfu-log-factor", num(0, INT_MAX, Unit::Plain), "10"),
    entry("lfu-decay-time", num(0, INT_MAX, Unit::Plain), "1"),
    entry(
        "tracking-table-max-keys",
        num(0, LLONG_MAX, Unit::Plain),
        "1000000",
    ),
    entry("tcp-backlog", num(0, INT_MAX, Unit::Plain), "511").fixed(),
    file_line("loadmodule"),
];

/// TLS tuning directives whose OpenSSL meaning rustls has no equivalent for
/// (cipher strings, session cache, DH parameters) or that concern
/// replication and clustering: accepted with a warning, like [`IGNORED`],
/// which names a different reason.
const TLS_IGNORED: &[Entry] = &[
    entry("tls-ciphers", Kind::Text, ""),
    entry("tls-ciphersuites", Kind::Text, ""),
    entry("tls-prefer-server-ciphers", Kind::Bool, "no"),
    entry("tls-session-caching", Kind::Bool, "yes"),
    entry(
        "tls-session-cache-size",
        num(0, INT_MAX, Unit::Plain),
        "20480",
    ),
    entry(
        "tls-session-cache-timeout",
        num(0, INT_MAX, Unit::Plain),
        "300",
    ),
    entry("tls-dh-params-file", Kind::Text, ""),
    entry("tls-key-file-pass", Kind::Text, ""),
    entry("tls-client-cert-file", Kind::Text, ""),
    entry("tls-client-key-file", Kind::Text, ""),
    entry("tls-client-key-file-pass", Kind::Text, ""),
    entry("tls-replication", Kind::Bool, "no"),
    entry("tls-cluster", Kind::Bool, "no"),
];

fn find(name: &str) -> Option<&'static Entry> {
    IGNORED.iter().chain(TLS_IGNORED).find(|e| e.name == name)
}

/// The entry whose value `name` shows: itself, or what it is an alias of.
fn resolve(name: &str) -> Option<&'static Entry> {
    let entry = find(name)?;
    match entry.alias_of {
        Some(of) => find(of),
        None => Some(entry),
    }
}

/// Whether `name` (lowercase) is a Redis directive respub accepts unused.
pub(super) fn is_ignored(name: &str) -> bool {
    find(name).is_some()
}

/// The name `name` stands for (itself, or what it is an alias of) and how
/// its value is typed, for CONFIG REWRITE.
pub(super) fn canonical(name: &str) -> Option<(&'static str, Kind)> {
    resolve(name).map(|e| (e.name, e.kind))
}

/// Whether `name` is one of them that replication reads after all.
pub(super) fn is_used(name: &str) -> bool {
    resolve(name).is_some_and(|e| e.used)
}

/// Every directive accepted unused, in CONFIG GET's order.
pub(super) fn all() -> impl Iterator<Item = &'static Entry> {
    IGNORED.iter().chain(TLS_IGNORED)
}

impl Entry {
    /// Whether CONFIG GET lists it (`loadmodule` is a file line only).
    pub(super) fn listed(&self) -> bool {
        self.kind != Kind::FileLine
    }
}

/// Why `name` is ignored, as the load warning tells the operator.
pub(super) fn why_ignored(name: &str) -> &'static str {
    if TLS_IGNORED
        .iter()
        .any(|e| e.name.eq_ignore_ascii_case(name))
    {
        "is OpenSSL tuning or TLS between servers, which respub's TLS (rustls) does not have"
    } else {
        "concerns data, persistence, replication or clustering, which respub does not have"
    }
}

/// The values given to the Redis directives respub accepts unused
/// (`hz`, `save`, `repl-backlog-size`, ...), which CONFIG GET shows back;
/// a directive never given one shows Redis' default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unused(BTreeMap<&'static str, String>);

impl Unused {
    /// Checks and keeps `args` for `name` (lowercase). While `running`
    /// (CONFIG SET), directives Redis reads at startup only are refused
    /// and file lines are unknown.
    pub(super) fn apply(
        &mut self,
        name: &str,
        args: &[String],
        running: bool,
        ctx: Context,
    ) -> Result<(), DirectiveError> {
        let entry = resolve(name).ok_or(DirectiveError::Unknown)?;
        match entry.kind {
            Kind::FileLine if running => return Err(DirectiveError::Unknown),
            _ if running && !entry.settable => return Err(DirectiveError::Immutable),
            _ => {}
        }
        let value = entry.kind.check(args, running, ctx)?;
        let value = match (entry.name, self.0.get(entry.name)) {
            // A file's `save` lines add up; `save ""` clears them.
            ("save", Some(before)) if !running && !before.is_empty() && !value.is_empty() => {
                format!("{before} {value}")
            }
            // Redis caps hz to 1..=500 rather than refusing it.
            ("hz", _) if running => value
                .parse::<i64>()
                .map_or(value, |hz| hz.clamp(1, 500).to_string()),
            // And grows the backlog to its 16 KiB minimum.
            ("repl-backlog-size", _) if running => value
                .parse::<i64>()
                .map_or(value, |size| size.max(16 * 1024).to_string()),
            _ => value,
        };
        self.0.insert(entry.name, value);
        Ok(())
    }

    /// What CONFIG GET shows for `name`, when it is listed.
    pub(super) fn shown(&self, name: &str) -> Option<String> {
        let entry = resolve(name).filter(|e| e.listed())?;
        Some(
            self.0
                .get(entry.name)
                .cloned()
                .unwrap_or_else(|| entry.default.to_owned()),
        )
    }
}
