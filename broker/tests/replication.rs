//! The master side of replication against real replicas: a redis-server
//! started with `--replicaof` a respub master reaches `master_link_status:up`
//! and delivers respub's messages to its own subscribers; and the
//! handshake, the stream and the offsets a replica sees from respub are
//! compared byte for byte with those of a redis-server master (replication
//! ids masked, the RDB's aux fields aside), full and partial.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{Conn, GUARD, RedisServer, TestServer, eventually};

/// The value of `name:` in an INFO reply.
fn info_field(conn: &mut Conn, section: &str, name: &str) -> String {
    let text = common::text(&conn.call(&["INFO", section]));
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_redis_server_replica_delivers_what_respub_publishes() {
    let master = TestServer::start();
    let replica = RedisServer::start_with(&["--replicaof", "127.0.0.1", &master.port.to_string()]);
    let mut on_replica = Conn::connect(replica.port);
    eventually(|| info_field(&mut on_replica, "replication", "master_link_status") == "up");

    let mut sub = Conn::connect(replica.port);
    sub.call(&["SUBSCRIBE", "news"]);
    let mut psub = Conn::connect(replica.port);
    psub.call(&["PSUBSCRIBE", "n*"]);
    let mut ssub = Conn::connect(replica.port);
    ssub.call(&["SSUBSCRIBE", "shard"]);
    let mut publisher = Conn::connect(master.port);
    for i in 0..100 {
        publisher.call(&["PUBLISH", "news", &format!("m{i}")]);
    }
    publisher.call(&["SPUBLISH", "shard", "s"]);
    for i in 0..100 {
        let frame = sub.frame().unwrap();
        let items = frame.items().unwrap();
        assert_eq!(
            common::bulk_of(&items[2]).unwrap(),
            format!("m{i}").as_bytes()
        );
        let frame = psub.frame().unwrap();
        assert_eq!(frame.items().unwrap().len(), 4);
    }
    let frame = ssub.frame().unwrap();
    assert_eq!(frame.kind().as_deref(), Some("smessage"));

    // Both ends count the stream alike.
    let mut on_master = Conn::connect(master.port);
    let offset = info_field(&mut on_master, "replication", "master_repl_offset");
    eventually(|| info_field(&mut on_replica, "replication", "slave_repl_offset") == offset);
    let slave0 = info_field(&mut on_master, "replication", "slave0");
    assert!(
        slave0.starts_with(&format!("ip=127.0.0.1,port={},state=online,", replica.port)),
        "{slave0}"
    );
    let role = on_master.call(&["ROLE"]);
    let role = String::from_utf8_lossy(&role);
    assert!(
        role.starts_with(&format!(
            "*3\r\n$6\r\nmaster\r\n:{offset}\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n"
        )),
        "{role}"
    );
    assert_eq!(
        info_field(&mut on_master, "replication", "connected_slaves"),
        "1"
    );
}

#[test]
fn a_restarted_redis_server_replica_continues_from_respubs_backlog() {
    let master = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().to_str().unwrap();
    let args = [
        "--replicaof",
        "127.0.0.1",
        &master.port.to_string(),
        "--dir",
        dir,
    ];
    let replica = RedisServer::start_with(&args);
    let mut on_replica = Conn::connect(replica.port);
    eventually(|| info_field(&mut on_replica, "replication", "master_link_status") == "up");
    let mut publisher = Conn::connect(master.port);
    publisher.call(&["PUBLISH", "news", "before"]);
    let mut on_master = Conn::connect(master.port);
    let offset = info_field(&mut on_master, "replication", "master_repl_offset");
    eventually(|| info_field(&mut on_replica, "replication", "slave_repl_offset") == offset);

    // SHUTDOWN SAVE keeps the replication id and offset in the RDB, so the
    // restarted replica asks for `PSYNC <id> <offset+1>`.
    on_replica.send(&["SHUTDOWN", "SAVE"]);
    assert!(
        on_replica.frame().is_none(),
        "SHUTDOWN closes the connection"
    );
    drop(replica);
    publisher.call(&["PUBLISH", "news", "while down"]);
    let replica = RedisServer::start_with(&args);
    let mut on_replica = Conn::connect(replica.port);
    eventually(|| info_field(&mut on_replica, "replication", "master_link_status") == "up");
    let offset = info_field(&mut on_master, "replication", "master_repl_offset");
    eventually(|| info_field(&mut on_replica, "replication", "slave_repl_offset") == offset);
    assert_eq!(info_field(&mut on_master, "stats", "sync_full"), "1");
    assert_eq!(info_field(&mut on_master, "stats", "sync_partial_ok"), "1");
}

/// A replica speaking the protocol by hand, reading exactly what the
/// master sends.
struct FakeReplica {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl FakeReplica {
    fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(GUARD)).unwrap();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, args: &[&str]) {
        self.stream.write_all(&common::encode_cmd(args)).unwrap();
    }

    fn fill(&mut self) {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the master closed the link");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// One line, without its CRLF; the master's bare `\n` keepalives are
    /// skipped, as a replica skips them.
    fn line(&mut self) -> String {
        loop {
            while self.buf.first() == Some(&b'\n') {
                self.buf.remove(0);
            }
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 2);
                return line;
            }
            self.fill();
        }
    }

    fn exact(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill();
        }
        self.buf.drain(..n).collect()
    }

    /// The RDB after `+FULLRESYNC`, in either form a master may send:
    /// `$<len>` and the bytes (respub, disk-based Redis), or `$EOF:<mark>`,
    /// the bytes and the mark again (diskless Redis).
    fn rdb(&mut self) -> Vec<u8> {
        let header = self.line();
        if let Some(mark) = header.strip_prefix("$EOF:") {
            let mark = mark.as_bytes().to_vec();
            loop {
                if let Some(at) = self.buf.windows(mark.len()).position(|w| w == mark) {
                    let rdb: Vec<u8> = self.buf.drain(..at).collect();
                    self.buf.drain(..mark.len());
                    return rdb;
                }
                self.fill();
            }
        }
        let len: usize = header.strip_prefix('$').unwrap().parse().unwrap();
        self.exact(len)
    }

    /// The handshake up to the PSYNC reply line.
    fn handshake(&mut self, psync: &[&str]) -> Vec<String> {
        let mut seen = Vec::new();
        for cmd in [
            &["PING"][..],
            &["REPLCONF", "listening-port", "4321"],
            &["REPLCONF", "capa", "eof", "capa", "psync2"],
            &["REPLCONF", "nosuch", "x"],
            &["REPLCONF", "listening-port"],
            psync,
        ] {
            self.send(cmd);
            seen.push(self.line());
        }
        seen
    }
}

/// `+FULLRESYNC <id> <offset>` with the id masked, and the id.
fn masked(line: &str) -> (String, String) {
    let words: Vec<&str> = line.split(' ').collect();
    match words.as_slice() {
        [kind, id, rest @ ..] if id.len() == 40 => {
            let mut out = vec![*kind, "<replid>"];
            out.extend_from_slice(rest);
            (out.join(" "), (*id).to_owned())
        }
        _ => (line.to_owned(), String::new()),
    }
}

/// A full sync, a publish on the stream, a reconnection that continues
/// from the backlog, and the offsets: what a replica sees of `port`.
fn replica_view(port: u16) -> Vec<String> {
    let mut r = FakeReplica::connect(port);
    let mut seen = r.handshake(&["PSYNC", "?", "-1"]);
    let (line, replid) = masked(&seen.pop().unwrap());
    seen.push(line);
    let rdb = r.rdb();
    assert!(rdb.starts_with(b"REDIS00"), "{rdb:?}");
    // A replica acknowledges once loaded, and a diskless Redis master
    // holds the stream back until an ACK arrives after it counts the
    // transfer done (`state=online`).
    let mut admin = Conn::connect(port);
    eventually(|| info_field(&mut admin, "replication", "slave0").contains("state=online"));
    let synced_at = seen.last().unwrap().rsplit(' ').next().unwrap().to_owned();
    r.send(&["REPLCONF", "ACK", &synced_at]);
    let mut publisher = Conn::connect(port);
    seen.push(String::from_utf8_lossy(&publisher.call(&["PUBLISH", "ch", "first"])).into_owned());
    let stream =
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nfirst\r\n";
    assert_eq!(r.exact(stream.len()), stream);
    let offset: i64 = info_field(&mut admin, "replication", "master_repl_offset")
        .parse()
        .unwrap();
    seen.push(format!("offset after the first publish: {offset}"));
    r.send(&["REPLCONF", "ACK", &offset.to_string()]);
    drop(r);
    eventually(|| info_field(&mut admin, "replication", "connected_slaves") == "0");

    // Missed while away, then continued from the backlog.
    publisher.call(&["publish", "ch", "second"]);
    let mut again = FakeReplica::connect(port);
    let from = (offset + 1).to_string();
    let mut lines = again.handshake(&["PSYNC", &replid, &from]);
    let (line, same) = masked(&lines.pop().unwrap());
    assert_eq!(same, replid);
    seen.extend(lines);
    seen.push(line);
    let missed = b"*3\r\n$7\r\npublish\r\n$2\r\nch\r\n$6\r\nsecond\r\n";
    assert_eq!(again.exact(missed.len()), missed);
    // An offset the backlog no longer (or never) held: a full sync.
    let mut lost = FakeReplica::connect(port);
    let mut lines = lost.handshake(&["PSYNC", &replid, "1000000"]);
    seen.push(masked(&lines.pop().unwrap()).0);
    seen.push(info_field(&mut admin, "replication", "repl_backlog_active"));
    seen.push(info_field(
        &mut admin,
        "replication",
        "repl_backlog_first_byte_offset",
    ));
    seen.push(info_field(&mut admin, "replication", "master_repl_offset"));
    for counter in ["sync_full", "sync_partial_ok", "sync_partial_err"] {
        seen.push(format!(
            "{counter}:{}",
            info_field(&mut admin, "stats", counter)
        ));
    }
    seen
}

#[test]
fn the_replication_handshake_and_stream_match_a_redis_master() {
    // Diskless, as Redis 7 defaults to, without the wait for more replicas.
    let redis = RedisServer::start_with(&["--repl-diskless-sync-delay", "0"]);
    let respub = TestServer::start();
    assert_eq!(replica_view(respub.port), replica_view(redis.port));
}
