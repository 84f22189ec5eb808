//! `respub-server`: parses flags, sets up logging, binds, and runs.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use respub_broker::Config;

/// A Redis-protocol pub/sub broker.
#[derive(Debug, Parser)]
#[command(name = "respub-server", version, about)]
struct Args {
    /// TCP port to listen on.
    #[arg(long, default_value_t = 6379)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// Maximum number of connected clients.
    #[arg(long, default_value_t = 10_000)]
    maxclients: usize,
    /// Log level: debug, verbose, notice or warning (Redis' names), or a
    /// tracing filter.
    #[arg(long, default_value = "notice")]
    loglevel: String,
}

fn filter(level: &str) -> String {
    match level {
        "debug" => "debug".into(),
        "verbose" => "info".into(),
        "notice" => "info".into(),
        "warning" => "warn".into(),
        other => other.into(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter(&args.loglevel)))
        .init();
    let addr: SocketAddr = format!("{}:{}", args.bind, args.port)
        .parse()
        .with_context(|| format!("invalid --bind/--port: {}:{}", args.bind, args.port))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("could not bind {addr}"))?;
    let config = Config {
        maxclients: args.maxclients,
        ..Config::default()
    };
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
    respub_broker::run(listener, config, shutdown).await?;
    Ok(())
}
