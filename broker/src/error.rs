//! Errors `run` can return. Everything a client does wrong is answered on
//! its own connection and never surfaces here.

/// A failure of the server as a whole.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listener could not be used.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
    /// The users could not be loaded (`aclfile`, or both `aclfile` and
    /// `user` directives).
    #[error("{0}")]
    Acl(String),
}
