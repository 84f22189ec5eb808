//! Users and their permissions: Redis' ACL, for the commands and channels
//! a pub/sub server has.
//!
//! Users live in one map shared by all connections. A user is replaced
//! whole on every change (copy on write) and a generation counter moves,
//! so a connection re-reads its user only when something changed: a
//! command by the `default` user, with everything allowed, costs one
//! atomic load.

mod log;
mod rule;
mod selector;
mod table;
mod user;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::RwLock;

pub use log::{Context as LogContext, Entry as LogEntry, Log, Reason};
pub(crate) use rule::{RuleError, has_spaces};
pub(crate) use selector::{ChannelArg, Denied, Selector};
pub(crate) use table::{CATEGORIES, TABLE, category as category_flag};
pub use user::User;

/// The user table.
#[derive(Debug)]
pub struct Acl {
    /// `ACL LOG`.
    pub log: Log,
    users: RwLock<BTreeMap<Bytes, Arc<User>>>,
    generation: AtomicU64,
    pubsub_default_all: bool,
}

impl Acl {
    /// The built-in `default` user only, with `requirepass` applied.
    pub fn new(requirepass: Option<&str>, pubsub_default_all: bool) -> Self {
        let mut default = User::default_user(pubsub_default_all);
        set_requirepass(&mut default, requirepass);
        let users = BTreeMap::from([(default.name.clone(), Arc::new(default))]);
        Self {
            log: Log::default(),
            users: RwLock::new(users),
            generation: AtomicU64::new(0),
            pubsub_default_all,
        }
    }

    /// Applies `user <name> <rules...>` lines (config directives or an ACL
    /// file), replacing every user but `default`, which is redefined only
    /// if a line names it. All or nothing.
    ///
    /// # Errors
    ///
    /// One text per bad line, each prefixed by `origin` and its line number.
    pub fn load_lines(&self, lines: &[(usize, Vec<String>)], origin: &str) -> Result<(), String> {
        let mut fresh: BTreeMap<Bytes, Arc<User>> = BTreeMap::new();
        let mut errors = String::new();
        for (line, words) in lines {
            let (Some(keyword), Some(name)) = (words.first(), words.get(1)) else {
                errors += &format!(
                    "{origin}:{line} should start with user keyword followed by the username. "
                );
                continue;
            };
            if keyword != "user" {
                errors += &format!(
                    "{origin}:{line} should start with user keyword followed by the username. "
                );
                continue;
            }
            if has_spaces(name.as_bytes()) {
                errors +=
                    &format!("'{origin}:{line}: username '{name}' contains invalid characters. ");
                continue;
            }
            let key = Bytes::copy_from_slice(name.as_bytes());
            if fresh.contains_key(&key) {
                errors += &format!("WARNING: Duplicate user '{name}' found on line {line}. ");
                continue;
            }
            let mut u = User::new(name.as_bytes(), self.pubsub_default_all);
            let Ok(refused) = u.apply_each(words.get(2..).unwrap_or_default()) else {
                errors +=
                    &format!("{origin}:{line}: Unmatched parenthesis in selector definition.");
                continue;
            };
            let mut syntax_error = false;
            for (op, why) in &refused {
                if *why == RuleError::UnknownCommand {
                    errors += &format!(
                        "{origin}:{line}: Error in applying operation '{op}': {}. ",
                        why.text()
                    );
                } else if !syntax_error {
                    // Only the first: it may be why later rules failed.
                    errors += &format!("{origin}:{line}: {}. ", why.text());
                    syntax_error = true;
                }
            }
            if !refused.is_empty() {
                continue;
            }
            fresh.insert(key, Arc::new(u));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut users = self.users.write();
        let default: Bytes = Bytes::from_static(b"default");
        if let (std::collections::btree_map::Entry::Vacant(slot), Some(old)) =
            (fresh.entry(default.clone()), users.get(&default))
        {
            slot.insert(Arc::clone(old));
        }
        *users = fresh;
        drop(users);
        self.bump();
        Ok(())
    }

    /// Loads an ACL file (`aclfile`, `ACL LOAD`).
    ///
    /// # Errors
    ///
    /// Redis' texts for an unreadable file or bad lines.
    pub fn load_file(&self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "Error loading ACLs, opening file '{}': {}",
                path.display(),
                strerror(&e)
            )
        })?;
        let lines: Vec<(usize, Vec<String>)> = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_matches([' ', '\t', '\r', '\n'])))
            .filter(|(_, l)| !l.is_empty())
            .map(|(i, l)| {
                let words = l.split(' ').filter(|w| !w.is_empty()).map(str::to_owned);
                (i, words.collect())
            })
            .collect();
        self.load_lines(&lines, &path.display().to_string())
            .map_err(|e| {
                e + "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
            })
    }

    /// Writes every user in ACL LIST form (`ACL SAVE`), atomically.
    ///
    /// # Errors
    ///
    /// The I/O error.
    pub fn save_file(&self, path: &Path) -> std::io::Result<()> {
        let mut text = Vec::new();
        for line in self.list() {
            text.extend_from_slice(&line);
            text.push(b'\n');
        }
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&tmp, &text)?;
        std::fs::rename(&tmp, path)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Moves whenever a user changes.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A user by name.
    pub fn get(&self, name: &[u8]) -> Option<Arc<User>> {
        self.users.read().get(name).cloned()
    }

    /// The `default` user (always present).
    pub fn default_user(&self) -> Arc<User> {
        self.get(b"default")
            .unwrap_or_else(|| Arc::new(User::default_user(self.pubsub_default_all)))
    }

    /// Creates or changes a user (`ACL SETUSER`); returns the old and the
    /// new version, so that revoked subscribers can be found.
    ///
    /// # Errors
    ///
    /// Redis' text for the first bad rule; nothing is changed then.
    pub fn set_user(
        &self,
        name: &[u8],
        ops: &[Bytes],
    ) -> Result<(Option<Arc<User>>, Arc<User>), String> {
        let mut users = self.users.write();
        let old = users.get(name).cloned();
        let mut user = match &old {
            Some(u) => User::clone(u),
            None => User::new(name, self.pubsub_default_all),
        };
        user.apply_all(ops)?;
        let user = Arc::new(user);
        users.insert(Bytes::copy_from_slice(name), Arc::clone(&user));
        drop(users);
        self.bump();
        Ok((old, user))
    }

    /// Applies `requirepass` to the `default` user (CONFIG SET).
    pub fn set_requirepass(&self, password: Option<&str>) {
        let mut users = self.users.write();
        let key = Bytes::from_static(b"default");
        let mut user = users
            .get(&key)
            .map(|u| User::clone(u))
            .unwrap_or_else(|| User::default_user(self.pubsub_default_all));
        set_requirepass(&mut user, password);
        users.insert(key, Arc::new(user));
        drop(users);
        self.bump();
    }

    /// Removes users; returns the names removed.
    pub fn delete(&self, names: &[Bytes]) -> Vec<Bytes> {
        let mut users = self.users.write();
        let gone: Vec<Bytes> = names
            .iter()
            .filter(|n| users.remove(n.as_ref()).is_some())
            .cloned()
            .collect();
        drop(users);
        self.bump();
        gone
    }

    /// Names, sorted as Redis' radix tree lists them.
    pub fn names(&self) -> Vec<Bytes> {
        self.users.read().keys().cloned().collect()
    }

    /// `user <name> <rules>` for every user.
    pub fn list(&self) -> Vec<Vec<u8>> {
        self.users
            .read()
            .values()
            .map(|u| {
                let mut line = b"user ".to_vec();
                line.extend_from_slice(&u.name);
                line.push(b' ');
                line.extend_from_slice(&u.describe());
                line
            })
            .collect()
    }
}

/// An I/O error as C's `strerror` words it (Rust appends the errno).
fn strerror(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text.get(..cut).unwrap_or_default().to_owned(),
        None => text,
    }
}

/// Redis' `ACLUpdateDefaultUserPassword`.
fn set_requirepass(user: &mut User, password: Option<&str>) {
    let _ = user.apply(b"resetpass");
    let _ = match password {
        Some(p) => user.apply(format!(">{p}").as_bytes()),
        None => user.apply(b"nopass"),
    };
}
