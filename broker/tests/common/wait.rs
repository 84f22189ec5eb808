//! Waiting on a condition, with the one deadline every wait shares.

use std::time::{Duration, Instant};

/// How long any single wait may take before the test fails.
pub const GUARD: Duration = Duration::from_secs(10);

/// Re-asks until `probe` holds (a condition on the server's replies); the
/// deadline only turns a hang into a failure.
pub fn eventually(mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + GUARD;
    while !probe() {
        assert!(
            Instant::now() < deadline,
            "condition not reached within {GUARD:?}"
        );
        std::thread::yield_now();
    }
}
