//! Reading a configuration the way redis-server does: a file's lines, then
//! each `--name value...` command-line option as one more line.

use std::fmt::Write as _;

use super::directives::Applied;
use super::error::{ConfigError, DirectiveError};
use super::ignored::why_ignored;
use super::settings::Config;
use crate::parse::split_args;

impl Config {
    /// Loads a configuration the way redis-server does: the file's text (if
    /// any), then each `--name value...` option as one more line. Returns the
    /// configuration and one warning per ignored directive.
    ///
    /// # Errors
    ///
    /// The first bad line, as a [`ConfigError`] to print before exiting.
    pub fn load(file_text: &str, options: &[String]) -> Result<(Self, Vec<String>), ConfigError> {
        let text = with_options(file_text, options);
        let mut config = Self::default();
        let mut warnings = Vec::new();
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
            match config.apply(&name, &args, false).map_err(fail)? {
                Applied::Set => {}
                Applied::Ignored => warnings.push(format!(
                    "line {}: '{}' {}; ignored",
                    i + 1,
                    name,
                    why_ignored(&name)
                )),
            }
        }
        Ok((config, warnings))
    }
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
