//! socket.io-client clients (`node_client.mjs`) connected through a balancer, each from its
//! own loopback source address, and where the balancer sent them.

use std::net::IpAddr;

use serde_json::{Value as Json, json};

use super::{Balancer, source};
use crate::interop::clients::Clients;

/// A client connected through the balancer.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub from: IpAddr,
    /// The node that took its handshake.
    pub node: u16,
    pub id: String,
    pub polling_only: bool,
}

/// `o` with the fields of `extra` (which win).
pub fn merged(mut o: Json, extra: &Json) -> Json {
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

/// Connects client `c<i>` through `lb` from source address `i`: polling only for odd `i`,
/// polling then upgraded to WebSocket for even `i`, with the socket.io-client options
/// `extra`.
pub async fn connect(c: &mut Clients, lb: &Balancer, i: usize, extra: &Json) -> Member {
    let name = format!("c{i}");
    let polling_only = i % 2 == 1;
    let mut o = json!({"localAddress": source(i).to_string()});
    if polling_only {
        o["transports"] = json!(["polling"]);
    }
    let id = c
        .connect_with(&name, &lb.url(), merged(o, extra))
        .await
        .unwrap_or_else(|e| panic!("{name} could not connect through the balancer: {e}"));
    let node = lb.node_of(source(i)).await;
    Member {
        name,
        from: source(i),
        node,
        id,
        polling_only,
    }
}

/// Connects clients `c<first>`, `c<first + 1>`, ... until `done` accepts the clients connected
/// by this call (at most 60 of them, as the loopback addresses run out).
pub async fn connect_until(
    c: &mut Clients,
    lb: &Balancer,
    extra: &Json,
    first: usize,
    done: impl Fn(&[Member]) -> bool,
) -> Vec<Member> {
    let mut members = Vec::new();
    for i in first..first + 60 {
        if done(&members) {
            return members;
        }
        members.push(connect(c, lb, i, extra).await);
    }
    assert!(done(&members), "60 clients did not satisfy the test");
    members
}
