//! An ACL user and its selectors, with Redis' `ACL SETUSER` rule language.
//!
//! A user is a set of flags and passwords plus one or more *selectors*: the
//! root one (rules written outside parentheses) and any `(...)` ones. A
//! command is allowed when one selector allows it and every channel it
//! names. Command rules are kept in the order given, with a new rule
//! replacing an earlier rule for the same command, so that `ACL LIST`
//! describes a user exactly as Redis does.

use std::collections::HashMap;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::table::{TABLE, category};
use crate::glob;

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

/// Key read permission (`%R~`).
const READ: u8 = 1;
/// Key write permission (`%W~`).
const WRITE: u8 = 2;

/// One selector: command, key and channel permissions.
#[derive(Debug, Clone)]
pub(crate) struct Selector {
    allkeys: bool,
    /// Key patterns with their READ/WRITE flags. respub has no keys; they
    /// are kept so that ACL LIST shows what was configured.
    keys: Vec<(u8, String)>,
    allchannels: bool,
    channels: Vec<Bytes>,
    /// The last of `+@all`/`-@all` was `+@all`: commands not in the table
    /// (Redis: future ones) are allowed.
    future: bool,
    /// Every command is allowed (cleared by any `-` rule).
    allcommands: bool,
    allowed: Vec<u64>,
    /// Allowed first arguments of otherwise denied commands (`+select|0`).
    firstargs: HashMap<usize, Vec<String>>,
    /// Command rules in order, lowercase, each with its `+`/`-`.
    rules: Vec<String>,
}

/// A channel argument of a command, as ACL checks it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChannelArg<'a> {
    pub name: &'a [u8],
    /// A PSUBSCRIBE pattern: compared literally with the user's patterns.
    pub pattern: bool,
}

/// Why a command was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Denied {
    Command,
    Channel,
}

impl Selector {
    fn new(allchannels: bool) -> Self {
        Self {
            allkeys: false,
            keys: Vec::new(),
            allchannels,
            channels: Vec::new(),
            future: false,
            allcommands: false,
            allowed: vec![0; TABLE.len().div_ceil(64)],
            firstargs: HashMap::new(),
            rules: Vec::new(),
        }
    }

    fn bit(&self, id: usize) -> bool {
        self.allowed
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, allow: bool) {
        if let Some(w) = self.allowed.get_mut(id / 64) {
            if allow {
                *w |= 1 << (id % 64);
            } else {
                *w &= !(1 << (id % 64));
                self.allcommands = false;
            }
        }
    }

    fn set_all(&mut self, allow: bool) {
        self.allowed.fill(if allow { u64::MAX } else { 0 });
        self.allcommands = allow;
        self.future = allow;
        self.rules.clear();
        self.firstargs.clear();
    }

    /// A command and its subcommands.
    fn change(&mut self, id: usize, allow: bool) {
        self.set_bit(id, allow);
        self.firstargs.remove(&id);
        let subs = TABLE
            .commands
            .get(id)
            .map(|c| c.subcommands.as_slice())
            .unwrap_or_default();
        for &sub in subs {
            self.set_bit(sub, allow);
        }
    }

    /// Keeps the rules replayable: a rule replaces earlier ones for the same
    /// command (and for its subcommands), then goes last.
    fn update_rules(&mut self, rule: &str, allow: bool) {
        let rule = rule.to_ascii_lowercase();
        self.rules.retain(|old| {
            let name = old.get(1..).unwrap_or_default();
            !(name == rule
                || name
                    .strip_prefix(rule.as_str())
                    .is_some_and(|rest| rest.starts_with('|')))
        });
        self.rules
            .push(format!("{}{rule}", if allow { '+' } else { '-' }));
    }

    fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let word = std::str::from_utf8(op).unwrap_or_default();
        let is = |w: &str| word.eq_ignore_ascii_case(w);
        if is("allkeys") || is("~*") {
            self.allkeys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.keys.clear();
        } else if is("allchannels") || is("&*") {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.set_all(true);
        } else if is("nocommands") || is("-@all") {
            self.set_all(false);
        } else if let Some(rest) = op.strip_prefix(b"~") {
            self.add_key(ALL_KEYS, rest)?;
        } else if let Some(rest) = op.strip_prefix(b"%") {
            let mut flags = 0;
            let mut i = 0;
            loop {
                match rest.get(i).map(u8::to_ascii_uppercase) {
                    Some(b'R') if flags & READ == 0 => flags |= READ,
                    Some(b'W') if flags & WRITE == 0 => flags |= WRITE,
                    Some(b'~') if flags != 0 => break,
                    _ => return Err(RuleError::Syntax),
                }
                i += 1;
            }
            self.add_key(flags, rest.get(i + 1..).unwrap_or_default())?;
        } else if let Some(rest) = op.strip_prefix(b"&") {
            if self.allchannels {
                return Err(RuleError::ChannelAfterAll);
            }
            if has_spaces(rest) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == rest) {
                self.channels.push(Bytes::copy_from_slice(rest));
            }
        } else if let Some(cat) = word.strip_prefix("+@").or_else(|| word.strip_prefix("-@")) {
            let allow = word.starts_with('+');
            let flag = category(cat).ok_or(RuleError::UnknownCommand)?;
            self.update_rules(word.get(1..).unwrap_or_default(), allow);
            for (id, cmd) in TABLE.commands.iter().enumerate() {
                if cmd.categories & flag != 0 {
                    self.change(id, allow);
                }
            }
        } else if let Some(name) = word.strip_prefix('+') {
            self.allow_command(name)?;
        } else if let Some(name) = word.strip_prefix('-') {
            let id = TABLE.id(name).ok_or(RuleError::UnknownCommand)?;
            self.change(id, false);
            let full = TABLE.commands.get(id).map(|c| c.name).unwrap_or(name);
            self.update_rules(full, false);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    fn add_key(&mut self, flags: u8, pattern: &[u8]) -> Result<(), RuleError> {
        if self.allkeys {
            return Err(RuleError::KeyAfterAll);
        }
        if has_spaces(pattern) {
            return Err(RuleError::Syntax);
        }
        let pattern = String::from_utf8_lossy(pattern).into_owned();
        match self.keys.iter_mut().find(|(_, p)| *p == pattern) {
            Some((old, _)) => *old |= flags,
            None => self.keys.push((flags, pattern)),
        }
        Ok(())
    }

    /// `+cmd`, `+container|sub`, or `+cmd|first-arg`.
    fn allow_command(&mut self, name: &str) -> Result<(), RuleError> {
        let Some((parent, sub)) = name.rsplit_once('|') else {
            let id = TABLE.id(name).ok_or(RuleError::UnknownCommand)?;
            self.change(id, true);
            let full = TABLE.commands.get(id).map(|c| c.name).unwrap_or(name);
            self.update_rules(full, true);
            return Ok(());
        };
        let pid = TABLE.id(parent).ok_or(RuleError::UnknownCommand)?;
        let cmd = TABLE.commands.get(pid).ok_or(RuleError::UnknownCommand)?;
        if cmd.is_sub {
            return Err(RuleError::SubcommandFirstArg);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if cmd.subcommands.is_empty() {
            let args = self.firstargs.entry(pid).or_default();
            if !args.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                args.push(sub.to_owned());
            }
        } else {
            let id = TABLE.id(name).ok_or(RuleError::UnknownCommand)?;
            self.change(id, true);
        }
        self.update_rules(name, true);
        Ok(())
    }

    /// Whether this selector lets command `id` run with `args` (the first
    /// argument after the command name, or after the subcommand's, is what
    /// a first-arg rule matches) and touch `channels`.
    fn check(
        &self,
        id: usize,
        first_arg: Option<&[u8]>,
        channels: &[ChannelArg<'_>],
    ) -> Result<(), (Denied, usize)> {
        if !self.allcommands && !self.bit(id) {
            let ok = first_arg.is_some_and(|arg| {
                self.firstargs.get(&id).is_some_and(|allowed| {
                    allowed
                        .iter()
                        .any(|a| a.as_bytes().eq_ignore_ascii_case(arg))
                })
            });
            if !ok {
                return Err((Denied::Command, 0));
            }
        }
        if !self.allchannels {
            for (i, ch) in channels.iter().enumerate() {
                if !self.channel_allowed(*ch) {
                    return Err((Denied::Channel, i + 1));
                }
            }
        }
        Ok(())
    }

    fn channel_allowed(&self, ch: ChannelArg<'_>) -> bool {
        self.allchannels
            || self.channels.iter().any(|p| {
                if ch.pattern {
                    p.as_ref() == ch.name
                } else {
                    glob::matches(p, ch.name)
                }
            })
    }

    fn describe_keys(&self, sep_after: bool) -> String {
        if self.allkeys {
            return "~*".to_owned() + if sep_after { " " } else { "" };
        }
        let words: Vec<String> = self
            .keys
            .iter()
            .map(|(flags, p)| match *flags {
                ALL_KEYS => format!("~{p}"),
                f => format!(
                    "%{}{}~{p}",
                    if f & READ != 0 { "R" } else { "" },
                    if f & WRITE != 0 { "W" } else { "" }
                ),
            })
            .collect();
        join(&words, sep_after)
    }

    fn describe_channels(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, c) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(c);
        }
        out
    }

    /// `+@all`/`-@all` then the rules: what GETUSER shows as `commands`.
    pub(crate) fn describe_commands(&self) -> String {
        let mut out = String::from(if self.future { "+@all" } else { "-@all" });
        for rule in &self.rules {
            out.push(' ');
            out.push_str(rule);
        }
        out
    }

    /// `ACLDescribeSelector`: keys, channels, commands.
    fn describe(&self) -> Vec<u8> {
        let mut out = self.describe_keys(true).into_bytes();
        if self.allchannels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for c in &self.channels {
                out.push(b'&');
                out.extend_from_slice(c);
                out.push(b' ');
            }
        }
        out.extend_from_slice(self.describe_commands().as_bytes());
        out
    }

    /// The three GETUSER fields of a selector: commands, keys, channels.
    pub(crate) fn fields(&self) -> [(&'static str, Vec<u8>); 3] {
        let channels = if self.allchannels {
            b"&*".to_vec()
        } else {
            self.describe_channels()
        };
        [
            ("commands", self.describe_commands().into_bytes()),
            ("keys", self.describe_keys(false).into_bytes()),
            ("channels", channels),
        ]
    }
}

const ALL_KEYS: u8 = READ | WRITE;

fn join(words: &[String], sep_after: bool) -> String {
    let mut out = words.join(" ");
    if sep_after && !out.is_empty() {
        out.push(' ');
    }
    out
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

fn valid_hash(hash: &[u8]) -> bool {
    hash.len() == 64
        && hash
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// Joins a selector spread over several arguments (`(+get`, `~x)`) into
/// one, as Redis' `ACLMergeSelectorArguments` does; an unclosed one is an
/// error naming where it starts.
fn merge_selectors<A: AsRef<[u8]>>(ops: &[A]) -> Result<Vec<Vec<u8>>, String> {
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
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn user(ops: &[&str]) -> User {
        let mut u = User::new(b"u", false);
        u.apply_all(ops).unwrap();
        u
    }

    fn describe(u: &User) -> String {
        String::from_utf8(u.describe()).unwrap()
    }

    #[test]
    fn describes_users_as_redis_does() {
        assert_eq!(
            describe(&User::default_user(false)),
            "on nopass sanitize-payload ~* &* +@all"
        );
        assert_eq!(
            describe(&user(&[])),
            "off sanitize-payload resetchannels -@all"
        );
        let u = user(&[
            "on",
            ">p",
            "+@all",
            "resetchannels",
            "&news.*",
            "&chat",
            "-publish",
            "+publish",
            "-client|kill",
            "~foo",
            "%R~bar",
            "(+get ~x)",
        ]);
        assert_eq!(
            describe(&u),
            "on sanitize-payload #148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940 \
             ~foo %R~bar resetchannels &news.* &chat +@all +publish -client|kill \
             (~x resetchannels -@all +get)"
        );
        // A rule for a container replaces the rules for its subcommands.
        let u = user(&["-@all", "+client|list", "+client|kill", "-client"]);
        assert_eq!(u.selectors[0].describe_commands(), "-@all -client");
    }

    #[test]
    fn rule_errors_have_redis_texts() {
        let mut u = User::new(b"x", false);
        let err = |u: &mut User, op: &str| u.apply_all(&[op]).unwrap_err();
        assert_eq!(
            err(&mut u, "bogus"),
            "Error in ACL SETUSER modifier 'bogus': Syntax error"
        );
        assert!(err(&mut u, "+client|foo").ends_with("Unknown command or category name in ACL"));
        assert!(err(&mut u, "+@nope").ends_with("Unknown command or category name in ACL"));
        assert!(err(&mut u, "<nope").ends_with("does not exist"));
        assert!(err(&mut u, "#abc").ends_with("lowercase hexadecimal characters"));
        assert_eq!(
            err(&mut u, "(+get"),
            "Unmatched parenthesis in acl selector starting at '(+get'."
        );
        assert!(
            u.apply_all(&["&x", "allchannels", "&y"])
                .unwrap_err()
                .contains("'&y'")
        );
        // All or nothing: the `&x` before the failure was not applied.
        assert!(u.selectors[0].channels.is_empty());
    }

    #[test]
    fn channel_and_command_checks() {
        let u = user(&["on", "+@all", "resetchannels", "&news.*", "&chat"]);
        let pub_id = TABLE.id("publish").unwrap();
        let psub = TABLE.id("psubscribe").unwrap();
        let ch = |name: &'static str, pattern| ChannelArg {
            name: name.as_bytes(),
            pattern,
        };
        assert_eq!(u.check(pub_id, None, &[ch("chat", false)]), Ok(()));
        assert_eq!(u.check(pub_id, None, &[ch("news.x", false)]), Ok(()));
        assert_eq!(
            u.check(pub_id, None, &[ch("chat", false), ch("other", false)]),
            Err((Denied::Channel, 1))
        );
        assert_eq!(u.check(psub, None, &[ch("news.*", true)]), Ok(()));
        assert_eq!(
            u.check(psub, None, &[ch("news.x*", true)]),
            Err((Denied::Channel, 0))
        );
        let v = user(&["on", "+subscribe", "+ping", "allchannels"]);
        assert_eq!(v.check(pub_id, None, &[]), Err((Denied::Command, 0)));
        let sel = user(&["+select|0"]);
        let select = TABLE.id("select").unwrap();
        assert_eq!(sel.check(select, Some(b"0"), &[]), Ok(()));
        assert_eq!(
            sel.check(select, Some(b"1"), &[]),
            Err((Denied::Command, 0))
        );
    }

    #[test]
    fn passwords() {
        let u = user(&["on", ">secret"]);
        assert!(u.password_ok(b"secret"));
        assert!(!u.password_ok(b"other"));
        let off = user(&["off", "nopass"]);
        assert!(!off.password_ok(b""));
        let hashed = user(&["on", &format!("#{}", hash_password(b"pw"))]);
        assert!(hashed.password_ok(b"pw"));
    }
}
