//! Redis directives respub accepts but has no use for.
//!
//! An existing redis.conf names many of them; refusing it would stop a
//! drop-in replacement at its first line, so they load with a warning.
//! A directive respub comes to implement moves from here to the directive
//! table.

/// Directives that only concern a keyspace, persistence, replication or
/// clustering: accepted so that an existing redis.conf loads, with a warning.
const IGNORED: &[&str] = &[
    "save",
    "appendonly",
    "appendfilename",
    "appenddirname",
    "appendfsync",
    "dbfilename",
    "dir",
    "maxmemory",
    "maxmemory-policy",
    "maxmemory-samples",
    "maxmemory-eviction-tenacity",
    "maxmemory-clients",
    "rdbcompression",
    "rdbchecksum",
    "rdb-del-sync-files",
    "rdb-key-save-delay",
    "rdb-save-incremental-fsync",
    "stop-writes-on-bgsave-error",
    "sanitize-dump-payload",
    "lazyfree-lazy-eviction",
    "lazyfree-lazy-expire",
    "lazyfree-lazy-server-del",
    "lazyfree-lazy-user-del",
    "lazyfree-lazy-user-flush",
    "replica-lazy-flush",
    "io-threads-do-reads",
    "activerehashing",
    "activedefrag",
    "aof-use-rdb-preamble",
    "aof-load-truncated",
    "aof-rewrite-incremental-fsync",
    "aof-timestamp-enabled",
    "auto-aof-rewrite-percentage",
    "auto-aof-rewrite-min-size",
    "no-appendfsync-on-rewrite",
    "notify-keyspace-events",
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "hash-max-ziplist-entries",
    "hash-max-ziplist-value",
    "list-max-listpack-size",
    "list-max-ziplist-size",
    "list-compress-depth",
    "set-max-intset-entries",
    "set-max-listpack-entries",
    "set-max-listpack-value",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "zset-max-ziplist-entries",
    "zset-max-ziplist-value",
    "hll-sparse-max-bytes",
    "stream-node-max-bytes",
    "stream-node-max-entries",
    "lua-time-limit",
    "busy-reply-threshold",
    "slowlog-log-slower-than",
    "slowlog-max-len",
    "latency-monitor-threshold",
    "replicaof",
    "slaveof",
    "masterauth",
    "masteruser",
    "replica-serve-stale-data",
    "replica-read-only",
    "replica-priority",
    "repl-diskless-sync",
    "repl-diskless-sync-delay",
    "repl-diskless-sync-max-replicas",
    "repl-diskless-load",
    "repl-backlog-size",
    "repl-backlog-ttl",
    "repl-timeout",
    "repl-disable-tcp-nodelay",
    "min-replicas-to-write",
    "min-replicas-max-lag",
    "cluster-enabled",
    "cluster-config-file",
    "cluster-node-timeout",
    "supervised",
    "pidfile",
    "always-show-logo",
    "set-proc-title",
    "proc-title-template",
    "locale-collate",
    "syslog-enabled",
    "syslog-ident",
    "syslog-facility",
    "crash-log-enabled",
    "crash-memcheck-enabled",
    "enable-debug-command",
    "enable-module-command",
    "enable-protected-configs",
    "jemalloc-bg-thread",
    "dynamic-hz",
    "hz",
    "oom-score-adj",
    "oom-score-adj-values",
    "disable-thp",
    "lfu-log-factor",
    "lfu-decay-time",
    "tracking-table-max-keys",
    "tcp-backlog",
    "daemonize",
    "loadmodule",
    "include",
];

/// TLS tuning directives whose OpenSSL meaning rustls has no equivalent for
/// (cipher strings, session cache, DH parameters) or that concern
/// replication and clustering: accepted with a warning, like [`IGNORED`], which
/// names a different reason.
const TLS_IGNORED: &[&str] = &[
    "tls-ciphers",
    "tls-ciphersuites",
    "tls-prefer-server-ciphers",
    "tls-session-caching",
    "tls-session-cache-size",
    "tls-session-cache-timeout",
    "tls-dh-params-file",
    "tls-key-file-pass",
    "tls-client-cert-file",
    "tls-client-key-file",
    "tls-client-key-file-pass",
    "tls-replication",
    "tls-cluster",
];

/// Whether `name` (lowercase) is a Redis directive respub accepts unused.
pub(super) fn is_ignored(name: &str) -> bool {
    IGNORED.contains(&name) || TLS_IGNORED.contains(&name)
}

/// Why `name` is ignored, as the load warning tells the operator.
pub(super) fn why_ignored(name: &str) -> &'static str {
    if TLS_IGNORED.contains(&name.to_ascii_lowercase().as_str()) {
        "is OpenSSL tuning or TLS between servers, which respub's TLS (rustls) does not have"
    } else {
        "concerns data or persistence, which respub does not have"
    }
}
