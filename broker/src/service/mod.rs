//! Running as a service, the way redis-server does: in the background
//! (`daemonize`), with a `pidfile`, and under a supervisor (`supervised`)
//! that is told when the server is ready and when it stops.
//!
//! * `daemon`: the background process, started before any thread or
//!   runtime exists.
//! * `notify`: systemd's readiness protocol (`NOTIFY_SOCKET`).
//!
//! The binary calls [`Service::start`] once the configuration is read,
//! [`Service::ready`] once it listens, and [`Service::stopped`] when it has
//! stopped serving; the server calls [`stopping`] when a shutdown begins.

mod daemon;
mod notify;

use std::path::PathBuf;

pub use daemon::{Daemon, is_daemon_child};

use crate::config::{Config, Supervised};

/// What the process does around serving: the pidfile, and whom it tells.
#[derive(Debug)]
pub struct Service {
    supervised: Supervised,
    pidfile: Option<PathBuf>,
    daemon: Option<Daemon>,
}

/// The supervision `config` asks for as it applies here: `auto` becomes
/// what the environment shows (`UPSTART_JOB`, then `NOTIFY_SOCKET`, as
/// Redis looks) or stays `auto`, which means none.
pub fn resolve(supervised: Supervised) -> Supervised {
    let env = |name| std::env::var_os(name).is_some();
    match supervised {
        Supervised::Auto if env("UPSTART_JOB") => Supervised::Upstart,
        Supervised::Auto if env("NOTIFY_SOCKET") => Supervised::Systemd,
        other => other,
    }
}

/// A shutdown begins (a signal or SHUTDOWN): tells systemd at once, as
/// Redis does before it flushes its clients.
pub fn stopping(supervised: Supervised) {
    if supervised == Supervised::Systemd {
        notify::send("STOPPING=1\n");
    }
}

impl Service {
    /// The service side of a server about to start with `config`, whose
    /// `supervised` is already [`resolve`]d. `daemon` is the background
    /// child's link to its parent, if this is that child.
    pub fn start(config: &Config, daemon: Option<Daemon>) -> Self {
        if config.supervised == Supervised::Systemd {
            tracing::info!(
                "Supervised by systemd. Please make sure you set appropriate values for \
                 TimeoutStartSec and TimeoutStopSec in your service unit."
            );
            notify::send("STATUS=Redis is loading...\n");
        }
        // As Redis: a daemon without a pidfile writes the default one.
        let pidfile = match (&config.pidfile, &daemon) {
            (Some(path), _) => Some(path.clone()),
            (None, Some(_)) => Some(PathBuf::from("/var/run/redis.pid")),
            (None, None) => None,
        };
        Self {
            supervised: config.supervised,
            pidfile,
            daemon,
        }
    }

    /// The server listens: writes the pidfile, then tells the supervisor
    /// or the waiting parent.
    pub fn ready(&mut self) {
        if let Some(path) = &self.pidfile {
            if let Err(err) = std::fs::write(path, format!("{}\n", std::process::id())) {
                tracing::warn!(path = %path.display(), %err, "Failed to write PID file");
            }
        }
        match self.supervised {
            Supervised::Systemd => {
                notify::send("STATUS=Ready to accept connections\n");
                notify::send("READY=1\n");
            }
            Supervised::Upstart => daemon::stop_for_upstart(),
            Supervised::No | Supervised::Auto => {}
        }
        if let Some(daemon) = self.daemon.take() {
            daemon.ready();
        }
    }

    /// The server has stopped serving: removes the pidfile. systemd was
    /// told when the shutdown began ([`stopping`]).
    pub fn stopped(&self) {
        if let Some(path) = &self.pidfile {
            let _ = std::fs::remove_file(path);
        }
    }
}
