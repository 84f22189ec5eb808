//! What the replication tests ask of a server: an INFO replication field,
//! and the same calls answered alike by respub and redis-server.

use super::resp::{Conn, text};

/// The value of `name:` in INFO replication (empty when absent).
pub fn info(conn: &mut Conn, name: &str) -> String {
    let text = text(&conn.call(&["INFO", "replication"]));
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_default()
        .to_owned()
}

/// The same calls on both, the same replies.
pub fn same(a: &mut Conn, b: &mut Conn, calls: &[&[&str]]) {
    for args in calls {
        let ours = String::from_utf8_lossy(&a.call(args)).into_owned();
        let theirs = String::from_utf8_lossy(&b.call(args)).into_owned();
        assert_eq!(ours, theirs, "{args:?}");
    }
}
