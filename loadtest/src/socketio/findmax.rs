//! `--find-max`: the highest load each stack sustains. Each step is one
//! short run of the scenario at one rate per emitter, on a fresh cluster
//! (so that an overloaded step's backlog cannot spill into the next), and
//! is sustained when nothing is lost, duplicated, reordered or left unsent
//! and p99 stays within `--max-p99-ms`.
//!
//! The search doubles the rate from `--rate` while steps are sustained,
//! halves it while they are not, then bisects (geometrically) between the
//! highest sustained rate and the lowest that was not until the two are
//! within `--precision`. A step that is not sustained is run again up to
//! `--step-retries` times and counts as sustained if any attempt was. Every
//! rate counts against `--max-steps`, and no step starts once the stack's
//! steps have taken `--max-search-secs`: both bound the search whatever the
//! stack does. The stacks' searches take turns, a rate each.

use std::time::{Duration, Instant};

use clap::Args;

use super::SocketioArgs;
use super::node::Programs;
use super::outcome::run_stack;
use super::stack::Stack;
use crate::figures::{RunResult, Saturation, SioParams, StackSaturation, Step, human};
use crate::progress::progress_bar;
use crate::target::Target;

/// The lowest rate per emitter the search goes down to (msg/s).
const MIN_RATE: f64 = 0.1;
/// The highest it goes up to (msg/s).
const MAX_RATE: f64 = 1e6;

/// `--find-max` options.
#[derive(Debug, Clone, Args)]
pub(crate) struct FindMaxArgs {
    /// Search each stack's highest sustained load, starting at --rate,
    /// instead of measuring --rate once.
    #[arg(long)]
    pub(crate) find_max: bool,
    /// The p99 latency a sustained step stays within.
    #[arg(long, value_name = "MS", default_value_t = 50.0, value_parser = above_zero)]
    pub(crate) max_p99_ms: f64,
    /// Measured seconds of each step, after --warmup.
    #[arg(long, value_name = "SECS", default_value_t = 3.0, value_parser = above_zero)]
    pub(crate) step_duration: f64,
    /// Seconds each step waits for its last deliveries once sending stops,
    /// also how far its emitters may fall behind their schedule (replaces
    /// --drain-timeout; a delivery later than this counts as lost).
    #[arg(long, value_name = "SECS", default_value_t = 2.0, value_parser = above_zero)]
    pub(crate) step_drain: f64,
    /// Rates tried per stack and scenario at most.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) max_steps: u32,
    /// Times a step that was not sustained is run again before it counts
    /// as not sustained: on a shared machine another process's burst can
    /// fail a step the stack would sustain.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub(crate) step_retries: u32,
    /// Seconds a stack's own steps may take: no step of it starts after
    /// that, so its search ends within it plus one step whatever it does.
    #[arg(long, value_name = "SECS", default_value_t = 180.0, value_parser = above_zero)]
    pub(crate) max_search_secs: f64,
    /// Bisect until the highest sustained rate and the lowest unsustained
    /// one are within this fraction of each other.
    #[arg(long, default_value_t = 0.1, value_parser = above_zero)]
    pub(crate) precision: f64,
}

fn above_zero(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if !(v > 0.0 && v <= 1e6) {
        return Err("above 0".into());
    }
    Ok(v)
}

/// Which rate to try next, from what the steps so far showed.
#[derive(Debug, Clone)]
pub(super) struct Search {
    start: f64,
    precision: f64,
    steps_left: u32,
    /// The highest rate sustained so far.
    sustained: Option<f64>,
    /// The lowest rate not sustained so far.
    failed: Option<f64>,
}

impl Search {
    /// A search from `start` msg/s per emitter, `max_steps` steps at most.
    pub(super) fn new(start: f64, max_steps: u32, precision: f64) -> Self {
        Self {
            start: start.clamp(MIN_RATE, MAX_RATE),
            precision,
            steps_left: max_steps,
            sustained: None,
            failed: None,
        }
    }

    /// The next rate to try; none once the search is over.
    pub(super) fn next_rate(&self) -> Option<f64> {
        if self.steps_left == 0 {
            return None;
        }
        match (self.sustained, self.failed) {
            (None, None) => Some(self.start),
            (Some(lo), None) => (lo < MAX_RATE).then(|| (lo * 2.0).min(MAX_RATE)),
            (None, Some(hi)) => (hi > MIN_RATE).then(|| (hi / 2.0).max(MIN_RATE)),
            (Some(lo), Some(hi)) => (hi > lo * (1.0 + self.precision)).then(|| (lo * hi).sqrt()),
        }
    }

    /// Ends the search: no rate follows.
    pub(super) fn stop(&mut self) {
        self.steps_left = 0;
    }

    /// What the step at `rate` showed.
    pub(super) fn record(&mut self, rate: f64, sustained: bool) {
        self.steps_left = self.steps_left.saturating_sub(1);
        if sustained {
            self.sustained = Some(self.sustained.map_or(rate, |lo| lo.max(rate)));
        } else {
            self.failed = Some(self.failed.map_or(rate, |hi| hi.min(rate)));
        }
    }
}

/// Deliveries per second that `p`'s schedule asks for.
pub(super) fn offered_per_sec(p: &SioParams) -> f64 {
    let audience = if p.scenario.has_rooms() {
        p.members
    } else {
        p.clients
    };
    p.rate * p.total_emitters() as f64 * audience as f64
}

/// The step that `r` was, at `p`'s rate, with p99 bound `max_p99_ms`.
pub(super) fn judge(p: &SioParams, r: &RunResult, max_p99_ms: f64) -> Step {
    let lost = r
        .seq
        .lost
        .max(r.expected_deliveries.saturating_sub(r.delivered));
    let latency = (r.latency.count > 0).then_some(&r.latency);
    let p99_us = latency.map(|l| l.p99_us);
    let verdict = if let Some(f) = &r.failure {
        format!("stack failed: {}", f.error)
    } else if r.unsent > 0 {
        format!("{} messages not sent on schedule", r.unsent)
    } else if lost > 0 {
        format!("{lost} deliveries lost")
    } else if r.seq.duplicates + r.seq.reordered > 0 {
        format!(
            "{} duplicated, {} reordered",
            r.seq.duplicates, r.seq.reordered
        )
    } else if r.subscriber_failures > 0 {
        format!("{} clients failed", r.subscriber_failures)
    } else if r.delivered == 0 {
        "nothing delivered".to_owned()
    } else {
        match p99_us {
            Some(us) if us > max_p99_ms * 1000.0 => {
                format!("p99 {:.1} ms > {max_p99_ms} ms", us / 1000.0)
            }
            _ => "ok".to_owned(),
        }
    };
    Step {
        rate: p.rate,
        attempt: 1,
        offered_per_sec: offered_per_sec(p),
        delivered_per_sec: r.delivered_per_sec,
        p50_us: latency.map(|l| l.p50_us),
        p99_us,
        lost,
        unsent: r.unsent,
        sustained: verdict == "ok",
        verdict,
        failure: r.failure.clone(),
    }
}

/// `args`' parameters of one scenario, shortened into a step.
fn step_params(args: &SocketioArgs, base: SioParams) -> SioParams {
    let f = &args.find_max;
    SioParams {
        duration: Duration::from_secs_f64(f.step_duration),
        drain_timeout: Duration::from_secs_f64(f.step_drain),
        messages: None,
        ..base
    }
}

/// Every scenario's search on every stack of `plan`; `done` sees each
/// scenario's searches as soon as they are complete.
///
/// The stacks' searches take turns, one rate each per round, rather than
/// one stack's whole search after the other's: the machine drifts over
/// minutes (other processes, heat, a neighbour's load), and a drift then
/// reaches every stack about equally instead of falling on whichever
/// stack's search it happened to overlap, so their ratios compare like
/// with like.
pub(super) async fn search_all(
    args: &SocketioArgs,
    plan: &[(Stack, Target)],
    programs: &Programs,
    show_progress: bool,
    done: &mut dyn FnMut(&Saturation),
) -> Vec<Saturation> {
    let f = &args.find_max;
    let budget = Duration::from_secs_f64(f.max_search_secs);
    let mut out = Vec::new();
    for &scenario in &args.scenarios {
        let base = step_params(args, args.params(scenario));
        let mut runs: Vec<StackRun<'_>> = plan
            .iter()
            .map(|(stack, broker)| StackRun {
                ctx: StepContext {
                    stack: *stack,
                    broker,
                    programs,
                    show_progress,
                    quiet: args.output.quiet,
                },
                steps: Vec::new(),
                spent: Duration::ZERO,
            })
            .collect();
        let mut searches = vec![Search::new(base.rate, f.max_steps, f.precision); runs.len()];
        take_turns(&mut searches, async |i, rate| {
            let Some(run) = runs.get_mut(i) else {
                return Turn::default();
            };
            let sustained = run.rate(&base, rate, f).await;
            Turn {
                sustained,
                out_of_time: run.spent >= budget,
            }
        })
        .await;
        let s = Saturation {
            description: base.describe(),
            params: base,
            max_p99_ms: f.max_p99_ms,
            stacks: runs.into_iter().map(StackRun::finish).collect(),
        };
        done(&s);
        out.push(s);
    }
    out
}

/// What one rate of one stack's search showed.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Turn {
    /// An attempt at the rate was sustained.
    pub(super) sustained: bool,
    /// The stack's steps have used its time: its search is over.
    pub(super) out_of_time: bool,
}

/// Runs `searches` in turns, one rate each per round (`run(index, rate)`),
/// until each is over.
pub(super) async fn take_turns(
    searches: &mut [Search],
    mut run: impl AsyncFnMut(usize, f64) -> Turn,
) {
    loop {
        let mut stepped = false;
        for (i, search) in searches.iter_mut().enumerate() {
            let Some(rate) = search.next_rate() else {
                continue;
            };
            stepped = true;
            let turn = run(i, rate).await;
            search.record(rate, turn.sustained);
            if turn.out_of_time {
                search.stop();
            }
        }
        if !stepped {
            return;
        }
    }
}

/// What one stack's steps run on.
struct StepContext<'a> {
    stack: Stack,
    broker: &'a Target,
    programs: &'a Programs,
    show_progress: bool,
    quiet: bool,
}

/// One stack's steps so far.
struct StackRun<'a> {
    ctx: StepContext<'a>,
    steps: Vec<Step>,
    /// Time spent in this stack's own steps, against `--max-search-secs`.
    spent: Duration,
}

impl StackRun<'_> {
    /// Runs `rate` on `base`, again while not sustained, up to
    /// `--step-retries` times or the stack's time; whether it was sustained.
    async fn rate(&mut self, base: &SioParams, rate: f64, f: &FindMaxArgs) -> bool {
        let budget = Duration::from_secs_f64(f.max_search_secs);
        let p = SioParams {
            rate,
            ..base.clone()
        };
        // Best of the attempts: load from outside only ever slows a stack.
        for attempt in 1..=1 + f.step_retries {
            let began = Instant::now();
            let step = run_step(&self.ctx, &p, attempt, f.max_p99_ms).await;
            self.spent += began.elapsed();
            let sustained = step.sustained;
            self.steps.push(step);
            if sustained {
                return true;
            }
            if self.spent >= budget {
                break;
            }
        }
        false
    }

    fn finish(self) -> StackSaturation {
        let name = self.ctx.stack.name().to_owned();
        StackSaturation::new(name, self.steps, self.spent.as_secs_f64())
    }
}

/// One attempt at `p`'s rate, said on stderr unless quiet.
async fn run_step(ctx: &StepContext<'_>, p: &SioParams, attempt: u32, max_p99_ms: f64) -> Step {
    let name = ctx.stack.name();
    let label = format!("{} on {name} at {:.3} msg/s", p.scenario.name(), p.rate);
    let bar = progress_bar(ctx.show_progress, label.clone());
    let r = run_stack(ctx.stack, ctx.broker, p, ctx.programs, &bar).await;
    bar.finish_and_clear();
    let step = Step {
        attempt,
        ..judge(p, &r, max_p99_ms)
    };
    if !ctx.quiet {
        let p99 = step
            .p99_us
            .map_or("-".to_owned(), |us| format!("{:.1} ms", us / 1000.0));
        eprintln!(
            "find-max: {label}, attempt {attempt} ({}/s offered): {}/s delivered, p99 {p99}: {}",
            human(step.offered_per_sec),
            human(step.delivered_per_sec),
            step.verdict
        );
    }
    step
}
