//! A master that only emits, and the workers that serve the clients.
//!
//! The master accepts no connections: it publishes a `data` event every second with
//! [`respub_socketio::Emitter`], and every worker's adapter delivers it to that worker's own
//! clients, so each client gets each tick once, however many workers there are.
//!
//! ```text
//! cargo run -p respub-socketio --example emit_master -- worker --port 3001
//! cargo run -p respub-socketio --example emit_master -- worker --port 3002
//! cargo run -p respub-socketio --example emit_master -- master
//! ```
//!
//! Connect any Socket.IO client to either worker and listen for `data`
//! (`{seq, from: "master", at}` with `at` in Unix milliseconds). Options: `--redis URL`
//! (default `redis://127.0.0.1:6379`), `--prefix` (default `socket.io`),
//! `--interval-ms` (default 1000), `--ticks N` (stop after N ticks; default never).
//!
//! The anti-pattern, for comparison: `worker --emit` makes each worker call `io.emit`
//! every interval itself. `io.emit` already reaches every client of the cluster, so with
//! N such workers each client receives N copies per interval (`from` names the worker).
//! Node's answer is the same: emit from one place (an emitter, or one elected worker).
#![allow(missing_docs)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use respub_socketio::{Cluster, Config, Emitter, EmitterError, FredDriver, RespubAdapter};
use serde_json::{Value as Json, json};
use socketioxide::{SocketIo, adapter::Emitter as LocalEmitter, extract::SocketRef};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Io = SocketIo<RespubAdapter<LocalEmitter>>;

/// The payload of tick `seq` sent by `from`.
pub fn payload(seq: u64, from: &str) -> Json {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    json!({"seq": seq, "from": from, "at": at})
}

/// Calls `tick(1)`, `tick(2)`... every `interval` (the first at once), `ticks` times or
/// forever; stops at the first error.
pub async fn every<F, Fut, E>(interval: Duration, ticks: Option<u64>, mut tick: F) -> Result<(), E>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
{
    let mut timer = tokio::time::interval(interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seq = 0;
    while ticks.is_none_or(|n| seq < n) {
        timer.tick().await;
        seq += 1;
        tick(seq).await?;
    }
    Ok(())
}

/// The master's tick: one publication, delivered by every worker to its own clients.
///
/// # Errors
/// Fails when the broker cannot be reached.
pub async fn master_tick(emitter: &Emitter<FredDriver>, seq: u64) -> Result<(), EmitterError> {
    emitter
        .emit("data", &payload(seq, "master"))
        .await
        .map(|_| ())
}

/// The anti-pattern's tick, on one worker: `io.emit` reaches every client of the cluster.
///
/// # Errors
/// Fails when the broadcast fails.
pub async fn worker_tick(io: &Io, name: &str, seq: u64) -> Result<(), BoxError> {
    io.emit("data", &payload(seq, name))
        .await
        .map_err(|e| e.to_string().into())
}

/// Starts a worker on `listener`: a Socket.IO server whose clients only listen. Returns
/// once its adapter is subscribed; the server runs in the background.
///
/// # Errors
/// Fails when the Redis connection or the namespace set-up fails.
pub async fn worker(
    listener: tokio::net::TcpListener,
    redis: &str,
    prefix: &str,
) -> Result<Io, BoxError> {
    let driver = FredDriver::connect(redis).await?;
    let cluster = Cluster::new(driver, Config::default().with_prefix(prefix));
    let (svc, io) = SocketIo::builder()
        .with_adapter::<RespubAdapter<_>>(cluster)
        .build_svc();
    io.ns("/", async |_: SocketRef<RespubAdapter<LocalEmitter>>| {})
        .await?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let svc = svc.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .with_upgrades()
                    .await;
            });
        }
    });
    Ok(io)
}

struct Args {
    role: String,
    port: u16,
    redis: String,
    prefix: String,
    interval: Duration,
    ticks: Option<u64>,
    emit: bool,
}

fn parse_args() -> Result<Args, BoxError> {
    let mut args = std::env::args().skip(1);
    let role = args.next().unwrap_or_default();
    let mut out = Args {
        role,
        port: 3001,
        redis: "redis://127.0.0.1:6379".to_owned(),
        prefix: "socket.io".to_owned(),
        interval: Duration::from_secs(1),
        ticks: None,
        emit: false,
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--port" => out.port = value()?.parse()?,
            "--redis" => out.redis = value()?,
            "--prefix" => out.prefix = value()?,
            "--interval-ms" => out.interval = Duration::from_millis(value()?.parse()?),
            "--ticks" => out.ticks = Some(value()?.parse()?),
            "--emit" => out.emit = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(out)
}

const USAGE: &str = "emit_master master [--redis URL] [--prefix P] [--interval-ms 1000] [--ticks N]\n\
                     emit_master worker [--port 3001] [--redis URL] [--prefix P] [--emit [--interval-ms 1000] [--ticks N]]";

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = parse_args()?;
    match args.role.as_str() {
        "master" => {
            let emitter =
                Emitter::new(FredDriver::connect(&args.redis).await?).with_prefix(&args.prefix);
            every(args.interval, args.ticks, |seq| master_tick(&emitter, seq)).await?;
        }
        "worker" => {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
            let io = worker(listener, &args.redis, &args.prefix).await?;
            println!("worker listening on http://127.0.0.1:{}/", args.port);
            if args.emit {
                let name = format!("worker:{}", args.port);
                every(args.interval, args.ticks, |seq| {
                    worker_tick(&io, &name, seq)
                })
                .await?;
            }
            std::future::pending::<()>().await;
        }
        _ => println!("{USAGE}"),
    }
    Ok(())
}
