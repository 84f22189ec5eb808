//! Child processes the load tester starts (brokers, Socket.IO nodes) and the
//! guard that stops them.
//!
//! A child runs in its own process group, so that a Ctrl-C in the terminal
//! reaches only the load tester, which then stops its children itself, in
//! order. The guard kills and reaps the child when it drops: on success, on
//! error (the `?` unwinds the stack of guards) and on Ctrl-C (`main` drops the
//! whole benchmark future). Children started with [`Stdin::Pipe`] also see
//! end-of-file on their standard input when the load tester dies by SIGKILL,
//! which the Socket.IO nodes take as the signal to exit.

use std::fmt;
use std::io::BufRead;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

/// What the child's standard input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stdin {
    /// `/dev/null`.
    Null,
    /// A pipe the guard holds open for the child's lifetime.
    Pipe,
}

/// A started child; killed and reaped on drop.
pub(crate) struct Process {
    child: Child,
    log: PathBuf,
    /// Held so that the child's stdin stays open until the guard drops.
    _stdin: Option<ChildStdin>,
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("pid", &self.child.id())
            .field("log", &self.log)
            .finish()
    }
}

impl Process {
    /// Starts `cmd` with stderr (and stdout unless `piped_stdout`) going to
    /// a log file named after `name`, read back by [`Process::log_tail`] for
    /// error messages.
    pub(crate) fn spawn(
        mut cmd: Command,
        name: &str,
        stdin: Stdin,
        piped_stdout: bool,
    ) -> anyhow::Result<Self> {
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = std::env::temp_dir().join(format!(
            "respub-loadtest-{name}-{}-{n}.log",
            std::process::id()
        ));
        let out =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stderr(err)
            .stdout(if piped_stdout {
                Stdio::piped()
            } else {
                Stdio::from(out)
            })
            .stdin(match stdin {
                Stdin::Null => Stdio::null(),
                Stdin::Pipe => Stdio::piped(),
            })
            .process_group(0);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {:?}", cmd.get_program()))?;
        let stdin = child.stdin.take();
        tracing::debug!(pid = child.id(), "started {name}");
        Ok(Self {
            child,
            log,
            _stdin: stdin,
        })
    }

    /// The child's pid, for `/proc`.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the child with SIGKILL now and reaps it: the `failover`
    /// scenario's crash of a master, which must not flush or say goodbye.
    pub(crate) fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill().context("sending SIGKILL")?;
        self.child.wait().context("reaping the killed child")?;
        Ok(())
    }

    /// Fails if the child has exited, with the end of its log.
    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("exited during startup ({status}):\n{}", self.log_tail());
        }
        Ok(())
    }

    /// The end of the child's log, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines
            .iter()
            .skip(lines.len().saturating_sub(10))
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits for the first stdout line starting with `prefix` (a child
    /// started with `piped_stdout`) and returns the rest of that line.
    ///
    /// A thread reads the pipe: it hands the line over, then keeps draining
    /// so that the child never blocks on a full pipe, and ends at the
    /// child's exit. A child that exits first fails the wait at once;
    /// `timeout` only guards against one that hangs.
    pub(crate) async fn wait_line(
        &mut self,
        prefix: &'static str,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        let stdout = self
            .child
            .stdout
            .take()
            .context("the child's stdout is not piped")?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix(prefix)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(rest.to_owned());
                }
            }
        });
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(rest)) => Ok(rest),
            Ok(Err(_)) => {
                let status = match self.child.try_wait()? {
                    Some(status) => format!("exited ({status})"),
                    None => "closed its stdout".to_owned(),
                };
                bail!("{status} before printing {prefix:?}:\n{}", self.log_tail())
            }
            Err(_) => bail!(
                "did not print {prefix:?} within {timeout:?}:\n{}",
                self.log_tail()
            ),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // SIGKILL: nothing of the child's state is worth a graceful stop,
        // and it cannot be ignored. `wait` reaps it so no zombie remains.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
        tracing::debug!(pid = self.child.id(), "stopped child");
    }
}

/// A port that was free a moment ago. The kernel picks it; the listener is
/// closed before the server binds it, so another process could take it in
/// between: callers retry on a bind failure.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
        .context("finding a free port")?;
    Ok(l.local_addr()?.port())
}
