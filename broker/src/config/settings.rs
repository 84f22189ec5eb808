//! The typed configuration: what the server reads while it runs.
//!
//! Defaults are redis-server's, so that a server started without a file
//! behaves as `redis-server` would.

use std::path::PathBuf;
use std::time::Duration;

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

/// `supervised`: how respub tells a service manager it is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supervised {
    /// No supervision (Redis' default).
    No,
    /// Upstart: the process stops itself (SIGSTOP) once ready.
    Upstart,
    /// systemd: `READY=1` and `STOPPING=1` to `NOTIFY_SOCKET`.
    Systemd,
    /// Whichever the environment shows (`UPSTART_JOB`, `NOTIFY_SOCKET`).
    Auto,
}

impl Supervised {
    /// The directive's value as redis.conf spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::No => "no",
            Self::Upstart => "upstart",
            Self::Systemd => "systemd",
            Self::Auto => "auto",
        }
    }

    /// INFO `process_supervised`: who supervises (an `auto` left
    /// unresolved found no supervisor).
    pub fn reported(self) -> &'static str {
        match self {
            Self::Upstart => "upstart",
            Self::Systemd => "systemd",
            Self::No | Self::Auto => "no",
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
    /// `latency-tracking`: per-command latency histograms (INFO
    /// latencystats).
    pub latency_tracking: bool,
    /// `slowlog-log-slower-than`: microseconds; negative logs nothing, 0
    /// every call.
    pub slowlog_log_slower_than: i64,
    /// `slowlog-max-len`: entries SLOWLOG keeps.
    pub slowlog_max_len: u64,
    /// `latency-tracking-info-percentiles`: what INFO latencystats shows.
    pub latency_tracking_info_percentiles: Vec<f64>,
    /// `latency-monitor-threshold`: milliseconds; a call at least this slow
    /// is a LATENCY sample. 0, the default, turns the monitor off.
    pub latency_monitor_threshold: u64,
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
    /// `daemonize`: the binary runs in the background (see `service`).
    pub daemonize: bool,
    /// `pidfile`: where the binary writes its process id.
    pub pidfile: Option<PathBuf>,
    /// `supervised`; the binary resolves `auto` before serving.
    pub supervised: Supervised,
    /// `notify-keyspace-events`, as flags: checked and shown, never used
    /// (there is no keyspace).
    pub notify_keyspace_events: u16,
    /// What the directives respub accepts unused were given.
    pub unused: super::ignored::Unused,
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
            latency_tracking: true,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            latency_tracking_info_percentiles: vec![50.0, 99.0, 99.9],
            latency_monitor_threshold: 0,
            acllog_max_len: 128,
            protected_mode: true,
            tls_port: 0,
            tls_cert_file: None,
            tls_key_file: None,
            tls_ca_cert_file: None,
            tls_ca_cert_dir: None,
            tls_auth_clients: TlsAuthClients::Yes,
            tls_protocols: String::new(),
            daemonize: false,
            pidfile: None,
            supervised: Supervised::No,
            notify_keyspace_events: 0,
            unused: super::ignored::Unused::default(),
        }
    }
}
