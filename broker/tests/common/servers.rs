//! The servers under test: respub in-process, the respub-server binary and a
//! real redis-server, each started on a free port and stopped on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;

use respub_broker::Listener;

use super::wait::GUARD;

/// respub running in-process on 127.0.0.1 and a free port.
pub struct TestServer {
    pub port: u16,
    /// The port of every TCP and TLS listener, in the order given.
    pub ports: Vec<u16>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(respub_broker::Config::default())
    }

    pub fn start_with(config: respub_broker::Config) -> Self {
        Self::start_on(config, || vec![Listener::Tcp(tcp_listener("127.0.0.1:0"))])
    }

    /// respub serving the listeners `make` returns (called inside the
    /// server's runtime); `port` is the first TCP or TLS listener's.
    pub fn start_on(
        config: respub_broker::Config,
        make: impl FnOnce() -> Vec<Listener> + Send + 'static,
    ) -> Self {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (port_tx, port_rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            // The binary's runtime, so that requests from different
            // connections run in arrival order here too.
            let rt = respub_broker::runtime::commands().unwrap();
            rt.block_on(async move {
                let listeners = make();
                let ports: Vec<u16> = listeners
                    .iter()
                    .filter_map(|l| match l {
                        Listener::Tcp(l) | Listener::Tls(l, _) => {
                            Some(l.local_addr().unwrap().port())
                        }
                        Listener::Unix(_) => None,
                    })
                    .collect();
                port_tx.send(ports).unwrap();
                respub_broker::serve(listeners, config, async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
            });
        });
        let ports = port_rx.recv_timeout(GUARD).expect("respub did not bind");
        Self {
            port: ports.first().copied().unwrap_or(0),
            ports,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Stops the server and waits until `run` has returned.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A tokio listener on `addr`, for [`TestServer::start_on`] (call it inside
/// the server's runtime).
pub fn tcp_listener(addr: &str) -> tokio::net::TcpListener {
    let std = std::net::TcpListener::bind(addr).unwrap();
    std.set_nonblocking(true).unwrap();
    tokio::net::TcpListener::from_std(std).unwrap()
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// `respub-server` (the binary) with `args`, once it reported readiness;
/// killed on drop unless [`Binary::stop`] stopped it.
pub struct Binary(pub Option<Child>);

impl Binary {
    pub fn start(args: &[&str]) -> Self {
        Self::start_logged(args).0
    }

    /// Also returns every line the server logs to standard output after
    /// its readiness line.
    pub fn start_logged(args: &[&str]) -> (Self, mpsc::Receiver<String>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_respub-server"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let (lines_tx, lines_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("ready to accept connections") {
                    let _ = tx.send(());
                } else {
                    let _ = lines_tx.send(line);
                }
            }
        });
        rx.recv_timeout(GUARD)
            .expect("respub-server did not report readiness");
        (Self(Some(child)), lines_rx)
    }

    pub fn pid(&self) -> u32 {
        self.0.as_ref().unwrap().id()
    }

    /// Sends `signal` (`-TERM`, `-INT`) and returns the exit status.
    pub fn stop(mut self, signal: &str) -> std::process::ExitStatus {
        let mut child = self.0.take().unwrap();
        let _ = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status();
        child.wait().unwrap()
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The arguments every redis-server of the tests starts with after its
/// port: loopback only, never saving, logging to standard output, in the
/// foreground. A respub started with them too answers CONFIG GET alike.
pub const REDIS_ARGS: &[&str] = &[
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--logfile",
    "",
    "--daemonize",
    "no",
];

/// Waits for `child` (a redis-server logging to standard output) to say it
/// is ready; `Err` with what it printed when it exits or stays silent first.
pub fn wait_ready(child: &mut Child) -> Result<(), String> {
    let Some(stdout) = child.stdout.take() else {
        return Err("no standard output to read".into());
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("Ready to accept connections") {
                let _ = tx.send(Ok(()));
                // Keep reading, so that the server never blocks on a full pipe.
                seen.clear();
                continue;
            }
            seen.push(line);
        }
        let _ = tx.send(Err(seen.join("\n")));
    });
    match rx.recv_timeout(GUARD) {
        Ok(ready) => ready,
        Err(_) => Err(format!("no readiness line within {GUARD:?}")),
    }
}

/// A real redis-server, killed on drop.
pub struct RedisServer {
    pub port: u16,
    pub version: String,
    child: Child,
    _dir: tempfile::TempDir,
}

/// The lowest port [`free_port`] hands out.
const FIRST_PORT: u16 = 10_000;

/// A port free on 127.0.0.1 a moment ago, for a server that must be told
/// its port before it binds.
///
/// Not one the kernel picks for port 0: those come from the ephemeral
/// range, from which every outgoing connection also takes its local port,
/// and an open connection on the port makes the server's bind fail with
/// "Address already in use" (seen here: redis-server exiting before it was
/// ready while other tests made thousands of connections). Below that
/// range only servers bind; a counter from a random start keeps this
/// process's ports apart.
pub fn free_port() -> u16 {
    static NEXT: std::sync::OnceLock<std::sync::atomic::AtomicU32> = std::sync::OnceLock::new();
    let below = ephemeral_low().max(FIRST_PORT + 1);
    let span = u32::from(below - FIRST_PORT);
    let next = NEXT.get_or_init(|| rand::random_range(0..span).into());
    for _ in 0..span {
        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = FIRST_PORT + u16::try_from(n % span).unwrap();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {FIRST_PORT} and {below}");
}

/// The first port of the kernel's ephemeral range (Linux's default when
/// it cannot be read).
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Self {
        let port = free_port();
        // Its own working directory: a replica writes the RDB it receives
        // there (as `dump.rdb`), never into the source tree.
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("redis-server")
            .current_dir(dir.path())
            .args(["--port", &port.to_string()])
            .args(REDIS_ARGS)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "redis-server is not installed: run the README's test command, which installs it",
            );
        if let Err(log) = wait_ready(&mut child) {
            panic!("redis-server did not become ready: {log}");
        }
        // From the binary, not from INFO: a server with requirepass refuses INFO.
        let out = Command::new("redis-server")
            .arg("--version")
            .output()
            .unwrap();
        let version = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .find_map(|w| w.strip_prefix("v="))
            .unwrap_or("")
            .to_owned();
        Self {
            port,
            version,
            child,
            _dir: dir,
        }
    }

    /// Whether this is Debian's 7.0 line, whose known differences apply.
    pub fn is_7_0(&self) -> bool {
        self.version.starts_with("7.0.")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
