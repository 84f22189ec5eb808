//! TLS listeners, configured with redis-server's `tls-*` directives.
//!
//! Certificates are read once, when the listener is built at startup, so a
//! missing or broken file stops the server before it accepts anyone, with
//! the directive and the file named. The handshake itself runs in each
//! connection's own task (see `server`), never in the accept loop, and is
//! given [`HANDSHAKE_TIMEOUT`] to finish.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;

use crate::config::{Config, TlsAuthClients};

/// How long a client has to complete the handshake: a peer that connects
/// and sends nothing must not hold a connection slot for ever.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the TLS listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// `tls-port` is set without a file the listener cannot do without.
    #[error("tls-port is set but {0} is not")]
    Missing(&'static str),
    /// Client certificates are required or optional, but nothing to check
    /// them against was configured (redis-server refuses this too).
    #[error(
        "tls-auth-clients is '{0}', which needs tls-ca-cert-file or tls-ca-cert-dir; set one, or set tls-auth-clients no"
    )]
    NoCa(&'static str),
    /// A configured file or directory could not be read.
    #[error("can't read {directive} '{}'", path.display())]
    Read {
        /// The directive that names it.
        directive: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// A configured file is not PEM, or holds nothing of the expected kind.
    #[error("{directive} '{}': {what}", path.display())]
    Invalid {
        /// The directive that names it.
        directive: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// `tls-protocols` names only versions rustls does not implement.
    #[error("tls-protocols '{0}' names no version respub supports (TLSv1.2, TLSv1.3)")]
    Protocols(String),
    /// rustls refused the combination (a key that does not match the
    /// certificate, an unusable CA certificate).
    #[error("TLS setup: {0}")]
    Rustls(String),
}

/// Accepts TLS connections with the configured certificate and client
/// authentication policy; cheap to clone (one per listener).
#[derive(Clone)]
pub struct Acceptor {
    inner: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acceptor").finish_non_exhaustive()
    }
}

impl Acceptor {
    /// Reads the `tls-*` directives' files and builds the acceptor.
    ///
    /// # Errors
    ///
    /// [`TlsError`], naming the directive and file at fault.
    pub fn from_config(config: &Config) -> Result<Self, TlsError> {
        let cert_path = config
            .tls_cert_file
            .as_deref()
            .ok_or(TlsError::Missing("tls-cert-file"))?;
        let key_path = config
            .tls_key_file
            .as_deref()
            .ok_or(TlsError::Missing("tls-key-file"))?;
        let chain = certificates("tls-cert-file", cert_path)?;
        let key = private_key(key_path)?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = ca_roots(config)?;
        let verifier = match (config.tls_auth_clients, roots) {
            (TlsAuthClients::No, _) => None,
            (mode, None) => return Err(TlsError::NoCa(mode.name())),
            (mode, Some(roots)) => {
                let builder =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
                let builder = if mode == TlsAuthClients::Optional {
                    builder.allow_unauthenticated()
                } else {
                    builder
                };
                Some(
                    builder
                        .build()
                        .map_err(|e| TlsError::Rustls(e.to_string()))?,
                )
            }
        };
        let versions = protocol_versions(&config.tls_protocols)?;
        let builder = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        let builder = match verifier {
            Some(v) => builder.with_client_cert_verifier(v),
            None => builder.with_no_client_auth(),
        };
        let server = builder
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Invalid {
                directive: "tls-key-file",
                path: key_path.to_owned(),
                what: format!("does not go with tls-cert-file: {e}"),
            })?;
        Ok(Self {
            inner: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
        })
    }

    /// Runs the server side of the handshake, giving up after
    /// [`HANDSHAKE_TIMEOUT`].
    ///
    /// # Errors
    ///
    /// The handshake failed (no or bad client certificate, not TLS at all)
    /// or timed out.
    pub async fn handshake<S>(&self, socket: S) -> std::io::Result<TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.handshake_within(socket, HANDSHAKE_TIMEOUT).await
    }

    async fn handshake_within<S>(&self, socket: S, limit: Duration) -> std::io::Result<TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        tokio::time::timeout(limit, self.inner.accept(socket))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
            })?
    }
}

/// Maps Redis' version names to rustls' versions; TLSv1 and TLSv1.1 are
/// accepted in the file (old redis.conf files list them) but rustls does
/// not implement them, so they are dropped with a warning.
fn protocol_versions(
    text: &str,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, TlsError> {
    if text.split_whitespace().next().is_none() {
        return Ok(rustls::ALL_VERSIONS.to_vec());
    }
    let mut versions = Vec::new();
    for word in text.split_whitespace() {
        match word.to_ascii_lowercase().as_str() {
            "tlsv1.2" => versions.push(&rustls::version::TLS12),
            "tlsv1.3" => versions.push(&rustls::version::TLS13),
            other => {
                tracing::warn!(
                    protocol = other,
                    "tls-protocols: respub's TLS (rustls) does not implement this version; ignored"
                );
            }
        }
    }
    if versions.is_empty() {
        return Err(TlsError::Protocols(text.to_owned()));
    }
    Ok(versions)
}

fn read(directive: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        directive,
        path: path.to_owned(),
        source,
    })
}

fn invalid(directive: &'static str, path: &Path, what: impl ToString) -> TlsError {
    TlsError::Invalid {
        directive,
        path: path.to_owned(),
        what: what.to_string(),
    }
}

/// Every certificate in a PEM file, in order; at least one.
fn certificates(
    directive: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(directive, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(directive, path, e))?;
    if certs.is_empty() {
        return Err(invalid(directive, path, "no PEM certificate in it"));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read("tls-key-file", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => invalid(
            "tls-key-file",
            path,
            "no unencrypted PEM private key in it (PKCS#8, PKCS#1 or SEC1)",
        ),
        other => invalid("tls-key-file", path, other),
    })
}

/// The CAs client certificates are checked against: `tls-ca-cert-file`
/// plus every PEM file in `tls-ca-cert-dir` (files that hold no certificate,
/// such as OpenSSL's hash links to CRLs, are skipped). `None` if neither is
/// set.
fn ca_roots(config: &Config) -> Result<Option<RootCertStore>, TlsError> {
    let mut found: Vec<(&'static str, PathBuf, CertificateDer<'static>)> = Vec::new();
    if let Some(file) = &config.tls_ca_cert_file {
        for cert in certificates("tls-ca-cert-file", file)? {
            found.push(("tls-ca-cert-file", file.clone(), cert));
        }
    }
    if let Some(dir) = &config.tls_ca_cert_dir {
        let entries = std::fs::read_dir(dir).map_err(|source| TlsError::Read {
            directive: "tls-ca-cert-dir",
            path: dir.clone(),
            source,
        })?;
        let before = found.len();
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            let pem = read("tls-ca-cert-dir", &path)?;
            for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
                found.push(("tls-ca-cert-dir", path.clone(), cert));
            }
        }
        if found.len() == before {
            return Err(invalid(
                "tls-ca-cert-dir",
                dir,
                "no PEM certificate in any of its files",
            ));
        }
    }
    if found.is_empty() {
        return Ok(None);
    }
    let mut roots = RootCertStore::empty();
    for (directive, path, cert) in found {
        roots
            .add(cert)
            .map_err(|e| invalid(directive, &path, format!("unusable CA certificate: {e}")))?;
    }
    Ok(Some(roots))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn protocols_map_to_rustls_versions() {
        assert_eq!(protocol_versions("").unwrap().len(), 2);
        let only13 = protocol_versions("TLSv1.3").unwrap();
        assert_eq!(only13.len(), 1);
        assert_eq!(
            only13.first().unwrap().version,
            rustls::ProtocolVersion::TLSv1_3
        );
        assert_eq!(protocol_versions("tlsv1 TLSv1.2").unwrap().len(), 1);
        assert!(matches!(
            protocol_versions("TLSv1 TLSv1.1"),
            Err(TlsError::Protocols(_))
        ));
    }

    #[tokio::test]
    async fn a_silent_peer_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
        let acceptor = Acceptor::from_config(&Config {
            tls_cert_file: Some(cert),
            tls_key_file: Some(key),
            tls_auth_clients: TlsAuthClients::No,
            ..Config::default()
        })
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _silent = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (socket, _) = listener.accept().await.unwrap();
        let err = acceptor
            .handshake_within(socket, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    }

    #[test]
    fn missing_files_are_named() {
        let mut config = Config {
            tls_port: 1,
            ..Config::default()
        };
        let err = Acceptor::from_config(&config).unwrap_err();
        assert_eq!(err.to_string(), "tls-port is set but tls-cert-file is not");
        config.tls_cert_file = Some("/nonexistent/respub.crt".into());
        config.tls_key_file = Some("/nonexistent/respub.key".into());
        let err = Acceptor::from_config(&config).unwrap_err().to_string();
        assert!(
            err == "can't read tls-cert-file '/nonexistent/respub.crt'",
            "{err}"
        );
    }
}
