//! What `socketio --find-max` found: for each scenario and stack, every
//! step of the search (one short run at one rate) and the highest load the
//! stack sustained.

use serde::Serialize;

use super::{Failure, SioParams};

/// One short run of one stack at one rate.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct Step {
    /// Messages per second of each emitter.
    pub(crate) rate: f64,
    /// 1 for the first run at this rate, 2 for its retry, and so on.
    pub(crate) attempt: u32,
    /// Deliveries per second the schedule asked for: rate x emitters x
    /// clients each message is for.
    pub(crate) offered_per_sec: f64,
    /// Deliveries per second measured.
    pub(crate) delivered_per_sec: f64,
    /// Latency median, when anything was delivered.
    pub(crate) p50_us: Option<f64>,
    /// Latency p99, when anything was delivered.
    pub(crate) p99_us: Option<f64>,
    /// Deliveries missing after the drain, duplicates and out-of-order
    /// ones (any of them fails the step).
    pub(crate) lost: u64,
    /// Messages the emitters could not send on schedule.
    pub(crate) unsent: u64,
    /// Whether the stack sustained it: nothing lost, p99 within the bound.
    pub(crate) sustained: bool,
    /// `ok`, or why not.
    pub(crate) verdict: String,
    /// When the stack fell over.
    pub(crate) failure: Option<Failure>,
}

/// One stack's search.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct StackSaturation {
    /// The stack.
    pub(crate) target: String,
    /// In the order they ran, retries included.
    pub(crate) steps: Vec<Step>,
    /// The sustained step with the most deliveries per second offered,
    /// none when not even the lowest rate tried was sustained.
    pub(crate) best: Option<Step>,
    /// Wall-clock seconds the search took.
    pub(crate) elapsed_secs: f64,
}

impl StackSaturation {
    /// `target`'s search of `steps` that took `elapsed_secs`.
    pub(crate) fn new(target: String, steps: Vec<Step>, elapsed_secs: f64) -> Self {
        let best = steps
            .iter()
            .filter(|s| s.sustained)
            .max_by(|a, b| a.offered_per_sec.total_cmp(&b.offered_per_sec))
            .cloned();
        Self {
            target,
            steps,
            best,
            elapsed_secs,
        }
    }
}

/// One scenario's searches, one per stack, in stack order.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Saturation {
    /// The scenario's knobs; `rate` is where the search started.
    pub(crate) params: SioParams,
    /// Human-readable summary of the knobs.
    pub(crate) description: String,
    /// The p99 a sustained step must stay within.
    pub(crate) max_p99_ms: f64,
    /// Per stack.
    pub(crate) stacks: Vec<StackSaturation>,
}
