//! The words of the `ACL SETUSER` rule language that users and selectors
//! share: why a rule is refused, how a password is stored, and how a
//! selector spread over several arguments is put back together.

use sha2::{Digest, Sha256};

/// Why a rule was refused; the texts are Redis' `ACLSetUserStringError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuleError {
    /// ENOENT.
    UnknownCommand,
    /// EINVAL.
    Syntax,
    /// EEXIST.
    KeyAfterAll,
    /// EISDIR.
    ChannelAfterAll,
    /// ENODEV.
    NoSuchPassword,
    /// EBADMSG.
    BadHash,
    /// ECHILD.
    SubcommandFirstArg,
}

impl RuleError {
    /// Redis' text for the error.
    pub(crate) fn text(self) -> &'static str {
        match self {
            Self::UnknownCommand => "Unknown command or category name in ACL",
            Self::Syntax => "Syntax error",
            Self::KeyAfterAll => {
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and \
                 does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
            }
            Self::ChannelAfterAll => {
                "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and \
                 does not have any effect. Try 'resetchannels' to start with an empty list of \
                 channels"
            }
            Self::NoSuchPassword => {
                "The password you are trying to remove from the user does not exist"
            }
            Self::BadHash => {
                "The password hash must be exactly 64 characters and contain only lowercase \
                 hexadecimal characters"
            }
            Self::SubcommandFirstArg => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// Redis' `ACLStringHasSpaces`: whitespace or NUL.
pub(crate) fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&b| b == 0 || b == b' ' || (b'\t'..=b'\r').contains(&b))
}

/// The SHA-256 of a password in lowercase hex, as Redis stores it.
pub(crate) fn hash_password(password: &[u8]) -> String {
    Sha256::digest(password)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn valid_hash(hash: &[u8]) -> bool {
    hash.len() == 64
        && hash
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// Joins a selector spread over several arguments (`(+get`, `~x)`) into
/// one, as Redis' `ACLMergeSelectorArguments` does; an unclosed one is an
/// error naming where it starts.
pub(super) fn merge_selectors<A: AsRef<[u8]>>(ops: &[A]) -> Result<Vec<Vec<u8>>, String> {
    let mut merged = Vec::new();
    let mut open: Option<Vec<u8>> = None;
    for op in ops {
        let op = op.as_ref();
        match &mut open {
            Some(sel) => {
                sel.push(b' ');
                sel.extend_from_slice(op);
                if op.last() == Some(&b')') {
                    merged.extend(open.take());
                }
            }
            None if op.first() == Some(&b'(') && op.last() != Some(&b')') => {
                open = Some(op.to_vec());
            }
            None => merged.push(op.to_vec()),
        }
    }
    match open {
        Some(sel) => {
            let start = sel.split(|b| *b == b' ').next().unwrap_or_default();
            Err(String::from_utf8_lossy(start).into_owned())
        }
        None => Ok(merged),
    }
}
