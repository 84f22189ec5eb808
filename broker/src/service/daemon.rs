//! `daemonize yes` without `fork`: Rust cannot fork a process safely once
//! threads may exist, and respub forbids unsafe code, so the parent starts
//! the same executable again, with the same arguments, as a detached child,
//! waits until the child listens, and exits 0, as redis-server's parent
//! does. The child starts a new session and has /dev/null as its standard
//! input, output and error, as Redis' daemon does.

use std::ffi::OsString;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

/// Marks the background child, so that it does not start one in turn.
const CHILD_ENV: &str = "RESPUB_DAEMON_CHILD";

/// Whether this process is the background child of a `daemonize yes` start.
pub fn is_daemon_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// The background child's link to its parent: its standard output, a pipe
/// the parent reads until the child says it is ready.
#[derive(Debug)]
pub struct Daemon(());

impl Daemon {
    /// In the background child: leaves the parent's session, so that the
    /// terminal's hangup and job control no longer reach it.
    ///
    /// # Errors
    ///
    /// If a new session cannot be started.
    pub fn detach() -> std::io::Result<Self> {
        rustix::process::setsid()?;
        Ok(Self(()))
    }

    /// Starts the background child with `args` in `cwd` (where this
    /// process started, before any `dir`) and returns once it is ready.
    ///
    /// # Errors
    ///
    /// If the child cannot be started, or exits before it is ready.
    pub fn spawn(args: &[OsString], cwd: &Path) -> std::io::Result<()> {
        let (mut ready, child_stdout) =
            rustix::pipe::pipe().map(|(r, w)| (std::fs::File::from(r), w))?;
        let mut child = Command::new(std::env::current_exe()?)
            .args(args)
            .current_dir(cwd)
            .env(CHILD_ENV, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(child_stdout))
            .stderr(Stdio::null())
            .spawn()?;
        // Our copy of the write end went with the Command; EOF without a
        // byte means the child died (or closed it) before it was ready.
        let mut byte = [0u8; 1];
        match ready.read(&mut byte) {
            Ok(1) => Ok(()),
            _ => {
                let status = child.wait()?;
                Err(std::io::Error::other(format!(
                    "the background server exited before it was ready ({status}); see its log file"
                )))
            }
        }
    }

    /// Tells the parent the server is ready, then points standard output
    /// at /dev/null, which closes the pipe.
    pub(super) fn ready(self) {
        use std::io::Write;
        let _ = std::io::stdout().write_all(b"\n");
        let _ = std::io::stdout().flush();
        match std::fs::OpenOptions::new().write(true).open("/dev/null") {
            Ok(null) => {
                if let Err(err) = rustix::stdio::dup2_stdout(&null) {
                    tracing::warn!(%err, "can't redirect standard output to /dev/null");
                }
            }
            Err(err) => tracing::warn!(%err, "can't open /dev/null"),
        }
    }
}

/// Upstart's readiness signal: the process stops itself, and Upstart
/// continues it.
pub(super) fn stop_for_upstart() {
    let me = rustix::process::getpid();
    if let Err(err) = rustix::process::kill_process(me, rustix::process::Signal::STOP) {
        tracing::warn!(%err, "can't raise SIGSTOP for upstart");
    }
}
