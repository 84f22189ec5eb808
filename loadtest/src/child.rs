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

use std::collections::VecDeque;
use std::fmt;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
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

/// Lines of the log and of a piped stdout that error messages quote.
const TAIL_LINES: usize = 10;

/// How much of the end of the log is read for them: a child that logs a
/// warning per message must not make an error message read megabytes.
const TAIL_BYTES: u64 = 64 * 1024;

/// A started child; killed and reaped on drop.
pub(crate) struct Process {
    child: Child,
    log: PathBuf,
    /// The end of a piped stdout, kept by the thread that drains it.
    stdout_tail: Arc<Mutex<VecDeque<String>>>,
    /// Held so that the child's stdin stays open until the guard drops.
    _stdin: Option<ChildStdin>,
    /// Set by [`Process::kill`]: its death is the load tester's doing.
    killed: bool,
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
            stdout_tail: Arc::default(),
            _stdin: stdin,
            killed: false,
        })
    }

    /// The child's pid, for `/proc`.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the child with SIGKILL now and reaps it: the `failover`
    /// scenario's crash of a master, which must not flush or say goodbye.
    pub(crate) fn kill(&mut self) -> anyhow::Result<()> {
        self.killed = true;
        self.child.kill().context("sending SIGKILL")?;
        self.child.wait().context("reaping the killed child")?;
        Ok(())
    }

    /// Whether [`Process::kill`] stopped it (a crash staged on purpose,
    /// not one to report).
    pub(crate) fn was_killed(&self) -> bool {
        self.killed
    }

    /// Fails if the child has exited, with the end of its log.
    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("exited during startup ({status}):\n{}", self.log_tail());
        }
        Ok(())
    }

    /// How the child ended, if it has: a child that died on its own stays
    /// a zombie until reaped, so this also tells a crash from a live one.
    pub(crate) fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// [`Process::exit_status`], waiting until `deadline` for the child
    /// to exit: one whose connections just closed is likely exiting, and
    /// the kernel closes a process's files a moment before it reports the
    /// exit.
    pub(crate) async fn exit_status_by(
        &mut self,
        deadline: tokio::time::Instant,
    ) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.exit_status() {
                return Some(status);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The end of the child's log, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        self.last_lines().join("\n")
    }

    /// The last lines the child printed: of its log (stderr, and stdout
    /// unless piped), then of its piped stdout, each prefixed `stdout: `.
    pub(crate) fn last_lines(&self) -> Vec<String> {
        let mut lines = tail_of_file(&self.log);
        let stdout = self
            .stdout_tail
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        lines.extend(stdout.iter().map(|l| format!("stdout: {l}")));
        lines
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
        let tail = Arc::clone(&self.stdout_tail);
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix(prefix)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(rest.to_owned());
                }
                let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
                if tail.len() == TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
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

/// The last [`TAIL_LINES`] lines of the file at `path`, read from at most
/// its last [`TAIL_BYTES`]; none if it cannot be read.
fn tail_of_file(path: &Path) -> Vec<String> {
    let mut text = Vec::new();
    let skip_partial = (|| {
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        let from = len.saturating_sub(TAIL_BYTES);
        file.seek(SeekFrom::Start(from))?;
        file.read_to_end(&mut text)?;
        std::io::Result::Ok(from > 0)
    })()
    .unwrap_or(false);
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().skip(usize::from(skip_partial)).collect();
    lines
        .iter()
        .skip(lines.len().saturating_sub(TAIL_LINES))
        .map(|l| (*l).to_owned())
        .collect()
}

/// A port that was free a moment ago. The kernel picks it; the listener is
/// closed before the server binds it, so another process could take it in
/// between: callers retry on a bind failure.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
        .context("finding a free port")?;
    Ok(l.local_addr()?.port())
}
