//! TLS listeners, configured with redis-server's `tls-*` directives.
//!
//! At startup the files are read before anything is bound, so a missing or
//! broken file stops the server before it accepts anyone, with the
//! directive and the file named. While the server runs, CONFIG SET of a
//! certificate, key, CA or `tls-protocols` directive reads the files again
//! into a whole new [`Setup`] built from the candidate configuration (a
//! `tls-auth-clients` change rebuilds it from the files as last read, as
//! Redis does) and, only if that succeeds, installs it in the [`Acceptor`]
//! every TLS listener shares (see `cmd::config`): handshakes that start
//! afterwards use it, connections already up keep theirs, and a failure
//! leaves the old one serving, as in Redis 7. The current setup is behind
//! an [`ArcSwap`], so a handshake reads it without a lock.
//!
//! The handshake itself runs in each connection's own task (see `server`),
//! never in the accept loop, and is given [`HANDSHAKE_TIMEOUT`] to finish.

mod files;
mod no_ca;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;

use crate::config::{Config, TlsAuthClients};
use files::Loaded;

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
    /// `tls-protocols` names something that is not a TLS version.
    #[error(
        "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3' (not '{0}')."
    )]
    UnknownProtocol(String),
    /// rustls refused the combination (a key that does not match the
    /// certificate, an unusable CA certificate).
    #[error("TLS setup: {0}")]
    Rustls(String),
}

/// One complete TLS configuration, ready to serve: what the files held
/// and the rustls configuration built from them and `tls-auth-clients`.
pub struct Setup {
    loaded: Arc<Loaded>,
    auth: TlsAuthClients,
    server: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the key.
        f.debug_struct("Setup").finish_non_exhaustive()
    }
}

impl Setup {
    /// Reads the `tls-*` directives' files and builds the configuration,
    /// as Redis' `tlsConfigure` does at startup and for CONFIG SET of a
    /// file, CA or `tls-protocols` directive.
    ///
    /// # Errors
    ///
    /// [`TlsError`], naming the directive and file at fault.
    pub fn load(config: &Config) -> Result<Self, TlsError> {
        Self::build(Arc::new(Loaded::read(config)?), config.tls_auth_clients)
    }

    /// The same files with another `tls-auth-clients`, which Redis applies
    /// without reading anything again. With no CA, `yes` and `optional`
    /// refuse every certificate (see `no_ca`), as Redis' empty CA store
    /// does.
    ///
    /// # Errors
    ///
    /// rustls refused to build the verifier.
    pub fn with_auth(&self, mode: TlsAuthClients) -> Result<Self, TlsError> {
        Self::build(Arc::clone(&self.loaded), mode)
    }

    /// The `tls-auth-clients` it was built for.
    pub fn auth(&self) -> TlsAuthClients {
        self.auth
    }

    fn build(loaded: Arc<Loaded>, mode: TlsAuthClients) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // An empty store (a tls-ca-cert-dir with no certificate) verifies
        // nothing, as no CA at all.
        let roots = loaded.roots.as_ref().filter(|r| !r.is_empty());
        let verifier: Option<Arc<dyn ClientCertVerifier>> = match (mode, roots) {
            (TlsAuthClients::No, _) => None,
            (mode, None) => Some(Arc::new(no_ca::NoCa {
                mandatory: mode == TlsAuthClients::Yes,
                algorithms: provider.signature_verification_algorithms,
            })),
            (mode, Some(roots)) => {
                let builder = WebPkiClientVerifier::builder_with_provider(
                    Arc::clone(roots),
                    provider.clone(),
                );
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
        let builder = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&loaded.versions)
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        let builder = match verifier {
            Some(v) => builder.with_client_cert_verifier(v),
            None => builder.with_no_client_auth(),
        };
        let server = builder
            .with_single_cert(loaded.chain.clone(), loaded.key.clone_key())
            .map_err(|e| TlsError::Invalid {
                directive: "tls-key-file",
                path: loaded.key_path.clone(),
                what: format!("does not go with tls-cert-file: {e}"),
            })?;
        Ok(Self {
            loaded,
            auth: mode,
            server: Arc::new(server),
        })
    }
}

/// Accepts TLS connections with the current [`Setup`]; cheap to clone,
/// and every clone shares the setup, so that installing a new one reaches
/// every listener.
#[derive(Clone)]
pub struct Acceptor {
    current: Arc<ArcSwap<Setup>>,
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acceptor").finish_non_exhaustive()
    }
}

impl Acceptor {
    /// An acceptor serving `setup`.
    pub fn new(setup: Setup) -> Self {
        Self {
            current: Arc::new(ArcSwap::from_pointee(setup)),
        }
    }

    /// Reads the `tls-*` directives' files and builds the acceptor.
    ///
    /// # Errors
    ///
    /// [`TlsError`], naming the directive and file at fault.
    pub fn from_config(config: &Config) -> Result<Self, TlsError> {
        Setup::load(config).map(Self::new)
    }

    /// The setup new handshakes use.
    pub fn current(&self) -> Arc<Setup> {
        self.current.load_full()
    }

    /// Makes `setup` the one handshakes that start from now on use; those
    /// under way and the connections already up keep the one they began
    /// with.
    pub fn install(&self, setup: Setup) {
        self.current.store(Arc::new(setup));
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
        let server = Arc::clone(&self.current.load().server);
        let accepting = tokio_rustls::TlsAcceptor::from(server).accept(socket);
        tokio::time::timeout(limit, accepting).await.map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
        })?
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A self-signed certificate and its key, written into `dir`.
    fn self_signed(dir: &std::path::Path) -> (PathBuf, PathBuf) {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let (cert, key) = (dir.join("c.pem"), dir.join("k.pem"));
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
        (cert, key)
    }

    #[tokio::test]
    async fn a_silent_peer_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(dir.path());
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
    fn another_auth_mode_reads_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(dir.path());
        let acceptor = Acceptor::from_config(&Config {
            tls_cert_file: Some(cert.clone()),
            tls_key_file: Some(key),
            tls_auth_clients: TlsAuthClients::No,
            ..Config::default()
        })
        .unwrap();
        // Gone from disk: the rebuilt setup uses the files as read, and
        // without a CA `yes` is accepted, refusing every certificate.
        std::fs::remove_file(&cert).unwrap();
        let strict = acceptor.current().with_auth(TlsAuthClients::Yes).unwrap();
        assert_eq!(strict.auth(), TlsAuthClients::Yes);
        acceptor.install(strict);
        assert_eq!(acceptor.current().auth(), TlsAuthClients::Yes);
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
