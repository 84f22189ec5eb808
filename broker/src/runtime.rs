//! Where respub's tasks run: every command on one thread, in the order the
//! requests arrived, and with `io-threads` above 1, the writers on a pool of
//! their own.
//!
//! Redis runs every command on its main thread in the order its event loop
//! saw the sockets become readable, and clients rely on that across
//! connections: a SUBSCRIBE sent on one connection just before a PUBLISH on
//! another is always counted by that PUBLISH, and a client that closed is
//! no longer counted by a PUBSUB NUMSUB sent after its close. tokio's
//! multi-threaded scheduler breaks both: a worker runs the task woken last
//! first (its LIFO slot), so of two connections made readable by one poll
//! of the reactor the later one ran first, and with several workers the two
//! run at once. The current-thread scheduler runs woken tasks in the order
//! the reactor woke them, which is the order epoll reported the sockets,
//! which is the order their bytes arrived: the same order Redis sees.
//!
//! `io-threads` keeps Redis' meaning: threads for socket writes, beside the
//! one thread that runs commands. The writer tasks, which drain each
//! client's queue into its socket, move to a pool of `io-threads - 1`
//! workers; readers and commands stay on the command thread, so ordering is
//! the same whatever `io-threads` is.

use std::future::Future;

use tokio::runtime::{Builder, Handle, Runtime};

/// The runtime the server's commands run on: one thread, woken tasks run
/// first in, first out. `respub-server` runs [`crate::serve`] on it; an
/// embedder who wants Redis' ordering across connections must too.
///
/// # Errors
///
/// If the runtime's reactor cannot be created.
pub fn commands() -> std::io::Result<Runtime> {
    Builder::new_current_thread().enable_all().build()
}

/// The writer pool of `io-threads` above 1, owned by one server run.
#[derive(Debug)]
pub(crate) struct Writers {
    pool: Option<Runtime>,
}

impl Writers {
    /// A pool of `io_threads - 1` threads, or none for 0 and 1.
    pub(crate) fn new(io_threads: usize) -> std::io::Result<Self> {
        let pool = match io_threads.checked_sub(1).filter(|n| *n > 0) {
            Some(n) => Some(
                Builder::new_multi_thread()
                    .worker_threads(n)
                    .thread_name("respub-io")
                    .enable_all()
                    .build()?,
            ),
            None => None,
        };
        Ok(Self { pool })
    }

    /// Where writer tasks are spawned: the pool, or (`None`) the caller's
    /// runtime.
    pub(crate) fn handle(&self) -> Option<Handle> {
        self.pool.as_ref().map(|p| p.handle().clone())
    }

    /// Stops the pool without blocking (this runs inside the command
    /// runtime, where a blocking drop is not allowed). Every writer has
    /// ended by then: each connection awaits its own.
    pub(crate) fn shutdown(self) {
        if let Some(pool) = self.pool {
            pool.shutdown_background();
        }
    }
}

/// Spawns a connection's writer on the writer pool if there is one, else
/// on the current runtime.
pub(crate) fn spawn_writer<F>(pool: Option<&Handle>, writer: F) -> tokio::task::JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    match pool {
        Some(handle) => handle.spawn(writer),
        None => tokio::spawn(writer),
    }
}
