//! The chat example (`examples/chat.rs`, compiled into this test) in a real browser: headless
//! Chromium, driven by playwright-core (`tests/node/browser_chat.mjs`), opens the chat page
//! on two servers sharing an in-process respub broker, joins a room on both, sends a message
//! from the first and sees it on the second, and screenshots the second page. Then the same
//! through nginx (`hash $remote_addr consistent`) with long-polling only, the two pages on
//! two different nodes.
//!
//! Needs `npm ci --prefix adapter/tests/node`, Debian's chromium
//! (`apt-get install -y chromium`) at `/usr/bin/chromium`, and Debian's nginx.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod balancers;
mod fixture;
mod interop;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/chat.rs"]
mod chat;

use std::{path::Path, process::Stdio, time::Duration};

use balancers::{
    Balancer, http,
    nginx::{self, Nginx},
    source,
};
use fixture::Broker;
use respub_socketio::Config;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Failure guard for the whole browser run (browser start-up included).
const BROWSER_GUARD: Duration = Duration::from_secs(90);

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Starts a chat server on a free loopback port; returns its page's URL.
async fn chat_node(broker: &Broker, prefix: &str) -> String {
    format!("http://127.0.0.1:{}/", chat_port(broker, prefix).await)
}

/// Starts a chat server on a free loopback port; returns the port.
async fn chat_port(broker: &Broker, prefix: &str) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = Config::default().with_prefix(prefix.to_owned());
    let url = broker.url();
    tokio::spawn(async move {
        chat::serve(listener, &url, config, chat::default_client_js())
            .await
            .unwrap();
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_chat_between_two_nodes() {
    let broker = Broker::start().await;
    let prefix = format!("b{:016x}", rand::random::<u64>());
    // The listeners are bound before the servers start: the browser's connections queue
    // until the servers accept them.
    let a = chat_node(&broker, &prefix).await;
    let b = chat_node(&broker, &prefix).await;

    browse(&a, &b, &[]).await;
    broker.stop().await;
}

/// Runs `browser_chat.mjs` on the pages `a` and `b` (with `extra` arguments) and checks its
/// screenshot.
async fn browse(a: &str, b: &str, extra: &[&str]) {
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
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("browser-chat-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&tmp).unwrap();
    let shot = tmp.join("chat-b.png");

    let mut child = tokio::process::Command::new("node")
        .current_dir(&dir)
        .arg("browser_chat.mjs")
        .args(["--a", a, "--b", b, "--chromium", CHROMIUM])
        .args(extra)
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
}

/// The chat through nginx, long-polling only (`?transports=polling`): two pages on two
/// different nodes. nginx hashes the client address; the pages' requests carry
/// `X-Forwarded-For` from two client addresses, which nginx trusts from 127.0.0.0/8 (as behind
/// a proxy), so that one browser on one machine is two clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_chat_polling_through_nginx() {
    let broker = Broker::start().await;
    let prefix = format!("b{:016x}", rand::random::<u64>());
    let nodes = [
        chat_port(&broker, &prefix).await,
        chat_port(&broker, &prefix).await,
    ];
    let lb = Balancer::Nginx(Nginx::start(&nodes, nginx::Policy::HashRemoteAddr, true).await);
    // Two client addresses that nginx sends to different nodes.
    let mut picked: Vec<(String, u16)> = Vec::new();
    for i in 1..=64 {
        let xff = format!("198.51.100.{i}");
        let r = http::request(
            lb.addr(),
            source(0),
            "GET",
            "/",
            &[("X-Forwarded-For", &xff)],
            "",
        )
        .await;
        let node = http::upstream_of(&r);
        if picked.iter().all(|(_, n)| *n != node) {
            picked.push((xff, node));
        }
        if picked.len() == 2 {
            break;
        }
    }
    let [(xff_a, node_a), (xff_b, node_b)] = <[_; 2]>::try_from(picked).unwrap();
    let page = format!("{}/?transports=polling", lb.url());
    let node_a_arg = node_a.to_string();
    let extra = [
        "--xff-a",
        &xff_a,
        "--xff-b",
        &xff_b,
        "--node-a",
        &node_a_arg,
    ];
    browse(&page, &page, &extra).await;

    // Every request of a page went to its node, and none asked for a WebSocket.
    let routes = lb.routes();
    for (xff, node) in [(&xff_a, node_a), (&xff_b, node_b)] {
        let mine: Vec<_> = routes
            .iter()
            .filter(|r| r.client.to_string() == *xff)
            .collect();
        assert!(
            mine.iter().any(|r| r.target.contains("sid=")),
            "no polling from {xff}: {mine:?}"
        );
        for r in &mine {
            assert_eq!(r.upstream, Some(node), "{r:?}");
            assert!(!r.target.contains("transport=websocket"), "{r:?}");
        }
    }
    drop(lb);
    broker.stop().await;
}
