//! Why a stack's run has no figures: the error that ended it and the
//! processes of the stack that had died by then, each with how it ended
//! and what it printed last.

use serde::Serialize;

/// A run that failed. The result that carries it has no other figures.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct Failure {
    /// The error that ended the run, with its causes.
    pub(crate) error: String,
    /// The stack's processes found dead after it: the likely cause.
    pub(crate) exited: Vec<Exited>,
}

/// One process of a stack that died during its run.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct Exited {
    /// `node 3`, `broker`.
    pub(crate) process: String,
    /// Its pid.
    pub(crate) pid: u32,
    /// How it ended, as the shell says it (`exit status: 1`,
    /// `signal: 9 (SIGKILL)`).
    pub(crate) status: String,
    /// Its exit code, when it exited.
    pub(crate) code: Option<i32>,
    /// The signal that killed it, when one did.
    pub(crate) signal: Option<i32>,
    /// The last lines it printed (stderr, then stdout prefixed `stdout: `).
    pub(crate) last_lines: Vec<String>,
}

impl Failure {
    /// A few lines for the report: the error, then each dead process with
    /// its status and last lines, indented.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut out = vec![format!("FAILED: {}", self.error)];
        for e in &self.exited {
            out.push(format!("{} (pid {}) died: {}", e.process, e.pid, e.status));
            if e.last_lines.is_empty() {
                out.push("  (it printed nothing)".to_owned());
            }
            out.extend(e.last_lines.iter().map(|l| format!("  | {l}")));
        }
        out
    }
}
