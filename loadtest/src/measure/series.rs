//! Throughput time series.

/// Event counts in fixed-width time bins since the start of a run, for the
/// throughput-over-time chart.
#[derive(Debug, Clone, Default)]
pub(crate) struct Series {
    pub(super) bins: Vec<u64>,
}

/// Width of a [`Series`] bin.
pub(crate) const BIN_NS: u64 = 100_000_000;

impl Series {
    /// Counts `n` events at `t_ns` after the start.
    pub(crate) fn add(&mut self, t_ns: u64, n: u64) {
        let i = usize::try_from(t_ns / BIN_NS)
            .unwrap_or(usize::MAX)
            .min(100_000);
        if self.bins.len() <= i {
            self.bins.resize(i + 1, 0);
        }
        if let Some(b) = self.bins.get_mut(i) {
            *b += n;
        }
    }

    /// Adds another series bin by bin.
    pub(crate) fn merge(&mut self, other: &Series) {
        if self.bins.len() < other.bins.len() {
            self.bins.resize(other.bins.len(), 0);
        }
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            *a += b;
        }
    }

    /// Events per second in each bin. The last bin is cut short by the end
    /// of the run, so its rate would read as a collapse: it is left out.
    pub(crate) fn rates(&self) -> Vec<f64> {
        let secs = BIN_NS as f64 / 1e9;
        let full = self
            .bins
            .len()
            .saturating_sub(1)
            .max(1)
            .min(self.bins.len());
        self.bins
            .iter()
            .take(full)
            .map(|&n| n as f64 / secs)
            .collect()
    }
}
