//! CLIENT ID, SETNAME, GETNAME, SETINFO, INFO, LIST, KILL, REPLY, NO-EVICT,
//! NO-TOUCH, PAUSE, UNPAUSE and HELP.

use std::sync::Arc;

use bytes::Bytes;

use super::hello::{BAD_NAME, valid_name};
use super::pubsub::help_lines;
use super::{Spec, c_str, is, parse_int};
use crate::client::{Client, NO_EVICT, NO_TOUCH};
use crate::session::{Close, Session};

const fn sub(name: &'static str, arity: i32, run: super::Handler) -> Spec {
    admin(name, arity, 0, run)
}

use super::leaf as admin;

const SUBCOMMANDS: &[Spec] = &[
    sub("client|id", 2, id),
    sub("client|setname", 3, setname),
    sub("client|getname", 2, getname),
    sub("client|setinfo", 4, setinfo),
    sub("client|info", 2, info),
    admin("client|list", -2, super::ADMIN, list),
    admin("client|kill", -3, super::ADMIN, kill),
    sub("client|reply", 3, reply),
    admin("client|no-evict", 3, super::ADMIN, |s, a| {
        flag(s, a, NO_EVICT)
    }),
    sub("client|no-touch", 3, |s, a| flag(s, a, NO_TOUCH)),
    admin("client|pause", -3, super::ADMIN, super::pause::pause),
    admin("client|unpause", 2, super::ADMIN, super::pause::unpause),
    sub("client|help", 2, help),
];

pub(crate) const CLIENT: Spec = Spec {
    name: "client",
    arity: -2,
    flags: 0,
    subcommands: SUBCOMMANDS,
    run: super::unknown_subcommand,
};

fn id(s: &mut Session, _: &[Bytes]) {
    let id = i64::try_from(s.client.id).unwrap_or(i64::MAX);
    s.reply().int(id);
}

fn setname(s: &mut Session, args: &[Bytes]) {
    let name = args.get(2).cloned().unwrap_or_default();
    if !valid_name(&name) {
        return s.error(BAD_NAME);
    }
    s.client.meta.lock().name = (!name.is_empty()).then(|| Bytes::copy_from_slice(&name));
    s.reply().ok();
}

fn getname(s: &mut Session, _: &[Bytes]) {
    let name = s.client.meta.lock().name.clone();
    match name {
        Some(name) => s.reply().bulk(&name),
        None => s.reply().null(),
    }
}

fn setinfo(s: &mut Session, args: &[Bytes]) {
    let (Some(attr), Some(value)) = (args.get(2), args.get(3)) else {
        return;
    };
    let lib_name = is(attr, "LIB-NAME");
    if !lib_name && !is(attr, "LIB-VER") {
        let mut text = b"ERR Unrecognized option '".to_vec();
        text.extend_from_slice(c_str(attr, usize::MAX));
        text.push(b'\'');
        return s.error(&text);
    }
    if !valid_name(value) {
        let mut text = b"ERR ".to_vec();
        text.extend_from_slice(c_str(attr, usize::MAX));
        text.extend_from_slice(b" cannot contain spaces, newlines or special characters.");
        return s.error(&text);
    }
    {
        let mut meta = s.client.meta.lock();
        let value = Bytes::copy_from_slice(value);
        if lib_name {
            meta.lib_name = value;
        } else {
            meta.lib_ver = value;
        }
    }
    s.reply().ok();
}

fn info(s: &mut Session, _: &[Bytes]) {
    let mut line = s.client.info_line();
    line.push('\n');
    s.reply().verbatim(line.as_bytes());
}

fn list(s: &mut Session, args: &[Bytes]) {
    let mut clients = s.shared.clients.snapshot();
    match args.get(2..).unwrap_or_default() {
        [] => {}
        [opt, kind] if is(opt, "TYPE") => {
            let Some(kind) = client_type(kind) else {
                let mut text = b"ERR Unknown client type '".to_vec();
                text.extend_from_slice(c_str(kind, usize::MAX));
                text.push(b'\'');
                return s.error(&text);
            };
            clients.retain(|c| kind.matches(c));
        }
        [opt, ids @ ..] if is(opt, "ID") && !ids.is_empty() => {
            let mut wanted = Vec::new();
            for raw in ids {
                match parse_int(raw)
                    .and_then(|n| u64::try_from(n).ok())
                    .filter(|n| *n > 0)
                {
                    Some(n) => wanted.push(n),
                    None => return s.error(b"ERR Invalid client ID"),
                }
            }
            clients.retain(|c| wanted.contains(&c.id));
        }
        _ => return s.error(b"ERR syntax error"),
    }
    let mut text = String::new();
    for c in &clients {
        text.push_str(&c.info_line());
        text.push('\n');
    }
    s.reply().verbatim(text.as_bytes());
}

/// Maps a CLIENT TYPE argument: `Some(Some(pubsub?))` for normal/pubsub,
/// `Some(None)` for classes respub never has (master, replica), `None` if
/// unknown.
/// Redis' client classes, as `CLIENT LIST TYPE` and `CLIENT KILL TYPE`
/// name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Pubsub,
    Replica,
    /// The link to this server's master: respub has none.
    Master,
}

impl ClientType {
    fn matches(self, c: &Client) -> bool {
        let replica = c.flag(crate::client::REPLICA);
        match self {
            Self::Normal => !replica && !c.subscribed(),
            Self::Pubsub => !replica && c.subscribed(),
            Self::Replica => replica,
            Self::Master => false,
        }
    }
}

fn client_type(kind: &[u8]) -> Option<ClientType> {
    if is(kind, "normal") {
        Some(ClientType::Normal)
    } else if is(kind, "pubsub") {
        Some(ClientType::Pubsub)
    } else if is(kind, "replica") || is(kind, "slave") {
        Some(ClientType::Replica)
    } else if is(kind, "master") {
        Some(ClientType::Master)
    } else {
        None
    }
}

#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    addr: Option<Bytes>,
    laddr: Option<Bytes>,
    kind: Option<ClientType>,
    user: Option<Bytes>,
    skipme: bool,
    maxage: Option<u64>,
}

impl KillFilter {
    fn matches(&self, c: &Client, me: u64) -> bool {
        (!self.skipme || c.id != me)
            && self.id.is_none_or(|id| c.id == id)
            && self
                .addr
                .as_ref()
                .is_none_or(|a| a[..] == *c.addr.as_bytes())
            && self
                .laddr
                .as_ref()
                .is_none_or(|a| a[..] == *c.laddr.as_bytes())
            && self.kind.is_none_or(|k| k.matches(c))
            && self
                .user
                .as_ref()
                .is_none_or(|u| u[..] == c.meta.lock().user[..])
            && self
                .maxage
                .is_none_or(|age| c.created.elapsed().as_secs() >= age)
    }
}

fn kill(s: &mut Session, args: &[Bytes]) {
    if args.len() == 3 {
        return kill_addr(s, args.get(2).cloned().unwrap_or_default());
    }
    let filter = match kill_filter(s, args.get(2..).unwrap_or_default()) {
        Ok(filter) => filter,
        Err(text) => return s.error(&text),
    };
    let me = s.client.id;
    let targets: Vec<Arc<Client>> = s
        .shared
        .clients
        .snapshot()
        .into_iter()
        .filter(|c| filter.matches(c, me))
        .collect();
    s.reply()
        .int(i64::try_from(targets.len()).unwrap_or(i64::MAX));
    for c in &targets {
        disconnect(s, c);
    }
}

/// The old form, `CLIENT KILL addr:port`.
fn kill_addr(s: &mut Session, addr: Bytes) {
    let target = s
        .shared
        .clients
        .snapshot()
        .into_iter()
        .find(|c| c.addr.as_bytes() == &addr[..]);
    match target {
        None => s.error(b"ERR No such client"),
        Some(c) => {
            s.reply().ok();
            disconnect(s, &c);
        }
    }
}

/// `ERR <what> '<value>'`, Redis' shape for a bad filter value.
fn quoted_error(what: &str, value: &[u8]) -> Vec<u8> {
    let mut text = format!("ERR {what} '").into_bytes();
    text.extend_from_slice(c_str(value, usize::MAX));
    text.push(b'\'');
    text
}

/// The filter of the new form, `CLIENT KILL <option> <value> ...`, or the
/// error text for the first bad pair, in Redis' checks and words.
fn kill_filter(s: &Session, pairs: &[Bytes]) -> Result<KillFilter, Vec<u8>> {
    let mut filter = KillFilter {
        skipme: true,
        ..KillFilter::default()
    };
    for pair in pairs.chunks(2) {
        let [opt, value] = pair else {
            return Err(b"ERR syntax error".to_vec());
        };
        if is(opt, "ID") {
            let id = parse_int(value)
                .and_then(|n| u64::try_from(n).ok())
                .filter(|n| *n > 0);
            filter.id = Some(id.ok_or(b"ERR client-id should be greater than 0".to_vec())?);
        } else if is(opt, "TYPE") {
            let kind = client_type(value);
            filter.kind = Some(kind.ok_or_else(|| quoted_error("Unknown client type", value))?);
        } else if is(opt, "ADDR") {
            filter.addr = Some(value.clone());
        } else if is(opt, "LADDR") {
            filter.laddr = Some(value.clone());
        } else if is(opt, "USER") {
            if s.shared.acl.get(value).is_none() {
                return Err(quoted_error("No such user", value));
            }
            filter.user = Some(value.clone());
        } else if is(opt, "SKIPME") && (is(value, "yes") || is(value, "no")) {
            filter.skipme = is(value, "yes");
        } else if is(opt, "MAXAGE") {
            let age = parse_int(value).and_then(|n| u64::try_from(n).ok());
            filter.maxage =
                Some(age.ok_or(b"ERR value is not an integer or out of range".to_vec())?);
        } else {
            return Err(b"ERR syntax error".to_vec());
        }
    }
    Ok(filter)
}

/// Closes a client; the calling client itself is closed after its reply.
fn disconnect(s: &mut Session, c: &Arc<Client>) {
    if c.id == s.client.id {
        s.close = Close::AfterReply;
    } else {
        c.kill.cancel();
    }
}

fn reply(s: &mut Session, args: &[Bytes]) {
    let mode = args.get(2).cloned().unwrap_or_default();
    if is(&mode, "ON") {
        s.reply_off = false;
        s.skip_this = false;
        s.reply().ok();
    } else if is(&mode, "OFF") {
        s.reply_off = true;
    } else if is(&mode, "SKIP") {
        if !s.reply_off {
            s.skip_next = true;
        }
    } else {
        s.error(b"ERR syntax error");
    }
}

/// `CLIENT NO-EVICT ON|OFF` and `CLIENT NO-TOUCH ON|OFF`: respub evicts no
/// client and has no keys to touch, so each only sets its `CLIENT LIST` flag.
fn flag(s: &mut Session, args: &[Bytes], flag: u8) {
    match args.get(2) {
        Some(v) if is(v, "ON") => s.client.set_flag(flag, true),
        Some(v) if is(v, "OFF") => s.client.set_flag(flag, false),
        _ => return s.error(b"ERR syntax error"),
    }
    s.reply().ok();
}

fn help(s: &mut Session, _: &[Bytes]) {
    help_lines(
        s,
        &[
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "    * MAXAGE <maxage>",
            "      Kill connections older than the specified age.",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "    * ID <client-id> [<client-id> ...]",
            "      Return clients of specified IDs only.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
            "HELP",
            "    Print this help.",
        ],
    );
}
