//! How Redis checks and shows the value of a directive respub accepts
//! unused: the same parsers, ranges and error texts as redis-server's
//! config table (`config.c`), so that CONFIG SET answers as Redis does and
//! CONFIG GET shows what was set, in Redis' canonical form.

use super::super::error::DirectiveError;
use crate::parse::string2ll;

/// `INT_MAX`, the upper bound of Redis' `int` directives.
pub(super) const INT_MAX: i128 = i32::MAX as i128;
/// `LLONG_MAX` (and `LONG_MAX`, `SSIZE_MAX` on 64-bit Linux).
pub(super) const LLONG_MAX: i128 = i64::MAX as i128;
/// `ULLONG_MAX`.
pub(super) const ULLONG_MAX: i128 = u64::MAX as i128;

/// How a number is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::config) enum Unit {
    /// A plain integer, as `string2ll` reads it.
    Plain,
    /// A memory amount (`64mb`, `1g`, bytes), shown in bytes.
    Memory,
    /// A memory amount or a percentage of `maxmemory` (`5%`).
    MemoryOrPercent,
}

/// The type of a directive's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::config) enum Kind {
    /// `yes` or `no`, in any case.
    Bool,
    /// `activedefrag`: a boolean that cannot be `yes`, as in a Redis built
    /// without its own jemalloc (Debian's): respub has no allocator to
    /// defragment.
    NoDefrag,
    /// A number in `lo..=hi`.
    Number { lo: i128, hi: i128, unit: Unit },
    /// One word of a fixed list, in any case; shown as the list spells it.
    Enum(&'static [&'static str]),
    /// Any text.
    Text,
    /// A file or directory name without a directory part (`dbfilename`,
    /// `appendfilename`, `appenddirname`).
    BaseName {
        directive: &'static str,
        noun: &'static str,
        empty_ok: bool,
    },
    /// `proc-title-template`: variables Redis knows, not expanding to
    /// nothing.
    ProcTitle,
    /// `save`: pairs of seconds (at least 1) and changes (at least 0).
    Save,
    /// `oom-score-adj-values`: three numbers from -2000 to 2000.
    OomValues,
    /// `replicaof`: a host and a port, or `no one`.
    ReplicaOf,
    /// Not a configuration parameter at all (`loadmodule`): a file line
    /// only, unknown to CONFIG SET and GET.
    FileLine,
}

/// `proc-title-template`'s variables (`redisProcTitleGetVariable`), with
/// whether each may expand to nothing: `title` is empty while checking,
/// `server-mode` outside a cluster, `unixsocket` when none is set.
const PROC_TITLE_VARIABLES: &[(&str, bool)] = &[
    ("title", true),
    ("listen-addr", false),
    ("server-mode", true),
    ("config-file", false),
    ("port", false),
    ("tls-port", false),
    ("unixsocket", true),
];

/// What the value is checked against besides its own text.
#[derive(Debug, Clone, Copy)]
pub(in crate::config) struct Context {
    /// A Unix socket is configured (a template's `{unixsocket}` is not
    /// empty).
    pub(in crate::config) unixsocket: bool,
}

impl Kind {
    /// The value as CONFIG GET shows it, or Redis' reason for refusing
    /// it. `args` are the words after the directive's name; CONFIG SET
    /// gives one, which directives of several words split at spaces.
    pub(super) fn check(
        self,
        args: &[String],
        running: bool,
        ctx: Context,
    ) -> Result<String, DirectiveError> {
        match self {
            Self::Save => return save(&words(args, running)),
            Self::OomValues => return oom_values(&words(args, running)),
            Self::ReplicaOf => return replica_of(&words(args, running)),
            _ => {}
        }
        let [value] = args else {
            return Err(DirectiveError::Arity);
        };
        match self {
            Self::Bool => yes_no(value),
            Self::NoDefrag => match yes_no(value)?.as_str() {
                "yes" => Err(invalid(
                    "Active defragmentation cannot be enabled: it requires a Redis server compiled \
with a modified Jemalloc like the one shipped by default with the Redis source distribution",
                )),
                no => Ok(no.to_owned()),
            },
            Self::Number { lo, hi, unit } => number(value, lo, hi, unit),
            Self::Enum(words) => one_of(value, words),
            Self::Text | Self::FileLine => Ok(value.clone()),
            Self::BaseName {
                directive,
                noun,
                empty_ok,
            } => base_name(value, directive, noun, empty_ok),
            Self::ProcTitle => proc_title(value, ctx),
            Self::Save | Self::OomValues | Self::ReplicaOf => Err(DirectiveError::Arity),
        }
    }
}

fn base_name(
    value: &str,
    directive: &str,
    noun: &str,
    empty_ok: bool,
) -> Result<String, DirectiveError> {
    if value.is_empty() && !empty_ok {
        return Err(DirectiveError::Invalid(format!(
            "{directive} can't be empty"
        )));
    }
    if value.contains(['/', '\\']) {
        return Err(DirectiveError::Invalid(format!(
            "{directive} can't be a path, just a {noun}"
        )));
    }
    Ok(value.to_owned())
}

fn invalid(text: &str) -> DirectiveError {
    DirectiveError::Invalid(text.to_owned())
}

/// The words of a directive that takes several. CONFIG SET's one value is
/// cut at each space, empty words kept (`sdssplitlen`); a file line's or
/// option's single non-empty value is split as a line is.
fn words(args: &[String], running: bool) -> Vec<&str> {
    match args {
        [one] if running && one.is_empty() => Vec::new(),
        [one] if running => one.split(' ').collect(),
        [one] if !one.is_empty() => one.split_ascii_whitespace().collect(),
        _ => args.iter().map(String::as_str).collect(),
    }
}

fn yes_no(value: &str) -> Result<String, DirectiveError> {
    match value.to_ascii_lowercase().as_str() {
        word @ ("yes" | "no") => Ok(word.to_owned()),
        _ => Err(invalid("argument must be 'yes' or 'no'")),
    }
}

fn one_of(value: &str, words: &[&str]) -> Result<String, DirectiveError> {
    words
        .iter()
        .find(|w| w.eq_ignore_ascii_case(value))
        .map(|w| (*w).to_owned())
        .ok_or_else(|| {
            DirectiveError::Invalid(format!(
                "argument(s) must be one of the following: {}",
                words.join(", ")
            ))
        })
}

fn number(value: &str, lo: i128, hi: i128, unit: Unit) -> Result<String, DirectiveError> {
    let memory = match unit {
        Unit::Plain => None,
        Unit::Memory | Unit::MemoryOrPercent => super::super::args::parse_memory(value),
    };
    let percent = match unit {
        Unit::MemoryOrPercent => value
            .strip_suffix('%')
            .filter(|digits| !digits.is_empty())
            .and_then(|digits| string2ll(digits.as_bytes()))
            .filter(|n| *n >= 0),
        _ => None,
    };
    let n: i128 = match (memory, percent, unit) {
        (Some(bytes), _, _) => i128::from(bytes),
        (None, Some(p), _) if i128::from(p) > -lo => {
            return Err(DirectiveError::Invalid(format!(
                "percentage argument must be less or equal to {}",
                -lo
            )));
        }
        (None, Some(p), _) => return Ok(format!("{p}%")),
        (None, None, Unit::Plain) => string2ll(value.as_bytes())
            .map(i128::from)
            .ok_or_else(|| invalid("argument couldn't be parsed into an integer"))?,
        (None, None, Unit::Memory) => return Err(invalid("argument must be a memory value")),
        (None, None, Unit::MemoryOrPercent) => {
            return Err(invalid("argument must be a memory or percent value"));
        }
    };
    // Redis keeps the number in a long long: a memory amount past
    // LLONG_MAX wraps negative, and fails the range check the same way.
    if n < lo || n > hi {
        return Err(DirectiveError::Invalid(format!(
            "argument must be between {lo} and {hi} inclusive"
        )));
    }
    Ok(n.to_string())
}

/// C's `strtoll` on a whole word: leading spaces and a sign allowed, and
/// nothing after the digits; the empty word is 0 (no digits, and the end
/// pointer at the terminator).
fn strtoll(word: &str) -> Option<i64> {
    if word.is_empty() {
        return Some(0);
    }
    let trimmed = word.trim_start();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    trimmed.strip_prefix('+').unwrap_or(trimmed).parse().ok()
}

fn save(words: &[&str]) -> Result<String, DirectiveError> {
    let bad = || invalid("Invalid save parameters");
    // `save ""` is no rules at all.
    let words = match words {
        [""] => &[],
        _ => words,
    };
    if words.len() % 2 != 0 {
        return Err(bad());
    }
    let mut shown = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        let n = strtoll(word).ok_or_else(bad)?;
        if n < if i % 2 == 0 { 1 } else { 0 } {
            return Err(bad());
        }
        shown.push(n.to_string());
    }
    Ok(shown.join(" "))
}

fn oom_values(words: &[&str]) -> Result<String, DirectiveError> {
    if words.len() != 3 {
        return Err(DirectiveError::Arity);
    }
    let values = words
        .iter()
        .map(|w| strtoll(w).filter(|n| (-2000..=2000).contains(n)))
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| {
            invalid("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
        })?;
    Ok(values
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" "))
}

fn replica_of(words: &[&str]) -> Result<String, DirectiveError> {
    let [host, port] = words else {
        return Err(DirectiveError::Arity);
    };
    if host.eq_ignore_ascii_case("no") && port.eq_ignore_ascii_case("one") {
        return Ok(String::new());
    }
    let port = strtoll(port)
        .filter(|p| (0..=65535).contains(p))
        .ok_or_else(|| invalid("Invalid master port"))?;
    Ok(format!("{host} {port}"))
}

/// Expands the template as Redis checks it (`sdstemplate` with an empty
/// title): `{{` is a literal brace, `{name}` a variable; an unknown
/// variable, a `{` left open, or a title of nothing but spaces is refused.
fn proc_title(template: &str, ctx: Context) -> Result<String, DirectiveError> {
    let bad = || invalid("template format is invalid or contains unknown variables");
    let mut rest = template;
    let mut visible = false;
    while let Some(open) = rest.find('{') {
        visible |= rest
            .get(..open)
            .is_some_and(|t| !t.trim_matches(' ').is_empty());
        let after = rest.get(open + 1..).unwrap_or_default();
        if let Some(quoted) = after.strip_prefix('{') {
            visible = true;
            rest = quoted;
            continue;
        }
        let close = after.find('}').ok_or_else(bad)?;
        let name = after.get(..close).unwrap_or_default();
        let (_, may_be_empty) = PROC_TITLE_VARIABLES
            .iter()
            .find(|(var, _)| *var == name)
            .ok_or_else(bad)?;
        let empty = *may_be_empty && (name != "unixsocket" || !ctx.unixsocket);
        visible |= !empty;
        rest = after.get(close + 1..).unwrap_or_default();
    }
    visible |= !rest.trim_matches(' ').is_empty();
    if visible {
        Ok(template.to_owned())
    } else {
        Err(bad())
    }
}
