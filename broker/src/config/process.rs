//! The directives about the process itself: `daemonize`, `pidfile`,
//! `supervised`, `dir`, and `notify-keyspace-events`, which respub checks
//! and shows though it has no keyspace. The binary acts on the first three
//! (see `respub_broker::service`); `dir` takes effect as it is read.

use super::args::{one, one_of, optional_path, shown_path, yes_no};
use super::directives::Directive;
use super::error::DirectiveError;
use super::keyspace_events;
use super::settings::Supervised;

/// Directives that CONFIG SET refuses as protected, as Redis does while
/// `enable-protected-configs` is `no` (its default).
pub(super) const PROTECTED: &[&str] = &["dir", "dbfilename"];

pub(super) const PROCESS: &[Directive] = &[
    Directive {
        name: "daemonize",
        settable: false,
        set: |c, args| {
            c.daemonize = yes_no(one(args)?)?;
            Ok(())
        },
        get: Some(|c| if c.daemonize { "yes" } else { "no" }.to_owned()),
    },
    Directive {
        name: "pidfile",
        settable: false,
        set: |c, args| {
            c.pidfile = optional_path(one(args)?);
            Ok(())
        },
        get: Some(|c| shown_path(&c.pidfile)),
    },
    Directive {
        name: "supervised",
        settable: false,
        set: |c, args| {
            let choices = [
                ("upstart", Supervised::Upstart),
                ("systemd", Supervised::Systemd),
                ("auto", Supervised::Auto),
                ("no", Supervised::No),
            ];
            c.supervised = one_of(one(args)?, &choices)?;
            Ok(())
        },
        get: Some(|c| c.supervised.name().to_owned()),
    },
    Directive {
        // As in Redis, the directory is changed when the line is read, so
        // that relative paths after it (includes, the pidfile, the log
        // file) are relative to it.
        name: "dir",
        settable: false,
        set: |_, args| {
            std::env::set_current_dir(one(args)?)
                .map_err(|err| DirectiveError::Invalid(super::args::os_error_text(&err)))
        },
        get: Some(|_| {
            std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        }),
    },
    Directive {
        name: "notify-keyspace-events",
        settable: true,
        set: |c, args| {
            c.notify_keyspace_events = keyspace_events::parse(one(args)?)?;
            Ok(())
        },
        get: Some(|c| keyspace_events::format(c.notify_keyspace_events)),
    },
];
