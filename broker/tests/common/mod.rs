//! Test harness: respub in-process on port 0, a real redis-server on a free
//! port, and a small blocking RESP client that reads whole frames.
//!
//! Waits are on signals (the server's bound port, redis-server's "Ready to
//! accept connections" line, a reply frame); the timeouts only turn a hang
//! into a failure.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

pub mod diff;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use respub_broker::Listener;

pub mod certs;

/// How long any single wait may take before the test fails.
pub const GUARD: Duration = Duration::from_secs(10);

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

/// Re-asks until `probe` holds (a condition on the server's replies); the
/// deadline only turns a hang into a failure.
pub fn eventually(mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + GUARD;
    while !probe() {
        assert!(
            Instant::now() < deadline,
            "condition not reached within {GUARD:?}"
        );
        std::thread::yield_now();
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

/// A real redis-server, killed on drop.
pub struct RedisServer {
    pub port: u16,
    pub version: String,
    child: Child,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Self {
        let port = free_port();
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--logfile", "", "--daemonize", "no"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "redis-server is not installed: run the README's test command, which installs it",
            );
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Ready to accept connections") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(GUARD)
            .expect("redis-server did not become ready");
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

/// Encodes a command as a RESP multibulk request.
pub fn encode_cmd<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A decoded RESP2 or RESP3 value (the test only needs to look inside
/// aggregates; the exact bytes are kept in [`Frame::raw`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `+`, `-`, `:`, `_`, `,`, `#`, `(`: the line after the type byte.
    Line(u8, Vec<u8>),
    /// `$` or `=`; `None` for `$-1`.
    Bulk(Option<Vec<u8>>),
    /// `*`, `>`, `~`, `%` (a map's pairs flattened); `None` for `*-1`.
    Agg(u8, Option<Vec<Value>>),
}

/// One decoded frame with its exact bytes.
#[derive(Debug, Clone)]
pub struct Frame {
    pub raw: Vec<u8>,
    pub value: Value,
}

impl Frame {
    /// The elements of an array or push.
    pub fn items(&self) -> Option<&[Value]> {
        match &self.value {
            Value::Agg(b'*' | b'>', Some(items)) => Some(items),
            _ => None,
        }
    }

    /// The first element of an array/push as text (the pub/sub kind).
    pub fn kind(&self) -> Option<String> {
        bulk_of(self.items()?.first()?).map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

pub fn bulk_of(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Bulk(Some(data)) => Some(data),
        _ => None,
    }
}

/// Parses one value at the start of `buf`: `Ok(None)` if incomplete.
pub fn parse_value(buf: &[u8]) -> Result<Option<(Value, usize)>, String> {
    let Some(cr) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let kind = *buf.first().ok_or("empty")?;
    let line = &buf[1..cr];
    let next = cr + 2;
    let num = || -> Result<i64, String> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad length {:?}", String::from_utf8_lossy(line)))
    };
    match kind {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {
            Ok(Some((Value::Line(kind, line.to_vec()), next)))
        }
        b'$' | b'=' => {
            let n = num()?;
            if n < 0 {
                return Ok(Some((Value::Bulk(None), next)));
            }
            let n = n as usize;
            if buf.len() < next + n + 2 {
                return Ok(None);
            }
            Ok(Some((
                Value::Bulk(Some(buf[next..next + n].to_vec())),
                next + n + 2,
            )))
        }
        b'*' | b'>' | b'~' | b'%' => {
            let n = num()?;
            if n < 0 {
                return Ok(Some((Value::Agg(kind, None), next)));
            }
            let count = if kind == b'%' { n * 2 } else { n } as usize;
            let mut items = Vec::with_capacity(count);
            let mut pos = next;
            for _ in 0..count {
                match parse_value(&buf[pos..])? {
                    Some((v, used)) => {
                        items.push(v);
                        pos += used;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Value::Agg(kind, Some(items)), pos)))
        }
        other => Err(format!("unknown RESP type byte {other:#x}")),
    }
}

/// A blocking client that reads whole frames, over TCP unless built with
/// [`Conn::over`] (a TLS stream, for instance).
pub struct Conn<S = TcpStream> {
    pub stream: S,
    buf: Vec<u8>,
    /// Start of unread data in `buf` (consumed bytes are dropped in bulk).
    pos: usize,
}

impl Conn {
    pub fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(GUARD)).unwrap();
        stream.set_nodelay(true).unwrap();
        Self::over(stream)
    }
}

impl<S: Read + Write> Conn<S> {
    /// A client over an already connected stream (reads must time out
    /// after [`GUARD`] for a missing reply to fail the test).
    pub fn over(stream: S) -> Self {
        Self {
            stream,
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// Writes `bytes`. A peer that closed the connection is not an error
    /// here: the next read reports the close, which is what tests check.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        match self.stream.write_all(bytes) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                ) => {}
            Err(e) => panic!("write failed: {e}"),
        }
    }

    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        let req = encode_cmd(args);
        self.send_raw(&req);
    }

    /// Reads one more chunk; false on EOF.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => false,
            Err(e) => panic!("read failed (no reply within {GUARD:?}?): {e}"),
        }
    }

    fn take_frame(&mut self) -> Option<Frame> {
        let unread = &self.buf[self.pos..];
        let (value, used) = parse_value(unread).expect("server sent invalid RESP")?;
        let raw = unread[..used].to_vec();
        self.pos += used;
        if self.pos == self.buf.len() || self.pos > 1 << 20 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        Some(Frame { raw, value })
    }

    /// Reads the next frame; `None` on EOF.
    pub fn frame(&mut self) -> Option<Frame> {
        loop {
            if let Some(f) = self.take_frame() {
                return Some(f);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Sends a command and returns the raw bytes of its one-frame reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        self.send(args);
        self.frame().expect("connection closed").raw
    }

    /// Reads until EOF, returning everything received.
    pub fn read_to_eof(&mut self) -> Vec<u8> {
        while self.fill() {}
        let rest = self.buf.split_off(self.pos);
        self.buf.clear();
        self.pos = 0;
        rest
    }

    /// Reads frames until `is_end` accepts one; returns the frames before it.
    pub fn frames_until(&mut self, mut is_end: impl FnMut(&Frame) -> bool) -> Option<Vec<Frame>> {
        let mut out = Vec::new();
        let deadline = Instant::now() + GUARD;
        loop {
            assert!(Instant::now() < deadline, "no end frame within {GUARD:?}");
            let f = self.frame()?;
            if is_end(&f) {
                return Some(out);
            }
            out.push(f);
        }
    }
}
