//! One scenario on one stack, whatever becomes of the stack. A stack that
//! falls over (a node or the broker dies, the cluster does not start, the
//! run fails) gives a failed result saying which process died, how, and
//! what it printed last, and the other stacks and scenarios go on.

use std::os::unix::process::ExitStatusExt as _;
use std::time::Duration;

use indicatif::ProgressBar;
use tokio::time::Instant;

use super::node::{Cluster, Programs};
use super::proxy::Proxy;
use super::stack::Stack;
use super::{failure, workload};
use crate::child::Process;
use crate::figures::{Exited, Failure, RunResult, SioParams, SioScenario};
use crate::target::Target;

/// How long after a failed run a process of the stack may take to show
/// that it died (see [`Process::exit_status_by`]), all of them together.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Runs `params` on a fresh cluster of `stack` on `broker`, stopped
/// afterwards; never fails, a failure is in the result.
pub(super) async fn run_stack(
    stack: Stack,
    broker: &Target,
    params: &SioParams,
    programs: &Programs,
    progress: &ProgressBar,
) -> RunResult {
    let started = Cluster::start(broker, stack.nodes(), params.nodes, programs).await;
    let mut cluster = match started {
        Ok(c) => c,
        Err(e) => {
            let e = e.context(format!("starting the {} cluster", stack.name()));
            return settle(stack.name(), Err(e), Vec::new());
        }
    };
    let run = run_on(stack, params, &mut cluster, programs, progress).await;
    // After a failure, give a process that is dying the moment to finish.
    let grace = if run.is_ok() {
        Duration::ZERO
    } else {
        EXIT_GRACE
    };
    let exited = casualties(&mut cluster, stack, Instant::now() + grace).await;
    drop(cluster);
    settle(stack.name(), run, exited)
}

/// The scenario on a started cluster, behind `--proxy` when one is asked for.
async fn run_on(
    stack: Stack,
    params: &SioParams,
    cluster: &mut Cluster,
    programs: &Programs,
    progress: &ProgressBar,
) -> anyhow::Result<RunResult> {
    let addrs: Vec<_> = cluster.nodes.iter().map(|n| n.addr).collect();
    cluster.proxy = Proxy::start(params.proxy, &addrs).await?;
    match params.scenario {
        SioScenario::NodeFailure => {
            failure::run(params, cluster, programs, stack.nodes(), progress).await
        }
        _ => workload::run(params, cluster, progress).await,
    }
}

/// The result of a run that ended with `run` and left `exited` dead: its
/// figures when it succeeded and every process survived, else a failure.
pub(super) fn settle(
    target: &str,
    run: anyhow::Result<RunResult>,
    exited: Vec<Exited>,
) -> RunResult {
    let error = match run {
        Ok(mut r) if exited.is_empty() => {
            r.target = target.to_owned();
            return r;
        }
        Ok(_) => "a process of the stack died during the run".to_owned(),
        Err(e) => format!("{e:#}"),
    };
    RunResult {
        target: target.to_owned(),
        failure: Some(Failure { error, exited }),
        ..RunResult::default()
    }
}

/// The nodes and the broker of `cluster` that are no longer running, or
/// no longer by `deadline`.
pub(super) async fn casualties(
    cluster: &mut Cluster,
    stack: Stack,
    deadline: Instant,
) -> Vec<Exited> {
    let mut out = Vec::new();
    for (i, node) in cluster.nodes.iter_mut().enumerate() {
        if let Some(e) = exited(format!("node {}", i + 1), node.process(), deadline).await {
            out.push(e);
        }
    }
    if let Some(p) = cluster.broker.process() {
        let name = format!("broker ({})", stack.broker().name());
        if let Some(e) = exited(name, p, deadline).await {
            out.push(e);
        }
    }
    out
}

/// How `p` ended and what it printed last, if it has ended by `deadline`
/// and not because the load tester killed it (as a scenario may).
async fn exited(process: String, p: &mut Process, deadline: Instant) -> Option<Exited> {
    if p.was_killed() {
        return None;
    }
    let status = p.exit_status_by(deadline).await?;
    Some(Exited {
        process,
        pid: p.pid(),
        status: status.to_string(),
        code: status.code(),
        signal: status.signal(),
        last_lines: p.last_lines(),
    })
}
