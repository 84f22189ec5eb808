//! Reading what the `tls-*` directives name: the certificate chain, its
//! key, the client CAs and the protocol versions, each failure naming the
//! directive and the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;
use crate::config::{Config, TlsAuthClients};

/// Everything a TLS configuration reads from disk, kept so that a change of
/// `tls-auth-clients` alone can build a new rustls configuration without
/// reading the files again, as Redis changes only the verification mode
/// then.
#[derive(Debug)]
pub(super) struct Loaded {
    pub(super) chain: Vec<CertificateDer<'static>>,
    pub(super) key: PrivateKeyDer<'static>,
    /// `tls-key-file`, for the error when the key does not fit.
    pub(super) key_path: PathBuf,
    /// The client CAs; `None` when neither CA directive is set.
    pub(super) roots: Option<Arc<RootCertStore>>,
    pub(super) versions: Vec<&'static rustls::SupportedProtocolVersion>,
}

impl Loaded {
    /// Reads the files of `config`, with redis-server's checks: a
    /// certificate and a key are required, and so is a CA unless
    /// `tls-auth-clients` is `no`.
    pub(super) fn read(config: &Config) -> Result<Self, TlsError> {
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
        let roots = ca_roots(config)?;
        if roots.is_none() && config.tls_auth_clients != TlsAuthClients::No {
            return Err(TlsError::NoCa(config.tls_auth_clients.name()));
        }
        Ok(Self {
            chain,
            key,
            key_path: key_path.to_owned(),
            roots: roots.map(Arc::new),
            versions: protocol_versions(&config.tls_protocols)?,
        })
    }
}

/// Maps Redis' version names to rustls' versions; TLSv1 and TLSv1.1 are
/// accepted (old redis.conf files list them) but rustls does not implement
/// them, so they are dropped with a warning. Any other word is refused, as
/// Redis refuses it when it configures TLS.
pub(super) fn protocol_versions(
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
            "tlsv1" | "tlsv1.1" => {
                tracing::warn!(
                    protocol = word,
                    "tls-protocols: respub's TLS (rustls) does not implement this version; ignored"
                );
            }
            _ => return Err(TlsError::UnknownProtocol(word.to_owned())),
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
/// set; empty if only a directory is, and it has no certificate.
fn ca_roots(config: &Config) -> Result<Option<RootCertStore>, TlsError> {
    let mut found: Vec<(&'static str, PathBuf, CertificateDer<'static>)> = Vec::new();
    if let Some(file) = &config.tls_ca_cert_file {
        for cert in certificates("tls-ca-cert-file", file)? {
            found.push(("tls-ca-cert-file", file.clone(), cert));
        }
    }
    if let Some(dir) = &config.tls_ca_cert_dir {
        // OpenSSL looks certificates up in the directory only when a
        // client presents one, so Redis accepts a directory that is
        // missing or holds none; every client certificate then fails to
        // verify. The same here, with a warning.
        let before = found.len();
        match std::fs::read_dir(dir) {
            Ok(entries) => {
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
            }
            Err(err) => tracing::warn!(dir = %dir.display(), %err, "can't read tls-ca-cert-dir"),
        }
        if found.len() == before {
            tracing::warn!(
                dir = %dir.display(),
                "tls-ca-cert-dir holds no PEM certificate: no client certificate can be verified against it"
            );
        }
    }
    if found.is_empty() {
        // A directory was named: an empty store, which refuses every
        // certificate (see `no_ca`); no CA at all is `None`.
        return Ok(config
            .tls_ca_cert_dir
            .as_ref()
            .map(|_| RootCertStore::empty()));
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
        assert!(matches!(
            protocol_versions("TLSv1.2 SSLv3"),
            Err(TlsError::UnknownProtocol(w)) if w == "SSLv3"
        ));
    }
}
