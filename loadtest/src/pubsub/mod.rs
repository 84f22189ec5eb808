//! `pubsub` mode: pub/sub scenarios against one or more RESP servers, each
//! started afresh for every run, turned into figures.
//!
//! [`params`] turns the flags into the parameters of each scenario and the
//! targets; [`traffic`] runs a publishing scenario on one server with its
//! [`publisher`]s, [`subscriber`]s and [`churn`]ers; [`idle`] runs the one
//! that only holds connections. What they say to the server is in [`wire`],
//! the closed loop's back-pressure in [`gate`].

mod churn;
mod gate;
mod idle;
mod params;
mod publisher;
mod subscriber;
mod tally;
mod traffic;
mod wire;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;

use anyhow::{Context, bail};
use indicatif::ProgressBar;

use crate::figures::{Params, Report, RunResult, ScenarioKind, ScenarioParams, ScenarioReport};
use crate::progress::progress_bar;
use crate::target::{Running, Target};

pub(crate) use params::PubsubArgs;
use wire::HEADER_LEN;

/// Runs every scenario of `args` on every target; `done` sees each
/// scenario's figures as soon as they are complete.
pub(crate) async fn run_all(
    args: &PubsubArgs,
    matches: Option<&clap::ArgMatches>,
    done: &mut dyn FnMut(&ScenarioReport),
) -> anyhow::Result<Report> {
    let targets = params::targets(args, matches)?;
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
        done(&s);
        report.scenarios.push(s);
    }
    Ok(report)
}

/// Runs one scenario on every target, `rounds` times, alternating targets
/// so that drift of the machine spreads over all of them; each run gets a
/// freshly started server.
pub(crate) async fn run_scenario(
    params: &Params,
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
            let result = run(params, &running, &target.name, &bar)
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

/// Runs one scenario on one started server.
pub(crate) async fn run(
    params: &Params,
    server: &Running,
    target: &str,
    progress: &ProgressBar,
) -> anyhow::Result<RunResult> {
    if params.payload < HEADER_LEN {
        bail!("payload must be at least {HEADER_LEN} bytes");
    }
    let mut result = match params.scenario {
        ScenarioKind::Idle => idle::run_idle(params, server, progress).await?,
        _ => traffic::run(params, server, progress).await?,
    };
    result.target = target.to_owned();
    Ok(result)
}
