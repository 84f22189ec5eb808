//! The chat example (`examples/chat.rs`, compiled into this test) in a real browser: headless
//! Chromium, driven by playwright-core (`tests/node/browser_chat.mjs`), opens the chat page
//! on two servers sharing an in-process respub broker, joins a room on both, sends a message
//! from the first and sees it on the second, and screenshots the second page.
//!
//! Needs `npm ci --prefix adapter/tests/node` and Debian's chromium
//! (`apt-get install -y chromium`) at `/usr/bin/chromium`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod fixture;
mod interop;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/chat.rs"]
mod chat;

use std::{path::Path, process::Stdio, time::Duration};

use fixture::Broker;
use respub_socketio::Config;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Failure guard for the whole browser run (browser start-up included).
const BROWSER_GUARD: Duration = Duration::from_secs(90);

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Starts a chat server on a free loopback port; returns its page's URL.
async fn chat_node(broker: &Broker, prefix: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = Config::default().with_prefix(prefix.to_owned());
    let url = broker.url();
    tokio::spawn(async move {
        chat::serve(listener, &url, config, chat::default_client_js())
            .await
            .unwrap();
    });
    format!("http://127.0.0.1:{port}/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_chat_between_two_nodes() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium: apt-get install -y chromium; ./scripts/test does"
    );
    let dir = interop::node_dir();
    assert!(
        dir.join("node_modules/playwright-core/package.json")
            .exists(),
        "adapter/tests/node/node_modules/playwright-core is missing: run npm ci --prefix adapter/tests/node"
    );

    let broker = Broker::start().await;
    let prefix = format!("b{:016x}", rand::random::<u64>());
    // The listeners are bound before the servers start: the browser's connections queue
    // until the servers accept them.
    let a = chat_node(&broker, &prefix).await;
    let b = chat_node(&broker, &prefix).await;

    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("browser-chat-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&tmp).unwrap();
    let shot = tmp.join("chat-b.png");

    let mut child = tokio::process::Command::new("node")
        .current_dir(&dir)
        .arg("browser_chat.mjs")
        .args(["--a", &a, "--b", &b, "--chromium", CHROMIUM])
        .arg("--screenshot")
        .arg(&shot)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node could not be started");
    let status = tokio::time::timeout(BROWSER_GUARD, child.wait())
        .await
        .unwrap_or_else(|_| panic!("browser_chat.mjs did not finish within {BROWSER_GUARD:?}"))
        .unwrap();
    assert!(status.success(), "browser_chat.mjs failed: {status}");

    let png =
        std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", shot.display()));
    assert!(
        png.len() > PNG_MAGIC.len() && png.starts_with(PNG_MAGIC),
        "{} is not a PNG ({} bytes)",
        shot.display(),
        png.len()
    );
    std::fs::remove_dir_all(&tmp).unwrap();
    broker.stop().await;
}
