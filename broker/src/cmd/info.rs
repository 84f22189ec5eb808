//! INFO and TIME.
//!
//! INFO keeps Redis' section names, field names and layout so that
//! dashboards, exporters and client ready-checks (ioredis reads `loading:`)
//! work unchanged. Fields that describe a keyspace or persistence are
//! reported with the values of an empty, never-saving redis-server.
//! respub's own counters carry a `respub_` prefix.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::{FAST, Spec, is};
use crate::client::{BLOCKED, REPLICA};
use crate::registry::Kind;
use crate::session::Session;
use crate::stats::{Stats, process_cpu, process_rss};

pub(crate) const INFO: Spec = Spec {
    name: "info",
    arity: -1,
    flags: 0,
    subcommands: &[],
    run: info,
};
pub(crate) const TIME: Spec = Spec {
    name: "time",
    arity: 1,
    flags: FAST,
    subcommands: &[],
    run: time,
};

/// Every section, in the order Redis writes them whatever the order asked,
/// and whether a bare INFO (or `default`) includes it; `all` and
/// `everything` include every one.
const SECTIONS: &[(&str, bool, Section)] = &[
    ("server", true, server),
    ("clients", true, clients),
    ("memory", true, memory),
    ("persistence", true, persistence),
    ("stats", true, stats),
    ("replication", true, replication),
    ("cpu", true, cpu),
    ("modules", true, |_, out| out.push_str("# Modules\r\n")),
    ("commandstats", false, commandstats),
    ("errorstats", true, errorstats),
    ("latencystats", false, latencystats),
    ("cluster", true, |_, out| {
        out.push_str("# Cluster\r\ncluster_enabled:0\r\n")
    }),
    ("keyspace", true, |_, out| out.push_str("# Keyspace\r\n")),
];

/// Writes one section, header included. `write!` into a String cannot
/// fail, so its results are ignored.
type Section = fn(&Session, &mut String);

fn now() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2}G", b / (1024.0 * 1024.0 * 1024.0))
    }
}

fn server(s: &Session, out: &mut String) {
    let shared = &s.shared;
    let config = shared.config.load();
    let uptime = shared.started.elapsed().as_secs();
    let _ = write!(
        out,
        "# Server\r\nredis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\n\
         redis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\n\
         multiplexing_api:epoll\r\nprocess_id:{}\r\nprocess_supervised:{}\r\nrun_id:{}\r\ntcp_port:{}\r\n\
         server_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:10\r\nconfigured_hz:10\r\n\
         executable:\r\nconfig_file:{}\r\nio_threads_active:0\r\nrespub_version:{}\r\n",
        config.redis_version,
        std::env::consts::OS,
        std::env::consts::ARCH,
        std::process::id(),
        config.supervised.reported(),
        shared.run_id,
        shared.port.load(std::sync::atomic::Ordering::Relaxed),
        now().as_micros(),
        uptime,
        uptime / 86400,
        config
            .config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        env!("CARGO_PKG_VERSION"),
    );
}

fn clients(s: &Session, out: &mut String) {
    let all = s.shared.clients.snapshot();
    let pubsub = all.iter().filter(|c| c.subscribed()).count();
    // Redis counts its replicas apart (INFO replication).
    let replicas = all.iter().filter(|c| c.flag(REPLICA)).count();
    // Clients whose command waits for CLIENT PAUSE, as Redis counts them.
    let blocked = all.iter().filter(|c| c.flag(BLOCKED)).count();
    let _ = write!(
        out,
        "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\n\
         client_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\n\
         tracking_clients:0\r\npubsub_clients:{}\r\nclients_in_timeout_table:0\r\n",
        all.len() - replicas,
        s.shared.config.load().maxclients,
        blocked,
        pubsub,
    );
}

fn memory(_: &Session, out: &mut String) {
    let rss = process_rss();
    let _ = write!(
        out,
        "# Memory\r\nused_memory:{rss}\r\nused_memory_human:{h}\r\nused_memory_rss:{rss}\r\n\
         used_memory_rss_human:{h}\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\n\
         mem_allocator:libc\r\n",
        h = human(rss),
    );
}

fn persistence(_: &Session, out: &mut String) {
    out.push_str(
        "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:0\r\n\
         rdb_bgsave_in_progress:0\r\nrdb_last_bgsave_status:ok\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\n",
    );
}

fn stats(s: &Session, out: &mut String) {
    let shared = &s.shared;
    let stats = &shared.stats;
    let _ = write!(
        out,
        "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:0\r\n\
         total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\n\
         sync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nexpired_keys:0\r\n\
         evicted_keys:0\r\nkeyspace_hits:0\r\nkeyspace_misses:0\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\n\
         pubsubshard_channels:{}\r\nclient_output_buffer_limit_disconnections:{}\r\ntotal_error_replies:{}\r\n\
         acl_access_denied_auth:{}\r\nacl_access_denied_cmd:{}\r\nacl_access_denied_key:0\r\n\
         acl_access_denied_channel:{}\r\nrespub_messages_published:{}\r\nrespub_messages_delivered:{}\r\n",
        Stats::get(&stats.connections_received),
        Stats::get(&stats.commands_processed),
        Stats::get(&stats.net_input_bytes),
        Stats::get(&stats.net_output_bytes),
        Stats::get(&stats.rejected_connections),
        shared.replication.sync_full.load(Ordering::Relaxed),
        shared.replication.sync_partial_ok.load(Ordering::Relaxed),
        shared.replication.sync_partial_err.load(Ordering::Relaxed),
        shared.registry.len(Kind::Channel),
        shared.registry.len(Kind::Pattern),
        shared.registry.len(Kind::Shard),
        stats.output_limit_disconnections.load(Ordering::Relaxed),
        Stats::get(&stats.error_replies),
        Stats::get(&stats.acl_denied_auth),
        Stats::get(&stats.acl_denied_cmd),
        Stats::get(&stats.acl_denied_channel),
        Stats::get(&stats.messages_published),
        Stats::get(&stats.messages_delivered),
    );
}

/// The master form of Redis 7.2's section, `slaveN` lines included (the
/// only way Sentinel discovers replicas).
fn replication(s: &Session, out: &mut String) {
    let snap = s.shared.replication.snapshot();
    match &snap.master {
        None => out.push_str("# Replication\r\nrole:master\r\n"),
        Some(master) => replica_lines(s, master, snap.offset, out),
    }
    let _ = write!(out, "connected_slaves:{}\r\n", snap.replicas.len());
    let now = std::time::Instant::now();
    // Redis counts the good replicas only while min-replicas-to-write is
    // on; respub refuses nothing for it (PUBLISH is no write command).
    let config = s.shared.config.load();
    let to_write = config.number("min-replicas-to-write").unwrap_or(0);
    let max_lag = config.number("min-replicas-max-lag").unwrap_or(10);
    if to_write != 0 && max_lag != 0 {
        let good = snap
            .replicas
            .iter()
            .filter(|r| {
                let lag = now.saturating_duration_since(r.ack_at).as_secs();
                i64::try_from(lag).is_ok_and(|lag| lag <= max_lag)
            })
            .count();
        let _ = write!(out, "min_slaves_good_slaves:{good}\r\n");
    }
    for (i, r) in snap.replicas.iter().enumerate() {
        let lag = now.saturating_duration_since(r.ack_at).as_secs();
        let _ = write!(
            out,
            "slave{i}:ip={},port={},state=online,offset={},lag={lag}\r\n",
            r.ip, r.port, r.ack
        );
    }
    let (first, histlen) = snap.backlog.unwrap_or((0, 0));
    let size = config.number("repl-backlog-size").unwrap_or(1 << 20);
    let _ = write!(
        out,
        "master_failover_state:{}\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\n\
         master_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\n\
         repl_backlog_size:{size}\r\nrepl_backlog_first_byte_offset:{first}\r\nrepl_backlog_histlen:{histlen}\r\n",
        s.shared.failover.state_name(),
        snap.replid,
        snap.replid2,
        snap.offset,
        snap.second_offset,
        u8::from(snap.backlog.is_some()),
    );
}

/// The lines a replica shows about its master, Redis 7.2's, in order.
fn replica_lines(s: &Session, m: &crate::replication::Master, offset: i64, out: &mut String) {
    use crate::replication::LinkState;
    let config = s.shared.config.load();
    let up = m.state == LinkState::Connected;
    let secs = |t: Option<std::time::Instant>| {
        t.map_or(-1, |t| {
            i64::try_from(t.elapsed().as_secs()).unwrap_or(i64::MAX)
        })
    };
    let _ = write!(
        out,
        "# Replication\r\nrole:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\n\
         master_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{offset}\r\n\
         slave_repl_offset:{offset}\r\n",
        m.host,
        m.port,
        if up { "up" } else { "down" },
        if up { secs(m.last_io) } else { -1 },
        u8::from(m.state == LinkState::Sync),
    );
    if !up {
        let since = if m.was_up { secs(m.down_since) } else { -1 };
        let _ = write!(out, "master_link_down_since_seconds:{since}\r\n");
    }
    let read_only = config.get("replica-read-only").is_none_or(|v| v == "yes");
    let _ = write!(
        out,
        "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
        config.number("replica-priority").unwrap_or(100),
        u8::from(read_only),
        u8::from(config.get("replica-announced").is_none_or(|v| v == "yes")),
    );
}

fn cpu(_: &Session, out: &mut String) {
    let (user, sys) = process_cpu();
    let _ = write!(
        out,
        "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:0.000000\r\n\
         used_cpu_user_children:0.000000\r\n"
    );
}

fn commandstats(s: &Session, out: &mut String) {
    out.push_str("# Commandstats\r\n");
    s.shared.cmdstats.commandstats(out);
}

fn errorstats(s: &Session, out: &mut String) {
    out.push_str("# Errorstats\r\n");
    s.shared.cmdstats.errorstats(out);
}

fn latencystats(s: &Session, out: &mut String) {
    out.push_str("# Latencystats\r\n");
    let config = s.shared.config.load();
    if config.latency_tracking {
        let percentiles = &config.latency_tracking_info_percentiles;
        s.shared.cmdstats.latencystats(percentiles, out);
    }
}

/// INFO [section ...]: the sections asked for (a bare INFO: the default
/// ones), in Redis' order, unknown names ignored.
fn info(s: &mut Session, args: &[Bytes]) {
    let names = args.get(1..).unwrap_or_default();
    let everything = names.iter().any(|a| is(a, "all") || is(a, "everything"));
    let defaults = names.is_empty() || names.iter().any(|a| is(a, "default"));
    let mut text = String::new();
    for (name, default, write) in SECTIONS {
        let wanted = everything || (defaults && *default) || names.iter().any(|a| is(a, name));
        if wanted {
            if !text.is_empty() {
                text.push_str("\r\n");
            }
            write(s, &mut text);
        }
    }
    s.reply().verbatim(text.as_bytes());
}

fn time(s: &mut Session, _: &[Bytes]) {
    let t = now();
    let mut r = s.reply();
    r.array(2);
    r.bulk(t.as_secs().to_string().as_bytes());
    r.bulk(t.subsec_micros().to_string().as_bytes());
}
