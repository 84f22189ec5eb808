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
//! search has taken `--max-search-secs`: both bound the search whatever the
//! stack does.

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
    /// Seconds a stack's search may take: no step starts after that, so a
    /// search ends within it plus one step whatever the stack does.
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

/// Every scenario's search on every stack of `plan`, one after the other;
/// `done` sees each scenario's searches as soon as they are complete.
pub(super) async fn search_all(
    args: &SocketioArgs,
    plan: &[(Stack, Target)],
    programs: &Programs,
    show_progress: bool,
    done: &mut dyn FnMut(&Saturation),
) -> Vec<Saturation> {
    let mut out = Vec::new();
    for &scenario in &args.scenarios {
        let base = step_params(args, args.params(scenario));
        let mut stacks = Vec::new();
        for (stack, broker) in plan {
            let ctx = StepContext {
                stack: *stack,
                broker,
                programs,
                show_progress,
                quiet: args.output.quiet,
            };
            stacks.push(search_stack(&ctx, &base, &args.find_max).await);
        }
        let s = Saturation {
            description: base.describe(),
            params: base,
            max_p99_ms: args.find_max.max_p99_ms,
            stacks,
        };
        done(&s);
        out.push(s);
    }
    out
}

/// What one stack's steps run on.
struct StepContext<'a> {
    stack: Stack,
    broker: &'a Target,
    programs: &'a Programs,
    show_progress: bool,
    quiet: bool,
}

/// One stack's search on `base` (whose rate is the start).
async fn search_stack(ctx: &StepContext<'_>, base: &SioParams, f: &FindMaxArgs) -> StackSaturation {
    let began = Instant::now();
    let budget = Duration::from_secs_f64(f.max_search_secs);
    let mut search = Search::new(base.rate, f.max_steps, f.precision);
    let mut steps = Vec::new();
    while let Some(rate) = search.next_rate() {
        let p = SioParams {
            rate,
            ..base.clone()
        };
        // Best of the attempts: load from outside only ever slows a stack.
        let mut sustained = false;
        for attempt in 1..=1 + f.step_retries {
            let step = run_step(ctx, &p, attempt, f.max_p99_ms).await;
            sustained = step.sustained;
            steps.push(step);
            if sustained || began.elapsed() >= budget {
                break;
            }
        }
        search.record(rate, sustained);
        if began.elapsed() >= budget {
            break;
        }
    }
    let elapsed = began.elapsed().as_secs_f64();
    StackSaturation::new(ctx.stack.name().to_owned(), steps, elapsed)
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
