//! How a directive, or a whole configuration file, is refused.

/// Why a directive was refused; the text is Redis' for the same mistake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectiveError {
    /// Not a directive redis-server knows, or the wrong number of arguments.
    #[error("Bad directive or wrong number of arguments")]
    Unknown,
    /// A known directive with the wrong number of arguments.
    #[error("wrong number of arguments")]
    Arity,
    /// An argument that does not parse.
    #[error("{0}")]
    Invalid(String),
    /// The directive cannot change while running (CONFIG SET only).
    #[error("can't set immutable config")]
    Immutable,
    /// The directive is protected (CONFIG SET only), as Redis' are while
    /// `enable-protected-configs` is `no`.
    #[error("can't set protected config")]
    Protected,
}

/// A configuration file error, printed as redis-server prints it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\n*** FATAL CONFIG FILE ERROR (respub {version}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{error}"
)]
pub struct ConfigError {
    /// 1-based line number in the combined file and command-line text.
    pub line: usize,
    /// The offending line, re-quoted as Redis shows it.
    pub text: String,
    /// What is wrong with it.
    pub error: DirectiveError,
    /// respub's version, for the banner.
    pub version: &'static str,
}
