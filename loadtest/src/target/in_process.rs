//! A respub broker running in the test's own runtime, through the
//! broker's public API.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::sync::oneshot;

use super::Running;

/// Stops the broker when dropped.
#[derive(Debug)]
pub(crate) struct Handle {
    _stop: oneshot::Sender<()>,
}

pub(crate) async fn start() -> anyhow::Result<Running> {
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = rx.await;
        };
        if let Err(e) =
            respub_broker::run(listener, respub_broker::Config::default(), shutdown).await
        {
            tracing::error!(%e, "in-process broker failed");
        }
    });
    Ok(Running {
        addr,
        process: None,
        in_process: Some(Handle { _stop: tx }),
    })
}
