//! The tracing side of `loglevel`: the filter a level stands for, and the
//! hook through which `CONFIG SET loglevel` reaches the binary's subscriber.

/// The tracing filter for a Redis `loglevel`: `verbose` and `notice` both
/// show respub's info lines, `warning` only warnings.
pub fn tracing_filter(level: &str) -> &'static str {
    match level {
        "debug" => "debug",
        "verbose" | "notice" => "info",
        "nothing" => "off",
        _ => "warn",
    }
}

/// Called with the new level when `CONFIG SET loglevel` changes it; the
/// binary installs one that swaps its tracing filter. Process-wide, as the
/// tracing subscriber is.
static LOGLEVEL_HOOK: std::sync::OnceLock<LoglevelHook> = std::sync::OnceLock::new();

type LoglevelHook = Box<dyn Fn(&str) + Send + Sync>;

/// Installs the hook `CONFIG SET loglevel` calls (once per process).
pub fn on_loglevel_change(hook: impl Fn(&str) + Send + Sync + 'static) {
    let _ = LOGLEVEL_HOOK.set(Box::new(hook));
}

/// Tells the hook, if any, about a new log level.
pub(crate) fn loglevel_changed(level: &str) {
    if let Some(hook) = LOGLEVEL_HOOK.get() {
        hook(level);
    }
}
