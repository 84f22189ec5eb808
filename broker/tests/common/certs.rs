//! Certificates made at test time (rcgen) in a temporary directory: a CA,
//! a server certificate for 127.0.0.1, 10.99.0.1 (the protected-mode tests'
//! non-loopback address) and localhost, a client certificate from that CA,
//! and a client certificate from a second, unrelated CA; on demand, a
//! renewed server certificate from yet another CA. Also a blocking TLS
//! client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use respub_broker::tls::Acceptor;
use respub_broker::{Config, Listener, TlsAuthClients};

use super::{Conn, GUARD, TestServer, tcp_listener};

/// The files of one test's certificates.
pub struct Certs {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub server: (PathBuf, PathBuf),
    pub client: (PathBuf, PathBuf),
    /// A client certificate signed by a CA the server does not know.
    pub stranger: (PathBuf, PathBuf),
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (params.self_signed(&key).unwrap(), key)
}

/// Writes a certificate for `names` signed by `issuer` as `<stem>.crt` and
/// `<stem>.key`.
fn leaf(
    dir: &Path,
    stem: &str,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &(rcgen::Certificate, KeyPair),
) -> (PathBuf, PathBuf) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, stem);
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, &issuer.0, &issuer.1).unwrap();
    let (crt, pem_key) = (
        dir.join(format!("{stem}.crt")),
        dir.join(format!("{stem}.key")),
    );
    std::fs::write(&crt, cert.pem()).unwrap();
    std::fs::write(&pem_key, key.serialize_pem()).unwrap();
    (crt, pem_key)
}

pub fn certs() -> Certs {
    let dir = tempfile::tempdir().unwrap();
    let ours = ca("respub test CA");
    let theirs = ca("unrelated CA");
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, ours.0.pem()).unwrap();
    let d = dir.path();
    Certs {
        server: leaf(
            d,
            "server",
            &["localhost", "127.0.0.1", "10.99.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &ours,
        ),
        client: leaf(d, "client", &[], ExtendedKeyUsagePurpose::ClientAuth, &ours),
        stranger: leaf(
            d,
            "stranger",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
            &theirs,
        ),
        ca,
        dir,
    }
}

/// A server certificate for the same names as [`Certs::server`], signed by
/// a CA of its own: what a renewal that also changes CA looks like.
pub struct Renewal {
    pub ca: PathBuf,
    pub server: (PathBuf, PathBuf),
}

/// A [`Renewal`] in `certs`' directory (`renewed-ca.crt`, `renewed.crt`,
/// `renewed.key`).
pub fn renewal(certs: &Certs) -> Renewal {
    let issuer = ca("renewed test CA");
    let d = certs.dir.path();
    let ca = d.join("renewed-ca.crt");
    std::fs::write(&ca, issuer.0.pem()).unwrap();
    Renewal {
        server: leaf(
            d,
            "renewed",
            &["localhost", "127.0.0.1", "10.99.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &issuer,
        ),
        ca,
    }
}

pub type TlsConn = Conn<StreamOwned<ClientConnection, TcpStream>>;

/// A TLS client on 127.0.0.1:`port`; see [`tls_over`].
pub fn connect_tls(port: u16, ca: &Path, identity: Option<&(PathBuf, PathBuf)>) -> TlsConn {
    tls_over(
        TcpStream::connect(("127.0.0.1", port)).unwrap(),
        ca,
        identity,
    )
}

/// A TLS client over `tcp`, trusting `ca`, presenting `identity` if given.
/// The handshake happens on the first read or write.
pub fn tls_over(tcp: TcpStream, ca: &Path, identity: Option<&(PathBuf, PathBuf)>) -> TlsConn {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
    let config = match identity {
        Some((crt, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_file_iter(crt)
                    .unwrap()
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_file(key).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let name = ServerName::from(tcp.peer_addr().unwrap().ip());
    let tls = ClientConnection::new(Arc::new(config), name).unwrap();
    tcp.set_read_timeout(Some(GUARD)).unwrap();
    Conn::over(StreamOwned::new(tls, tcp))
}

/// The configuration of `certs`' server certificate, checking clients
/// against `certs.ca` as `auth` says.
pub fn tls_config(certs: &Certs, auth: TlsAuthClients) -> Config {
    Config {
        tls_cert_file: Some(certs.server.0.clone()),
        tls_key_file: Some(certs.server.1.clone()),
        tls_ca_cert_file: Some(certs.ca.clone()),
        tls_auth_clients: auth,
        ..Config::default()
    }
}

/// respub in-process with a plain listener (`ports[0]`) and a TLS one
/// (`ports[1]`), on 127.0.0.1.
pub fn start(config: Config) -> TestServer {
    let acceptor = Acceptor::from_config(&config).unwrap();
    TestServer::start_on(config, move || {
        vec![
            Listener::Tcp(tcp_listener("127.0.0.1:0")),
            Listener::Tls(tcp_listener("127.0.0.1:0"), acceptor),
        ]
    })
}

/// Whether the server turned this client away, or the client the server:
/// the handshake (or, in TLS 1.3, the first read after it, when the server
/// checks the client's certificate) fails, and no reply ever arrives.
pub fn refused(mut conn: TlsConn) -> bool {
    if conn.stream.write_all(b"PING\r\n").is_err() {
        return true;
    }
    let mut buf = [0u8; 64];
    match conn.stream.read(&mut buf) {
        Ok(0) | Err(_) => true,
        Ok(n) => panic!(
            "the server answered: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
    }
}
