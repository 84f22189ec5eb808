//! Server configuration, with redis-server's defaults and directive names.
//!
//! One parser serves redis.conf files, `respub-server --name value` options
//! and `CONFIG SET`, so an operator's existing redis.conf works unchanged:
//! directives respub implements are applied, directives that only concern a
//! keyspace or persistence (`save`, `appendonly`, `maxmemory`, ...) are
//! checked, kept for CONFIG GET and accepted with one warning each, and anything else is an error naming the
//! line, as redis-server reports it.
//!
//! * `settings`: the typed [`Config`] and its values, with Redis' defaults.
//! * `directives`: the table of implemented directives, which CONFIG SET
//!   and CONFIG GET go through as well; `tls` and `process` hold its TLS
//!   and process parts, `keyspace_events` the flags of
//!   `notify-keyspace-events`.
//! * `ignored`: the Redis directives accepted unused, checked as Redis
//!   checks them and shown back by CONFIG GET.
//! * `args`: a directive's words as typed values; `error`: the refusals.
//! * `load`: a file plus command-line options, line by line; `rewrite`:
//!   CONFIG REWRITE's new text for that file.
//!
//! A new directive is one entry in the `directives` table plus its field
//! and default in `settings`.

mod args;
mod directives;
mod error;
mod ignored;
mod keyspace_events;
mod load;
mod loglevel;
mod process;
mod rewrite;
mod settings;
mod tls;

pub use args::{os_error_text as strerror, parse_memory};
pub use directives::Applied;
pub use error::{ConfigError, DirectiveError};
pub use ignored::Unused;
pub(crate) use loglevel::loglevel_changed;
pub use loglevel::{on_loglevel_change, tracing_filter};
pub use rewrite::Live;
pub use settings::{Config, OutputLimit, Supervised, TlsAuthClients};

#[cfg(test)]
mod tests;
