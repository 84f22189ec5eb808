//! `respub-server`: reads the configuration the way redis-server does, sets
//! up logging, binds, and runs until SIGINT, SIGTERM or SHUTDOWN.
//!
//! ```text
//! respub-server [/path/to/redis.conf] [--directive value ...]
//! ```

use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt;

use anyhow::{Context, bail};
use respub_broker::config::tracing_filter;
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
tls-protocols. Data and persistence directives (save, appendonly, maxmemory,
...) and OpenSSL tuning (tls-ciphers, ...) are accepted and ignored with a
warning.";

/// Binds one `bind` address as redis-server does: `*` is every IPv4
/// address, `::*` every IPv6 one, a leading `-` makes the address optional,
/// and IPv6 sockets are v6-only so that `0.0.0.0` and `::` can share a port.
fn bind_tcp(spec: &str, port: u16) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    let (optional, host) = match spec.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, spec),
    };
    let ip: IpAddr = match host {
        "*" => "0.0.0.0".parse()?,
        "::*" => "::".parse()?,
        other => other
            .parse()
            .with_context(|| format!("invalid bind address '{other}'"))?,
    };
    let addr = SocketAddr::new(ip, port);
    let bound = (|| -> std::io::Result<std::net::TcpListener> {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )?;
        socket.set_reuse_address(true)?;
        if ip.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.bind(&addr.into())?;
        socket.listen(511)?;
        socket.set_nonblocking(true)?;
        Ok(socket.into())
    })();
    match bound {
        Ok(listener) => Ok(Some(tokio::net::TcpListener::from_std(listener)?)),
        Err(err) if optional => {
            tracing::warn!(%addr, %err, "could not bind an optional address; skipping it");
            Ok(None)
        }
        Err(err) => Err(err).with_context(|| format!("could not bind {addr}")),
    }
}

/// Logs to standard output or `logfile`, at `loglevel`; the filter sits
/// behind a reload handle so that `CONFIG SET loglevel` takes effect.
fn init_logging(config: &Config) -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, fmt, reload};
    let (filter, handle) = reload::Layer::new(EnvFilter::new(tracing_filter(&config.loglevel)));
    respub_broker::config::on_loglevel_change(move |level| {
        let _ = handle.modify(|f| *f = EnvFilter::new(tracing_filter(level)));
    });
    let registry = tracing_subscriber::registry().with(filter);
    if config.logfile.is_empty() {
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
        Some(first) if !first.starts_with("--") => Some(std::path::PathBuf::from(args.remove(0))),
        _ => None,
    };
    let text = match &file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("can't open config file '{}'", path.display()))?,
        None => String::new(),
    };
    let (mut config, warnings) = match Config::load(&text, &args) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(1);
        }
    };
    config.config_file = file.map(|p| std::fs::canonicalize(&p).unwrap_or(p));
    init_logging(&config)?;
    // Commands run on one thread, in arrival order (see runtime.rs); the
    // `io-threads` writer pool is started by `serve`.
    respub_broker::runtime::commands()
        .context("could not start the runtime")?
        .block_on(serve(config, warnings))
}

async fn serve(config: Config, warnings: Vec<String>) -> anyhow::Result<()> {
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
        for spec in &config.bind {
            if let Some(l) = bind_tcp(spec, config.port)? {
                listeners.push(Listener::Tcp(l));
            }
        }
    }
    if let Some(acceptor) = acceptor {
        for spec in &config.bind {
            if let Some(l) = bind_tcp(spec, config.tls_port)? {
                listeners.push(Listener::Tls(l, acceptor.clone()));
            }
        }
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
    respub_broker::serve(listeners, config, shutdown).await?;
    if let Some(path) = unixsocket {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}
