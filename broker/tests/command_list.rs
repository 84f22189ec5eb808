//! COMMAND LIST and its filters against a real redis-server: respub lists
//! exactly the commands and subcommands redis-server lists for the same
//! filter, among those respub has (Redis has many more, and lists them in
//! its hash table's order, so lists are compared as sets).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::collections::BTreeSet;

use common::{Conn, RedisServer, TestServer, bulk_of};

fn names(c: &mut Conn, args: &[&str]) -> Result<BTreeSet<String>, String> {
    let mut request = vec!["COMMAND", "LIST"];
    request.extend_from_slice(args);
    c.send(&request);
    let f = c.frame().unwrap();
    match f.items() {
        Some(items) => Ok(items
            .iter()
            .map(|i| String::from_utf8(bulk_of(i).unwrap().to_vec()).unwrap())
            .collect()),
        None => Err(String::from_utf8_lossy(&f.raw).into_owned()),
    }
}

#[test]
fn command_list_filters_as_redis_does() {
    let (respub, redis) = (TestServer::start(), RedisServer::start());
    let mut ours = Conn::connect(respub.port);
    let mut theirs = Conn::connect(redis.port);
    let mut known = names(&mut ours, &[]).unwrap();
    assert!(
        known.contains("publish") && known.contains("client|kill"),
        "{known:?}"
    );
    if redis.is_7_0() {
        // Added in 7.2, which respub follows.
        for only_7_2 in ["client|setinfo", "client|no-touch"] {
            assert!(known.remove(only_7_2), "{only_7_2}");
        }
    }
    let everything = names(&mut theirs, &[]).unwrap();
    assert!(
        known.is_subset(&everything),
        "{:?}",
        known.difference(&everything)
    );
    for filter in [
        &["FILTERBY", "PATTERN", "client*"][..],
        &["FILTERBY", "PATTERN", "*sub*"],
        &["FILTERBY", "ACLCAT", "pubsub"],
        &["FILTERBY", "ACLCAT", "connection"],
        &["FILTERBY", "ACLCAT", "admin"],
        &["FILTERBY", "ACLCAT", "nosuch"],
        &["FILTERBY", "MODULE", "x"],
        &["FILTERBY", "ACLCAT"],
        &["FILTERBY", "NOSUCH", "x"],
        &["FILTERBY"],
    ] {
        let ours = names(&mut ours, filter).map(|all| &all & &known);
        let theirs = names(&mut theirs, filter).map(|all| &all & &known);
        assert_eq!(ours, theirs, "COMMAND LIST {filter:?}");
    }
}
