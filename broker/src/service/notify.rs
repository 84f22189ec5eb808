//! systemd's notification protocol: one datagram per state change to the
//! Unix socket named by `NOTIFY_SOCKET` (in the abstract namespace when the
//! name starts with `@`). Written here rather than taken from a crate: it
//! is a dozen lines, and the test checks it against a socket of its own.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Sends `state` (`READY=1\n`, ...) to systemd; a missing or unreachable
/// socket is logged, never fatal, as in Redis.
pub(super) fn send(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        tracing::warn!(
            "systemd supervision requested or auto-detected, but NOTIFY_SOCKET not found!"
        );
        return;
    };
    let sent = (|| {
        let bytes = path.as_encoded_bytes();
        let addr = match bytes.strip_prefix(b"@") {
            Some(name) => SocketAddr::from_abstract_name(name)?,
            None => SocketAddr::from_pathname(&path)?,
        };
        UnixDatagram::unbound()?.send_to_addr(state.as_bytes(), &addr)
    })();
    if let Err(err) = sent {
        tracing::warn!(%err, state = state.trim_end(), "can't notify systemd");
    }
}
