//! The adapter's error type.

use socketioxide_core::adapter::errors::AdapterError;

use crate::codec::CodecError;

/// What can go wrong in a cluster operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The driver failed (broker unreachable, command rejected).
    #[error("driver error: {0}")]
    Driver(Box<dyn std::error::Error + Send + Sync>),
    /// A request did not get every expected answer in time.
    #[error(
        "timeout reached while waiting for {operation}: only {answered} responses received out of {expected}"
    )]
    Timeout {
        /// The operation (`fetchSockets`, `allRooms`, `serverSideEmit`).
        operation: &'static str,
        /// How many peers answered.
        answered: usize,
        /// How many peers were expected to answer.
        expected: usize,
    },
    /// The connection to the broker dropped while the request was waiting.
    #[error(
        "connection to the broker lost while waiting for {operation} ({answered} of {expected} responses received)"
    )]
    ConnectionLost {
        /// The operation.
        operation: &'static str,
        /// How many peers had answered.
        answered: usize,
        /// How many were expected.
        expected: usize,
    },
    /// A payload could not be encoded or decoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The adapter was closed, or the namespace has no adapter on this server.
    #[error("adapter closed")]
    Closed,
    /// A server-side event may not have this name: Node reserves it
    /// (`connect`, `connection`, `new_namespace`).
    #[error("\"{0}\" is a reserved event name")]
    ReservedEvent(String),
}

impl Error {
    pub(crate) fn driver(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Driver(Box::new(err))
    }
}

impl From<Error> for AdapterError {
    fn from(err: Error) -> Self {
        AdapterError(Box::new(err))
    }
}
