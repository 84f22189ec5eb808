//! What CONFIG SET does besides storing values: TLS reconfigured and
//! listeners moved, each step able to fail without changing anything, so
//! that the whole CONFIG SET either takes effect or leaves the server as it
//! was. Redis gets there by restoring the previous values and applying them
//! again; respub builds the new TLS setup and binds the new ports first and
//! commits only when all of them succeeded. A `bind` change is the
//! exception: as in Redis, it closes the old addresses first (they may
//! overlap the new ones) and binds them again if the new ones fail.
//!
//! When several steps could fail, the error names the directive Redis'
//! apply functions would have failed on: the first one the call named
//! whose step failed, in lowercase however it was written.

use std::sync::Arc;

use super::failed;
use crate::config::Config;
use crate::listen::{Endpoints, Move, Moved};
use crate::session::Shared;
use crate::tls::{Acceptor, Setup, TlsError};

/// Redis' reply when TLS could not be (re)configured; the reason goes to
/// the log.
const TLS_FAILED: &str = "Unable to update TLS configuration. Check server logs.";

/// What a CONFIG SET needs besides its values, built and checked but not
/// yet in force.
#[derive(Debug)]
pub(super) struct Prepared {
    tls: TlsChange,
    moved: Moved,
}

/// What a CONFIG SET changes in TLS.
#[derive(Debug)]
struct TlsChange {
    /// The acceptor TLS listeners use once this CONFIG SET succeeds;
    /// `None` while TLS has never been configured.
    acceptor: Option<Acceptor>,
    /// A setup to install in it.
    setup: Option<Setup>,
    /// The acceptor was made by this CONFIG SET (TLS configured for the
    /// first time) and `Listening` must keep it.
    fresh: bool,
}

impl TlsChange {
    /// Puts the change in force: new handshakes use it from now on.
    fn commit(self, shared: &Shared) {
        let Some(acceptor) = self.acceptor else {
            return;
        };
        if let Some(setup) = self.setup {
            acceptor.install(setup);
        }
        if self.fresh {
            shared.listening.set_acceptor(acceptor);
        }
    }
}

/// Whether naming `name` in CONFIG SET reconfigures TLS (Redis'
/// `applyTlsCfg`): the file and CA directives always, even with the value
/// they had, since that is how renewed files at the same paths are read
/// again (Redis' `VOLATILE_CONFIG`); `tls-protocols` when it changed.
fn reconfigures(name: &str, old: &Config, next: &Config) -> bool {
    match name {
        "tls-cert-file" | "tls-key-file" | "tls-ca-cert-file" | "tls-ca-cert-dir" => true,
        "tls-protocols" => old.tls_protocols != next.tls_protocols,
        _ => false,
    }
}

/// The directive whose apply, in Redis, reads the TLS files: the first
/// that reconfigures TLS while `tls-port` is set, or `tls-port` itself when
/// it turns TLS on for the first time (Redis keeps its TLS context while
/// `tls-port` is 0 and serves it again). `None`: no file is read.
fn loads_files<'a>(
    names: &'a [String],
    old: &Config,
    next: &Config,
    configured: bool,
) -> Option<&'a str> {
    let by_port = old.tls_port != next.tls_port && next.tls_port != 0 && !configured;
    names
        .iter()
        .find(|n| {
            (by_port && *n == "tls-port") || (next.tls_port != 0 && reconfigures(n, old, next))
        })
        .map(String::as_str)
}

/// Builds the TLS setup and binds the new ports `next` asks for, one
/// directive at a time in the order the call named them, as Redis runs its
/// apply functions, so that the error names the directive Redis' would.
/// `tls-auth-clients` alone reads no file: the setup is rebuilt from the
/// files as last read, as Redis changes only how new handshakes verify.
///
/// # Errors
///
/// Redis' reply naming the directive, the reason logged.
pub(super) fn prepare(
    shared: &Shared,
    names: &[String],
    old: &Config,
    next: &Config,
) -> Result<Prepared, Vec<u8>> {
    let current = shared.listening.acceptor();
    let loader = loads_files(names, old, next, current.is_some());
    let mut tls = None;
    let mut moved = Moved::default();
    for name in names {
        if Some(name.as_str()) == loader {
            let setup = Setup::load(next).map_err(|err| tls_failed(name, &err))?;
            tls = Some(match current.clone() {
                Some(acceptor) => TlsChange {
                    acceptor: Some(acceptor),
                    setup: Some(setup),
                    fresh: false,
                },
                None => TlsChange {
                    acceptor: Some(Acceptor::new(setup)),
                    setup: None,
                    fresh: true,
                },
            });
        }
        // A `bind` change moves every listener at once, in `commit`.
        if old.bind != next.bind {
            continue;
        }
        let to = match name.as_str() {
            "port" if old.port != next.port => Move::Plain(next.port),
            "tls-port" if old.tls_port != next.tls_port => {
                let acceptor = tls
                    .as_ref()
                    .map_or(current.as_ref(), |t| t.acceptor.as_ref());
                match (next.tls_port, acceptor) {
                    (0, _) => Move::Tls(None),
                    (port, Some(acceptor)) => Move::Tls(Some((port, acceptor.clone()))),
                    // Not reached: `loads_files` made one at `tls-port`.
                    (_, None) => return Err(failed(b"tls-port", TLS_FAILED)),
                }
            }
            _ => continue,
        };
        moved.bind(&next.bind, &to).map_err(|err| {
            tracing::warn!(%err, "CONFIG SET {name}");
            failed(
                name.as_bytes(),
                "Unable to listen on this port. Check server logs.",
            )
        })?;
    }
    let tls = match tls {
        Some(tls) => tls,
        None => auth_change(current, next)?,
    };
    Ok(Prepared { tls, moved })
}

/// The setup rebuilt for another `tls-auth-clients`, if it changed.
fn auth_change(current: Option<Acceptor>, next: &Config) -> Result<TlsChange, Vec<u8>> {
    let setup = match &current {
        Some(acceptor) if acceptor.current().auth() != next.tls_auth_clients => Some(
            acceptor
                .current()
                .with_auth(next.tls_auth_clients)
                .map_err(|err| tls_failed("tls-auth-clients", &err))?,
        ),
        _ => None,
    };
    Ok(TlsChange {
        acceptor: current,
        setup,
        fresh: false,
    })
}

/// Logs why TLS could not be configured, with every cause (the reply only
/// says to look here), and returns Redis' reply.
fn tls_failed(directive: &str, err: &TlsError) -> Vec<u8> {
    let mut why = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(inner) = cause {
        why.push_str(": ");
        why.push_str(&inner.to_string());
        cause = inner.source();
    }
    tracing::warn!(
        directive,
        err = %why,
        "Failed applying new configuration; the previous TLS configuration stays in force"
    );
    failed(directive.as_bytes(), TLS_FAILED)
}

/// Puts `prepared` in force: a changed `bind` moves every listener now (it
/// must close the old addresses first, and binds them again if the new
/// ones fail), other port changes start the sockets bound in [`prepare`],
/// then TLS handshakes switch to the new setup.
///
/// # Errors
///
/// The failed `bind`, in Redis' words; nothing has changed then.
pub(super) fn commit(
    shared: &Arc<Shared>,
    old: &Config,
    next: &Config,
    prepared: Prepared,
) -> Result<(), Vec<u8>> {
    let Prepared { tls, moved } = prepared;
    if old.bind != next.bind {
        let endpoint = |port: u16| {
            tls.acceptor
                .as_ref()
                .filter(|_| port != 0)
                .map(|acceptor| (port, acceptor.clone()))
        };
        let to = Endpoints {
            bind: &next.bind,
            port: next.port,
            tls: endpoint(next.tls_port),
        };
        let from = Endpoints {
            bind: &old.bind,
            port: old.port,
            tls: endpoint(old.tls_port),
        };
        shared.listening.rebind(shared, &to, &from).map_err(|err| {
            tracing::warn!(%err, "CONFIG SET bind");
            failed(b"bind", "Failed to bind to specified addresses.")
        })?;
    } else {
        shared.listening.finish(shared, moved);
    }
    tls.commit(shared);
    Ok(())
}
