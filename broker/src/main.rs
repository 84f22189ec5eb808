//! `respub-server`: reads the configuration the way redis-server does, sets
//! up logging, binds, and runs until SIGINT, SIGTERM or SHUTDOWN.
//!
//! ```text
//! respub-server [/path/to/redis.conf] [--directive value ...]
//! ```

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use anyhow::{Context, bail};
use respub_broker::config::Supervised;
use respub_broker::config::tracing_filter;
use respub_broker::listen::bind_all;
use respub_broker::service::{self, Daemon, Service};
use respub_broker::tls::Acceptor;
use respub_broker::{Config, Listener};

const USAGE: &str = "Usage: respub-server [/path/to/redis.conf] [options]
       respub-server -v or --version
       respub-server -h or --help

Options are redis.conf directives written as --name value, for example:
       respub-server --port 6380 --bind 127.0.0.1 ::1
       respub-server /etc/redis/redis.conf --loglevel verbose

Directives respub implements: bind, port, unixsocket, unixsocketperm,
maxclients, timeout, tcp-keepalive, proto-max-bulk-len,
client-query-buffer-limit, client-output-buffer-limit, loglevel, logfile,
databases, shutdown-timeout, io-threads, requirepass, user, aclfile,
acl-pubsub-default, acllog-max-len, protected-mode, tls-port, tls-cert-file,
tls-key-file, tls-ca-cert-file, tls-ca-cert-dir, tls-auth-clients,
tls-protocols, daemonize, pidfile, supervised, dir, include,
notify-keyspace-events. Data and persistence directives (save, appendonly, maxmemory,
...) and OpenSSL tuning (tls-ciphers, ...) are accepted and ignored with a
warning.";

/// Logs to standard output or `logfile`, at `loglevel`; the filter sits
/// behind a reload handle so that `CONFIG SET loglevel` takes effect.
/// A background server without a `logfile` logs nowhere, as Redis' does.
fn init_logging(config: &Config, daemon: bool) -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, fmt, reload};
    let (filter, handle) = reload::Layer::new(EnvFilter::new(tracing_filter(&config.loglevel)));
    respub_broker::config::on_loglevel_change(move |level| {
        let _ = handle.modify(|f| *f = EnvFilter::new(tracing_filter(level)));
    });
    let registry = tracing_subscriber::registry().with(filter);
    if config.logfile.is_empty() && daemon {
        registry
            .with(fmt::layer().with_writer(std::io::sink))
            .init();
    } else if config.logfile.is_empty() {
        // Colours only on a terminal: journald and files get plain text.
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
        registry.with(fmt::layer().with_ansi(ansi)).init();
    } else {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.logfile)
            .with_context(|| format!("can't open the log file {}", config.logfile))?;
        registry
            .with(
                fmt::layer()
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(file)),
            )
            .init();
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let all_args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return Ok(());
        }
        Some("-v" | "--version") => {
            println!("respub-server {}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        _ => {}
    }
    let file = match args.first() {
        Some(first) if !first.starts_with("--") => Some(PathBuf::from(args.remove(0))),
        _ => None,
    };
    let text = match &file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("can't open config file '{}'", path.display()))?,
        None => String::new(),
    };
    // Before `dir` changes it: the background child starts from here too.
    let cwd = std::env::current_dir().context("can't read the current directory")?;
    let config_file = file.map(|p| std::fs::canonicalize(&p).unwrap_or(p));
    let (mut config, warnings) = match Config::load(&text, &args) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(1);
        }
    };
    config.config_file = config_file;
    config.supervised = service::resolve(config.supervised);
    // As Redis: a supervised server stays in the foreground.
    let background =
        config.daemonize && matches!(config.supervised, Supervised::No | Supervised::Auto);
    let daemon = match (background, service::is_daemon_child()) {
        (true, false) => {
            Daemon::spawn(&all_args, &cwd).context("can't start in the background")?;
            return Ok(());
        }
        (true, true) => Some(Daemon::detach().context("can't start a new session")?),
        (false, _) => None,
    };
    let in_background = daemon.is_some();
    init_logging(&config, in_background)?;
    let service = Service::start(&config, daemon);
    // Commands run on one thread, in arrival order (see runtime.rs); the
    // `io-threads` writer pool is started by `serve`.
    let served = respub_broker::runtime::commands()
        .context("could not start the runtime")?
        .block_on(serve(config, warnings, service));
    if let (Err(err), true) = (&served, in_background) {
        // Standard error is /dev/null in the background: the log says why.
        tracing::error!("{err:#}");
    }
    served
}

async fn serve(config: Config, warnings: Vec<String>, mut service: Service) -> anyhow::Result<()> {
    for warning in warnings {
        tracing::warn!("{warning}");
    }

    // Certificates are read before anything is bound, so that a bad file
    // stops the server before it has served anyone.
    let acceptor = (config.tls_port != 0)
        .then(|| Acceptor::from_config(&config))
        .transpose()
        .context("can't set up TLS")?;
    let mut listeners = Vec::new();
    if config.port != 0 {
        listeners.extend(
            bind_all(&config.bind, config.port)?
                .into_iter()
                .map(Listener::Tcp),
        );
    }
    if let Some(acceptor) = acceptor {
        let secure = bind_all(&config.bind, config.tls_port)?;
        listeners.extend(
            secure
                .into_iter()
                .map(|l| Listener::Tls(l, acceptor.clone())),
        );
    }
    if let Some(path) = &config.unixsocket {
        let _ = std::fs::remove_file(path);
        let l = tokio::net::UnixListener::bind(path)
            .with_context(|| format!("could not bind {}", path.display()))?;
        if config.unixsocketperm != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(config.unixsocketperm))?;
        }
        listeners.push(Listener::Unix(l));
    }
    if listeners.is_empty() {
        bail!("nothing to listen on: set a port or tls-port and a bind address, or a unixsocket");
    }

    // SIGINT (Ctrl-C) and SIGTERM (systemd, container runtimes) both stop
    // the server gracefully: queued output is flushed before exit.
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("could not install the SIGTERM handler")?;
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = sigterm.recv() => {}
        }
    };
    let unixsocket = config.unixsocket.clone();
    service.ready();
    let served = respub_broker::serve(listeners, config, shutdown).await;
    service.stopped();
    if let Some(path) = unixsocket {
        let _ = std::fs::remove_file(path);
    }
    served?;
    Ok(())
}
