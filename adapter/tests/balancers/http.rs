//! One HTTP/1.0 request at a time over a fresh connection from a chosen loopback address:
//! enough to speak engine.io's polling handshake through a balancer and read what it
//! answered (status, headers such as `X-Upstream`, body).

use std::net::{IpAddr, SocketAddr};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpSocket,
};

use crate::fixture::within;

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find_map(|(k, v)| k.eq_ignore_ascii_case(name).then_some(v.as_str()))
    }
}

/// `method target` to `addr` from `from`. HTTP/1.0, so that no balancer chunks the body and
/// the connection's end is the body's end.
pub async fn request(
    addr: SocketAddr,
    from: IpAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let mut stream = within("http connect", socket.connect(addr)).await.unwrap();
    let mut head = format!(
        "{method} {target} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    within("http response", stream.read_to_end(&mut buf))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// An engine.io v4 polling handshake: the new session's id and the upstream that made it
/// (the balancer's `X-Upstream` header, a port).
pub async fn handshake(addr: SocketAddr, from: IpAddr, headers: &[(&str, &str)]) -> (String, u16) {
    let r = request(
        addr,
        from,
        "GET",
        "/socket.io/?EIO=4&transport=polling",
        headers,
        "",
    )
    .await;
    assert_eq!(r.status, 200, "handshake: {r:?}");
    let open: serde_json::Value = serde_json::from_str(r.body.strip_prefix('0').unwrap())
        .unwrap_or_else(|e| panic!("handshake body {:?}: {e}", r.body));
    (open["sid"].as_str().unwrap().to_owned(), upstream_of(&r))
}

/// The port of the upstream that answered `r` (the last one tried, from `X-Upstream`).
pub fn upstream_of(r: &Response) -> u16 {
    let v = r
        .header("X-Upstream")
        .unwrap_or_else(|| panic!("no X-Upstream in {r:?}"));
    super::port_of(v).unwrap_or_else(|| panic!("X-Upstream {v:?}"))
}
