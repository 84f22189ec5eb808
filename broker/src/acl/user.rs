//! An ACL user: flags, passwords and selectors, with the user-level rules
//! of Redis' `ACL SETUSER` (`on`, `>password`, `(...)`, `reset`, ...).
//!
//! A user is a set of flags and passwords plus one or more *selectors*: the
//! root one (rules written outside parentheses) and any `(...)` ones. A
//! command is allowed when one selector allows it and every channel it
//! names. Rules a selector understands go to the root selector.

use bytes::Bytes;

use super::rule::{RuleError, hash_password, merge_selectors, valid_hash};
use super::selector::{ChannelArg, Denied, Selector};

/// One ACL user.
#[derive(Debug, Clone)]
pub struct User {
    /// The name, never empty of meaning: `default` is the built-in user.
    pub name: Bytes,
    enabled: bool,
    nopass: bool,
    skip_sanitize: bool,
    passwords: Vec<String>,
    /// The root selector first, then the `(...)` ones.
    selectors: Vec<Selector>,
    /// `acl-pubsub-default allchannels`: what new selectors start with.
    pubsub_default_all: bool,
    /// Everything is allowed: the check is skipped on the hot path.
    unrestricted: bool,
}

impl User {
    /// A new user as `ACL SETUSER` creates it: off, no passwords, no
    /// commands, channels as `acl-pubsub-default` says.
    pub fn new(name: &[u8], pubsub_default_all: bool) -> Self {
        Self {
            name: Bytes::copy_from_slice(name),
            enabled: false,
            nopass: false,
            skip_sanitize: false,
            passwords: Vec::new(),
            selectors: vec![Selector::new(pubsub_default_all)],
            pubsub_default_all,
            unrestricted: false,
        }
    }

    /// Redis' built-in `default` user: `on nopass ~* &* +@all`.
    pub fn default_user(pubsub_default_all: bool) -> Self {
        let mut u = Self::new(b"default", pubsub_default_all);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            // Every one of these rules is valid.
            let _ = u.apply(op.as_bytes());
        }
        u
    }

    /// Whether the user may log in.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether any password (or none) logs in.
    pub fn nopass(&self) -> bool {
        self.nopass
    }

    /// Whether nothing is restricted, so checks can be skipped.
    pub fn unrestricted(&self) -> bool {
        self.unrestricted
    }

    /// Applies rules in order, all or nothing, as `ACL SETUSER` does.
    ///
    /// # Errors
    ///
    /// Redis' whole error text for the first rule refused.
    pub fn apply_all<A: AsRef<[u8]>>(&mut self, ops: &[A]) -> Result<(), String> {
        let ops = merge_selectors(ops).map_err(|start| {
            format!("Unmatched parenthesis in acl selector starting at '{start}'.")
        })?;
        let mut staged = self.clone();
        for op in &ops {
            staged.apply(op).map_err(|e| {
                format!(
                    "Error in ACL SETUSER modifier '{}': {}",
                    String::from_utf8_lossy(op),
                    e.text()
                )
            })?;
        }
        *self = staged;
        Ok(())
    }

    /// Applies every rule it can, as an ACL file line is loaded, and
    /// returns the rules refused with why.
    ///
    /// # Errors
    ///
    /// An unmatched parenthesis, before any rule is applied.
    pub(crate) fn apply_each(&mut self, ops: &[String]) -> Result<Vec<(String, RuleError)>, ()> {
        let ops = merge_selectors(ops).map_err(|_| ())?;
        Ok(ops
            .iter()
            .filter_map(|op| {
                self.apply(op)
                    .err()
                    .map(|e| (String::from_utf8_lossy(op).into_owned(), e))
            })
            .collect())
    }

    /// One rule (`ACLSetUser`).
    pub(crate) fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let result = self.apply_one(op);
        self.unrestricted = self
            .selectors
            .first()
            .is_some_and(|s| s.allcommands && s.allchannels);
        result
    }

    fn apply_one(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let word = std::str::from_utf8(op).unwrap_or_default();
        let is = |w: &str| word.eq_ignore_ascii_case(w);
        if op.is_empty() {
        } else if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.skip_sanitize = true;
        } else if is("sanitize-payload") {
            self.skip_sanitize = false;
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if let Some((&kind, rest)) = op.split_first().filter(|(k, _)| b"><#!".contains(k)) {
            let hash = match kind {
                b'>' | b'<' => hash_password(rest),
                _ if valid_hash(rest) => String::from_utf8_lossy(rest).into_owned(),
                _ => return Err(RuleError::BadHash),
            };
            if kind == b'>' || kind == b'#' {
                if !self.passwords.contains(&hash) {
                    self.passwords.push(hash);
                }
                self.nopass = false;
            } else {
                let before = self.passwords.len();
                self.passwords.retain(|p| *p != hash);
                if self.passwords.len() == before {
                    return Err(RuleError::NoSuchPassword);
                }
            }
        } else if op.first() == Some(&b'(') && op.last() == Some(&b')') {
            let inner = op.get(1..op.len() - 1).unwrap_or_default();
            let mut sel = Selector::new(self.pubsub_default_all);
            for part in inner.split(|b| *b == b' ').filter(|p| !p.is_empty()) {
                sel.apply(part)?;
            }
            self.selectors.push(sel);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            for op in ["resetpass", "resetkeys", "resetchannels"] {
                self.apply_one(op.as_bytes())?;
            }
            if self.pubsub_default_all {
                self.apply_one(b"allchannels")?;
            }
            for op in ["off", "sanitize-payload", "clearselectors", "-@all"] {
                self.apply_one(op.as_bytes())?;
            }
        } else {
            match self.selectors.first_mut() {
                Some(root) => root.apply(op)?,
                None => return Err(RuleError::Syntax),
            }
        }
        Ok(())
    }

    /// Whether `password` logs this user in (`ACLCheckUserCredentials`).
    pub fn password_ok(&self, password: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let hashed = hash_password(password);
        self.passwords.iter().any(|p| {
            // Compared without an early exit, as Redis does.
            p.bytes()
                .zip(hashed.bytes())
                .fold(0u8, |d, (a, b)| d | (a ^ b))
                == 0
        })
    }

    /// Checks command `id` (`ACLCheckAllUserCommandPerm`): allowed if one
    /// selector allows the command and all its channels. Otherwise the
    /// most relevant denial: a channel one over a command one, and the
    /// later channel over an earlier one; with a channel denial comes the
    /// index of the channel in `channels`.
    pub(crate) fn check(
        &self,
        id: usize,
        first_arg: Option<&[u8]>,
        channels: &[ChannelArg<'_>],
    ) -> Result<(), (Denied, usize)> {
        let mut worst = (Denied::Command, 0);
        for sel in &self.selectors {
            match sel.check(id, first_arg, channels) {
                Ok(()) => return Ok(()),
                Err(denied) => worst = worst.max(denied),
            }
        }
        Err((worst.0, worst.1.saturating_sub(1)))
    }

    /// Whether a subscription may be kept (revocation checks).
    pub(crate) fn channel_allowed(&self, name: &[u8], pattern: bool) -> bool {
        let ch = ChannelArg { name, pattern };
        self.selectors.iter().any(|s| s.channel_allowed(ch))
    }

    /// Whether every channel permission of `old` is still granted: then
    /// nobody's subscription can have been revoked.
    pub(crate) fn channels_superset_of(&self, old: &User) -> bool {
        if self.selectors.iter().any(|s| s.allchannels) {
            return true;
        }
        let upcoming: Vec<&Bytes> = self.selectors.iter().flat_map(|s| &s.channels).collect();
        old.selectors
            .iter()
            .all(|s| !s.allchannels && s.channels.iter().all(|c| upcoming.contains(&c)))
    }

    /// The flags GETUSER and LIST show, in Redis' order.
    pub(crate) fn flags(&self) -> Vec<&'static str> {
        let mut flags = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            flags.push("nopass");
        }
        flags.push(if self.skip_sanitize {
            "skip-sanitize-payload"
        } else {
            "sanitize-payload"
        });
        flags
    }

    /// Password hashes.
    pub(crate) fn passwords(&self) -> &[String] {
        &self.passwords
    }

    /// The root selector, then the others.
    pub(crate) fn selectors(&self) -> &[Selector] {
        &self.selectors
    }

    /// `ACLDescribeUser`: the rules after `user <name>` in ACL LIST.
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for flag in self.flags() {
            out.extend_from_slice(flag.as_bytes());
            out.push(b' ');
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p.as_bytes());
            out.push(b' ');
        }
        for (i, sel) in self.selectors.iter().enumerate() {
            if i == 0 {
                out.extend_from_slice(&sel.describe());
            } else {
                out.extend_from_slice(b" (");
                out.extend_from_slice(&sel.describe());
                out.push(b')');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
