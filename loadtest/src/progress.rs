//! Progress bars: what a run is doing while it runs, on a terminal only.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::figures::human;
use crate::measure::Clock;

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

/// Shows the phase and the current delivery rate on `progress` until
/// `stop`; `delivered` counts deliveries so far.
pub(crate) fn spawn_ticker(
    progress: &ProgressBar,
    clock: &Clock,
    stop: CancellationToken,
    delivered: impl Fn() -> u64 + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let progress = progress.clone();
    let clock = clock.clone();
    progress.set_length((clock.end_ns / 1_000_000).max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut last = (0u64, clock.now_ns());
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let now = clock.now_ns();
            let total = delivered();
            let rate = (total.saturating_sub(last.0)) as f64 / ((now - last.1).max(1) as f64 / 1e9);
            last = (total, now);
            let phase = if now < clock.warm_end_ns {
                "warm-up"
            } else if now < clock.end_ns {
                "measuring"
            } else {
                "draining"
            };
            progress.set_position((now / 1_000_000).min(clock.end_ns / 1_000_000));
            progress.set_message(format!("{phase}: {} delivered/s", human(rate)));
        }
    })
}
