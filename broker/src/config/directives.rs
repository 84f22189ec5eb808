//! The directive table: every directive respub implements, with how it is
//! set, whether it may change while running, and what CONFIG GET shows.
//!
//! One table serves redis.conf lines, `--name value` options, CONFIG SET
//! and CONFIG GET, so a new directive is one entry here plus its typed
//! field (and default) in [`Config`].

use std::sync::LazyLock;
use std::time::Duration;

use super::args::{
    at_least_1mb, int, memory, one, one_of, optional_path, percentiles, ranged, shown_path, yes_no,
};
use super::error::DirectiveError;
use super::ignored::{self, Context, is_ignored};
use super::process::{PROCESS, PROTECTED};
use super::settings::{Config, OutputLimit};
use super::tls::TLS;

/// Outcome of applying one directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The directive changed the configuration.
    Set,
    /// A Redis directive respub has no use for; accepted.
    Ignored,
}

/// One directive respub implements.
pub(super) struct Directive {
    /// The name, lowercase, as redis.conf spells it.
    pub(super) name: &'static str,
    /// CONFIG SET may change it; the others are read once, at start.
    pub(super) settable: bool,
    /// Applies the words after the name.
    pub(super) set: fn(&mut Config, &[String]) -> Result<(), DirectiveError>,
    /// What CONFIG GET shows; `None` for a directive it does not list.
    pub(super) get: Option<fn(&Config) -> String>,
}

/// The network, client and logging directives; [`TLS`] and [`PROCESS`]
/// follow them, in the order CONFIG GET lists them.
const DIRECTIVES: &[Directive] = &[
    Directive {
        name: "bind",
        settable: true,
        set: |c, args| {
            if args.is_empty() {
                return Err(DirectiveError::Arity);
            }
            // CONFIG SET gives the addresses as one space-separated value.
            c.bind = args
                .iter()
                .flat_map(|a| a.split_whitespace())
                .map(str::to_owned)
                .collect();
            Ok(())
        },
        get: Some(|c| c.bind.join(" ")),
    },
    Directive {
        name: "port",
        settable: true,
        set: |c, args| {
            c.port = ranged(one(args)?, 0, 65535)?;
            Ok(())
        },
        get: Some(|c| c.port.to_string()),
    },
    Directive {
        name: "unixsocket",
        settable: false,
        set: |c, args| {
            c.unixsocket = optional_path(one(args)?);
            Ok(())
        },
        get: Some(|c| shown_path(&c.unixsocket)),
    },
    Directive {
        name: "unixsocketperm",
        settable: false,
        set: |c, args| {
            c.unixsocketperm = u32::from_str_radix(one(args)?, 8).map_err(|_| {
                DirectiveError::Invalid("argument couldn't be parsed into an integer".into())
            })?;
            Ok(())
        },
        get: Some(|c| format!("{:o}", c.unixsocketperm)),
    },
    Directive {
        name: "maxclients",
        settable: true,
        set: |c, args| {
            let n: usize = int(one(args)?)?;
            if n == 0 {
                return Err(DirectiveError::Invalid(
                    "argument must be between 1 and 4294967295 inclusive".into(),
                ));
            }
            c.maxclients = n;
            Ok(())
        },
        get: Some(|c| c.maxclients.to_string()),
    },
    Directive {
        name: "timeout",
        settable: true,
        set: |c, args| {
            c.timeout = int(one(args)?)?;
            Ok(())
        },
        get: Some(|c| c.timeout.to_string()),
    },
    Directive {
        name: "tcp-keepalive",
        settable: true,
        set: |c, args| {
            c.tcp_keepalive = int(one(args)?)?;
            Ok(())
        },
        get: Some(|c| c.tcp_keepalive.to_string()),
    },
    Directive {
        name: "proto-max-bulk-len",
        settable: true,
        set: |c, args| {
            c.proto_max_bulk_len = at_least_1mb(one(args)?)?;
            Ok(())
        },
        get: Some(|c| c.proto_max_bulk_len.to_string()),
    },
    Directive {
        name: "client-query-buffer-limit",
        settable: true,
        set: |c, args| {
            c.client_query_buffer_limit = at_least_1mb(one(args)?)?;
            Ok(())
        },
        get: Some(|c| c.client_query_buffer_limit.to_string()),
    },
    Directive {
        name: "client-output-buffer-limit",
        settable: true,
        set: set_output_limits,
        get: Some(|c| {
            let limit =
                |l: &OutputLimit| format!("{} {} {}", l.hard, l.soft, l.soft_seconds.as_secs());
            format!(
                "normal {} slave {} pubsub {}",
                limit(&c.output_limit_normal),
                limit(&c.output_limit_replica),
                limit(&c.output_limit_pubsub)
            )
        }),
    },
    Directive {
        name: "loglevel",
        settable: true,
        set: |c, args| {
            let levels = ["debug", "verbose", "notice", "warning", "nothing"].map(|l| (l, l));
            c.loglevel = one_of(one(args)?, &levels)?.to_owned();
            Ok(())
        },
        get: Some(|c| c.loglevel.clone()),
    },
    Directive {
        name: "logfile",
        settable: false,
        set: |c, args| {
            one(args)?.clone_into(&mut c.logfile);
            Ok(())
        },
        get: Some(|c| c.logfile.clone()),
    },
    Directive {
        name: "databases",
        settable: false,
        set: |c, args| {
            c.databases = int(one(args)?)?;
            Ok(())
        },
        get: Some(|c| c.databases.to_string()),
    },
    Directive {
        name: "shutdown-timeout",
        settable: true,
        set: |c, args| {
            c.shutdown_timeout = Duration::from_secs(int(one(args)?)?);
            Ok(())
        },
        get: Some(|c| c.shutdown_timeout.as_secs().to_string()),
    },
    Directive {
        name: "io-threads",
        settable: false,
        set: |c, args| {
            let n: usize = int(one(args)?)?;
            if !(1..=128).contains(&n) {
                return Err(DirectiveError::Invalid(
                    "argument must be between 1 and 128 inclusive".into(),
                ));
            }
            c.io_threads = n;
            Ok(())
        },
        get: Some(|c| c.io_threads.to_string()),
    },
    Directive {
        name: "requirepass",
        settable: true,
        set: |c, args| {
            let pass = one(args)?;
            c.requirepass = (!pass.is_empty()).then(|| pass.to_owned());
            Ok(())
        },
        get: Some(|c| c.requirepass.clone().unwrap_or_default()),
    },
    Directive {
        name: "user",
        settable: false,
        set: add_user,
        get: None,
    },
    Directive {
        name: "aclfile",
        settable: false,
        set: |c, args| {
            c.aclfile = optional_path(one(args)?);
            Ok(())
        },
        get: Some(|c| shown_path(&c.aclfile)),
    },
    Directive {
        name: "acl-pubsub-default",
        settable: true,
        set: |c, args| {
            let choices = [("allchannels", true), ("resetchannels", false)];
            c.acl_pubsub_default_all = one_of(one(args)?, &choices)?;
            Ok(())
        },
        get: Some(|c| {
            if c.acl_pubsub_default_all {
                "allchannels"
            } else {
                "resetchannels"
            }
            .to_owned()
        }),
    },
    Directive {
        name: "acllog-max-len",
        settable: true,
        set: |c, args| {
            c.acllog_max_len = int(one(args)?)?;
            Ok(())
        },
        get: Some(|c| c.acllog_max_len.to_string()),
    },
    Directive {
        name: "slowlog-log-slower-than",
        settable: true,
        set: |c, args| {
            c.slowlog_log_slower_than = int(one(args)?)?;
            Ok(())
        },
        get: Some(|c| c.slowlog_log_slower_than.to_string()),
    },
    Directive {
        name: "slowlog-max-len",
        settable: true,
        set: |c, args| {
            c.slowlog_max_len = int(one(args)?)?;
            Ok(())
        },
        get: Some(|c| c.slowlog_max_len.to_string()),
    },
    Directive {
        name: "latency-tracking",
        settable: true,
        set: |c, args| {
            c.latency_tracking = yes_no(one(args)?)?;
            Ok(())
        },
        get: Some(|c| if c.latency_tracking { "yes" } else { "no" }.to_owned()),
    },
    Directive {
        name: "latency-tracking-info-percentiles",
        settable: true,
        set: |c, args| {
            c.latency_tracking_info_percentiles = percentiles(args)?;
            Ok(())
        },
        get: Some(|c| {
            let shown: Vec<String> = c
                .latency_tracking_info_percentiles
                .iter()
                .map(f64::to_string)
                .collect();
            shown.join(" ")
        }),
    },
    Directive {
        name: "latency-monitor-threshold",
        settable: true,
        set: |c, args| {
            c.latency_monitor_threshold = ranged(one(args)?, 0, i64::MAX)?;
            Ok(())
        },
        get: Some(|c| c.latency_monitor_threshold.to_string()),
    },
    Directive {
        name: "protected-mode",
        settable: true,
        set: |c, args| {
            c.protected_mode = yes_no(one(args)?)?;
            Ok(())
        },
        get: Some(|c| if c.protected_mode { "yes" } else { "no" }.to_owned()),
    },
];

fn table() -> impl Iterator<Item = &'static Directive> {
    DIRECTIVES.iter().chain(TLS).chain(PROCESS)
}

/// The names CONFIG GET lists: the table's, then the ignored directives'.
static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    table()
        .filter(|d| d.get.is_some())
        .map(|d| d.name)
        .chain(ignored::all().filter(|e| e.listed()).map(|e| e.name))
        .collect()
});

fn directive(name: &str) -> Option<&'static Directive> {
    table().find(|d| d.name == name)
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
        if running && PROTECTED.contains(&name.as_str()) {
            return Err(DirectiveError::Protected);
        }
        match directive(&name) {
            Some(d) if running && !d.settable => Err(DirectiveError::Immutable),
            Some(d) => (d.set)(self, args).map(|()| Applied::Set),
            None if is_ignored(&name) => {
                let ctx = Context {
                    unixsocket: self.unixsocket.is_some(),
                };
                self.unused.apply(&name, args, running, ctx)?;
                Ok(if ignored::is_used(&name) {
                    Applied::Set
                } else {
                    Applied::Ignored
                })
            }
            None => Err(DirectiveError::Unknown),
        }
    }

    /// The value CONFIG GET shows for `name`, formatted as redis-server
    /// does; for an ignored directive, what it was given, or
    /// redis-server's default.
    pub fn get(&self, name: &str) -> Option<String> {
        match directive(name) {
            Some(d) => d.get.map(|get| get(self)),
            None => self.unused.shown(name),
        }
    }

    /// A numeric directive's value, as CONFIG GET shows it.
    pub fn number(&self, name: &str) -> Option<i64> {
        self.get(name)?.parse().ok()
    }

    /// Every directive name CONFIG GET can show.
    pub fn names() -> &'static [&'static str] {
        NAMES.as_slice()
    }

    /// The Redis directives respub accepts but does not use: checked and
    /// kept for CONFIG GET only.
    pub fn unused() -> impl Iterator<Item = &'static str> {
        ignored::all().map(|e| e.name)
    }

    /// Every directive a configuration may contain: those respub
    /// implements, `include`, and those it accepts unused.
    pub fn accepted() -> impl Iterator<Item = &'static str> {
        table()
            .map(|d| d.name)
            .chain(["include"])
            .chain(ignored::all().map(|e| e.name))
    }
}

/// `user <name> <rules...>`: checked now, as Redis checks it while reading
/// the file, and applied when the server starts.
fn add_user(config: &mut Config, args: &[String]) -> Result<(), DirectiveError> {
    let Some(name) = args.first() else {
        return Err(DirectiveError::Arity);
    };
    if name.contains(' ') {
        // Redis stops at startup ("Critical error while loading ACLs").
        return Err(DirectiveError::Invalid(
            "Spaces not allowed in ACL usernames".into(),
        ));
    }
    if config.users.iter().any(|u| u.first() == Some(name)) {
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
    config.users.push(args.to_vec());
    Ok(())
}

/// `client-output-buffer-limit <class> <hard> <soft> <seconds> [...]`, all
/// classes or none.
fn set_output_limits(config: &mut Config, args: &[String]) -> Result<(), DirectiveError> {
    // A CONFIG SET value arrives as one argument with spaces in it.
    let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
    if words.is_empty() || words.len() % 4 != 0 {
        return Err(DirectiveError::Invalid(
            "Wrong number of arguments in buffer limit configuration.".into(),
        ));
    }
    let mut next = config.clone();
    for chunk in words.chunks(4) {
        let [class, hard, soft, secs] = chunk else {
            return Err(DirectiveError::Arity);
        };
        let bytes = |text: &str| {
            usize::try_from(memory(text)?)
                .map_err(|_| DirectiveError::Invalid("value out of range".into()))
        };
        let limit = OutputLimit {
            hard: bytes(hard)?,
            soft: bytes(soft)?,
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
    *config = next;
    Ok(())
}
