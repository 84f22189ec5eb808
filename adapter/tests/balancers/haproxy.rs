//! HAProxy (Debian's `/usr/sbin/haproxy`) as a child of the test, in the foreground (`-db`),
//! with a generated configuration; its log goes to its stdout, which the test reads.

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use super::{Route, temp_dir, wait_listening};
use crate::interop::free_port;

pub const HAPROXY: &str = "/usr/sbin/haproxy";

/// How the backend keeps a session on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `balance source`: a hash of the client address.
    Source,
    /// `balance roundrobin` with `cookie SERVERID insert`: the first response sets a cookie
    /// naming the node, which the client must send back.
    Cookie,
}

pub struct Haproxy {
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
    dir: std::path::PathBuf,
    child: Child,
}

fn conf(port: u16, upstreams: &[u16], policy: Policy) -> String {
    let (balance, cookie) = match policy {
        Policy::Source => ("balance source", ""),
        Policy::Cookie => (
            "balance roundrobin",
            "cookie SERVERID insert indirect nocache",
        ),
    };
    let servers: String = upstreams
        .iter()
        .map(|p| {
            let c = if policy == Policy::Cookie {
                format!(" cookie p{p}")
            } else {
                String::new()
            };
            format!("    server p{p} 127.0.0.1:{p}{c}\n")
        })
        .collect();
    // logasap: a request is logged when its response starts, not when a long poll or a
    // WebSocket ends.
    format!(
        r#"global
    log stdout format raw local0
defaults
    mode http
    log global
    option logasap
    log-format "%ci|%s|%ST|%HU"
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    timeout tunnel 120s
frontend socketio
    bind 127.0.0.1:{port}
    default_backend nodes
backend nodes
    {balance}
    {cookie}
    http-response set-header X-Upstream %[srv_name]
{servers}"#
    )
}

impl Haproxy {
    /// Starts HAProxy in front of the nodes on `upstreams` and waits until it accepts.
    pub async fn start(upstreams: &[u16], policy: Policy) -> Self {
        assert!(
            std::path::Path::new(HAPROXY).exists(),
            "{HAPROXY} is missing: apt-get install -y haproxy (./scripts/test does)"
        );
        let dir = temp_dir("haproxy");
        let port = free_port();
        let conf_path = dir.join("haproxy.cfg");
        std::fs::write(&conf_path, conf(port, upstreams, policy)).unwrap();
        let errors = dir.join("stderr.log");
        let mut child = Command::new(HAPROXY)
            .arg("-f")
            .arg(&conf_path)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&errors).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("haproxy could not be started");
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let l = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                l.lock().unwrap().push(line);
            }
        });
        wait_listening(&mut child, port, "haproxy", &errors).await;
        Self {
            port,
            log,
            dir,
            child,
        }
    }

    /// Every request logged so far.
    pub fn routes(&self) -> Vec<Route> {
        let log = self.log.lock().unwrap();
        log.iter().filter_map(|l| Route::parse(l)).collect()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
