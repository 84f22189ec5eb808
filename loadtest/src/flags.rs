//! The flags both modes take: which broker executables to start, how long
//! to send, and where results go.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::target::ServerKind;

/// Where the brokers that both modes start come from.
#[derive(Debug, Clone, Args)]
pub(crate) struct Bins {
    /// respub-server executable (default: next to this binary, then PATH).
    #[arg(long, value_name = "PATH")]
    pub(crate) respub_bin: Option<PathBuf>,
    /// redis-server executable (default: PATH).
    #[arg(long, value_name = "PATH")]
    pub(crate) redis_bin: Option<PathBuf>,
}

impl Bins {
    /// The executable given for `kind`, if any.
    pub(crate) fn get(&self, kind: ServerKind) -> Option<&Path> {
        match kind {
            ServerKind::Respub => self.respub_bin.as_deref(),
            ServerKind::Redis => self.redis_bin.as_deref(),
            ServerKind::Valkey => None,
        }
    }
}

/// How long a scenario sends, shared by every mode.
#[derive(Debug, Clone, Args)]
pub(crate) struct Timing {
    /// Measured seconds of sending (after the warm-up).
    #[arg(long, default_value_t = 10.0, value_parser = seconds)]
    pub(crate) duration: f64,
    /// Seconds of sending before measuring starts.
    #[arg(long, default_value_t = 1.0, value_parser = seconds)]
    pub(crate) warmup: f64,
    /// Stop each publisher (emitter) after this many messages, warm-up
    /// included, even if the duration has not passed.
    #[arg(long)]
    pub(crate) messages: Option<u64>,
    /// Seconds to wait for outstanding deliveries after sending stops
    /// (what has not arrived by then counts as lost). Also how far an
    /// open-loop sender may fall behind its schedule before it gives up.
    #[arg(long, default_value_t = 10.0, value_parser = seconds)]
    pub(crate) drain_timeout: f64,
}

/// Where results go, shared by every mode.
#[derive(Debug, Clone, Args)]
pub(crate) struct Output {
    /// Write every figure to this JSON file.
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Write an HTML report with SVG charts into this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) report: Option<PathBuf>,
    /// No progress bar even on a terminal.
    #[arg(long)]
    pub(crate) quiet: bool,
}

impl Output {
    /// Whether to draw progress bars: asked for and on a terminal.
    pub(crate) fn progress(&self) -> bool {
        !self.quiet && std::io::IsTerminal::is_terminal(&std::io::stdout())
    }
}

fn seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if !(0.0..=86_400.0).contains(&v) {
        return Err("between 0 and 86400 seconds".into());
    }
    Ok(v)
}
