//! COMMAND, COMMAND COUNT/LIST/INFO/DOCS/HELP.
//!
//! The descriptions are Redis' own, taken from a real redis-server by
//! `broker/tools/gen-command-table.py` and kept as RESP3 in
//! `commands.info.resp` and `commands.docs.resp` (only the commands respub
//! implements). They are re-encoded on the way out, so a RESP2 client gets
//! arrays where a RESP3 client gets sets and maps, as from Redis.

use std::sync::LazyLock;

use bytes::Bytes;

use super::pubsub::help_lines;
use super::{COMMANDS, Spec, is};
use crate::reply::Reply;
use crate::session::Session;

static INFO_RESP3: &[u8] = include_bytes!("commands.info.resp");
static DOCS_RESP3: &[u8] = include_bytes!("commands.docs.resp");

const SUBCOMMANDS: &[Spec] = &[
    Spec {
        name: "command|count",
        arity: 2,
        flags: 0,
        subcommands: &[],
        run: count,
    },
    Spec {
        name: "command|list",
        arity: -2,
        flags: 0,
        subcommands: &[],
        run: list,
    },
    Spec {
        name: "command|info",
        arity: -2,
        flags: 0,
        subcommands: &[],
        run: info,
    },
    Spec {
        name: "command|docs",
        arity: -2,
        flags: 0,
        subcommands: &[],
        run: docs,
    },
    Spec {
        name: "command|help",
        arity: 2,
        flags: 0,
        subcommands: &[],
        run: help,
    },
];

pub(crate) const COMMAND: Spec = Spec {
    name: "command",
    arity: -1,
    flags: 0,
    subcommands: SUBCOMMANDS,
    run: all,
};

/// One value of the stored RESP3, located by byte range.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

/// Top-level entries of the stored tables: (lowercase name, span).
struct Table {
    info: Vec<(String, Span)>,
    docs: Vec<(String, Span, Span)>,
}

fn line(src: &[u8], pos: usize) -> Option<(u8, &[u8], usize)> {
    let rest = src.get(pos..)?;
    let cr = memchr::memchr(b'\r', rest)?;
    let kind = *rest.first()?;
    Some((kind, rest.get(1..cr)?, pos + cr + 2))
}

fn number(text: &[u8]) -> Option<usize> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Walks one value starting at `pos`, writing it through `out` when given;
/// returns the position after it.
fn walk(src: &[u8], pos: usize, mut out: Option<&mut Reply<'_>>) -> Option<usize> {
    let (kind, text, next) = line(src, pos)?;
    match kind {
        b'+' => {
            if let Some(r) = out {
                r.simple(text);
            }
            Some(next)
        }
        b':' => {
            if let Some(r) = out {
                r.int(std::str::from_utf8(text).ok()?.parse().ok()?);
            }
            Some(next)
        }
        b'_' => {
            if let Some(r) = out {
                r.null();
            }
            Some(next)
        }
        b'$' => {
            let n = number(text)?;
            let data = src.get(next..next + n)?;
            if let Some(r) = out {
                r.bulk(data);
            }
            Some(next + n + 2)
        }
        b'*' | b'~' | b'%' => {
            let n = number(text)?;
            let items = if kind == b'%' { n * 2 } else { n };
            if let Some(r) = out.as_deref_mut() {
                match kind {
                    b'*' => r.array(n),
                    b'~' => r.set(n),
                    _ => r.map(n),
                }
            }
            let mut p = next;
            for _ in 0..items {
                p = walk(src, p, out.as_deref_mut())?;
            }
            Some(p)
        }
        _ => None,
    }
}

fn bulk_at(src: &[u8], pos: usize) -> Option<String> {
    let (kind, text, next) = line(src, pos)?;
    if kind != b'$' {
        return None;
    }
    let n = number(text)?;
    Some(String::from_utf8_lossy(src.get(next..next + n)?).into_owned())
}

fn build() -> Option<Table> {
    let mut info = Vec::new();
    let (_, text, mut p) = line(INFO_RESP3, 0)?;
    for _ in 0..number(text)? {
        // Each entry is `*10` whose first element is the name.
        let (_, _, first) = line(INFO_RESP3, p)?;
        let name = bulk_at(INFO_RESP3, first)?;
        let end = walk(INFO_RESP3, p, None)?;
        info.push((name, Span { start: p, end }));
        // The tenth element lists the subcommands, each a full entry.
        let mut q = first;
        for _ in 0..9 {
            q = walk(INFO_RESP3, q, None)?;
        }
        let (_, text, mut sub) = line(INFO_RESP3, q)?;
        for _ in 0..number(text)? {
            let (_, _, sub_first) = line(INFO_RESP3, sub)?;
            let sub_name = bulk_at(INFO_RESP3, sub_first)?;
            let sub_end = walk(INFO_RESP3, sub, None)?;
            info.push((
                sub_name,
                Span {
                    start: sub,
                    end: sub_end,
                },
            ));
            sub = sub_end;
        }
        p = end;
    }
    let mut docs = Vec::new();
    let (_, text, mut p) = line(DOCS_RESP3, 0)?;
    for _ in 0..number(text)? {
        let name = bulk_at(DOCS_RESP3, p)?;
        let key_end = walk(DOCS_RESP3, p, None)?;
        let end = walk(DOCS_RESP3, key_end, None)?;
        docs.push((
            name,
            Span {
                start: p,
                end: key_end,
            },
            Span {
                start: key_end,
                end,
            },
        ));
        p = end;
    }
    Some(Table { info, docs })
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    build().unwrap_or_else(|| {
        tracing::error!("the built-in COMMAND table does not parse; COMMAND replies will be empty");
        Table {
            info: Vec::new(),
            docs: Vec::new(),
        }
    })
});

fn emit(src: &[u8], span: Span, r: &mut Reply<'_>) {
    // The span was validated by `build`, so the walk cannot fail here.
    let _ = walk(src.get(..span.end).unwrap_or_default(), span.start, Some(r));
}

/// Finds a stored info entry by name, including `container|sub` names
/// (those live inside their container's entry).
fn find_info(name: &[u8]) -> Option<Span> {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    TABLE.info.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

fn all(s: &mut Session, _: &[Bytes]) {
    let top: Vec<Span> = TABLE
        .info
        .iter()
        .filter(|(n, _)| !n.contains('|'))
        .map(|(_, s)| *s)
        .collect();
    let mut r = s.reply();
    r.array(top.len());
    for span in top {
        emit(INFO_RESP3, span, &mut r);
    }
}

fn count(s: &mut Session, _: &[Bytes]) {
    s.reply()
        .int(i64::try_from(COMMANDS.len()).unwrap_or(i64::MAX));
}

/// What `COMMAND LIST FILTERBY` keeps.
enum Filter {
    All,
    /// Full names (`client|kill`) matching a glob.
    Pattern(Bytes),
    /// Commands in an ACL category; `None` for a category that does not
    /// exist, which keeps nothing, as in Redis.
    Category(Option<u32>),
    /// Commands of a module: respub has none.
    Module,
}

impl Filter {
    fn keeps(&self, name: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Pattern(p) => crate::glob::matches(p, name.as_bytes()),
            Filter::Category(Some(bit)) => crate::acl::TABLE
                .id(name)
                .and_then(|id| crate::acl::TABLE.commands.get(id))
                .is_some_and(|c| c.categories & bit != 0),
            Filter::Category(None) | Filter::Module => false,
        }
    }
}

/// COMMAND LIST [FILTERBY MODULE|ACLCAT|PATTERN ...]: every command and
/// subcommand, as Redis lists them.
fn list(s: &mut Session, args: &[Bytes]) {
    let filter = match args.get(2..).unwrap_or_default() {
        [] => Filter::All,
        [by, kind, value] if is(by, "FILTERBY") && is(kind, "PATTERN") => {
            Filter::Pattern(value.clone())
        }
        [by, kind, value] if is(by, "FILTERBY") && is(kind, "ACLCAT") => Filter::Category(
            std::str::from_utf8(value)
                .ok()
                .and_then(crate::acl::category_flag),
        ),
        [by, kind, _] if is(by, "FILTERBY") && is(kind, "MODULE") => Filter::Module,
        _ => return s.error(b"ERR syntax error"),
    };
    let names: Vec<&str> = COMMANDS
        .iter()
        .flat_map(|c| std::iter::once(c.name).chain(c.subcommands.iter().map(|sub| sub.name)))
        .filter(|n| filter.keeps(n))
        .collect();
    let mut r = s.reply();
    r.array(names.len());
    for name in names {
        r.bulk(name.as_bytes());
    }
}

fn info(s: &mut Session, args: &[Bytes]) {
    if args.len() == 2 {
        return all(s, args);
    }
    let found: Vec<Option<Span>> = args.iter().skip(2).map(|n| find_info(n)).collect();
    let mut r = s.reply();
    r.array(found.len());
    for span in found {
        match span {
            Some(span) => emit(INFO_RESP3, span, &mut r),
            None => r.null(),
        }
    }
}

fn docs(s: &mut Session, args: &[Bytes]) {
    let wanted: Vec<&(String, Span, Span)> = if args.len() == 2 {
        TABLE.docs.iter().collect()
    } else {
        args.iter()
            .skip(2)
            .filter_map(|n| {
                let n = String::from_utf8_lossy(n).to_ascii_lowercase();
                TABLE.docs.iter().find(|(name, _, _)| *name == n)
            })
            .collect()
    };
    let mut r = s.reply();
    r.map(wanted.len());
    for (_, key, value) in wanted {
        emit(DOCS_RESP3, *key, &mut r);
        emit(DOCS_RESP3, *value, &mut r);
    }
}

fn help(s: &mut Session, _: &[Bytes]) {
    help_lines(
        s,
        &[
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "HELP",
            "    Print this help.",
        ],
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stored_tables_cover_every_command() {
        assert_eq!(
            TABLE.info.iter().filter(|(n, _)| !n.contains('|')).count(),
            COMMANDS.len()
        );
        assert_eq!(TABLE.docs.len(), COMMANDS.len());
        for spec in COMMANDS {
            assert!(
                find_info(spec.name.as_bytes()).is_some(),
                "{} has no COMMAND INFO",
                spec.name
            );
            for sub in spec.subcommands {
                assert!(
                    find_info(sub.name.as_bytes()).is_some(),
                    "{} has no COMMAND INFO",
                    sub.name
                );
            }
        }
    }

    #[test]
    fn resp3_tables_transcode_to_resp2_and_back() {
        use bytes::BytesMut;
        let span = find_info(b"publish").unwrap();
        let mut buf = BytesMut::new();
        emit(INFO_RESP3, span, &mut Reply::new(&mut buf, true));
        assert_eq!(&buf[..], INFO_RESP3.get(span.start..span.end).unwrap());
        let mut buf = BytesMut::new();
        emit(INFO_RESP3, span, &mut Reply::new(&mut buf, false));
        assert_eq!(
            &buf[..],
            &b"*10\r\n$7\r\npublish\r\n:3\r\n*4\r\n+pubsub\r\n+loading\r\n+stale\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@pubsub\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n"[..]
        );
    }
}
