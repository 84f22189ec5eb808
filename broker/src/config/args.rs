//! A directive's words turned into typed values, with Redis' error texts,
//! so that every directive refuses a bad value as redis-server does.

use std::path::PathBuf;

use super::error::DirectiveError;

/// The TLS versions `tls-protocols` may name, as Redis spells them.
const TLS_PROTOCOLS: &[&str] = &["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/// Parses a Redis memory amount: `1gb`, `32mb`, `512k`, plain bytes.
/// Units are case-insensitive; `k`/`m`/`g` are powers of 1000, `kb`/`mb`/`gb`
/// powers of 1024, as in Redis' `memtoull`, whose quirks this keeps: no
/// digits reads as 0 (`""`, `mb`), too many saturate (`strtoull`), and the
/// unit's product wraps.
pub fn parse_memory(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    // Redis copies the digits into a 128-byte buffer first.
    if digits.len() >= 128 {
        return None;
    }
    // Only digits here: parsing fails on overflow alone.
    let n: u64 = if digits.is_empty() {
        0
    } else {
        digits.parse().unwrap_or(u64::MAX)
    };
    Some(n.wrapping_mul(mul))
}

/// An integer as Redis' `string2ll` reads it (no `+`, no leading zeros).
pub(super) fn int<T: TryFrom<i64>>(text: &str) -> Result<T, DirectiveError> {
    crate::parse::string2ll(text.as_bytes())
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| {
            DirectiveError::Invalid("argument couldn't be parsed into an integer".to_owned())
        })
}

/// An integer in `lo..=hi`, with Redis' range error.
pub(super) fn ranged<T: TryFrom<i64>>(text: &str, lo: i64, hi: i64) -> Result<T, DirectiveError> {
    let n: i64 = int(text)?;
    Some(n)
        .filter(|n| (lo..=hi).contains(n))
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| {
            DirectiveError::Invalid(format!("argument must be between {lo} and {hi} inclusive"))
        })
}

pub(super) fn memory(text: &str) -> Result<u64, DirectiveError> {
    parse_memory(text)
        .ok_or_else(|| DirectiveError::Invalid("argument must be a memory value".to_owned()))
}

/// A memory amount of at least 1 MiB (Redis' range for the buffer limits).
pub(super) fn at_least_1mb<T: TryFrom<u64>>(text: &str) -> Result<T, DirectiveError> {
    Some(memory(text)?)
        .filter(|n| *n >= 1024 * 1024 && *n <= i64::MAX as u64)
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| {
            DirectiveError::Invalid(
                "argument must be between 1048576 and 9223372036854775807 inclusive".into(),
            )
        })
}

pub(super) fn yes_no(text: &str) -> Result<bool, DirectiveError> {
    match text.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(DirectiveError::Invalid(
            "argument must be 'yes' or 'no'".into(),
        )),
    }
}

/// `latency-tracking-info-percentiles`: numbers from 0 to 100, given as
/// words of the directive or of one CONFIG SET value; none is allowed.
pub(super) fn percentiles(args: &[String]) -> Result<Vec<f64>, DirectiveError> {
    let name = "latency-tracking-info-percentiles";
    args.iter()
        .flat_map(|a| a.split_ascii_whitespace())
        .map(|word| {
            let p: f64 = word
                .parse()
                .map_err(|_| DirectiveError::Invalid(format!("Invalid {name} parameters")))?;
            if (0.0..=100.0).contains(&p) {
                Ok(p)
            } else {
                Err(DirectiveError::Invalid(format!(
                    "{name} parameters should sit between [0.0,100.0]"
                )))
            }
        })
        .collect()
}

/// Checks each word against Redis' list, so that a typo fails at the line
/// rather than when the listener is built.
pub(super) fn tls_protocols(text: &str) -> Result<String, DirectiveError> {
    if text
        .split_whitespace()
        .all(|w| TLS_PROTOCOLS.iter().any(|p| p.eq_ignore_ascii_case(w)))
    {
        Ok(text.to_owned())
    } else {
        Err(DirectiveError::Invalid(
            "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.".into(),
        ))
    }
}

pub(super) fn one(args: &[String]) -> Result<&str, DirectiveError> {
    match args {
        [v] => Ok(v),
        _ => Err(DirectiveError::Arity),
    }
}

/// One of a fixed set of words, case-insensitive; the error lists them in
/// the order given, as Redis' enum directives do.
pub(super) fn one_of<T: Copy>(text: &str, choices: &[(&str, T)]) -> Result<T, DirectiveError> {
    choices
        .iter()
        .find(|(word, _)| word.eq_ignore_ascii_case(text))
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let words: Vec<&str> = choices.iter().map(|(word, _)| *word).collect();
            DirectiveError::Invalid(format!(
                "argument(s) must be one of the following: {}",
                words.join(", ")
            ))
        })
}

/// A path, where Redis treats an empty one as unset.
pub(super) fn optional_path(text: &str) -> Option<PathBuf> {
    (!text.is_empty()).then(|| PathBuf::from(text))
}

/// A path as CONFIG GET shows it: empty when unset.
pub(super) fn shown_path(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// An OS error as `strerror` words it, which Redis prints: without Rust's
/// ` (os error N)` suffix.
pub fn os_error_text(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error ") {
        Some(end) => text.get(..end).unwrap_or(&text).to_owned(),
        None => text,
    }
}
