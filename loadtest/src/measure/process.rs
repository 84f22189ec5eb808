//! The CPU time and memory of a process, read from `/proc`.

use std::sync::OnceLock;

use anyhow::Context;
use serde::Serialize;

/// The kernel's clock tick (`CLK_TCK`), the unit of CPU times in
/// `/proc/PID/stat`. Asked of `getconf` once, because reading it from libc
/// would need `unsafe`; 100 is what every Linux build uses anyway.
fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|&t| t > 0.0)
            .unwrap_or(100.0)
    })
}

/// User plus system CPU seconds the process `pid` has used, all threads.
pub(crate) fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    parse_cpu_ticks(&stat)
        .map(|ticks| ticks as f64 / clock_ticks())
        .with_context(|| format!("parsing /proc/{pid}/stat"))
}

/// utime + stime from a `/proc/PID/stat` line. The command name may hold
/// spaces and parentheses, so fields are counted after the last `)`.
pub(super) fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after = stat.rsplit_once(')')?.1;
    let mut fields = after.split_whitespace();
    // Fields after ")" start at field 3 (state); utime is 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Resident memory of a process now and at its peak, in bytes.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub(crate) struct Rss {
    /// `VmRSS`.
    pub(crate) rss_bytes: u64,
    /// `VmHWM`: the high-water mark since the process started.
    pub(crate) peak_rss_bytes: u64,
}

/// Reads `VmRSS` and `VmHWM` of `pid` from `/proc/PID/status`.
pub(crate) fn rss(pid: u32) -> anyhow::Result<Rss> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    parse_rss(&status).with_context(|| format!("memory of process {pid}"))
}

/// `VmRSS` and `VmHWM` from the text of a `/proc/PID/status`. A process
/// that exited but is not reaped yet (a zombie, as a crashed child is until
/// the load tester waits for it) still has the file, without them.
pub(super) fn parse_rss(status: &str) -> anyhow::Result<Rss> {
    let state = status
        .lines()
        .find_map(|l| l.strip_prefix("State:"))
        .map(str::trim);
    if let Some(state) = state
        && (state.starts_with('Z') || state.starts_with('X'))
    {
        anyhow::bail!("the process has exited ({state})");
    }
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Ok(Rss {
        rss_bytes: field("VmRSS:").context("no VmRSS")?,
        peak_rss_bytes: field("VmHWM:").context("no VmHWM")?,
    })
}

/// A process's CPU time and memory at the start of a measured interval.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    pid: u32,
    cpu_seconds: f64,
    /// Its memory then.
    pub(crate) rss: Rss,
}

impl Mark {
    /// Reads `pid`'s figures now.
    pub(crate) fn take(pid: u32) -> anyhow::Result<Self> {
        Ok(Self {
            pid,
            cpu_seconds: cpu_seconds(pid)?,
            rss: rss(pid)?,
        })
    }

    /// CPU seconds used since the mark, and the memory now.
    pub(crate) fn since(&self) -> anyhow::Result<(f64, Rss)> {
        Ok((cpu_seconds(self.pid)? - self.cpu_seconds, rss(self.pid)?))
    }
}
