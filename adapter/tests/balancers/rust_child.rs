//! A socketioxide node with the adapter (`RustServer`, the interop event contract) in a
//! process of its own, so that a test can `kill -9` a Rust node as it can a Node one: the
//! test binary runs itself again with only its ignored `rust_node_child` test, which calls
//! [`serve_from_env`].

use std::{process::Stdio, time::Duration};

use respub_socketio::{Config, Mode};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, BufReader},
    process::{Child, Command},
};

use crate::{fixture::within, interop::rust_server::RustServer};

/// The environment variable that carries the child's `url prefix timeout_ms port`.
const ENV: &str = "RESPUB_TEST_RUST_NODE";

pub struct RustChild {
    pub port: u16,
    child: Child,
}

impl RustChild {
    /// Starts the node on `port` (0: any) and waits until it serves.
    pub async fn start(url: &str, prefix: &str, timeout: Duration, port: u16) -> Self {
        let spec = format!("{url} {prefix} {} {port}", timeout.as_millis());
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "rust_node_child", "--ignored", "--nocapture"])
            .env(ENV, spec)
            .stdout(Stdio::piped())
            .stdin(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the test binary could not be run again");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = within("the Rust child node to serve", async {
            loop {
                let line = lines.next_line().await.unwrap();
                let line = line.expect("the Rust child node exited before serving");
                if let Some(p) = line.strip_prefix("READY ") {
                    return p.trim().parse().unwrap();
                }
            }
        })
        .await;
        tokio::spawn(async move {
            while let Ok(Some(l)) = lines.next_line().await {
                eprintln!("[rust child] {l}");
            }
        });
        Self { port, child }
    }

    /// `kill -9`.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The child's side: serves the node described by the environment until stdin closes (the
/// test ended) or it is killed. Returns at once when the variable is not set (a plain
/// `cargo test -- --ignored`).
pub async fn serve_from_env() {
    let Ok(spec) = std::env::var(ENV) else {
        return;
    };
    let [url, prefix, timeout, port]: [&str; 4] =
        spec.split(' ').collect::<Vec<_>>().try_into().unwrap();
    let config = Config::default()
        .with_mode(Mode::Classic)
        .with_prefix(prefix.to_owned())
        .with_request_timeout(Duration::from_millis(timeout.parse().unwrap()));
    let port: u16 = port.parse().unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let server = RustServer::start_with(url, config, listener).await;
    println!("READY {}", server.port);
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
}
