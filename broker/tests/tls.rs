//! TLS as redis-server does it: a `tls-port` beside the plain port,
//! `tls-auth-clients yes|optional|no`, redis-cli `--tls`, startup errors that
//! name the file. Certificates are made fresh for each test
//! (`common::certs`). CONFIG SET of the `tls-*` directives is in
//! `tls_reload.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use common::certs::{Certs, TlsConn, certs, connect_tls, refused, start, tls_config};
use common::{Binary, Conn, free_port};
use respub_broker::{Config, TlsAuthClients};

#[test]
fn plain_and_tls_ports_side_by_side_deliver_both_ways() {
    let certs = certs();
    let server = start(tls_config(&certs, TlsAuthClients::Yes));
    let (plain_port, tls_port) = (server.ports[0], server.ports[1]);
    let mut secure = connect_tls(tls_port, &certs.ca, Some(&certs.client));
    let mut plain = Conn::connect(plain_port);
    assert_eq!(secure.call(&["PING"]), b"+PONG\r\n");

    // A publish on the plain port reaches a subscriber on the TLS port...
    secure.call(&["SUBSCRIBE", "news"]);
    assert_eq!(plain.call(&["PUBLISH", "news", "over tcp"]), b":1\r\n");
    assert_eq!(
        secure.frame().unwrap().raw,
        b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$8\r\nover tcp\r\n"
    );
    // ...and one on the TLS port reaches a subscriber on the plain port.
    let mut publisher = connect_tls(tls_port, &certs.ca, Some(&certs.client));
    plain.call(&["SUBSCRIBE", "back"]);
    assert_eq!(publisher.call(&["PUBLISH", "back", "over tls"]), b":1\r\n");
    assert_eq!(
        plain.frame().unwrap().raw,
        b"*3\r\n$7\r\nmessage\r\n$4\r\nback\r\n$8\r\nover tls\r\n"
    );

    // CLIENT LIST shows a TLS client with its real addresses.
    let me = publisher.stream.sock.local_addr().unwrap();
    let list = String::from_utf8(publisher.call(&["CLIENT", "LIST"])).unwrap();
    let line = list
        .lines()
        .find(|l| l.contains(&format!(" addr={me} ")))
        .unwrap_or_else(|| panic!("no line for {me} in {list}"));
    assert!(
        line.contains(&format!(" laddr=127.0.0.1:{tls_port} ")),
        "{line}"
    );
    let info = String::from_utf8(publisher.call(&["INFO", "server"])).unwrap();
    assert!(
        info.contains(&format!("tcp_port:{plain_port}\r\n")),
        "{info}"
    );
}

#[test]
fn tls_auth_clients_yes_requires_a_certificate_from_the_ca() {
    let certs = certs();
    let server = start(tls_config(&certs, TlsAuthClients::Yes));
    let port = server.ports[1];
    assert!(refused(connect_tls(port, &certs.ca, None)));
    assert!(refused(connect_tls(port, &certs.ca, Some(&certs.stranger))));
    let mut ok = connect_tls(port, &certs.ca, Some(&certs.client));
    assert_eq!(ok.call(&["PING"]), b"+PONG\r\n");
    // Failed handshakes are not clients and count as no connection.
    let info = String::from_utf8(ok.call(&["INFO", "stats"])).unwrap();
    assert!(info.contains("total_connections_received:1\r\n"), "{info}");
    assert!(info.contains("rejected_connections:0\r\n"), "{info}");
}

#[test]
fn tls_auth_clients_optional_checks_only_a_presented_certificate() {
    let certs = certs();
    let server = start(tls_config(&certs, TlsAuthClients::Optional));
    let port = server.ports[1];
    let mut anonymous = connect_tls(port, &certs.ca, None);
    assert_eq!(anonymous.call(&["PING"]), b"+PONG\r\n");
    let mut known = connect_tls(port, &certs.ca, Some(&certs.client));
    assert_eq!(known.call(&["PING"]), b"+PONG\r\n");
    assert!(refused(connect_tls(port, &certs.ca, Some(&certs.stranger))));
}

#[test]
fn tls_auth_clients_no_asks_for_no_certificate() {
    let certs = certs();
    let config = Config {
        tls_ca_cert_file: None,
        ..tls_config(&certs, TlsAuthClients::No)
    };
    let server = start(config);
    let mut anonymous = connect_tls(server.ports[1], &certs.ca, None);
    assert_eq!(anonymous.call(&["PING"]), b"+PONG\r\n");
}

#[test]
fn a_silent_or_plain_text_client_does_not_hold_up_others() {
    let certs = certs();
    let server = start(tls_config(&certs, TlsAuthClients::Yes));
    let port = server.ports[1];
    // Connects and never starts the handshake: the next client is served
    // all the same, because handshakes run in the connection's own task.
    let _silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // Speaks RESP in the clear to the TLS port: the handshake fails and
    // the server closes the connection without answering in the clear.
    let mut clear = Conn::connect(port);
    clear.send(&["PING"]);
    let answer = clear.read_to_eof();
    assert!(!answer.starts_with(b"+PONG"), "{answer:?}");
    let mut ok = connect_tls(port, &certs.ca, Some(&certs.client));
    assert_eq!(ok.call(&["PING"]), b"+PONG\r\n");
}

#[test]
fn tls_ca_cert_dir_is_read_like_the_ca_file() {
    let certs = certs();
    let dir = certs.dir.path().join("cas");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(&certs.ca, dir.join("ab12cd34.0")).unwrap();
    std::fs::write(dir.join("README"), "not a certificate\n").unwrap();
    let config = Config {
        tls_ca_cert_file: None,
        tls_ca_cert_dir: Some(dir),
        ..tls_config(&certs, TlsAuthClients::Yes)
    };
    let server = start(config);
    let port = server.ports[1];
    let mut ok = connect_tls(port, &certs.ca, Some(&certs.client));
    assert_eq!(ok.call(&["PING"]), b"+PONG\r\n");
    assert!(refused(connect_tls(port, &certs.ca, Some(&certs.stranger))));
}

fn tls_args(certs: &Certs, tls_port: u16) -> Vec<String> {
    [
        "--port",
        "0",
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        certs.server.0.to_str().unwrap(),
        "--tls-key-file",
        certs.server.1.to_str().unwrap(),
        "--tls-ca-cert-file",
        certs.ca.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

/// redis-cli with `--tls` and the test client certificate.
fn redis_cli(certs: &Certs, port: u16) -> Command {
    let mut cli = Command::new("redis-cli");
    cli.args(["--tls", "--cacert"])
        .arg(&certs.ca)
        .arg("--cert")
        .arg(&certs.client.0)
        .arg("--key")
        .arg(&certs.client.1)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()]);
    cli
}

#[test]
fn redis_cli_over_tls_with_the_binary() {
    let certs = certs();
    let port = free_port();
    let args = tls_args(&certs, port);
    let server = Binary::start(&args.iter().map(String::as_str).collect::<Vec<_>>());

    let ping = redis_cli(&certs, port).arg("PING").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&ping.stdout), "PONG\n", "{ping:?}");

    let mut subscriber = redis_cli(&certs, port)
        .args(["SUBSCRIBE", "tls-news"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(subscriber.stdout.take().unwrap()).lines();
    let mut next = || lines.next().unwrap().unwrap();
    assert_eq!([next(), next(), next()], ["subscribe", "tls-news", "1"]);
    let publish = redis_cli(&certs, port)
        .args(["PUBLISH", "tls-news", "hello over tls"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&publish.stdout),
        "1\n",
        "{publish:?}"
    );
    assert_eq!(
        [next(), next(), next()],
        ["message", "tls-news", "hello over tls"]
    );
    let _ = subscriber.kill();
    let _ = subscriber.wait();

    // Without a client certificate, redis-cli is refused.
    let anonymous = Command::new("redis-cli")
        .args(["--tls", "--cacert"])
        .arg(&certs.ca)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "PING"])
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&anonymous.stdout), "PONG\n");
    assert!(server.stop("-TERM").success());
}

#[test]
fn tls_directives_in_a_config_file_and_config_get() {
    let certs = certs();
    let port = free_port();
    let file = certs.dir.path().join("redis.conf");
    std::fs::write(
        &file,
        format!(
            "port 0\ntls-port {port}\ntls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\n\
             tls-auth-clients optional\ntls-protocols \"TLSv1.2 TLSv1.3\"\ntls-ciphers DEFAULT\n",
            certs.server.0.display(),
            certs.server.1.display(),
            certs.ca.display()
        ),
    )
    .unwrap();
    let server = Binary::start(&[file.to_str().unwrap()]);
    let mut c = connect_tls(port, &certs.ca, None);
    let get = |c: &mut TlsConn, name: &str| {
        let reply = c.call(&["CONFIG", "GET", name]);
        let frame = common::parse_value(&reply).unwrap().unwrap().0;
        match frame {
            common::Value::Agg(_, Some(items)) => common::bulk_of(&items[1])
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(get(&mut c, "tls-port"), port.to_string());
    assert_eq!(get(&mut c, "port"), "0");
    assert_eq!(get(&mut c, "tls-auth-clients"), "optional");
    assert_eq!(get(&mut c, "tls-protocols"), "TLSv1.2 TLSv1.3");
    assert_eq!(
        get(&mut c, "tls-cert-file"),
        certs.server.0.display().to_string()
    );
    assert_eq!(get(&mut c, "tls-ca-cert-dir"), "");
    // OpenSSL tuning has no rustls meaning: CONFIG SET keeps it for CONFIG
    // GET, as for the other directives respub accepts unused (the runtime
    // tls-* directives that matter are tls_reload.rs').
    assert_eq!(
        c.call(&["CONFIG", "SET", "tls-ciphers", "DEFAULT"]),
        b"+OK\r\n"
    );
    assert_eq!(get(&mut c, "tls-ciphers"), "DEFAULT");
    assert!(server.stop("-TERM").success());
}

/// Runs the binary with TLS directives that cannot work; returns stderr.
fn fails_to_start(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_respub-server"))
        .args(["--port", "0", "--tls-port", &free_port().to_string()])
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_certificate_files_stop_the_server_naming_them() {
    let certs = certs();
    let crt = certs.server.0.to_str().unwrap();
    let key = certs.server.1.to_str().unwrap();
    let ca = certs.ca.to_str().unwrap();
    let missing = certs.dir.path().join("missing.crt");
    let missing = missing.to_str().unwrap();
    let err = fails_to_start(&["--tls-cert-file", missing, "--tls-key-file", key]);
    assert!(err.contains(&format!("tls-cert-file '{missing}'")), "{err}");
    assert!(err.contains("No such file"), "{err}");

    let junk = certs.dir.path().join("junk.pem");
    std::fs::write(&junk, "this is not PEM\n").unwrap();
    let junk = junk.to_str().unwrap();
    let err = fails_to_start(&["--tls-cert-file", crt, "--tls-key-file", junk]);
    assert!(err.contains(&format!("tls-key-file '{junk}'")), "{err}");
    let err = fails_to_start(&["--tls-cert-file", junk, "--tls-key-file", key]);
    assert!(err.contains(&format!("tls-cert-file '{junk}'")), "{err}");
    // The client's key does not go with the server's certificate.
    let err = fails_to_start(&[
        "--tls-cert-file",
        crt,
        "--tls-key-file",
        certs.client.1.to_str().unwrap(),
        "--tls-ca-cert-file",
        ca,
    ]);
    assert!(err.contains("does not go with tls-cert-file"), "{err}");
    // tls-auth-clients defaults to yes, which needs a CA, as in Redis.
    let err = fails_to_start(&["--tls-cert-file", crt, "--tls-key-file", key]);
    assert!(err.contains("tls-ca-cert-file or tls-ca-cert-dir"), "{err}");
    let err = fails_to_start(&["--tls-key-file", key]);
    assert!(err.contains("tls-cert-file is not"), "{err}");
}
