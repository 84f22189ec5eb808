//! The four Sentinel-aware client libraries, each as a subscriber plus a
//! publisher behind one line protocol: `READY`, `MESSAGE <payload>`,
//! `PUBLISHED <payload> <receivers>`, `PUBLISH-FAILED <payload> <error>` and
//! `EVENT <ms> <what>` lines out, `PUBLISH <payload>` lines in. ioredis,
//! node-redis 5 and redis-py run as processes (`tests/interop/`); fred runs
//! on a thread of this test.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fred::clients::SubscriberClient;
use fred::prelude::*;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// The channel every subscriber listens on.
pub(crate) const CHANNEL: &str = "news";

/// One library's subscriber and publisher.
pub(crate) struct Client {
    pub(crate) lib: &'static str,
    lines: mpsc::Receiver<String>,
    input: Option<UnboundedSender<String>>,
    /// Every line received so far, with when it arrived.
    pub(crate) log: Vec<(Instant, String)>,
    started: Instant,
    child: Option<Child>,
}

impl Client {
    /// Starts `lib` (`ioredis`, `node-redis-5`, `redis-py` or `fred`)
    /// against the sentinels on `sentinels`.
    pub(crate) fn start(lib: &'static str, sentinels: &[u16]) -> Self {
        let ports: Vec<String> = sentinels.iter().map(u16::to_string).collect();
        let ports = ports.join(",");
        let (out, lines) = mpsc::channel();
        let (input, commands) = unbounded_channel();
        let child = match lib {
            "fred" => {
                let url = fred_url(sentinels);
                std::thread::spawn(move || fred_client(&url, &out, commands));
                None
            }
            "redis-py" => Some(spawn(
                Command::new(python()).args(["python/sentinel_client.py", "--sentinels", &ports]),
                out,
                commands,
            )),
            _ => Some(spawn(
                node().args([
                    "node/sentinel_client.mjs",
                    "--lib",
                    lib,
                    "--sentinels",
                    &ports,
                ]),
                out,
                commands,
            )),
        };
        Self {
            lib,
            lines,
            input: Some(input),
            log: Vec::new(),
            started: Instant::now(),
            child,
        }
    }

    /// Records the lines that arrive within `wait` (at least the first one
    /// that does), then whatever else is already there.
    pub(crate) fn drain(&mut self, wait: Duration) {
        if let Ok(line) = self.lines.recv_timeout(wait) {
            self.log.push((Instant::now(), line));
        }
        while let Ok(line) = self.lines.try_recv() {
            self.log.push((Instant::now(), line));
        }
    }

    /// When the first line starting with `prefix` arrived.
    pub(crate) fn first(&self, prefix: &str) -> Option<Instant> {
        self.log
            .iter()
            .find(|(_, l)| l.starts_with(prefix))
            .map(|(at, _)| *at)
    }

    /// Asks the library's publisher to publish `payload`.
    pub(crate) fn publish(&self, payload: &str) {
        if let Some(input) = &self.input {
            let _ = input.send(format!("PUBLISH {payload}"));
        }
    }

    /// The log as text, times from the client's start, for a failure
    /// message or the test's output; a run of lines of the same kind (the
    /// same event, or messages) is shown as its first and last line.
    pub(crate) fn transcript(&self) -> String {
        let mut out = format!("--- {}\n", self.lib);
        let mut run: Vec<String> = Vec::new();
        for (at, line) in &self.log {
            let ms = at.saturating_duration_since(self.started).as_millis();
            let line = format!("{ms:>6} ms  {line}");
            if run.first().is_some_and(|first| kind(first) != kind(&line)) {
                flush(&mut out, &mut run);
            }
            run.push(line);
        }
        flush(&mut out, &mut run);
        out
    }
}

/// A line without its times and numbers: what a run of lines shares.
fn kind(line: &str) -> String {
    line.split_whitespace()
        .skip(2)
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
        .map(|w| w.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-'))
        .collect::<Vec<_>>()
        .join(" ")
}

fn flush(out: &mut String, run: &mut Vec<String>) {
    if let (Some(first), Some(last)) = (run.first(), run.last()) {
        out.push_str(first);
        out.push('\n');
        if run.len() > 1 {
            out.push_str(&format!("    ({} like it up to)\n{last}\n", run.len() - 1));
        }
    }
    run.clear();
}

impl Drop for Client {
    fn drop(&mut self) {
        // Closing the input ends the scripts and fred's thread.
        self.input = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("interop")
}

fn node() -> Command {
    assert!(
        interop_dir().join("node").join("node_modules").is_dir(),
        "node packages missing: run `npm ci --prefix broker/tests/interop/node` (./scripts/test does)"
    );
    Command::new("node")
}

fn python() -> String {
    std::env::var("RESPUB_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Runs a script with its stdout lines sent to `out` and `commands`
/// written to its stdin.
fn spawn(
    cmd: &mut Command,
    out: mpsc::Sender<String>,
    mut commands: UnboundedReceiver<String>,
) -> Child {
    let mut child = cmd
        .args(["--channel", CHANNEL])
        .current_dir(interop_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node or the interop Python (RESPUB_PYTHON)");
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = out.send(line);
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        while let Some(line) = commands.blocking_recv() {
            if writeln!(stdin, "{line}").is_err() {
                return;
            }
        }
    });
    child
}

/// fred's Sentinel URL naming every sentinel.
fn fred_url(sentinels: &[u16]) -> String {
    let name = crate::common::sentinel::NAME;
    let mut url = String::from("redis-sentinel://");
    let (first, rest) = sentinels.split_first().unwrap();
    url.push_str(&format!("127.0.0.1:{first}/0?sentinelServiceName={name}"));
    for port in rest {
        url.push_str(&format!("&node=127.0.0.1:{port}"));
    }
    url
}

/// fred 10 as its documentation has a subscriber: a `SubscriberClient`
/// whose `manage_subscriptions` resubscribes after every reconnection, and
/// a `Client` for PUBLISH, both with fred's default reconnect policy.
fn fred_client(url: &str, out: &mpsc::Sender<String>, commands: UnboundedReceiver<String>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = Config::from_url(url).unwrap();
        let mut builder = Builder::from_config(config);
        builder.set_policy(ReconnectPolicy::default());
        let sub = builder.build_subscriber_client().unwrap();
        let publ = builder.build().unwrap();
        sub.init().await.unwrap();
        publ.init().await.unwrap();
        let _managed = sub.manage_subscriptions();
        let started = Instant::now();
        tokio::spawn(fred_events(sub.clone(), out.clone(), started));
        let mut messages = sub.message_rx();
        sub.subscribe(CHANNEL).await.unwrap();
        let _ = out.send("READY".to_owned());
        let forward = out.clone();
        tokio::spawn(async move {
            while let Ok(message) = messages.recv().await {
                let text = message.value.as_string().unwrap_or_default();
                let _ = forward.send(format!("MESSAGE {text}"));
            }
        });
        fred_publish(&publ, out, commands).await;
    });
}

async fn fred_events(sub: SubscriberClient, out: mpsc::Sender<String>, started: Instant) {
    let mut reconnects = sub.reconnect_rx();
    let mut errors = sub.error_rx();
    loop {
        let what = tokio::select! {
            server = reconnects.recv() => match server {
                Ok(server) => format!("subscriber connected to {server}"),
                Err(_) => return,
            },
            error = errors.recv() => match error {
                Ok((error, _)) => format!("subscriber error {error}"),
                Err(_) => return,
            },
        };
        let ms = started.elapsed().as_millis();
        let _ = out.send(format!("EVENT {ms} {what}"));
    }
}

async fn fred_publish(
    publ: &fred::prelude::Client,
    out: &mpsc::Sender<String>,
    mut commands: UnboundedReceiver<String>,
) {
    while let Some(line) = commands.recv().await {
        let payload = line.trim_start_matches("PUBLISH ").to_owned();
        let reply = match publ.publish::<i64, _, _>(CHANNEL, payload.as_str()).await {
            Ok(n) => format!("PUBLISHED {payload} {n}"),
            Err(e) => format!("PUBLISH-FAILED {payload} {e}"),
        };
        let _ = out.send(reply);
    }
}
