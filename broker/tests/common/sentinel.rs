//! A real Redis Sentinel deployment around respub-server binaries: nodes
//! that can be killed with SIGKILL and restarted on their port, and
//! `redis-sentinel` processes whose log lines the tests wait on.
//!
//! Sentinel's own clocks (down-after, the 8 s before it converts a
//! returning master, INFO every 10 s) make some waits longer than
//! [`GUARD`](super::GUARD); [`SLOW_GUARD`] bounds those.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Binary, Conn, Value, free_port};

/// The monitored master's name in every deployment.
pub const NAME: &str = "mymaster";

/// The deadline of a wait on Sentinel's timers.
pub const SLOW_GUARD: Duration = Duration::from_secs(60);

/// Re-asks until `probe` holds, pausing between attempts so that polling
/// does not take the CPU Sentinel and the nodes need; `what` names the
/// condition in the failure.
pub fn poll(what: &str, probe: impl FnMut() -> bool) {
    assert!(reached(probe), "not reached in {SLOW_GUARD:?}: {what}");
}

/// Whether `probe` came to hold before [`SLOW_GUARD`] passed.
pub fn reached(mut probe: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + SLOW_GUARD;
    while !probe() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// A respub-server binary on a fixed port with fixed arguments, so that it
/// can be killed and come back as the same node.
pub struct Node {
    pub port: u16,
    args: Vec<String>,
    process: Option<Binary>,
}

impl Node {
    pub fn start(args: &[String]) -> Self {
        let mut node = Self {
            port: free_port(),
            args: args.to_vec(),
            process: None,
        };
        node.restart();
        node
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        self.process = None;
    }

    /// Starts the node again with its first arguments (a killed master
    /// comes back believing it is still the master).
    pub fn restart(&mut self) {
        let port = self.port.to_string();
        let mut args = vec!["--port", &port, "--bind", "127.0.0.1"];
        args.extend(self.args.iter().map(String::as_str));
        self.process = Some(Binary::start(&args));
    }
}

/// One `redis-sentinel` with its own configuration file.
///
/// `down-after-milliseconds` is 2 s, not 1: a promotion's CLIENT KILL TYPE
/// normal also closes the other sentinels' links to the promoted node, and
/// a sentinel reconnects at most once a second, so with 1 s its PING
/// pending on the killed link can make the new master look down and start
/// a second failover (seen here; the same holds for redis-server nodes).
struct Sentinel {
    port: u16,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Sentinel {
    fn start(master: u16, extra: &[String]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut conf = format!(
            "port {port}\nbind 127.0.0.1\ndaemonize no\nlogfile \"\"\ndir {}\n\
             sentinel monitor {NAME} 127.0.0.1 {master} 2\n\
             sentinel down-after-milliseconds {NAME} 2000\n\
             sentinel failover-timeout {NAME} 4000\n",
            dir.path().display()
        );
        for line in extra {
            conf.push_str(line);
            conf.push('\n');
        }
        let file = dir.path().join("sentinel.conf");
        std::fs::write(&file, conf).unwrap();
        let mut child = Command::new("redis-sentinel")
            .arg(&file)
            .stdout(Stdio::piped())
            .spawn()
            .expect("redis-sentinel (Debian's redis-sentinel; ./scripts/test installs it)");
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let sentinel = Self {
            port,
            child,
            lines,
            _dir: dir,
        };
        // Logged once the port is bound and the master is monitored.
        poll("redis-sentinel starts", || {
            sentinel.count("+monitor master") > 0
        });
        sentinel
    }

    fn count(&self, event: &str) -> usize {
        let lines = self.lines.lock().unwrap();
        lines.iter().filter(|l| l.contains(event)).count()
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three sentinels with quorum 2 watching one master.
pub struct Sentinels(Vec<Sentinel>);

impl Sentinels {
    /// `extra` is appended to every sentinel's configuration (auth-pass,
    /// auth-user).
    pub fn start(master: u16, extra: &[String]) -> Self {
        Self((0..3).map(|_| Sentinel::start(master, extra)).collect())
    }

    pub fn ports(&self) -> Vec<u16> {
        self.0.iter().map(|s| s.port).collect()
    }

    /// A connection to the first sentinel.
    pub fn conn(&self) -> Conn {
        Conn::connect(self.0[0].port)
    }

    /// Waits until every sentinel knows `replicas` replicas and the two
    /// other sentinels: the deployment Sentinel discovered by itself.
    pub fn wait_discovered(&self, replicas: usize) {
        for s in &self.0 {
            let mut c = Conn::connect(s.port);
            poll("sentinels discover the replicas and each other", || {
                let replies = c.call(&["SENTINEL", "REPLICAS", NAME]);
                let others = c.call(&["SENTINEL", "SENTINELS", NAME]);
                count_entries(&replies) == replicas && count_entries(&others) == 2
            });
        }
    }

    /// Waits until every sentinel sees `replicas` replicas that report
    /// themselves replicas with a link up and are not down: after a
    /// conversion, a failover asked for before every sentinel has seen it
    /// may pick the converted node while another sentinel converts it back
    /// (`-failover-abort-slave-timeout`), with redis-server nodes alike.
    pub fn wait_settled(&self, replicas: usize) {
        for s in &self.0 {
            let mut c = Conn::connect(s.port);
            let ok = reached(|| {
                c.send(&["SENTINEL", "REPLICAS", NAME]);
                let frame = c.frame().expect("SENTINEL REPLICAS reply");
                let entries = frame.items().unwrap_or_default();
                entries.len() == replicas
                    && entries.iter().all(|e| {
                        field_of(e, "flags") == "slave"
                            && field_of(e, "role-reported") == "slave"
                            && field_of(e, "master-link-status") == "ok"
                    })
            });
            assert!(ok, "sentinel {} never settled:\n{}", s.port, self.logs());
        }
    }

    /// Waits until every sentinel logged `event` at least `n` times.
    pub fn wait_event(&self, event: &str, n: usize) {
        for s in &self.0 {
            let ok = reached(|| s.count(event) >= n);
            assert!(
                ok,
                "no {event} x{n} on sentinel {}:\n{}",
                s.port,
                self.logs()
            );
        }
    }

    /// Waits until some sentinel logged `event` (a conversion is made by
    /// whichever sentinel notices first).
    pub fn wait_event_any(&self, event: &str) {
        poll(&format!("{event} on any sentinel"), || {
            self.0.iter().any(|s| s.count(event) > 0)
        });
    }

    /// The master's port as the first sentinel reports it.
    pub fn master_port(&self) -> u16 {
        let reply = self
            .conn()
            .call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME]);
        let text = String::from_utf8_lossy(&reply).into_owned();
        let port = text.lines().nth(4).unwrap_or_default();
        port.parse()
            .unwrap_or_else(|_| panic!("no master in {text:?}"))
    }

    /// Every line the sentinels logged, for a failure message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for s in &self.0 {
            out.push_str(&format!("--- sentinel {}\n", s.port));
            for line in s.lines.lock().unwrap().iter() {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

/// The value of `name` in one entry (a flat map) of SENTINEL REPLICAS.
fn field_of(entry: &Value, name: &str) -> String {
    let Value::Agg(_, Some(items)) = entry else {
        return String::new();
    };
    items
        .chunks(2)
        .find_map(|pair| match pair {
            [Value::Bulk(Some(k)), Value::Bulk(Some(v))] if k == name.as_bytes() => {
                Some(String::from_utf8_lossy(v).into_owned())
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// The number of entries of a SENTINEL REPLICAS / SENTINELS reply (an
/// array of flat maps, each a `*<2n>` header line after the first).
fn count_entries(reply: &[u8]) -> usize {
    let text = String::from_utf8_lossy(reply);
    text.lines().skip(1).filter(|l| l.starts_with('*')).count()
}

/// ROLE's first items as text: `master`, or `slave <host> <port>
/// <state>`; empty if the connection was closed (Sentinel's CLIENT KILL
/// TYPE normal closes every ordinary client of a node it reconfigures).
pub fn role(conn: &mut Conn) -> String {
    conn.send(&["ROLE"]);
    let Some(frame) = conn.frame() else {
        return String::new();
    };
    let items = frame.items().unwrap_or_default();
    let word = |i: usize| match items.get(i) {
        Some(Value::Bulk(Some(b))) => String::from_utf8_lossy(b).into_owned(),
        Some(Value::Line(b':', n)) => String::from_utf8_lossy(n).into_owned(),
        _ => String::new(),
    };
    if word(0) == "master" {
        "master".to_owned()
    } else {
        format!("{} {} {} {}", word(0), word(1), word(2), word(3))
    }
}
