//! ACL: users, their passwords and their command and channel permissions.
//!
//! Replies follow Redis 7.2. Changing a user takes effect for its connected
//! clients at their next command; a subscriber whose channel or pattern is
//! no longer allowed is disconnected at once, without a message, as Redis
//! does.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use rand::RngCore;

use super::{ADMIN, Spec, c_str, parse_int};
use crate::acl::{self, CATEGORIES, TABLE, User};
use crate::registry::Kind;
use crate::session::{Close, Session};

use super::leaf as sub;

const SUBCOMMANDS: &[Spec] = &[
    sub("acl|cat", -2, 0, cat),
    sub("acl|deluser", -3, ADMIN, deluser),
    sub("acl|dryrun", -4, ADMIN, dryrun),
    sub("acl|genpass", -2, 0, genpass),
    sub("acl|getuser", 3, ADMIN, getuser),
    sub("acl|help", 2, 0, help),
    sub("acl|list", 2, ADMIN, list),
    sub("acl|load", 2, ADMIN, load),
    sub("acl|log", -2, ADMIN, log),
    sub("acl|save", 2, ADMIN, save),
    sub("acl|setuser", -3, ADMIN, setuser),
    sub("acl|users", 2, ADMIN, users),
    sub("acl|whoami", 2, 0, whoami),
];

pub(crate) const ACL: Spec = Spec {
    name: "acl",
    arity: -2,
    flags: 0,
    subcommands: SUBCOMMANDS,
    run: super::unknown_subcommand,
};

fn setuser(s: &mut Session, args: &[Bytes]) {
    let Some(name) = args.get(2) else { return };
    if acl::has_spaces(name) {
        return s.error(b"ERR Usernames can't contain spaces or null characters");
    }
    match s
        .shared
        .acl
        .set_user(name, args.get(3..).unwrap_or_default())
    {
        Ok((old, new)) => {
            if let Some(old) = old {
                if !new.channels_superset_of(&old) {
                    kill_revoked(s, &new);
                }
            }
            s.refresh_user();
            s.reply().ok();
        }
        Err(text) => s.error(format!("ERR {text}").as_bytes()),
    }
}

/// Disconnects `user`'s subscribers that hold a channel or pattern the
/// user may no longer use (Redis' `ACLKillPubsubClientsIfNeeded`).
fn kill_revoked(s: &mut Session, user: &User) {
    let theirs: HashSet<u64> = s
        .shared
        .clients
        .snapshot()
        .iter()
        .filter(|c| c.meta.lock().user == user.name)
        .map(|c| c.id)
        .collect();
    let mut revoked = HashSet::new();
    s.shared
        .registry
        .for_each_subscription(|kind, name, client| {
            if theirs.contains(&client.id)
                && !revoked.contains(&client.id)
                && !user.channel_allowed(name, kind == Kind::Pattern)
            {
                revoked.insert(client.id);
                client.kill.cancel();
            }
        });
}

fn deluser(s: &mut Session, args: &[Bytes]) {
    let names = args.get(2..).unwrap_or_default();
    if names.iter().any(|n| n.as_ref() == b"default") {
        return s.error(b"ERR The 'default' user cannot be removed");
    }
    let gone = s.shared.acl.delete(names);
    kill_users(s, &gone);
    s.reply().int(i64::try_from(gone.len()).unwrap_or(i64::MAX));
}

/// Disconnects every client logged in as one of `names`; the current
/// client gets its reply first, as in Redis.
fn kill_users(s: &mut Session, names: &[Bytes]) {
    for client in s.shared.clients.snapshot() {
        if names.contains(&client.meta.lock().user) {
            if Arc::ptr_eq(&client, &s.client) {
                s.close = Close::AfterReply;
            } else {
                client.kill.cancel();
            }
        }
    }
}

fn getuser(s: &mut Session, args: &[Bytes]) {
    let Some(user) = args.get(2).and_then(|n| s.shared.acl.get(n)) else {
        return s.reply().null();
    };
    let flags = user.flags();
    let selectors = user.selectors();
    let mut r = s.reply();
    r.map(6);
    r.bulk(b"flags");
    r.array(flags.len());
    for flag in flags {
        r.bulk(flag.as_bytes());
    }
    r.bulk(b"passwords");
    r.array(user.passwords().len());
    for p in user.passwords() {
        r.bulk(p.as_bytes());
    }
    let fields = |r: &mut crate::reply::Reply<'_>, sel: &acl::Selector| {
        for (name, value) in sel.fields() {
            r.bulk(name.as_bytes());
            r.bulk(&value);
        }
    };
    if let Some(root) = selectors.first() {
        fields(&mut r, root);
    }
    r.bulk(b"selectors");
    r.array(selectors.len().saturating_sub(1));
    for sel in selectors.iter().skip(1) {
        r.map(3);
        fields(&mut r, sel);
    }
}

fn list(s: &mut Session, _: &[Bytes]) {
    let lines = s.shared.acl.list();
    let mut r = s.reply();
    r.array(lines.len());
    for line in lines {
        r.bulk(&line);
    }
}

fn users(s: &mut Session, _: &[Bytes]) {
    let names = s.shared.acl.names();
    let mut r = s.reply();
    r.array(names.len());
    for name in names {
        r.bulk(&name);
    }
}

fn whoami(s: &mut Session, _: &[Bytes]) {
    let name = s.user.name.clone();
    s.reply().bulk(&name);
}

fn cat(s: &mut Session, args: &[Bytes]) {
    match args.get(2) {
        None => {
            let mut r = s.reply();
            r.array(CATEGORIES.len());
            for c in CATEGORIES {
                r.bulk(c.as_bytes());
            }
        }
        Some(name) if args.len() == 3 => {
            let flag = std::str::from_utf8(name).ok().and_then(acl::category_flag);
            let Some(flag) = flag else {
                let mut text = b"ERR Unknown category '".to_vec();
                text.extend_from_slice(c_str(name, 128));
                text.push(b'\'');
                return s.error(&text);
            };
            let names: Vec<&str> = TABLE
                .commands
                .iter()
                .filter(|c| c.categories & flag != 0)
                .map(|c| c.name)
                .collect();
            let mut r = s.reply();
            r.array(names.len());
            for n in names {
                r.bulk(n.as_bytes());
            }
        }
        Some(_) => syntax_error(s, args),
    }
}

/// Redis' `addReplySubcommandSyntaxError`.
fn syntax_error(s: &mut Session, args: &[Bytes]) {
    let mut text = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
    text.extend_from_slice(args.get(1).map(|a| c_str(a, 128)).unwrap_or_default());
    text.extend_from_slice(b"'. Try ACL HELP.");
    s.error(&text);
}

fn genpass(s: &mut Session, args: &[Bytes]) {
    if args.len() > 3 {
        return syntax_error(s, args);
    }
    let bits = match args.get(2) {
        None => 256,
        Some(arg) => match parse_int(arg) {
            Some(n) => n,
            None => return s.error(b"ERR value is not an integer or out of range"),
        },
    };
    if !(1..=4096).contains(&bits) {
        return s.error(
            b"ERR ACL GENPASS argument must be the number of bits for the output password, \
              a positive number up to 4096",
        );
    }
    let chars = usize::try_from((bits + 3) / 4).unwrap_or(64);
    let mut raw = vec![0u8; chars.div_ceil(2)];
    rand::rng().fill_bytes(&mut raw);
    let mut hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    hex.truncate(chars);
    s.reply().bulk(hex.as_bytes());
}

fn dryrun(s: &mut Session, args: &[Bytes]) {
    let Some(user) = args.get(2).and_then(|n| s.shared.acl.get(n)) else {
        let mut text = b"ERR User '".to_vec();
        text.extend_from_slice(
            args.get(2)
                .map(|a| c_str(a, usize::MAX))
                .unwrap_or_default(),
        );
        text.extend_from_slice(b"' not found");
        return s.error(&text);
    };
    let cmd_args = args.get(3..).unwrap_or_default();
    let Some(spec) = super::resolve(cmd_args) else {
        let mut text = b"ERR Command '".to_vec();
        text.extend_from_slice(
            cmd_args
                .first()
                .map(|a| c_str(a, usize::MAX))
                .unwrap_or_default(),
        );
        text.extend_from_slice(b"' not found");
        return s.error(&text);
    };
    if !spec.arity_ok(cmd_args.len()) {
        return s.error(
            format!("ERR wrong number of arguments for '{}' command", spec.name).as_bytes(),
        );
    }
    match super::denial(&user, spec, cmd_args) {
        None => s.reply().ok(),
        Some(refusal) => {
            // DRYRUN names the channel, which the NOPERM error does not.
            let text = match refusal.reason {
                acl::Reason::Channel => format!(
                    "User {} has no permissions to access the '{}' channel",
                    String::from_utf8_lossy(&user.name),
                    String::from_utf8_lossy(refusal.object)
                ),
                _ => refusal.text.trim_start_matches("NOPERM ").to_owned(),
            };
            s.reply().bulk(text.as_bytes());
        }
    }
}

fn log(s: &mut Session, args: &[Bytes]) {
    if args.len() > 3 {
        return syntax_error(s, args);
    }
    let count = match args.get(2) {
        None => 10,
        Some(arg) if super::is(arg, "reset") => {
            s.shared.acl.log.clear();
            return s.reply().ok();
        }
        Some(arg) => match parse_int(arg) {
            Some(n) => usize::try_from(n).unwrap_or(0),
            None => return s.error(b"ERR value is not an integer or out of range"),
        },
    };
    let (entries, now) = s.shared.acl.log.newest(count);
    let mut r = s.reply();
    r.array(entries.len());
    for e in entries {
        let age = now.saturating_sub(e.updated_ms) as f64 / 1000.0;
        r.map(10);
        r.bulk(b"count");
        r.int(i64::try_from(e.count).unwrap_or(i64::MAX));
        r.bulk(b"reason");
        r.bulk(e.reason_text().as_bytes());
        r.bulk(b"context");
        r.bulk(e.context.text().as_bytes());
        r.bulk(b"object");
        r.bulk(&e.object);
        r.bulk(b"username");
        r.bulk(&e.username);
        r.bulk(b"age-seconds");
        r.double(age);
        r.bulk(b"client-info");
        r.bulk(e.client_info.as_bytes());
        r.bulk(b"entry-id");
        r.int(i64::try_from(e.entry_id).unwrap_or(i64::MAX));
        r.bulk(b"timestamp-created");
        r.int(i64::try_from(e.created_ms).unwrap_or(i64::MAX));
        r.bulk(b"timestamp-last-updated");
        r.int(i64::try_from(e.updated_ms).unwrap_or(i64::MAX));
    }
}

fn load(s: &mut Session, _: &[Bytes]) {
    let Some(path) = s.shared.config.load().aclfile.clone() else {
        return s.error(NO_ACLFILE);
    };
    let before: Vec<Bytes> = s
        .shared
        .acl
        .names()
        .into_iter()
        .filter(|n| n.as_ref() != b"default")
        .collect();
    match s.shared.acl.load_file(&path) {
        Ok(()) => {
            // Redis frees every old user but `default`, and their clients.
            kill_users(s, &before);
            s.refresh_user();
            s.reply().ok();
        }
        Err(text) => s.error(format!("ERR {text}").as_bytes()),
    }
}

const NO_ACLFILE: &[u8] = b"ERR This Redis instance is not configured to use an ACL file. You may want to \
specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis \
configuration file set) in order to store users in the Redis configuration.";

fn save(s: &mut Session, _: &[Bytes]) {
    let Some(path) = s.shared.config.load().aclfile.clone() else {
        return s.error(NO_ACLFILE);
    };
    match s.shared.acl.save_file(&path) {
        Ok(()) => s.reply().ok(),
        Err(err) => {
            tracing::warn!("Opening temp ACL file for ACL SAVE: {err}");
            s.error(
                b"ERR There was an error trying to save the ACLs. Please check the server logs for more information",
            );
        }
    }
}

const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Print this help.",
];

fn help(s: &mut Session, _: &[Bytes]) {
    super::pubsub::help_lines(s, HELP);
}
