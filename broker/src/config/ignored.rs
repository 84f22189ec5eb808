//! Redis directives respub accepts but has no use for.
//!
//! An existing redis.conf names many of them; refusing it would stop a
//! drop-in replacement at its first line, so they load with a warning.
//! A directive respub comes to implement moves from here to the directive
//! table.

/// Directives that only concern a keyspace, persistence, replication or
/// clustering: accepted so that an existing redis.conf loads, with a warning.
/// Each comes with what CONFIG GET shows for it, redis-server's default
/// (`None`: CONFIG GET does not list it), so that exporters and tools that
/// read them see a never-saving server.
const IGNORED: &[(&str, Option<&str>)] = &[
    ("save", Some("")),
    ("appendonly", Some("no")),
    ("appendfilename", Some("appendonly.aof")),
    ("appenddirname", Some("appendonlydir")),
    ("appendfsync", Some("everysec")),
    ("dbfilename", Some("dump.rdb")),
    ("maxmemory", Some("0")),
    ("maxmemory-policy", Some("noeviction")),
    ("maxmemory-samples", Some("5")),
    ("maxmemory-eviction-tenacity", Some("10")),
    ("maxmemory-clients", Some("0")),
    ("rdbcompression", Some("yes")),
    ("rdbchecksum", Some("yes")),
    ("rdb-del-sync-files", Some("no")),
    ("rdb-key-save-delay", Some("0")),
    ("rdb-save-incremental-fsync", Some("yes")),
    ("stop-writes-on-bgsave-error", Some("yes")),
    ("sanitize-dump-payload", Some("no")),
    ("lazyfree-lazy-eviction", Some("no")),
    ("lazyfree-lazy-expire", Some("no")),
    ("lazyfree-lazy-server-del", Some("no")),
    ("lazyfree-lazy-user-del", Some("no")),
    ("lazyfree-lazy-user-flush", Some("no")),
    ("replica-lazy-flush", Some("no")),
    ("io-threads-do-reads", Some("no")),
    ("activerehashing", Some("yes")),
    ("activedefrag", Some("no")),
    ("aof-use-rdb-preamble", Some("yes")),
    ("aof-load-truncated", Some("yes")),
    ("aof-rewrite-incremental-fsync", Some("yes")),
    ("aof-timestamp-enabled", Some("no")),
    ("auto-aof-rewrite-percentage", Some("100")),
    ("auto-aof-rewrite-min-size", Some("67108864")),
    ("no-appendfsync-on-rewrite", Some("no")),
    ("hash-max-listpack-entries", Some("512")),
    ("hash-max-listpack-value", Some("64")),
    ("hash-max-ziplist-entries", Some("512")),
    ("hash-max-ziplist-value", Some("64")),
    ("list-max-listpack-size", Some("-2")),
    ("list-max-ziplist-size", Some("-2")),
    ("list-compress-depth", Some("0")),
    ("set-max-intset-entries", Some("512")),
    ("set-max-listpack-entries", Some("128")),
    ("set-max-listpack-value", Some("64")),
    ("zset-max-listpack-entries", Some("128")),
    ("zset-max-listpack-value", Some("64")),
    ("zset-max-ziplist-entries", Some("128")),
    ("zset-max-ziplist-value", Some("64")),
    ("hll-sparse-max-bytes", Some("3000")),
    ("stream-node-max-bytes", Some("4096")),
    ("stream-node-max-entries", Some("100")),
    ("lua-time-limit", Some("5000")),
    ("busy-reply-threshold", Some("5000")),
    ("replicaof", Some("")),
    ("slaveof", Some("")),
    ("masterauth", Some("")),
    ("masteruser", Some("")),
    ("replica-serve-stale-data", Some("yes")),
    ("replica-read-only", Some("yes")),
    ("replica-priority", Some("100")),
    ("repl-diskless-sync", Some("yes")),
    ("repl-diskless-sync-delay", Some("5")),
    ("repl-diskless-sync-max-replicas", Some("0")),
    ("repl-diskless-load", Some("disabled")),
    ("repl-backlog-size", Some("1048576")),
    ("repl-backlog-ttl", Some("3600")),
    ("repl-timeout", Some("60")),
    ("repl-disable-tcp-nodelay", Some("no")),
    ("min-replicas-to-write", Some("0")),
    ("min-replicas-max-lag", Some("10")),
    ("cluster-enabled", Some("no")),
    ("cluster-config-file", Some("nodes.conf")),
    ("cluster-node-timeout", Some("15000")),
    ("always-show-logo", Some("no")),
    ("set-proc-title", Some("yes")),
    (
        "proc-title-template",
        Some("{title} {listen-addr} {server-mode}"),
    ),
    ("locale-collate", Some("")),
    ("syslog-enabled", Some("no")),
    ("syslog-ident", Some("redis")),
    ("syslog-facility", Some("local0")),
    ("crash-log-enabled", Some("yes")),
    ("crash-memcheck-enabled", Some("yes")),
    ("enable-debug-command", Some("no")),
    ("enable-module-command", Some("no")),
    ("enable-protected-configs", Some("no")),
    ("jemalloc-bg-thread", Some("yes")),
    ("dynamic-hz", Some("yes")),
    ("hz", Some("10")),
    ("oom-score-adj", Some("no")),
    ("oom-score-adj-values", Some("0 200 800")),
    ("disable-thp", Some("yes")),
    ("lfu-log-factor", Some("10")),
    ("lfu-decay-time", Some("1")),
    ("tracking-table-max-keys", Some("1000000")),
    ("tcp-backlog", Some("511")),
    ("loadmodule", None),
];

/// TLS tuning directives whose OpenSSL meaning rustls has no equivalent for
/// (cipher strings, session cache, DH parameters) or that concern
/// replication and clustering: accepted with a warning, like [`IGNORED`], which
/// names a different reason; with redis-server's CONFIG GET value as well.
const TLS_IGNORED: &[(&str, Option<&str>)] = &[
    ("tls-ciphers", Some("")),
    ("tls-ciphersuites", Some("")),
    ("tls-prefer-server-ciphers", Some("no")),
    ("tls-session-caching", Some("yes")),
    ("tls-session-cache-size", Some("20480")),
    ("tls-session-cache-timeout", Some("300")),
    ("tls-dh-params-file", Some("")),
    ("tls-key-file-pass", Some("")),
    ("tls-client-cert-file", Some("")),
    ("tls-client-key-file", Some("")),
    ("tls-client-key-file-pass", Some("")),
    ("tls-replication", Some("no")),
    ("tls-cluster", Some("no")),
];

/// Data directives that CONFIG SET accepts with a warning, because job
/// queues and tools set them at startup (`CONFIG SET save ""`); the others
/// are refused as immutable.
const SETTABLE: &[&str] = &["save", "appendonly", "maxmemory", "maxmemory-policy"];

fn entry(name: &str) -> Option<&'static (&'static str, Option<&'static str>)> {
    IGNORED
        .iter()
        .chain(TLS_IGNORED)
        .find(|(ignored, _)| *ignored == name)
}

/// Whether `name` (lowercase) is a Redis directive respub accepts unused.
pub(super) fn is_ignored(name: &str) -> bool {
    entry(name).is_some()
}

/// Whether CONFIG SET accepts `name` (lowercase), unused.
pub(super) fn is_settable(name: &str) -> bool {
    SETTABLE.contains(&name)
}

/// What CONFIG GET shows for an ignored directive.
pub(super) fn shown(name: &str) -> Option<&'static str> {
    entry(name).and_then(|(_, value)| *value)
}

/// Every ignored directive, with what CONFIG GET shows for it.
pub(super) fn all() -> impl Iterator<Item = &'static (&'static str, Option<&'static str>)> {
    IGNORED.iter().chain(TLS_IGNORED)
}

/// Why `name` is ignored, as the load warning tells the operator.
pub(super) fn why_ignored(name: &str) -> &'static str {
    if TLS_IGNORED
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        "is OpenSSL tuning or TLS between servers, which respub's TLS (rustls) does not have"
    } else {
        "concerns data or persistence, which respub does not have"
    }
}
