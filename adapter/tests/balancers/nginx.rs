//! nginx (Debian's `/usr/sbin/nginx`) as a child of the test, in the foreground, with a
//! generated configuration and every path (pid, logs, temp files) in a temp dir.

use std::{path::PathBuf, process::Stdio};

use tokio::process::{Child, Command};

use super::{Route, temp_dir, wait_listening};
use crate::interop::free_port;

pub const NGINX: &str = "/usr/sbin/nginx";

/// How the `upstream` block picks a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// No directive: nginx's default round-robin, no stickiness.
    RoundRobin,
    /// `hash $remote_addr consistent;` (not `ip_hash`, which hashes the first three octets
    /// only, so every 127.0.0.x client would land on one node).
    HashRemoteAddr,
    /// `ip_hash;`: only the first three octets of an IPv4 address count.
    IpHash,
}

pub struct Nginx {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

/// The generated configuration. `trust_xff`: nginx is behind another proxy on 127.0.0.0/8,
/// so `$remote_addr` is the client address from `X-Forwarded-For` (the realip module).
fn conf(dir: &str, port: u16, upstreams: &[u16], policy: Policy, trust_xff: bool) -> String {
    let hash = match policy {
        Policy::RoundRobin => "",
        Policy::HashRemoteAddr => "hash $remote_addr consistent;",
        Policy::IpHash => "ip_hash;",
    };
    // max_fails=0: a node that refused a connection is tried again at the next request
    // (instead of being skipped for fail_timeout), so a restarted node takes its share at
    // once; proxy_next_upstream sends the request on to the next node meanwhile.
    let servers: String = upstreams
        .iter()
        .map(|p| format!("        server 127.0.0.1:{p} max_fails=0;\n"))
        .collect();
    let realip = if trust_xff {
        "set_real_ip_from 127.0.0.0/8; real_ip_header X-Forwarded-For;"
    } else {
        ""
    };
    format!(
        r#"pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    log_format route '$remote_addr|$upstream_addr|$status|$request_uri';
    access_log {dir}/access.log route;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream nodes {{
        {hash}
{servers}    }}
    server {{
        listen 127.0.0.1:{port};
        {realip}
        location / {{
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_next_upstream error timeout;
            proxy_read_timeout 120s;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"#
    )
}

impl Nginx {
    /// Starts nginx in front of the nodes on `upstreams` and waits until it accepts.
    pub async fn start(upstreams: &[u16], policy: Policy, trust_xff: bool) -> Self {
        assert!(
            std::path::Path::new(NGINX).exists(),
            "{NGINX} is missing: apt-get install -y nginx (./scripts/test does)"
        );
        let dir = temp_dir("nginx");
        let port = free_port();
        let d = dir.to_str().unwrap();
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf(d, port, upstreams, policy, trust_xff)).unwrap();
        std::fs::write(dir.join("access.log"), "").unwrap();
        // master_process off: one process, so killing it (on drop) leaves no worker behind.
        let mut child = Command::new(NGINX)
            .args(["-p", d, "-e", &format!("{d}/error.log"), "-c"])
            .arg(&conf_path)
            .args(["-g", "daemon off; master_process off;"])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("nginx could not be started");
        let log = dir.join("error.log");
        wait_listening(&mut child, port, "nginx", &log).await;
        Self { port, dir, child }
    }

    /// Every request logged so far (a request is logged once it is over).
    pub fn routes(&self) -> Vec<Route> {
        let log = std::fs::read_to_string(self.dir.join("access.log")).unwrap();
        log.lines().filter_map(Route::parse).collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
