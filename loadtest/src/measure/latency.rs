//! Latency histograms and their summaries.

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency the histograms hold (60 s in ns); anything slower is
/// recorded as 60 s, which is already a failed run.
const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// End-to-end latency of deliveries, in nanoseconds.
///
/// HdrHistogram because percentiles up to p99.9 and the max must be exact
/// to a fixed relative precision, and histograms of many subscribers must
/// merge losslessly.
#[derive(Debug, Clone)]
pub(crate) struct Latency {
    hist: Histogram<u64>,
}

/// Percentiles of a latency histogram, in microseconds.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub(crate) struct LatencySummary {
    /// Deliveries measured.
    pub(crate) count: u64,
    /// Mean.
    pub(crate) mean_us: f64,
    /// Median.
    pub(crate) p50_us: f64,
    /// 90th percentile.
    pub(crate) p90_us: f64,
    /// 99th percentile.
    pub(crate) p99_us: f64,
    /// 99.9th percentile.
    pub(crate) p999_us: f64,
    /// Slowest delivery.
    pub(crate) max_us: f64,
}

impl Latency {
    /// A histogram with `sigfig` significant digits. Three digits cost about
    /// 200 kB per histogram; callers with thousands of subscribers use two.
    pub(crate) fn new(sigfig: u8) -> anyhow::Result<Self> {
        let hist = Histogram::new_with_bounds(1, MAX_LATENCY_NS, sigfig.clamp(1, 5))
            .context("creating a latency histogram")?;
        Ok(Self { hist })
    }

    /// Records one latency.
    pub(crate) fn record(&mut self, ns: u64) {
        self.hist.saturating_record(ns.max(1));
    }

    /// Adds another histogram's counts into this one.
    pub(crate) fn merge(&mut self, other: &Latency) -> anyhow::Result<()> {
        self.hist
            .add(&other.hist)
            .context("merging latency histograms")
    }

    /// Mean, percentiles and max.
    pub(crate) fn summary(&self) -> LatencySummary {
        let us = |ns: u64| ns as f64 / 1_000.0;
        if self.hist.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: self.hist.len(),
            mean_us: self.hist.mean() / 1_000.0,
            p50_us: us(self.hist.value_at_quantile(0.50)),
            p90_us: us(self.hist.value_at_quantile(0.90)),
            p99_us: us(self.hist.value_at_quantile(0.99)),
            p999_us: us(self.hist.value_at_quantile(0.999)),
            max_us: us(self.hist.max()),
        }
    }

    /// The cumulative distribution as (latency in µs, fraction at or below)
    /// points, dense in the tail, for the CDF chart and the JSON file.
    pub(crate) fn cdf(&self) -> Vec<(f64, f64)> {
        if self.hist.is_empty() {
            return Vec::new();
        }
        let mut points: Vec<(f64, f64)> = self
            .hist
            .iter_quantiles(4)
            .map(|v| {
                (
                    v.value_iterated_to() as f64 / 1_000.0,
                    v.quantile_iterated_to(),
                )
            })
            .collect();
        points.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        points
    }
}
