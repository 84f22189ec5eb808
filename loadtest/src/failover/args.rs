//! The `failover` flags and the parameters they turn into.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::Args;

use crate::figures::FailoverParams;
use crate::flags::{Bins, Output};
use crate::target::ServerKind;

/// `failover` options.
#[derive(Debug, Args)]
#[command(after_help = "\
For each server kind, in the order given (the first is the reference for ratios): a master, \
two replicas of it and three redis-sentinel processes on free 127.0.0.1 ports. Publishers \
and subscribers find the master through the sentinels (SENTINEL get-master-addr-by-name, then \
ROLE) and do so again whenever their connection drops; the master is killed with SIGKILL \
mid-run. Every process is stopped at the end, also on error or Ctrl-C.")]
pub(crate) struct FailoverArgs {
    /// Server kinds to deploy, one deployment each (repeatable).
    #[arg(long = "spawn", value_enum, value_name = "SERVER", required = true)]
    pub(crate) spawn: Vec<ServerKind>,
    #[command(flatten)]
    pub(crate) bins: Bins,
    /// redis-sentinel executable (default: PATH).
    #[arg(long, value_name = "PATH")]
    pub(crate) sentinel_bin: Option<PathBuf>,
    /// Deploy, crash and measure every kind this many times, alternating
    /// kinds; times are the mean over rounds, counts add up.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rounds: u32,
    /// Publisher connections.
    #[arg(long, default_value_t = 1)]
    pub(crate) publishers: usize,
    /// Subscriber connections.
    #[arg(long, default_value_t = 20)]
    pub(crate) subscribers: usize,
    /// Messages per second, all publishers together.
    #[arg(long, default_value_t = 1000.0)]
    pub(crate) rate: f64,
    /// Payload bytes per message (at least 24: the header).
    #[arg(long, default_value_t = 64)]
    pub(crate) payload: usize,
    /// Seconds of publishing before the master is killed.
    #[arg(long, default_value_t = 2.0)]
    pub(crate) before_kill: f64,
    /// Seconds of publishing once every client is back.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) after_recovery: f64,
    /// Seconds after the kill to wait for every client to come back.
    #[arg(long, default_value_t = 30.0)]
    pub(crate) outage_timeout: f64,
    /// Seconds to wait for each publisher's last message to arrive.
    #[arg(long, default_value_t = 5.0)]
    pub(crate) drain_timeout: f64,
    /// Milliseconds between two attempts of a client to reach the master.
    #[arg(long, default_value_t = 10)]
    pub(crate) retry_ms: u64,
    /// The master name the sentinels monitor.
    #[arg(long, default_value = "lt-master")]
    pub(crate) master_name: String,
    /// Sentinel's down-after-milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub(crate) down_after_ms: u64,
    /// Sentinel's failover-timeout, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    pub(crate) failover_timeout_ms: u64,
    #[command(flatten)]
    pub(crate) output: Output,
}

impl FailoverArgs {
    /// The parameters these options describe, checked.
    pub(crate) fn params(&self) -> anyhow::Result<FailoverParams> {
        if !(self.rate > 0.0 && self.rate <= 1e6) {
            bail!("--rate: between 0 and 1000000 messages per second");
        }
        if self.payload < super::HEADER_LEN {
            bail!("--payload: at least {} bytes", super::HEADER_LEN);
        }
        if self.master_name.is_empty() || self.master_name.contains(char::is_whitespace) {
            bail!("--master-name: one word");
        }
        let secs = |name: &str, v: f64| {
            if (0.0..=86_400.0).contains(&v) {
                Ok(Duration::from_secs_f64(v))
            } else {
                bail!("--{name}: between 0 and 86400 seconds")
            }
        };
        Ok(FailoverParams {
            publishers: self.publishers.max(1),
            subscribers: self.subscribers.max(1),
            rate: self.rate,
            payload: self.payload,
            before_kill: secs("before-kill", self.before_kill)?,
            after_recovery: secs("after-recovery", self.after_recovery)?,
            outage_timeout: secs("outage-timeout", self.outage_timeout)?,
            drain_timeout: secs("drain-timeout", self.drain_timeout)?,
            retry: Duration::from_millis(self.retry_ms.max(1)),
            master_name: self.master_name.clone(),
            down_after_ms: self.down_after_ms.max(1),
            failover_timeout_ms: self.failover_timeout_ms.max(1),
        })
    }
}
