//! CONFIG SET of the `tls-*` directives while the server runs, as in
//! Redis 7: certificates renewed without a restart (new handshakes get the
//! new ones, connections already up stay), a broken file answered with
//! Redis' error and the old configuration kept, `tls-port` moved or closed
//! without dropping clients, `tls-auth-clients` applied to new handshakes.
//! The replies are compared byte for byte with a real redis-server started
//! with TLS.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::Path;

use common::certs::{Certs, Renewal, certs, connect_tls, refused, renewal, start, tls_config};
use common::{Binary, Conn, REDIS_ARGS, RedisServer, free_port};
use respub_broker::TlsAuthClients;

const PONG: &[u8] = b"+PONG\r\n";
const OK: &[u8] = b"+OK\r\n";

fn set(c: &mut Conn, pairs: &[&str]) -> Vec<u8> {
    let mut args = vec!["CONFIG", "SET"];
    args.extend_from_slice(pairs);
    c.call(&args)
}

fn get(c: &mut Conn, name: &str) -> String {
    let reply = show(&c.call(&["CONFIG", "GET", name]));
    reply.lines().nth(4).unwrap_or_default().to_owned()
}

/// A reply as text, for readable failures.
fn show(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).into_owned()
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// What a TLS client presenting `certs.client` and trusting `ca` gets for a
/// PING on `port`.
fn ping(port: u16, ca: &Path, certs: &Certs) -> Vec<u8> {
    connect_tls(port, ca, Some(&certs.client)).call(&["PING"])
}

fn closed(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_err()
}

#[test]
fn a_certificate_from_another_ca_serves_new_handshakes_and_keeps_connections() {
    let certs = certs();
    let renewed = renewal(&certs);
    let server = start(tls_config(&certs, TlsAuthClients::Yes));
    let (plain, tls) = (server.ports[0], server.ports[1]);
    let mut admin = Conn::connect(plain);
    let mut before = connect_tls(tls, &certs.ca, Some(&certs.client));
    assert_eq!(
        before.call(&["SUBSCRIBE", "news"]),
        b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
    );

    let (crt, key) = (s(&renewed.server.0), s(&renewed.server.1));
    assert_eq!(
        set(&mut admin, &["tls-cert-file", crt, "tls-key-file", key]),
        OK
    );
    assert_eq!(get(&mut admin, "tls-cert-file"), crt);
    assert_eq!(ping(tls, &renewed.ca, &certs), PONG);
    assert!(refused(connect_tls(tls, &certs.ca, Some(&certs.client))));
    // The subscriber of before is still connected, over the old session.
    assert_eq!(admin.call(&["PUBLISH", "news", "renewed"]), b":1\r\n");
    assert_eq!(
        before.frame().unwrap().raw,
        b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$7\r\nrenewed\r\n"
    );
}

#[test]
fn renewed_files_at_the_same_paths_are_read_when_named_again() {
    let certs = certs();
    let renewed = renewal(&certs);
    let live = (
        certs.dir.path().join("live.crt"),
        certs.dir.path().join("live.key"),
    );
    std::fs::copy(&certs.server.0, &live.0).unwrap();
    std::fs::copy(&certs.server.1, &live.1).unwrap();
    let mut config = tls_config(&certs, TlsAuthClients::Yes);
    config.tls_cert_file = Some(live.0.clone());
    config.tls_key_file = Some(live.1.clone());
    let server = start(config);
    let (plain, tls) = (server.ports[0], server.ports[1]);
    let mut before = connect_tls(tls, &certs.ca, Some(&certs.client));
    assert_eq!(before.call(&["PING"]), PONG);

    // A renewal tool replaces the files; nothing changes until CONFIG SET
    // names them, with the values they already have.
    std::fs::copy(&renewed.server.0, &live.0).unwrap();
    std::fs::copy(&renewed.server.1, &live.1).unwrap();
    assert_eq!(ping(tls, &certs.ca, &certs), PONG);
    let mut admin = Conn::connect(plain);
    let pairs = ["tls-cert-file", s(&live.0), "tls-key-file", s(&live.1)];
    assert_eq!(set(&mut admin, &pairs), OK);
    assert_eq!(ping(tls, &renewed.ca, &certs), PONG);
    assert!(refused(connect_tls(tls, &certs.ca, Some(&certs.client))));
    assert_eq!(before.call(&["PING"]), PONG);
}

#[test]
fn a_broken_file_is_refused_and_the_old_configuration_stays() {
    let certs = certs();
    let server = start(tls_config(&certs, TlsAuthClients::Yes));
    let (plain, tls) = (server.ports[0], server.ports[1]);
    let junk = certs.dir.path().join("junk.pem");
    std::fs::write(&junk, "this is not PEM\n").unwrap();
    let mut admin = Conn::connect(plain);
    for (pairs, blamed) in [
        (vec!["tls-cert-file", s(&junk)], "tls-cert-file"),
        (vec!["tls-key-file", s(&certs.client.1)], "tls-key-file"),
        (
            vec![
                "tls-ca-cert-file",
                s(&junk),
                "tls-cert-file",
                s(&certs.server.0),
            ],
            "tls-ca-cert-file",
        ),
        (vec!["tls-protocols", "TLSv1.2 SSLv3"], "tls-protocols"),
    ] {
        let expected = format!(
            "-ERR CONFIG SET failed (possibly related to argument '{blamed}') - Unable to update TLS configuration. Check server logs.\r\n"
        );
        assert_eq!(show(&set(&mut admin, &pairs)), expected);
        assert_eq!(ping(tls, &certs.ca, &certs), PONG, "after {pairs:?}");
    }
    assert_eq!(get(&mut admin, "tls-cert-file"), s(&certs.server.0));
    assert_eq!(get(&mut admin, "tls-ca-cert-file"), s(&certs.ca));
    assert_eq!(get(&mut admin, "tls-protocols"), "");
}

#[test]
fn tls_port_moves_or_closes_the_listener_and_keeps_clients() {
    let certs = certs();
    let server = start(tls_config(&certs, TlsAuthClients::Yes));
    let (plain, tls) = (server.ports[0], server.ports[1]);
    let mut admin = Conn::connect(plain);
    let mut before = connect_tls(tls, &certs.ca, Some(&certs.client));
    assert_eq!(before.call(&["PING"]), PONG);
    assert_eq!(get(&mut admin, "tls-port"), tls.to_string());

    let moved = free_port();
    assert_eq!(set(&mut admin, &["tls-port", &moved.to_string()]), OK);
    assert!(closed(tls), "the old TLS port still accepts");
    assert_eq!(ping(moved, &certs.ca, &certs), PONG);
    assert_eq!(before.call(&["PING"]), PONG);
    assert_eq!(get(&mut admin, "tls-port"), moved.to_string());

    // A port in use: Redis' error, and the listener stays where it was.
    let reply = set(&mut admin, &["tls-port", &plain.to_string()]);
    assert_eq!(
        show(&reply),
        "-ERR CONFIG SET failed (possibly related to argument 'tls-port') - Unable to listen on this port. Check server logs.\r\n"
    );
    assert_eq!(ping(moved, &certs.ca, &certs), PONG);

    assert_eq!(set(&mut admin, &["tls-port", "0"]), OK);
    assert!(closed(moved), "tls-port 0 left a TLS listener");
    assert_eq!(before.call(&["PING"]), PONG);
    // On again: the configuration TLS had is served again.
    let again = free_port();
    assert_eq!(set(&mut admin, &["tls-port", &again.to_string()]), OK);
    assert_eq!(ping(again, &certs.ca, &certs), PONG);
    assert_eq!(Conn::connect(plain).call(&["PING"]), PONG);
}

#[test]
fn tls_auth_clients_applies_to_new_handshakes() {
    let certs = certs();
    let server = start(tls_config(&certs, TlsAuthClients::Yes));
    let (plain, tls) = (server.ports[0], server.ports[1]);
    let mut admin = Conn::connect(plain);
    assert!(refused(connect_tls(tls, &certs.ca, None)));

    assert_eq!(set(&mut admin, &["tls-auth-clients", "optional"]), OK);
    let mut anonymous = connect_tls(tls, &certs.ca, None);
    assert_eq!(anonymous.call(&["PING"]), PONG);
    assert!(refused(connect_tls(tls, &certs.ca, Some(&certs.stranger))));

    assert_eq!(set(&mut admin, &["tls-auth-clients", "no"]), OK);
    let mut stranger = connect_tls(tls, &certs.ca, Some(&certs.stranger));
    assert_eq!(stranger.call(&["PING"]), PONG);

    assert_eq!(set(&mut admin, &["tls-auth-clients", "yes"]), OK);
    assert!(refused(connect_tls(tls, &certs.ca, None)));
    assert_eq!(anonymous.call(&["PING"]), PONG);
    assert_eq!(stranger.call(&["PING"]), PONG);
    assert_eq!(ping(tls, &certs.ca, &certs), PONG);

    // As in Redis: without a CA, `tls-auth-clients` alone is accepted and
    // refuses every certificate; reading the files again refuses it.
    let pairs = ["tls-auth-clients", "no", "tls-ca-cert-file", ""];
    assert_eq!(set(&mut admin, &pairs), OK);
    assert_eq!(set(&mut admin, &["tls-auth-clients", "optional"]), OK);
    assert_eq!(connect_tls(tls, &certs.ca, None).call(&["PING"]), PONG);
    assert!(refused(connect_tls(tls, &certs.ca, Some(&certs.client))));
    let reply = set(&mut admin, &["tls-cert-file", s(&certs.server.0)]);
    assert!(
        show(&reply).contains("'tls-cert-file') - Unable to update TLS configuration"),
        "{reply:?}"
    );
}

/// The arguments that start a server with TLS on `tls_port`.
fn tls_args(certs: &Certs, tls_port: u16) -> Vec<String> {
    let mut args: Vec<String> = REDIS_ARGS.iter().map(|a| a.to_string()).collect();
    args.extend(
        [
            "--tls-port",
            &tls_port.to_string(),
            "--tls-cert-file",
            s(&certs.server.0),
            "--tls-key-file",
            s(&certs.server.1),
            "--tls-ca-cert-file",
            s(&certs.ca),
        ]
        .map(String::from),
    );
    args
}

/// respub-server on a free port with `args`.
fn respub(args: &[String]) -> (Binary, u16) {
    let port = free_port().to_string();
    let mut all = vec!["--port", port.as_str()];
    all.extend(args.iter().map(String::as_str));
    (Binary::start(&all), port.parse().unwrap())
}

/// CONFIG SET of the TLS directives on a server started with TLS on
/// `tls`: every failure (each followed by a PING over TLS, which the old
/// configuration still answers), then the changes that succeed.
fn with_tls(port: u16, tls: u16, certs: &Certs, renewed: &Renewal) -> Vec<Vec<u8>> {
    let mut c = Conn::connect(port);
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().port().to_string();
    let free = free_port().to_string();
    let junk = certs.dir.path().join("junk.pem");
    std::fs::write(&junk, "this is not PEM\n").unwrap();
    let (junk, missing) = (s(&junk), "/nonexistent/respub.crt");
    let mut seen = Vec::new();
    for pairs in [
        vec!["tls-cert-file", missing],
        vec!["tls-key-file", junk, "tls-cert-file", junk],
        vec!["TLS-Key-File", s(&certs.client.1)],
        vec!["tls-protocols", "TLSv1.2 bogus"],
        vec!["tls-auth-clients", "maybe"],
        vec!["tls-ca-cert-file", ""],
        vec!["tls-port", &busy],
        vec!["tls-port", &busy, "tls-cert-file", missing],
        vec!["tls-cert-file", missing, "tls-port", &busy],
        vec!["tls-port", &free, "tls-cert-file", missing],
        vec!["tls-cert-file", junk, "tls-cert-file", junk],
    ] {
        seen.push(set(&mut c, &pairs));
        seen.push(ping(tls, &certs.ca, certs));
    }
    for name in [
        "tls-cert-file",
        "tls-key-file",
        "tls-ca-cert-file",
        "tls-protocols",
    ] {
        seen.push(c.call(&["CONFIG", "GET", name]));
    }
    let pairs = [
        "tls-key-file",
        s(&renewed.server.1),
        "tls-cert-file",
        s(&renewed.server.0),
    ];
    seen.push(set(&mut c, &pairs));
    seen.push(ping(tls, &renewed.ca, certs));
    for pairs in [
        ["tls-protocols", "TLSv1.2"],
        ["tls-auth-clients", "optional"],
    ] {
        seen.push(set(&mut c, &pairs));
        seen.push(c.call(&["CONFIG", "GET", pairs[0]]));
    }
    seen.push(connect_tls(tls, &renewed.ca, None).call(&["PING"]));
    seen.push(set(&mut c, &["tls-port", &tls.to_string()]));
    seen.push(set(&mut c, &["tls-port", "0"]));
    seen.push(c.call(&["CONFIG", "GET", "tls-port"]));
    seen.push(vec![u8::from(closed(tls))]);
    seen.push(set(&mut c, &["tls-port", &free]));
    seen.push(ping(free.parse().unwrap(), &renewed.ca, certs));
    seen
}

#[test]
fn config_set_of_tls_directives_answers_as_redis() {
    let certs = certs();
    let renewed = renewal(&certs);
    let tls = free_port();
    let (_respub, port) = respub(&tls_args(&certs, tls));
    let ours = with_tls(port, tls, &certs, &renewed);
    let redis_tls = free_port();
    let args = tls_args(&certs, redis_tls);
    let redis = RedisServer::start_with(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let theirs = with_tls(redis.port, redis_tls, &certs, &renewed);
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(show(a), show(b), "reply {i}");
    }
    assert_eq!(ours.len(), theirs.len());
}

/// CONFIG SET of the TLS directives on a server started without TLS: the
/// files are not read while `tls-port` is 0, and turning it on reads them.
fn without_tls(port: u16, certs: &Certs) -> Vec<Vec<u8>> {
    let mut c = Conn::connect(port);
    let tls = free_port();
    let tls_port = tls.to_string();
    let mut seen = vec![set(&mut c, &["tls-port", &tls_port])];
    for pairs in [
        vec!["tls-cert-file", "/nonexistent/respub.crt"],
        vec![
            "tls-cert-file",
            s(&certs.server.0),
            "tls-key-file",
            s(&certs.server.1),
        ],
        vec![
            "tls-ca-cert-file",
            s(&certs.ca),
            "tls-protocols",
            "TLSv1.2 bogus",
        ],
    ] {
        seen.push(set(&mut c, &pairs));
    }
    seen.push(c.call(&["CONFIG", "GET", "tls-protocols"]));
    seen.push(set(&mut c, &["tls-port", &tls_port]));
    seen.push(set(&mut c, &["tls-protocols", "", "tls-port", &tls_port]));
    seen.push(ping(tls, &certs.ca, certs));
    seen
}

#[test]
fn turning_tls_on_at_runtime_answers_as_redis() {
    let certs = certs();
    let (_respub, port) = respub(&REDIS_ARGS.iter().map(|a| a.to_string()).collect::<Vec<_>>());
    let ours = without_tls(port, &certs);
    let redis = RedisServer::start();
    assert_eq!(
        ours.iter().map(|r| show(r)).collect::<Vec<_>>(),
        without_tls(redis.port, &certs)
            .iter()
            .map(|r| show(r))
            .collect::<Vec<_>>()
    );
    assert_eq!(ours.last().unwrap(), PONG);
}

/// A `tls-ca-cert-dir` that does not exist or holds no certificate is
/// accepted, as OpenSSL looks in it only when a client presents a
/// certificate; every client certificate then fails, a client without one
/// is refused under `tls-auth-clients yes`, and CONFIG SET answers as Redis.
fn empty_ca_dir(port: u16, tls: u16, certs: &Certs) -> Vec<Vec<u8>> {
    let mut c = Conn::connect(port);
    assert!(refused(connect_tls(tls, &certs.ca, Some(&certs.client))));
    assert!(refused(connect_tls(tls, &certs.ca, None)));
    let empty = certs.dir.path().join("empty-ca-dir");
    std::fs::create_dir_all(&empty).unwrap();
    let seen = vec![
        set(&mut c, &["tls-ca-cert-dir", s(&empty)]),
        set(&mut c, &["tls-ca-cert-dir", "/nonexistent/ca-dir"]),
        c.call(&["CONFIG", "GET", "tls-ca-cert-dir"]),
    ];
    assert!(refused(connect_tls(tls, &certs.ca, Some(&certs.client))));
    // A CA file named again verifies certificates once more.
    let both = ["tls-ca-cert-dir", "", "tls-ca-cert-file", s(&certs.ca)];
    let mut seen = seen;
    seen.push(set(&mut c, &both));
    assert_eq!(ping(tls, &certs.ca, certs), PONG);
    seen
}

#[test]
fn a_missing_or_empty_ca_dir_is_accepted_and_verifies_nothing_as_redis() {
    let certs = certs();
    let mut args: Vec<String> = tls_args(&certs, 0)
        .into_iter()
        .filter(|a| a != "--tls-ca-cert-file" && a != s(&certs.ca))
        .collect();
    args.extend(["--tls-ca-cert-dir", "/nonexistent/ca-dir"].map(String::from));
    let tls_port = |args: &mut Vec<String>| {
        let port = free_port();
        let at = args.iter().position(|a| a == "--tls-port").unwrap() + 1;
        args[at] = port.to_string();
        port
    };
    let ours_tls = tls_port(&mut args);
    let (_ours, port) = respub(&args);
    let ours = empty_ca_dir(port, ours_tls, &certs);
    let theirs_tls = tls_port(&mut args);
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let redis = RedisServer::start_with(&arg_refs);
    let theirs = empty_ca_dir(redis.port, theirs_tls, &certs);
    assert_eq!(
        ours.iter().map(|r| show(r)).collect::<Vec<_>>(),
        theirs.iter().map(|r| show(r)).collect::<Vec<_>>()
    );
}
