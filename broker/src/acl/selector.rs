//! A selector: one set of command, key and channel permissions, with the
//! rules that change it and the checks that read it.
//!
//! Command rules are kept in the order given, with a new rule replacing an
//! earlier rule for the same command, so that `ACL LIST` describes a
//! selector exactly as Redis does.

use std::collections::HashMap;

use bytes::Bytes;

use super::rule::{RuleError, has_spaces};
use super::table::{TABLE, category};
use crate::glob;

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
    pub(super) allchannels: bool,
    pub(super) channels: Vec<Bytes>,
    /// The last of `+@all`/`-@all` was `+@all`: commands not in the table
    /// (Redis: future ones) are allowed.
    future: bool,
    /// Every command is allowed (cleared by any `-` rule).
    pub(super) allcommands: bool,
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
    pub(super) fn new(allchannels: bool) -> Self {
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

    pub(super) fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
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
    pub(super) fn check(
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

    pub(super) fn channel_allowed(&self, ch: ChannelArg<'_>) -> bool {
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
    pub(super) fn describe(&self) -> Vec<u8> {
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
