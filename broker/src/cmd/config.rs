//! CONFIG GET, SET, RESETSTAT, REWRITE and HELP.
//!
//! CONFIG SET applies every pair to a copy of the configuration, prepares
//! what the new values need (a TLS setup, listeners on new ports; see
//! `apply`) and swaps it all in only if every step succeeded, so a failed
//! CONFIG SET changes nothing, as in Redis 7.

mod apply;

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::pubsub::help_lines;
use super::{ADMIN, Spec, arity_error, c_str};
use crate::config::{Applied, Config, DirectiveError, Live};
use crate::session::Session;

const SUBCOMMANDS: &[Spec] = &[
    Spec {
        name: "config|get",
        arity: -3,
        flags: ADMIN,
        subcommands: &[],
        run: get,
    },
    Spec {
        name: "config|set",
        arity: -4,
        flags: ADMIN,
        subcommands: &[],
        run: set,
    },
    Spec {
        name: "config|resetstat",
        arity: 2,
        flags: ADMIN,
        subcommands: &[],
        run: resetstat,
    },
    Spec {
        name: "config|rewrite",
        arity: 2,
        flags: ADMIN,
        subcommands: &[],
        run: rewrite,
    },
    Spec {
        name: "config|help",
        arity: 2,
        flags: ADMIN,
        subcommands: &[],
        run: help,
    },
];

pub(crate) const CONFIG: Spec = Spec {
    name: "config",
    arity: -2,
    flags: 0,
    subcommands: SUBCOMMANDS,
    run: super::unknown_subcommand,
};

fn get(s: &mut Session, args: &[Bytes]) {
    let config = s.shared.config.load();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pattern in args.iter().skip(2) {
        let pattern = pattern.to_ascii_lowercase();
        let known = Config::names()
            .iter()
            .filter_map(|n| Some((*n, config.get(n)?)));
        for (name, value) in known {
            if crate::glob::matches(&pattern, name.as_bytes())
                && !pairs.iter().any(|(n, _)| n == name)
            {
                pairs.push((name.to_owned(), value));
            }
        }
    }
    // `replicaof` is the master followed now (REPLICAOF changes it).
    for (name, value) in &mut pairs {
        if name == "replicaof" || name == "slaveof" {
            *value = s
                .shared
                .replication
                .snapshot()
                .master
                .map(|m| format!("{} {}", m.host, m.port))
                .unwrap_or_default();
        }
    }
    let mut r = s.reply();
    r.map(pairs.len());
    for (name, value) in &pairs {
        r.bulk(name.as_bytes());
        r.bulk(value.as_bytes());
    }
}

fn set(s: &mut Session, args: &[Bytes]) {
    let pairs = args.get(2..).unwrap_or_default();
    if pairs.len() % 2 != 0 {
        return arity_error(s, "config|set");
    }
    let mut next = Config::clone(&s.shared.config.load());
    let mut seen: Vec<String> = Vec::new();
    for pair in pairs.chunks(2) {
        let [name, value] = pair else { continue };
        let name_text = String::from_utf8_lossy(c_str(name, usize::MAX)).to_ascii_lowercase();
        let fail = |why: &str| failed(name, why);
        if seen.contains(&name_text) {
            return s.error(&fail("duplicate parameter"));
        }
        seen.push(name_text.clone());
        let value = vec![String::from_utf8_lossy(value).into_owned()];
        match next.apply(&name_text, &value, true) {
            Ok(Applied::Set) => {}
            Ok(Applied::Ignored) => {
                tracing::warn!(directive = %name_text, "CONFIG SET of a directive respub does not use: CONFIG GET shows it, nothing else changes");
            }
            Err(DirectiveError::Unknown) => {
                let mut text =
                    b"ERR Unknown option or number of arguments for CONFIG SET - '".to_vec();
                text.extend_from_slice(c_str(name, usize::MAX));
                text.push(b'\'');
                return s.error(&text);
            }
            // Redis checks the versions only when it configures TLS, and
            // not at all while `tls-port` is 0: the text is kept as given,
            // and building the TLS setup refuses it with Redis' reply.
            Err(DirectiveError::Invalid(_)) if name_text == "tls-protocols" => {
                next.tls_protocols = value.concat();
            }
            Err(err) => return s.error(&fail(&err.to_string())),
        }
    }
    let old = s.shared.config.load();
    let applied = apply::prepare(&s.shared, &seen, &old, &next)
        .and_then(|prepared| apply::commit(&s.shared, &old, &next, prepared));
    if let Err(text) = applied {
        return s.error(&text);
    }
    if old.requirepass != next.requirepass {
        s.shared.acl.set_requirepass(next.requirepass.as_deref());
    }
    if old.loglevel != next.loglevel {
        crate::config::loglevel_changed(&next.loglevel);
    }
    let backlog = next.number("repl-backlog-size");
    if old.number("repl-backlog-size") != backlog {
        let size = backlog
            .and_then(|b| usize::try_from(b).ok())
            .unwrap_or(1 << 20);
        s.shared.replication.resize(size);
    }
    drop(old);
    s.latency_ms = next.latency_monitor_threshold;
    s.shared.config.store(std::sync::Arc::new(next));
    s.reply().ok();
}

/// Redis' CONFIG SET error for the argument `name` (as the client wrote it).
fn failed(name: &[u8], why: &str) -> Vec<u8> {
    let mut text = b"ERR CONFIG SET failed (possibly related to argument '".to_vec();
    text.extend_from_slice(c_str(name, usize::MAX));
    text.extend_from_slice(b"') - ");
    text.extend_from_slice(why.as_bytes());
    text
}

fn resetstat(s: &mut Session, _: &[Bytes]) {
    let stats = &s.shared.stats;
    for counter in [
        &stats.connections_received,
        &stats.rejected_connections,
        &stats.commands_processed,
        &stats.messages_published,
        &stats.messages_delivered,
        &stats.net_input_bytes,
        &stats.net_output_bytes,
        &stats.output_limit_disconnections,
        &stats.error_replies,
    ] {
        counter.store(0, Ordering::Relaxed);
    }
    s.shared.cmdstats.reset();
    s.reply().ok();
}

/// CONFIG REWRITE: the file respub was started with, rewritten as Redis
/// rewrites it (see `config::rewrite`), with the master followed now and
/// the users ACL commands made.
fn rewrite(s: &mut Session, _: &[Bytes]) {
    let config = s.shared.config.load();
    let Some(path) = config.config_file.clone() else {
        return s.error(b"ERR The server is running without a config file");
    };
    let live = Live {
        replicaof: s
            .shared
            .replication
            .snapshot()
            .master
            .map(|m| (m.host, m.port)),
        users: config.aclfile.is_none().then(|| {
            s.shared
                .acl
                .list()
                .iter()
                .map(|u| String::from_utf8_lossy(u).into_owned())
                .collect()
        }),
        dir: std::env::current_dir()
            .ok()
            .map(|d| d.display().to_string()),
    };
    match config.rewrite_file(&path, &live) {
        Ok(()) => {
            tracing::warn!("CONFIG REWRITE executed with success.");
            s.reply().ok();
        }
        Err(err) => {
            let why = crate::config::strerror(&err);
            tracing::warn!("CONFIG REWRITE failed: {why}");
            s.error(format!("ERR Rewriting config file: {why}").as_bytes());
        }
    }
}

fn help(s: &mut Session, _: &[Bytes]) {
    help_lines(
        s,
        &[
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Print this help.",
        ],
    );
}
