//! The figures: what a run of either mode produced, as plain data types.
//!
//! Both modes fill them in and the report renders them, so this module sits
//! underneath all three: it imports neither a mode nor the report, and the
//! modes and the report meet only here.

mod failover;
mod failure;
mod node_failure;
mod params;
mod run;
mod saturation;

use serde::Serialize;

pub(crate) use failover::{FailoverFigures, FailoverParams, FailoverRound};
pub(crate) use failure::{Exited, Failure};
pub(crate) use node_failure::NodeFailureFigures;
pub(crate) use params::{
    LoadModel, Params, ProxyKind, ScenarioKind, SioParams, SioScenario, Transport,
};
#[cfg(test)]
pub(crate) use run::SeriesOut;
pub(crate) use run::{
    AckFigures, ChurnFigures, IdleFigures, JoinFigures, RunResult, ServerFigures, SioFigures, rate,
};
pub(crate) use saturation::{Saturation, StackSaturation, Step};

/// The knobs of one scenario, of either mode. Untagged in the JSON file:
/// each mode's knobs have names of their own.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum ScenarioParams {
    /// `pubsub` mode.
    Pubsub(Params),
    /// `socketio` mode.
    Socketio(SioParams),
    /// `failover` mode.
    Failover(FailoverParams),
}

impl ScenarioParams {
    /// The scenario's name on the command line.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ScenarioParams::Pubsub(p) => p.scenario.name(),
            ScenarioParams::Socketio(p) => p.scenario.name(),
            ScenarioParams::Failover(_) => "failover",
        }
    }

    /// Whether the scenario has deliveries to chart (`idle` has none, and
    /// `failover` measures a timeline, not a rate).
    pub(crate) fn has_deliveries(&self) -> bool {
        match self {
            ScenarioParams::Pubsub(p) => p.scenario != ScenarioKind::Idle,
            ScenarioParams::Socketio(_) => true,
            ScenarioParams::Failover(_) => false,
        }
    }
}

/// One scenario's results, one per target, in target order.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ScenarioReport {
    /// The scenario's knobs.
    pub(crate) params: ScenarioParams,
    /// Human-readable summary of the knobs.
    pub(crate) description: String,
    /// Rounds merged into each result.
    pub(crate) rounds: u32,
    /// Per target.
    pub(crate) results: Vec<RunResult>,
}

/// Everything a run of the load tester produced.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    /// The load tester's version.
    pub(crate) version: &'static str,
    /// Seconds since the Unix epoch when the run started.
    pub(crate) started_unix_secs: u64,
    /// Target names, in order; ratios are to the first.
    pub(crate) targets: Vec<String>,
    /// Per scenario.
    pub(crate) scenarios: Vec<ScenarioReport>,
    /// `socketio --find-max`: the highest load each stack sustained, per
    /// scenario.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) saturation: Vec<Saturation>,
}

impl Report {
    /// An empty report of a run starting now.
    pub(crate) fn new(targets: Vec<String>) -> Self {
        let started_unix_secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        Self {
            version: env!("CARGO_PKG_VERSION"),
            started_unix_secs,
            targets,
            scenarios: Vec::new(),
            saturation: Vec::new(),
        }
    }

    /// `target: error` of every run that failed, saturation steps aside
    /// (a step past a stack's limit is expected to fail).
    pub(crate) fn failures(&self) -> Vec<String> {
        self.scenarios
            .iter()
            .flat_map(|s| &s.results)
            .filter_map(|r| {
                r.failure
                    .as_ref()
                    .map(|f| format!("{}: {}", r.target, f.error))
            })
            .collect()
    }
}

/// 1234567 -> "1.23M".
pub(crate) fn human(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}
