//! Server configuration, with redis-server's defaults and directive names.
//!
//! One parser serves redis.conf files, `respub-server --name value` options
//! and `CONFIG SET`, so an operator's existing redis.conf works unchanged:
//! directives respub implements are applied, directives that only concern a
//! keyspace or persistence (`save`, `appendonly`, `maxmemory`, ...) are
//! accepted with one warning each, and anything else is an error naming the
//! line, as redis-server reports it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::parse::split_args;

/// One `client-output-buffer-limit` class: a client is closed when its
/// pending output reaches `hard` bytes, or stays at or above `soft` bytes for
/// more than `soft_seconds`. A zero disables that half of the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit {
    /// Bytes at which the client is closed at once.
    pub hard: usize,
    /// Bytes the client may stay above for `soft_seconds`.
    pub soft: usize,
    /// How long the soft limit may be exceeded.
    pub soft_seconds: Duration,
}

impl OutputLimit {
    /// No limit at all (Redis' `normal` class default).
    pub const UNLIMITED: Self = Self {
        hard: 0,
        soft: 0,
        soft_seconds: Duration::ZERO,
    };

    /// Redis' `pubsub` class default: `32mb 8mb 60`.
    pub const PUBSUB_DEFAULT: Self = Self {
        hard: 32 * 1024 * 1024,
        soft: 8 * 1024 * 1024,
        soft_seconds: Duration::from_secs(60),
    };

    /// Redis' `replica` class default, kept only so that CONFIG GET shows it.
    const REPLICA_DEFAULT: Self = Self {
        hard: 256 * 1024 * 1024,
        soft: 64 * 1024 * 1024,
        soft_seconds: Duration::from_secs(60),
    };
}

/// `tls-auth-clients`: whether a TLS client must present a certificate
/// signed by the configured CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsAuthClients {
    /// A certificate is required (Redis' default).
    Yes,
    /// A certificate is verified if presented, but not required.
    Optional,
    /// No certificate is asked for.
    No,
}

impl TlsAuthClients {
    /// The directive's value as redis.conf spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Yes => "yes",
            Self::Optional => "optional",
            Self::No => "no",
        }
    }
}

/// Everything `run` needs to know about how to serve.
#[derive(Debug, Clone)]
pub struct Config {
    /// `bind`: addresses to listen on (used by the binary).
    pub bind: Vec<String>,
    /// `port`: TCP port (0 disables TCP, as in Redis).
    pub port: u16,
    /// `unixsocket`: a Unix socket path to listen on as well.
    pub unixsocket: Option<PathBuf>,
    /// `unixsocketperm`: permissions of the Unix socket (octal in the file).
    pub unixsocketperm: u32,
    /// `maxclients`: connections above this get `-ERR max number of clients reached`.
    pub maxclients: usize,
    /// `timeout`: seconds after which an idle client is closed (0: never);
    /// clients with subscriptions are exempt, as in Redis.
    pub timeout: u64,
    /// `tcp-keepalive`: seconds between TCP keepalive probes (0: off).
    pub tcp_keepalive: u64,
    /// `proto-max-bulk-len`: the longest bulk argument accepted.
    pub proto_max_bulk_len: i64,
    /// `client-query-buffer-limit`: a client whose unparsed input grows past
    /// this is closed.
    pub client_query_buffer_limit: usize,
    /// `client-output-buffer-limit normal`.
    pub output_limit_normal: OutputLimit,
    /// `client-output-buffer-limit pubsub`.
    pub output_limit_pubsub: OutputLimit,
    /// `client-output-buffer-limit replica`: accepted and reported, unused.
    pub output_limit_replica: OutputLimit,
    /// `loglevel`: debug, verbose, notice or warning.
    pub loglevel: String,
    /// `logfile`: empty for standard output.
    pub logfile: String,
    /// `databases`: how many databases SELECT accepts.
    pub databases: u32,
    /// The version reported by HELLO and INFO. Clients gate features on it,
    /// so it names the Redis behaviour respub follows, not respub's own version.
    pub redis_version: String,
    /// How long a graceful shutdown waits for queued output to drain.
    pub shutdown_timeout: Duration,
    /// The configuration file, if any (INFO `config_file`).
    pub config_file: Option<PathBuf>,
    /// `requirepass`: the `default` user's password; `None` is `nopass`.
    pub requirepass: Option<String>,
    /// `user` directives: each one's words after `user`, in file order.
    pub users: Vec<Vec<String>>,
    /// `aclfile`: users are loaded from (and `ACL SAVE`d to) this file.
    pub aclfile: Option<PathBuf>,
    /// `acl-pubsub-default allchannels`: new users may use every channel
    /// (Redis 7's default is `resetchannels`: none).
    pub acl_pubsub_default_all: bool,
    /// `acllog-max-len`: accepted and reported (respub keeps no ACL log).
    pub acllog_max_len: u64,
    /// `io-threads`: worker threads serving connections (used by the
    /// binary). 1, as in Redis, is fastest when the machine is shared with
    /// the clients: a delivery handed between cores costs more than a second
    /// core gives. More threads scale publishers to different channels.
    pub io_threads: usize,
    /// `protected-mode`: while the `default` user has no password, refuse
    /// TCP and TLS clients that are not on a loopback address.
    pub protected_mode: bool,
    /// `tls-port`: a TLS listener on every `bind` address (0: none).
    pub tls_port: u16,
    /// `tls-cert-file`: the server's certificate chain (PEM).
    pub tls_cert_file: Option<PathBuf>,
    /// `tls-key-file`: the server certificate's private key (PEM).
    pub tls_key_file: Option<PathBuf>,
    /// `tls-ca-cert-file`: CA certificates that sign client certificates.
    pub tls_ca_cert_file: Option<PathBuf>,
    /// `tls-ca-cert-dir`: a directory of CA certificate files, as above.
    pub tls_ca_cert_dir: Option<PathBuf>,
    /// `tls-auth-clients`.
    pub tls_auth_clients: TlsAuthClients,
    /// `tls-protocols`: the TLS versions offered, as written (`TLSv1.2
    /// TLSv1.3`); empty for rustls' defaults, which are those two.
    pub tls_protocols: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: vec!["127.0.0.1".to_owned()],
            port: 6379,
            unixsocket: None,
            unixsocketperm: 0,
            maxclients: 10_000,
            timeout: 0,
            tcp_keepalive: 300,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            output_limit_normal: OutputLimit::UNLIMITED,
            output_limit_pubsub: OutputLimit::PUBSUB_DEFAULT,
            output_limit_replica: OutputLimit::REPLICA_DEFAULT,
            loglevel: "notice".to_owned(),
            logfile: String::new(),
            databases: 16,
            redis_version: "7.2.4".to_owned(),
            shutdown_timeout: Duration::from_secs(10),
            config_file: None,
            io_threads: 1,
            requirepass: None,
            users: Vec::new(),
            aclfile: None,
            acl_pubsub_default_all: false,
            acllog_max_len: 128,
            protected_mode: true,
            tls_port: 0,
            tls_cert_file: None,
            tls_key_file: None,
            tls_ca_cert_file: None,
            tls_ca_cert_dir: None,
            tls_auth_clients: TlsAuthClients::Yes,
            tls_protocols: String::new(),
        }
    }
}

/// Why a directive was refused; the text is Redis' for the same mistake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectiveError {
    /// Not a directive redis-server knows, or the wrong number of arguments.
    #[error("Bad directive or wrong number of arguments")]
    Unknown,
    /// A known directive with the wrong number of arguments.
    #[error("wrong number of arguments")]
    Arity,
    /// An argument that does not parse.
    #[error("{0}")]
    Invalid(String),
    /// The directive cannot change while running (CONFIG SET only).
    #[error("can't set immutable config")]
    Immutable,
}

/// A configuration file error, printed as redis-server prints it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\n*** FATAL CONFIG FILE ERROR (respub {version}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{error}"
)]
pub struct ConfigError {
    /// 1-based line number in the combined file and command-line text.
    pub line: usize,
    /// The offending line, re-quoted as Redis shows it.
    pub text: String,
    /// What is wrong with it.
    pub error: DirectiveError,
    /// respub's version, for the banner.
    pub version: &'static str,
}

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
    "latency-tracking",
    "latency-tracking-info-percentiles",
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
    "acllog-max-len",
    "tcp-backlog",
    "daemonize",
    "loadmodule",
    "include",
];

/// TLS tuning directives whose OpenSSL meaning rustls has no equivalent for
/// (cipher strings, session cache, DH parameters) or that concern
/// replication and clustering: accepted with a warning, like [`IGNORED`].
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

/// The TLS versions `tls-protocols` may name, as Redis spells them.
const TLS_PROTOCOLS: &[&str] = &["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/// Directive names CONFIG GET knows, in the order it lists them.
const NAMES: &[&str] = &[
    "bind",
    "port",
    "unixsocket",
    "unixsocketperm",
    "maxclients",
    "timeout",
    "tcp-keepalive",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "client-output-buffer-limit",
    "loglevel",
    "logfile",
    "databases",
    "shutdown-timeout",
    "io-threads",
    "requirepass",
    "aclfile",
    "acl-pubsub-default",
    "acllog-max-len",
    "protected-mode",
    "tls-port",
    "tls-cert-file",
    "tls-key-file",
    "tls-ca-cert-file",
    "tls-ca-cert-dir",
    "tls-auth-clients",
    "tls-protocols",
];

/// The tracing filter for a Redis `loglevel`: `verbose` and `notice` both
/// show respub's info lines, `warning` only warnings.
pub fn tracing_filter(level: &str) -> &'static str {
    match level {
        "debug" => "debug",
        "verbose" | "notice" => "info",
        "nothing" => "off",
        _ => "warn",
    }
}

/// Called with the new level when `CONFIG SET loglevel` changes it; the
/// binary installs one that swaps its tracing filter. Process-wide, as the
/// tracing subscriber is.
static LOGLEVEL_HOOK: std::sync::OnceLock<LoglevelHook> = std::sync::OnceLock::new();

type LoglevelHook = Box<dyn Fn(&str) + Send + Sync>;

/// Installs the hook `CONFIG SET loglevel` calls (once per process).
pub fn on_loglevel_change(hook: impl Fn(&str) + Send + Sync + 'static) {
    let _ = LOGLEVEL_HOOK.set(Box::new(hook));
}

/// Tells the hook, if any, about a new log level.
pub(crate) fn loglevel_changed(level: &str) {
    if let Some(hook) = LOGLEVEL_HOOK.get() {
        hook(level);
    }
}

/// Parses a Redis memory amount: `1gb`, `32mb`, `512k`, plain bytes.
/// Units are case-insensitive; `k`/`m`/`g` are powers of 1000, `kb`/`mb`/`gb`
/// powers of 1024, as in Redis' `memtoull`.
pub fn parse_memory(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mul)
}

fn int<T: std::str::FromStr>(text: &str) -> Result<T, DirectiveError> {
    text.parse().map_err(|_| {
        DirectiveError::Invalid("argument couldn't be parsed into an integer".to_owned())
    })
}

fn memory(text: &str) -> Result<u64, DirectiveError> {
    parse_memory(text)
        .ok_or_else(|| DirectiveError::Invalid("argument must be a memory value".to_owned()))
}

/// A memory amount of at least 1 MiB (Redis' range for the buffer limits).
fn at_least_1mb<T: TryFrom<u64>>(text: &str) -> Result<T, DirectiveError> {
    Some(memory(text)?)
        .filter(|n| *n >= 1024 * 1024 && *n <= i64::MAX as u64)
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| {
            DirectiveError::Invalid(
                "argument must be between 1048576 and 9223372036854775807 inclusive".into(),
            )
        })
}

fn yes_no(text: &str) -> Result<bool, DirectiveError> {
    match text.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(DirectiveError::Invalid(
            "argument must be 'yes' or 'no'".into(),
        )),
    }
}

/// Checks each word against Redis' list, so that a typo fails at the line
/// rather than when the listener is built.
fn tls_protocols(text: &str) -> Result<String, DirectiveError> {
    if text
        .split_whitespace()
        .all(|w| TLS_PROTOCOLS.iter().any(|p| p.eq_ignore_ascii_case(w)))
    {
        Ok(text.to_owned())
    } else {
        Err(DirectiveError::Invalid(
            "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.".into(),
        ))
    }
}

fn one(args: &[String]) -> Result<&str, DirectiveError> {
    match args {
        [v] => Ok(v),
        _ => Err(DirectiveError::Arity),
    }
}

/// Outcome of applying one directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The directive changed the configuration.
    Set,
    /// A Redis directive respub has no use for; accepted.
    Ignored,
}

impl Config {
    /// Applies one directive (`name` lowercase or not, `args` after it).
    ///
    /// `running` is true for CONFIG SET, where directives that need a
    /// restart are refused.
    ///
    /// # Errors
    ///
    /// [`DirectiveError`] with Redis' reason.
    pub fn apply(
        &mut self,
        name: &str,
        args: &[String],
        running: bool,
    ) -> Result<Applied, DirectiveError> {
        let name = name.to_ascii_lowercase();
        let immutable = |_: &Self| {
            if running {
                Err(DirectiveError::Immutable)
            } else {
                Ok(())
            }
        };
        match name.as_str() {
            "bind" => {
                immutable(self)?;
                if args.is_empty() {
                    return Err(DirectiveError::Arity);
                }
                self.bind = args.to_vec();
            }
            "port" => {
                immutable(self)?;
                self.port = int(one(args)?)?;
            }
            "unixsocket" => {
                immutable(self)?;
                let path = one(args)?;
                self.unixsocket = (!path.is_empty()).then(|| PathBuf::from(path));
            }
            "unixsocketperm" => {
                immutable(self)?;
                self.unixsocketperm = u32::from_str_radix(one(args)?, 8).map_err(|_| {
                    DirectiveError::Invalid("argument couldn't be parsed into an integer".into())
                })?;
            }
            "maxclients" => {
                let n: usize = int(one(args)?)?;
                if n == 0 {
                    return Err(DirectiveError::Invalid(
                        "argument must be between 1 and 4294967295 inclusive".into(),
                    ));
                }
                self.maxclients = n;
            }
            "timeout" => self.timeout = int(one(args)?)?,
            "tcp-keepalive" => self.tcp_keepalive = int(one(args)?)?,
            "proto-max-bulk-len" => self.proto_max_bulk_len = at_least_1mb(one(args)?)?,
            "client-query-buffer-limit" => {
                self.client_query_buffer_limit = at_least_1mb(one(args)?)?
            }
            "client-output-buffer-limit" => self.apply_output_limits(args)?,
            "loglevel" => {
                let level = one(args)?.to_ascii_lowercase();
                if !["debug", "verbose", "notice", "warning", "nothing"].contains(&level.as_str()) {
                    return Err(DirectiveError::Invalid("argument(s) must be one of the following: debug, verbose, notice, warning, nothing".into()));
                }
                self.loglevel = level;
            }
            "logfile" => {
                immutable(self)?;
                self.logfile = one(args)?.to_owned();
            }
            "databases" => {
                immutable(self)?;
                self.databases = int(one(args)?)?;
            }
            "shutdown-timeout" => self.shutdown_timeout = Duration::from_secs(int(one(args)?)?),
            "requirepass" => {
                let pass = one(args)?;
                self.requirepass = (!pass.is_empty()).then(|| pass.to_owned());
            }
            "user" => {
                immutable(self)?;
                self.add_user(args)?;
            }
            "aclfile" => {
                immutable(self)?;
                let path = one(args)?;
                self.aclfile = (!path.is_empty()).then(|| PathBuf::from(path));
            }
            "acl-pubsub-default" => {
                self.acl_pubsub_default_all = match one(args)?.to_ascii_lowercase().as_str() {
                    "allchannels" => true,
                    "resetchannels" => false,
                    _ => {
                        return Err(DirectiveError::Invalid(
                            "argument(s) must be one of the following: allchannels, resetchannels"
                                .into(),
                        ));
                    }
                }
            }
            "acllog-max-len" => self.acllog_max_len = int(one(args)?)?,
            "io-threads" => {
                immutable(self)?;
                let n: usize = int(one(args)?)?;
                if !(1..=128).contains(&n) {
                    return Err(DirectiveError::Invalid(
                        "argument must be between 1 and 128 inclusive".into(),
                    ));
                }
                self.io_threads = n;
            }
            "protected-mode" => self.protected_mode = yes_no(one(args)?)?,
            "tls-port" => {
                immutable(self)?;
                self.tls_port = int(one(args)?)?;
            }
            "tls-cert-file" | "tls-key-file" | "tls-ca-cert-file" | "tls-ca-cert-dir" => {
                immutable(self)?;
                // Redis treats an empty file name as unset.
                let value = one(args)?;
                *self.tls_file(&name) = (!value.is_empty()).then(|| PathBuf::from(value));
            }
            "tls-auth-clients" => {
                immutable(self)?;
                self.tls_auth_clients = match one(args)?.to_ascii_lowercase().as_str() {
                    "yes" => TlsAuthClients::Yes,
                    "optional" => TlsAuthClients::Optional,
                    "no" => TlsAuthClients::No,
                    _ => {
                        return Err(DirectiveError::Invalid(
                            "argument(s) must be one of the following: no, yes, optional".into(),
                        ));
                    }
                };
            }
            "tls-protocols" => {
                immutable(self)?;
                self.tls_protocols = tls_protocols(one(args)?)?;
            }
            other if IGNORED.contains(&other) || TLS_IGNORED.contains(&other) => {
                if running {
                    return Err(DirectiveError::Immutable);
                }
                return Ok(Applied::Ignored);
            }
            _ => return Err(DirectiveError::Unknown),
        }
        Ok(Applied::Set)
    }

    /// `user <name> <rules...>`: checked now, as Redis checks it while
    /// reading the file, and applied when the server starts.
    fn add_user(&mut self, args: &[String]) -> Result<(), DirectiveError> {
        let Some(name) = args.first() else {
            return Err(DirectiveError::Arity);
        };
        if self.users.iter().any(|u| u.first() == Some(name)) {
            return Err(DirectiveError::Invalid(
                "Duplicate user found. A user can only be defined once in config files".into(),
            ));
        }
        let mut user = crate::acl::User::new(name.as_bytes(), false);
        if let Err(e) = user.apply_all(args.get(1..).unwrap_or_default()) {
            let (op, reason) = e
                .strip_prefix("Error in ACL SETUSER modifier '")
                .and_then(|rest| rest.split_once("': "))
                .unwrap_or(("", e.as_str()));
            return Err(DirectiveError::Invalid(format!(
                "Error in user declaration '{op}': {reason}"
            )));
        }
        self.users.push(args.to_vec());
        Ok(())
    }

    /// The field behind one of the `tls-*-file` and `tls-ca-cert-dir`
    /// directives.
    fn tls_file(&mut self, name: &str) -> &mut Option<PathBuf> {
        match name {
            "tls-cert-file" => &mut self.tls_cert_file,
            "tls-key-file" => &mut self.tls_key_file,
            "tls-ca-cert-file" => &mut self.tls_ca_cert_file,
            _ => &mut self.tls_ca_cert_dir,
        }
    }

    /// `client-output-buffer-limit <class> <hard> <soft> <seconds> [...]`.
    fn apply_output_limits(&mut self, args: &[String]) -> Result<(), DirectiveError> {
        // A CONFIG SET value arrives as one argument with spaces in it.
        let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
        if words.is_empty() || words.len() % 4 != 0 {
            return Err(DirectiveError::Invalid(
                "Wrong number of arguments in buffer limit configuration.".into(),
            ));
        }
        let mut next = self.clone();
        for chunk in words.chunks(4) {
            let [class, hard, soft, secs] = chunk else {
                return Err(DirectiveError::Arity);
            };
            let limit = OutputLimit {
                hard: usize::try_from(memory(hard)?)
                    .map_err(|_| DirectiveError::Invalid("value out of range".into()))?,
                soft: usize::try_from(memory(soft)?)
                    .map_err(|_| DirectiveError::Invalid("value out of range".into()))?,
                soft_seconds: Duration::from_secs(int(secs)?),
            };
            match class.to_ascii_lowercase().as_str() {
                "normal" => next.output_limit_normal = limit,
                "pubsub" => next.output_limit_pubsub = limit,
                "replica" | "slave" => next.output_limit_replica = limit,
                _ => {
                    return Err(DirectiveError::Invalid(
                        "Invalid client class specified in buffer limit configuration.".into(),
                    ));
                }
            }
        }
        *self = next;
        Ok(())
    }

    /// The value CONFIG GET shows for `name`, formatted as redis-server does.
    pub fn get(&self, name: &str) -> Option<String> {
        let shown = |p: &Option<PathBuf>| {
            p.as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        let limit = |l: &OutputLimit| format!("{} {} {}", l.hard, l.soft, l.soft_seconds.as_secs());
        Some(match name {
            "bind" => self.bind.join(" "),
            "port" => self.port.to_string(),
            "unixsocket" => shown(&self.unixsocket),
            "unixsocketperm" => format!("{:o}", self.unixsocketperm),
            "maxclients" => self.maxclients.to_string(),
            "timeout" => self.timeout.to_string(),
            "tcp-keepalive" => self.tcp_keepalive.to_string(),
            "proto-max-bulk-len" => self.proto_max_bulk_len.to_string(),
            "client-query-buffer-limit" => self.client_query_buffer_limit.to_string(),
            "client-output-buffer-limit" => format!(
                "normal {} slave {} pubsub {}",
                limit(&self.output_limit_normal),
                limit(&self.output_limit_replica),
                limit(&self.output_limit_pubsub)
            ),
            "loglevel" => self.loglevel.clone(),
            "logfile" => self.logfile.clone(),
            "databases" => self.databases.to_string(),
            "shutdown-timeout" => self.shutdown_timeout.as_secs().to_string(),
            "io-threads" => self.io_threads.to_string(),
            "requirepass" => self.requirepass.clone().unwrap_or_default(),
            "aclfile" => shown(&self.aclfile),
            "acl-pubsub-default" => if self.acl_pubsub_default_all {
                "allchannels"
            } else {
                "resetchannels"
            }
            .to_owned(),
            "acllog-max-len" => self.acllog_max_len.to_string(),
            "protected-mode" => if self.protected_mode { "yes" } else { "no" }.to_owned(),
            "tls-port" => self.tls_port.to_string(),
            "tls-cert-file" => shown(&self.tls_cert_file),
            "tls-key-file" => shown(&self.tls_key_file),
            "tls-ca-cert-file" => shown(&self.tls_ca_cert_file),
            "tls-ca-cert-dir" => shown(&self.tls_ca_cert_dir),
            "tls-auth-clients" => self.tls_auth_clients.name().to_owned(),
            "tls-protocols" => self.tls_protocols.clone(),
            _ => return None,
        })
    }

    /// Every directive name CONFIG GET can show.
    pub fn names() -> &'static [&'static str] {
        NAMES
    }

    /// Loads a configuration the way redis-server does: the file's text (if
    /// any), then each `--name value...` option as one more line. Returns the
    /// configuration and one warning per ignored directive.
    ///
    /// # Errors
    ///
    /// The first bad line, as a [`ConfigError`] to print before exiting.
    pub fn load(file_text: &str, options: &[String]) -> Result<(Self, Vec<String>), ConfigError> {
        let mut text = file_text.to_owned();
        // As redis-server: options start on a fresh line and every value is
        // quoted, so values with spaces survive.
        text.push('\n');
        let mut first = true;
        for opt in options {
            if let Some(name) = opt.strip_prefix("--") {
                if !first {
                    text.push('\n');
                }
                text.push_str(name);
                first = false;
            } else {
                let _ = write!(
                    text,
                    " \"{}\"",
                    opt.replace('\\', "\\\\").replace('"', "\\\"")
                );
            }
        }
        let mut config = Self::default();
        let mut warnings = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fail = |error| ConfigError {
                line: i + 1,
                text: trimmed.to_owned(),
                error,
                version: env!("CARGO_PKG_VERSION"),
            };
            let Some(words) = split_args(trimmed.as_bytes()) else {
                return Err(fail(DirectiveError::Invalid(
                    "Unbalanced quotes in configuration line".into(),
                )));
            };
            let mut words = words
                .into_iter()
                .map(|w| String::from_utf8_lossy(&w).into_owned());
            let Some(name) = words.next() else { continue };
            let args: Vec<String> = words.collect();
            match config.apply(&name, &args, false).map_err(fail)? {
                Applied::Set => {}
                Applied::Ignored => warnings.push(format!(
                    "line {}: '{}' {}; ignored",
                    i + 1,
                    name,
                    if TLS_IGNORED.contains(&name.to_ascii_lowercase().as_str()) {
                        "is OpenSSL tuning or TLS between servers, which respub's TLS (rustls) does not have"
                    } else {
                        "concerns data or persistence, which respub does not have"
                    }
                )),
            }
        }
        Ok((config, warnings))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn opts(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn file_then_options() {
        let file = "# comment\nport 7000\nmaxclients 50\nsave 900 1\nappendonly no\n\nclient-output-buffer-limit pubsub 1mb 256kb 10\n";
        let (c, warnings) = Config::load(
            file,
            &opts(&["--port", "7001", "--bind", "127.0.0.1", "::1"]),
        )
        .unwrap();
        assert_eq!(c.port, 7001);
        assert_eq!(c.maxclients, 50);
        assert_eq!(c.bind, vec!["127.0.0.1", "::1"]);
        assert_eq!(
            c.output_limit_pubsub,
            OutputLimit {
                hard: 1024 * 1024,
                soft: 256 * 1024,
                soft_seconds: Duration::from_secs(10)
            }
        );
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].contains("'save'"));
    }

    #[test]
    fn errors_name_the_line_like_redis() {
        let err = Config::load("port 7391\nfoo bar\n", &[]).unwrap_err();
        assert_eq!((err.line, err.text.as_str()), (2, "foo bar"));
        assert_eq!(
            err.error.to_string(),
            "Bad directive or wrong number of arguments"
        );
        let err = Config::load("port 7391\nport\n", &[]).unwrap_err();
        assert_eq!(err.error.to_string(), "wrong number of arguments");
        let err = Config::load("", &opts(&["--port", "7391", "--maxclients", "x"])).unwrap_err();
        assert_eq!(err.text, "maxclients \"x\"");
        assert_eq!(
            err.error.to_string(),
            "argument couldn't be parsed into an integer"
        );
        let shown = err.to_string();
        assert!(shown.contains("*** FATAL CONFIG FILE ERROR"));
        assert!(shown.contains(">>> 'maxclients \"x\"'"));
    }

    #[test]
    fn tls_and_protected_mode_directives() {
        let file = "tls-port 6380\ntls-cert-file /etc/respub/server.crt\ntls-key-file /etc/respub/server.key\n\
                    tls-ca-cert-dir /etc/respub/ca\ntls-auth-clients OPTIONAL\ntls-protocols \"TLSv1.2 TLSv1.3\"\n\
                    tls-ciphers DEFAULT:!MEDIUM\ntls-session-caching no\nprotected-mode no\n";
        let (c, warnings) = Config::load(file, &opts(&["--port", "0"])).unwrap();
        assert_eq!((c.port, c.tls_port), (0, 6380));
        assert_eq!(c.tls_auth_clients, TlsAuthClients::Optional);
        assert_eq!(c.tls_ca_cert_file, None);
        assert_eq!(c.get("tls-ca-cert-dir").unwrap(), "/etc/respub/ca");
        assert_eq!(c.get("tls-key-file").unwrap(), "/etc/respub/server.key");
        assert_eq!(c.get("tls-ca-cert-file").unwrap(), "");
        assert_eq!(c.get("tls-auth-clients").unwrap(), "optional");
        assert_eq!(c.get("tls-protocols").unwrap(), "TLSv1.2 TLSv1.3");
        assert_eq!(c.get("protected-mode").unwrap(), "no");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("line 7: 'tls-ciphers' is OpenSSL tuning"));
        assert_eq!(Config::default().get("protected-mode").unwrap(), "yes");
        assert_eq!(Config::default().get("tls-auth-clients").unwrap(), "yes");

        let err = Config::load("port 1\ntls-auth-clients maybe\n", &[]).unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(
            err.error.to_string(),
            "argument(s) must be one of the following: no, yes, optional"
        );
        let err = Config::load("tls-protocols \"TLSv1.2 SSLv3\"\n", &[]).unwrap_err();
        assert_eq!(
            (err.line, err.text.as_str()),
            (1, "tls-protocols \"TLSv1.2 SSLv3\"")
        );
        assert!(
            err.error
                .to_string()
                .starts_with("Invalid tls-protocols specified.")
        );
        let err = Config::load("", &opts(&["--protected-mode", "maybe"])).unwrap_err();
        assert_eq!(err.error.to_string(), "argument must be 'yes' or 'no'");
        let err = Config::load("tls-port x\n", &[]).unwrap_err();
        assert_eq!(
            err.error.to_string(),
            "argument couldn't be parsed into an integer"
        );

        let mut c = Config::default();
        assert_eq!(
            c.apply("protected-mode", &opts(&["NO"]), true),
            Ok(Applied::Set)
        );
        assert!(!c.protected_mode);
        for name in [
            "tls-port",
            "tls-cert-file",
            "tls-auth-clients",
            "tls-protocols",
        ] {
            assert_eq!(
                c.apply(name, &opts(&["1"]), true),
                Err(DirectiveError::Immutable),
                "{name}"
            );
        }
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("32mb"), Some(32 * 1024 * 1024));
        assert_eq!(parse_memory("1GB"), Some(1 << 30));
        assert_eq!(parse_memory("512k"), Some(512_000));
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("10xb"), None);
        assert_eq!(parse_memory("mb"), None);
    }

    #[test]
    fn config_set_semantics() {
        let mut c = Config::default();
        assert_eq!(c.apply("timeout", &opts(&["5"]), true), Ok(Applied::Set));
        assert_eq!(
            c.apply("port", &opts(&["1"]), true),
            Err(DirectiveError::Immutable)
        );
        assert_eq!(
            c.apply("save", &opts(&[""]), true),
            Err(DirectiveError::Immutable)
        );
        assert_eq!(
            c.apply(
                "client-output-buffer-limit",
                &opts(&["pubsub 32mb 8mb 60 normal 0 0 0"]),
                true
            ),
            Ok(Applied::Set)
        );
        assert_eq!(
            c.get("client-output-buffer-limit").unwrap(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        // A bad class leaves every limit as it was.
        let before = c.clone().output_limit_pubsub;
        assert!(
            c.apply(
                "client-output-buffer-limit",
                &opts(&["pubsub 1 1 1 bogus 0 0 0"]),
                true
            )
            .is_err()
        );
        assert_eq!(c.output_limit_pubsub, before);
    }
}
