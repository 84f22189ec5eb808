//! respub-server as a service, started the way Debian starts redis-server:
//! with Debian's own redis.conf (`fixtures/debian-redis.conf`), in the
//! background (`daemonize yes`: the parent exits 0, the pidfile names the
//! child, the log file fills, SIGTERM removes the pidfile), under systemd
//! (`supervised systemd`: READY=1, then STOPPING=1, on `NOTIFY_SOCKET`),
//! and with `include` and `dir`. Every test runs redis-server the same way
//! and compares what a client and the supervisor see.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Conn, GUARD, eventually, free_port};

const RESPUB: &str = env!("CARGO_BIN_EXE_respub-server");
const DEBIAN_CONF: &str = include_str!("fixtures/debian-redis.conf");

/// Debian's file in `dir`, unchanged but for its `dir` line: Redis changes
/// directory when it reads that line, so `/var/lib/redis` would have to
/// exist even though an option overrides it later.
fn debian_conf(dir: &Path) -> PathBuf {
    let text = DEBIAN_CONF.replace(
        "\ndir /var/lib/redis\n",
        &format!("\ndir {}\n", dir.display()),
    );
    assert_ne!(text, DEBIAN_CONF, "the fixture's dir line moved");
    let path = dir.join("redis.conf");
    std::fs::write(&path, text).unwrap();
    path
}

/// A server started in the background; killed on drop if a test failed
/// before stopping it.
struct Daemon {
    pid: u32,
    port: u16,
    pidfile: PathBuf,
}

impl Daemon {
    /// Runs `program args...` in `cwd` with `--port`, `--pidfile` and
    /// `--logfile` in `cwd` appended; the parent must exit 0, then the
    /// pidfile names the server, which accepts clients.
    fn start(program: &str, cwd: &Path, args: &[&str]) -> Self {
        let port = free_port();
        let pidfile = cwd.join("server.pid");
        let mut status = Command::new(program);
        status
            .current_dir(cwd)
            .args(args)
            .args(["--port", &port.to_string()])
            .arg("--pidfile")
            .arg(&pidfile)
            .arg("--logfile")
            .arg(cwd.join("server.log"));
        let status = Foreground::spawn(&mut status).exit_status();
        assert!(
            status.success(),
            "{program}: the parent exited with {status}"
        );
        let mut pid = None;
        eventually(|| {
            pid = std::fs::read_to_string(&pidfile)
                .ok()
                .and_then(|t| t.strip_suffix('\n')?.parse().ok());
            pid.is_some()
        });
        eventually(|| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        Self {
            pid: pid.unwrap(),
            port,
            pidfile,
        }
    }

    /// Its session: a daemon leads a session of its own.
    fn session(&self) -> u32 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap();
        let after_name = stat.rsplit_once(')').unwrap().1;
        after_name
            .split_whitespace()
            .nth(3)
            .unwrap()
            .parse()
            .unwrap()
    }

    /// SIGTERM, then waits until the process is gone.
    fn stop(self) {
        let proc = PathBuf::from(format!("/proc/{}", self.pid));
        kill("-TERM", self.pid);
        eventually(|| !proc.exists() || is_zombie(&proc));
        std::mem::forget(self);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        kill("-KILL", self.pid);
    }
}

/// A child process, killed on drop, so that a server which stays in the
/// foreground when it should not fails the test instead of hanging it.
struct Foreground(std::process::Child);

impl Foreground {
    fn spawn(command: &mut Command) -> Self {
        Self(command.spawn().unwrap())
    }

    /// Waits (up to [`GUARD`]) for the process to exit.
    fn exit_status(mut self) -> std::process::ExitStatus {
        let mut status = None;
        eventually(|| {
            status = self.0.try_wait().unwrap();
            status.is_some()
        });
        status.unwrap()
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kill(signal: &str, pid: u32) {
    let _ = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status();
}

fn is_zombie(proc: &Path) -> bool {
    std::fs::read_to_string(proc.join("stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// What a client and the file system see of a server started from Debian's
/// file in the background, with the temporary directory masked.
fn debian_daemon(program: &str) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let conf = debian_conf(&dir);
    let server = Daemon::start(
        program,
        &dir,
        &[conf.to_str().unwrap(), "--dir", dir.to_str().unwrap()],
    );
    assert_eq!(
        server.session(),
        server.pid,
        "{program}: not a session leader"
    );
    let mut c = Conn::connect(server.port);
    let mut seen: Vec<Vec<u8>> = vec![c.call(&["PING"])];
    for name in [
        "daemonize",
        "pidfile",
        "logfile",
        "dir",
        "supervised",
        "bind",
    ] {
        seen.push(c.call(&["CONFIG", "GET", name]));
    }
    let mut sub = Conn::connect(server.port);
    seen.push(sub.call(&["SUBSCRIBE", "debian"]));
    seen.push(c.call(&["PUBLISH", "debian", "hello"]));
    seen.push(sub.frame().unwrap().raw);
    let info = String::from_utf8(c.call(&["INFO", "server"])).unwrap();
    assert!(
        info.contains(&format!("process_id:{}\r\n", server.pid)),
        "{info}"
    );
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    assert!(log.lines().count() > 0, "{program}: nothing logged");
    let pidfile = server.pidfile.clone();
    server.stop();
    assert!(
        !pidfile.exists(),
        "{program}: the pidfile outlived the server"
    );
    let masked = dir.display().to_string();
    seen.iter()
        .map(|bytes| {
            let text = String::from_utf8_lossy(bytes).replace(&masked, "<tmp>");
            // Lengths of bulks that hold the path differ with it.
            text.split("\r\n")
                .filter(|part| !part.starts_with('$'))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

#[test]
fn debian_redis_conf_in_the_background_as_redis_server() {
    assert_eq!(debian_daemon(RESPUB), debian_daemon("redis-server"));
}

/// The datagrams a server sends to `NOTIFY_SOCKET` when started as
/// Debian's unit starts it (`--supervised systemd --daemonize no`), asked
/// for INFO once ready, then sent SIGTERM; with what INFO said.
fn under_systemd(program: &str) -> (Vec<String>, bool) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let conf = debian_conf(&dir);
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(GUARD)).unwrap();
    let port = free_port();
    let child = Foreground::spawn(
        Command::new(program)
            .current_dir(&dir)
            .arg(&conf)
            .args(["--supervised", "systemd", "--daemonize", "no"])
            .args(["--port", &port.to_string(), "--dir", dir.to_str().unwrap()])
            .arg("--logfile")
            .arg(dir.join("server.log"))
            .arg("--pidfile")
            .arg(dir.join("server.pid"))
            .env("NOTIFY_SOCKET", &socket_path),
    );
    let mut states = Vec::new();
    let mut until = |last: &str| {
        let mut buf = [0u8; 512];
        loop {
            let n = socket.recv(&mut buf).expect("no notification");
            let state = String::from_utf8_lossy(&buf[..n]).into_owned();
            states.push(state.clone());
            if state == last {
                return;
            }
        }
    };
    until("READY=1\n");
    let info = String::from_utf8(Conn::connect(port).call(&["INFO", "server"])).unwrap();
    kill("-TERM", child.0.id());
    until("STOPPING=1\n");
    assert!(child.exit_status().success(), "{program} did not exit 0");
    (states, info.contains("process_supervised:systemd\r\n"))
}

#[test]
fn supervised_systemd_notifies_ready_then_stopping_as_redis_server() {
    let ours = under_systemd(RESPUB);
    assert!(ours.1, "INFO does not say process_supervised:systemd");
    assert_eq!(ours, under_systemd("redis-server"));
}

/// `include` (a glob, then a path relative to the directory a `dir` line
/// moved to) and `dir`, as CONFIG GET shows them.
fn includes(program: &str) -> Vec<Vec<u8>> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("a.conf"), "maxclients 77\n").unwrap();
    std::fs::write(sub.join("b.conf"), "timeout 9\n").unwrap();
    std::fs::write(sub.join("c.conf"), "maxclients 78\n").unwrap();
    // A wildcard in a directory part too, as glob(3) allows; a hidden
    // directory is not matched by `*`.
    for (more, keepalive) in [("more1", 100), ("more2", 200), (".more3", 300)] {
        std::fs::create_dir(dir.join(more)).unwrap();
        std::fs::write(
            dir.join(more).join("x.conf"),
            format!("tcp-keepalive {keepalive}\n"),
        )
        .unwrap();
    }
    let main = format!(
        "daemonize yes\nsave \"\"\ninclude sub/*.conf\ninclude *more*/x.conf\ndir {}\ninclude b.conf\ninclude nothing-*.conf\n",
        sub.display()
    );
    std::fs::write(dir.join("main.conf"), main).unwrap();
    let server = Daemon::start(program, &dir, &["main.conf"]);
    let mut c = Conn::connect(server.port);
    let mut seen = Vec::new();
    for name in ["maxclients", "timeout", "tcp-keepalive"] {
        seen.push(c.call(&["CONFIG", "GET", name]));
    }
    let shown = String::from_utf8(c.call(&["CONFIG", "GET", "dir"])).unwrap();
    assert!(
        shown.ends_with(&format!("{}\r\n", sub.display())),
        "{shown}"
    );
    server.stop();
    seen
}

#[test]
fn include_and_dir_as_redis_server() {
    let ours = includes(RESPUB);
    assert_eq!(ours[0], b"*2\r\n$10\r\nmaxclients\r\n$2\r\n78\r\n");
    assert_eq!(ours[2], b"*2\r\n$13\r\ntcp-keepalive\r\n$3\r\n200\r\n");
    assert_eq!(ours, includes("redis-server"));
}

#[test]
fn a_missing_include_is_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("main.conf");
    std::fs::write(&conf, "include /nonexistent/respub.conf\n").unwrap();
    let mut command = Command::new(RESPUB);
    command
        .arg(&conf)
        .args(["--port", &free_port().to_string()])
        .stderr(std::process::Stdio::piped());
    let mut server = Foreground::spawn(&mut command);
    let mut stderr = server.0.stderr.take().unwrap();
    assert_eq!(server.exit_status().code(), Some(1));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
    assert!(
        err.contains(
            "can't open config file '/nonexistent/respub.conf': No such file or directory"
        ),
        "{err}"
    );
}

#[test]
fn supervised_auto_finds_an_abstract_notify_socket() {
    let name = format!("respub-test-{}-{}", std::process::id(), free_port());
    let addr =
        <std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(
            &name,
        )
        .unwrap();
    let socket = UnixDatagram::bind_addr(&addr).unwrap();
    socket.set_read_timeout(Some(GUARD)).unwrap();
    let port = free_port();
    let child = Foreground::spawn(
        Command::new(RESPUB)
            .args(["--port", &port.to_string(), "--supervised", "auto"])
            .env("NOTIFY_SOCKET", format!("@{name}")),
    );
    let mut buf = [0u8; 512];
    let mut states = Vec::new();
    while states.last().map(String::as_str) != Some("READY=1\n") {
        let n = socket.recv(&mut buf).expect("no notification");
        states.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let mut c = Conn::connect(port);
    assert_eq!(
        c.call(&["CONFIG", "GET", "supervised"]),
        b"*2\r\n$10\r\nsupervised\r\n$7\r\nsystemd\r\n"
    );
    c.send(&["SHUTDOWN"]);
    let n = socket.recv(&mut buf).expect("no STOPPING=1");
    assert_eq!(&buf[..n], b"STOPPING=1\n");
    assert!(child.exit_status().success());
}
