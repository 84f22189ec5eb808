//! Reading a configuration the way redis-server does: a file's lines, then
//! each `--name value...` command-line option as one more line.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::directives::Applied;
use super::error::{ConfigError, DirectiveError};
use super::ignored::why_ignored;
use super::settings::Config;
use crate::parse::split_args;

/// How deep `include` may nest, so that a file including itself fails
/// with an error instead of exhausting the stack.
const MAX_INCLUDE_DEPTH: usize = 16;

impl Config {
    /// Loads a configuration the way redis-server does: the file's text (if
    /// any), then each `--name value...` option as one more line. Returns the
    /// configuration and one warning per ignored directive. `include` reads
    /// the files it names (relative to the current directory, which a `dir`
    /// line changes) where it stands.
    ///
    /// # Errors
    ///
    /// The first bad line, as a [`ConfigError`] to print before exiting.
    pub fn load(file_text: &str, options: &[String]) -> Result<(Self, Vec<String>), ConfigError> {
        let mut config = Self::default();
        let mut warnings = Vec::new();
        config.load_text(&with_options(file_text, options), &mut warnings, 0)?;
        Ok((config, warnings))
    }

    fn load_text(
        &mut self,
        text: &str,
        warnings: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), ConfigError> {
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fail = |error| ConfigError {
                line: i + 1,
                text: trimmed.to_owned(),
                error,
                version: env!("CARGO_PKG_VERSION"),
            };
            let Some(words) = split_args(trimmed.as_bytes()) else {
                return Err(fail(DirectiveError::Invalid(
                    "Unbalanced quotes in configuration line".into(),
                )));
            };
            let mut words = words
                .into_iter()
                .map(|w| String::from_utf8_lossy(&w).into_owned());
            let Some(name) = words.next() else { continue };
            let args: Vec<String> = words.collect();
            if name.eq_ignore_ascii_case("include") {
                let [pattern] = args.as_slice() else {
                    return Err(fail(DirectiveError::Unknown));
                };
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(fail(DirectiveError::Invalid(
                        "too many nested includes".into(),
                    )));
                }
                for path in include_paths(pattern) {
                    let included = std::fs::read_to_string(&path).map_err(|err| {
                        fail(DirectiveError::Invalid(format!(
                            "Fatal error, can't open config file '{}': {}",
                            path.display(),
                            super::args::os_error_text(&err)
                        )))
                    })?;
                    self.load_text(&included, warnings, depth + 1)?;
                }
                continue;
            }
            match self.apply(&name, &args, false).map_err(fail)? {
                Applied::Set => {}
                Applied::Ignored => warnings.push(format!(
                    "line {}: '{}' {}; ignored",
                    i + 1,
                    name,
                    why_ignored(&name)
                )),
            }
        }
        Ok(())
    }
}

/// The files an `include` names: the path itself, or, when it has glob
/// characters (`*`, `?`, `[`) in any part, every file matching it, sorted,
/// as glob(3) finds them for Redis (a wildcard matches no leading `.`). A
/// glob that matches nothing includes nothing, as in Redis.
fn include_paths(pattern: &str) -> Vec<PathBuf> {
    let path = Path::new(pattern);
    if !pattern.bytes().any(|c| matches!(c, b'*' | b'?' | b'[')) {
        return vec![path.to_owned()];
    }
    let mut found = vec![PathBuf::new()];
    for part in path.components() {
        let name = part.as_os_str();
        let bytes = name.as_encoded_bytes();
        if !bytes.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
            found.iter_mut().for_each(|p| p.push(name));
            continue;
        }
        found = found.iter().flat_map(|dir| matching(dir, bytes)).collect();
    }
    found.retain(|p| p.is_file());
    found.sort();
    found
}

/// The entries of `dir` (the current directory when empty) whose names
/// match `pattern`.
fn matching(dir: &Path, pattern: &[u8]) -> Vec<PathBuf> {
    let listed = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::read_dir(listed)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.as_encoded_bytes();
            let hidden = name.first() == Some(&b'.') && pattern.first() != Some(&b'.');
            !hidden && crate::glob::matches(pattern, name)
        })
        .map(|e| dir.join(e.file_name()))
        .collect()
}

/// The file's text with the options appended as redis-server appends them:
/// each option on a fresh line and every value quoted, so values with
/// spaces survive.
fn with_options(file_text: &str, options: &[String]) -> String {
    let mut text = file_text.to_owned();
    text.push('\n');
    let mut first = true;
    for opt in options {
        if let Some(name) = opt.strip_prefix("--") {
            if !first {
                text.push('\n');
            }
            text.push_str(name);
            first = false;
        } else {
            let _ = write!(
                text,
                " \"{}\"",
                opt.replace('\\', "\\\\").replace('"', "\\\"")
            );
        }
    }
    text
}
