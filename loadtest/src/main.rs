//! `respub-loadtest`: measures pub/sub fan-out of RESP brokers, several
//! side by side, with its own RESP connections so that the figures are the
//! broker's and not a client library's.
//!
//! `main` parses flags, sets up logging and the runtime, and races the
//! benchmark against Ctrl-C: on Ctrl-C the benchmark future is dropped,
//! which drops the guards of any servers it started, which kills them.

mod child;
mod cli;
mod measure;
mod report;
mod resp;
mod scenario;
mod socketio;
mod target;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{CommandFactory, FromArgMatches};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{Cli, Command, PubsubArgs};
use crate::report::{Report, ScenarioParams, ScenarioReport};
use crate::scenario::RunResult;
use crate::target::{ServerKind, Source, Target};

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
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(n) = cli.threads {
        rt.worker_threads(n.max(1));
    }
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

async fn run(cli: Cli, matches: &clap::ArgMatches) -> anyhow::Result<()> {
    match cli.command {
        Command::Pubsub(args) => {
            let sub = matches.subcommand_matches("pubsub");
            pubsub(&args, sub).await
        }
        Command::Socketio(args) => socketio::run(&args).await,
        Command::SioNode(args) => {
            let ack_timeout = Duration::from_millis(args.ack_timeout_ms);
            socketio::server::serve(&args.redis, ack_timeout).await
        }
    }
}

/// Builds the target list in command-line order, `--target` and `--spawn`
/// interleaved as given (the first one is the reference for ratios).
fn targets(args: &PubsubArgs, matches: Option<&clap::ArgMatches>) -> anyhow::Result<Vec<Target>> {
    let index = |id: &str| -> Vec<usize> {
        matches
            .and_then(|m| m.indices_of(id))
            .map(|i| i.collect())
            .unwrap_or_default()
    };
    let mut ordered: Vec<(usize, Target)> = Vec::new();
    let ext_idx = index("targets");
    for (i, spec) in args.targets.iter().enumerate() {
        let at = ext_idx.get(i).copied().unwrap_or(usize::MAX / 2 + i);
        ordered.push((at, Target::parse_external(spec)?));
    }
    let spawn_idx = index("spawn");
    for (i, &kind) in args.spawn.iter().enumerate() {
        let explicit = match kind {
            ServerKind::Valkey => args.valkey_bin.as_deref(),
            _ => args.bins.get(kind),
        };
        let bin = kind.locate(explicit)?;
        let at = spawn_idx.get(i).copied().unwrap_or(usize::MAX / 2 + i);
        ordered.push((
            at,
            Target {
                name: kind.name().to_owned(),
                source: Source::Spawn { kind, bin },
            },
        ));
    }
    ordered.sort_by_key(|(at, _)| *at);
    let mut out: Vec<Target> = Vec::new();
    for (_, mut t) in ordered {
        let base = t.name.clone();
        let mut n = 2;
        while out.iter().any(|o| o.name == t.name) {
            t.name = format!("{base}#{n}");
            n += 1;
        }
        out.push(t);
    }
    if out.is_empty() {
        bail!(
            "no target: give --spawn respub|redis-server|valkey-server or --target NAME=HOST:PORT"
        );
    }
    Ok(out)
}

/// A progress bar for one run, or a hidden one.
pub(crate) fn progress_bar(enabled: bool, prefix: String) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(1);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix:>28} [{elapsed_precise}] {wide_bar} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(prefix);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

async fn pubsub(args: &PubsubArgs, matches: Option<&clap::ArgMatches>) -> anyhow::Result<()> {
    let targets = targets(args, matches)?;
    let show_progress = args.output.progress();
    let mut report = Report::new(targets.iter().map(|t| t.name.clone()).collect());
    for &scenario in &args.scenarios {
        let params = args.params(scenario);
        let results = run_scenario(&params, &targets, args.rounds, show_progress).await?;
        let s = ScenarioReport {
            description: params.describe(),
            params: ScenarioParams::Pubsub(params),
            rounds: args.rounds,
            results,
        };
        println!("{}", report::table(&s));
        report.scenarios.push(s);
    }
    report.write_files(&args.output)
}

/// Runs one scenario on every target, `rounds` times, alternating targets
/// so that drift of the machine spreads over all of them; each run gets a
/// freshly started server.
pub(crate) async fn run_scenario(
    params: &scenario::Params,
    targets: &[Target],
    rounds: u32,
    show_progress: bool,
) -> anyhow::Result<Vec<RunResult>> {
    let mut merged: Vec<Option<RunResult>> = vec![None; targets.len()];
    for round in 0..rounds {
        for (slot, target) in merged.iter_mut().zip(targets) {
            let round_note = if rounds > 1 {
                format!(" {}/{rounds}", round + 1)
            } else {
                String::new()
            };
            let bar = progress_bar(
                show_progress,
                format!("{} on {}{round_note}", params.scenario.name(), target.name),
            );
            let running = target
                .start()
                .await
                .with_context(|| format!("starting {}", target.name))?;
            let result = scenario::run(params, &running, &target.name, &bar)
                .await
                .with_context(|| format!("{} on {}", params.scenario.name(), target.name));
            bar.finish_and_clear();
            drop(running);
            let result = result?;
            match slot {
                Some(prev) => prev.merge(result)?,
                None => *slot = Some(result),
            }
        }
    }
    Ok(merged.into_iter().flatten().collect())
}
