//! `respub-loadtest`: measures pub/sub fan-out of RESP brokers, several
//! side by side, with its own RESP connections so that the figures are the
//! broker's and not a client library's.
//!
//! `main` parses flags, sets up logging and the runtime, and races the
//! benchmark against Ctrl-C: on Ctrl-C the benchmark future is dropped,
//! which drops the guards of any servers it started, which kills them.
//!
//! Imports point one way: `main` dispatches to a mode (`pubsub`,
//! `socketio`, `failover`), which turns its flags into `figures`; `main` hands those to
//! `report`, which renders them. A mode never imports the report and the
//! report never imports a mode, so each mode gives its finished scenarios to
//! a callback from `main`: the table still appears as soon as a scenario
//! ends. `target`, `child`, `resp`, `measure`, `stamp`, `flags` and
//! `progress` are the tools underneath.

mod child;
mod cli;
mod failover;
mod figures;
mod flags;
mod measure;
mod progress;
mod pubsub;
mod report;
mod resp;
mod socketio;
mod stamp;
mod target;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command};
use crate::figures::{Report, Saturation, ScenarioReport};
use crate::flags::Output;

/// Errors print as one chain of causes, without anyhow's backtrace (which
/// `RUST_BACKTRACE` would otherwise switch on): they are user errors, such
/// as a missing server binary, far more often than bugs.
fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> anyhow::Result<()> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cli.log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    // Thousands of connections (the `idle` scenario) need file descriptors;
    // spawned servers inherit the raised limit too.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::debug!(nofile = n, "file descriptor limit"),
        Err(e) => tracing::warn!(%e, "could not raise the file descriptor limit"),
    }
    let mut rt = runtime_builder(&cli);
    rt.enable_all();
    let rt = rt.build().context("starting the tokio runtime")?;
    rt.block_on(async {
        tokio::select! {
            r = run(cli, &matches) => r,
            r = tokio::signal::ctrl_c() => {
                r.context("waiting for Ctrl-C")?;
                bail!("interrupted; spawned servers stopped")
            }
        }
    })
}

/// The load tester runs one worker per core (or `--threads`). A Socket.IO
/// node (`sio-node`) runs on one thread unless `--threads` says otherwise:
/// a cluster runs one node process per core, as Node servers run one event
/// loop each, and with several nodes per machine a multi-threaded runtime
/// in each spends its time waking threads across processes' cores (about a
/// tenth more CPU per delivery, and p99 several times higher, measured with
/// `socketio --scenario rooms --rate 60` on 4 nodes and 2 cores).
fn runtime_builder(cli: &Cli) -> tokio::runtime::Builder {
    match (&cli.command, cli.threads) {
        (Command::SioNode(_), None) => tokio::runtime::Builder::new_current_thread(),
        (_, threads) => {
            let mut rt = tokio::runtime::Builder::new_multi_thread();
            if let Some(n) = threads {
                rt.worker_threads(n.max(1));
            }
            rt
        }
    }
}

async fn run(cli: Cli, matches: &clap::ArgMatches) -> anyhow::Result<()> {
    let mut print_table = |s: &ScenarioReport| println!("{}", report::table(s));
    match cli.command {
        Command::Pubsub(args) => {
            let sub = matches.subcommand_matches("pubsub");
            let report = pubsub::run_all(&args, sub, &mut print_table).await?;
            write_files(&report, &args.output)
        }
        Command::Socketio(args) => {
            let mut print_search = |s: &Saturation| println!("{}", report::saturation_table(s));
            let report = socketio::run(&args, &mut print_table, &mut print_search).await?;
            write_files(&report, &args.output)?;
            let failures = report.failures();
            if !failures.is_empty() {
                bail!("{} run(s) failed:\n{}", failures.len(), failures.join("\n"));
            }
            Ok(())
        }
        Command::Failover(args) => {
            let report = failover::run_all(&args, &mut print_table).await?;
            write_files(&report, &args.output)
        }
        Command::SioNode(args) => {
            let ack_timeout = Duration::from_millis(args.ack_timeout_ms);
            socketio::server::serve(&args.redis, ack_timeout, args.mode.config(), args.port).await
        }
    }
}

/// Writes the JSON file and the HTML report that `output` asks for.
fn write_files(report: &Report, output: &Output) -> anyhow::Result<()> {
    report::write_files(report, output.json.as_deref(), output.report.as_deref())
}
