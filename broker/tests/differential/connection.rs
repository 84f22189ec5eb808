//! Scripted cases for the connection and server commands clients send.

use crate::common::diff::{Case, c, cmd, raw};

/// HELLO and the connection commands client libraries send.
pub(crate) fn hello_and_connection() -> Vec<Case> {
    vec![
        (
            "HELLO arguments and errors",
            1,
            vec![
                c(0, "HELLO"),
                c(0, "HELLO 4"),
                c(0, "HELLO 1"),
                c(0, "HELLO x"),
                c(0, "HELLO 99999999999999999999"),
                c(0, "HELLO AUTH default x"),
                c(0, "HELLO 3 FOO"),
                c(0, "HELLO 3 AUTH x"),
                cmd(0, &[b"HELLO", b"3", b"SETNAME", b"bad name"]),
                c(0, "HELLO 3 SETNAME myname"),
                c(0, "CLIENT GETNAME"),
                c(0, "HELLO 3 AUTH default wrong"),
                c(0, "HELLO 2 AUTH nosuchuser pw"),
                c(0, "HELLO 2 AUTH default pw SETNAME n1"),
                c(0, "CLIENT GETNAME"),
                c(0, "RESET"),
                c(0, "CLIENT GETNAME"),
                c(0, "HELLO"),
            ],
        ),
        (
            "connection commands clients send",
            1,
            vec![
                c(0, "AUTH pw"),
                c(0, "AUTH default pw"),
                c(0, "AUTH someone pw"),
                c(0, "AUTH a b c"),
                c(0, "AUTH"),
                c(0, "CLIENT SETNAME n"),
                c(0, "CLIENT GETNAME"),
                cmd(0, &[b"CLIENT", b"SETNAME", b"bad name"]),
                c(0, "CLIENT SETNAME"),
                cmd(0, &[b"CLIENT", b"SETNAME", b""]),
                c(0, "CLIENT GETNAME"),
                c(0, "CLIENT SETINFO LIB-NAME x").on_7_2(b"+OK\r\n"),
                cmd(0, &[b"CLIENT", b"SETINFO", b"LIB-NAME", b"bad name"]).on_7_2(
                    b"-ERR LIB-NAME cannot contain spaces, newlines or special characters.\r\n",
                ),
                c(0, "CLIENT SETINFO FOO x").on_7_2(b"-ERR Unrecognized option 'FOO'\r\n"),
                c(0, "CLIENT MAINT_NOTIFICATIONS ON"),
                c(0, "CLIENT"),
                c(0, "CLIENT NOSUCH"),
                c(0, "SELECT 0"),
                c(0, "SELECT 9"),
                c(0, "SELECT 15"),
                c(0, "SELECT 16"),
                c(0, "SELECT -1"),
                c(0, "SELECT x"),
                c(0, "SELECT"),
                c(0, "ECHO"),
                c(0, "ECHO a b"),
                c(0, "RESET x"),
                c(0, "PING x y"),
                c(0, "TIME x"),
                c(0, "CLIENT ID x"),
            ],
        ),
    ]
}

/// Reply texts and switches: unknown commands, CLIENT REPLY, RESET, QUIT and
/// inline commands.
pub(crate) fn replies() -> Vec<Case> {
    vec![
        (
            "unknown command texts",
            1,
            vec![
                c(0, "NOSUCHCMD a"),
                c(0, "NOSUCHCMD"),
                cmd(0, &[b"UNKNOWNCMD", &[b'a'; 200], b"b"]),
                cmd(0, &[&[b'x'; 200]]),
                cmd(0, &[b"FOO", b"a\r\nb"]),
                cmd(0, &[b"FOO", b"a\x00b", b"c"]),
                cmd(0, &[b"FOO", &[b'a'; 100], &[b'b'; 100], b"c"]),
                cmd(0, &[b""]),
            ],
        ),
        (
            "CLIENT REPLY never suppresses pushes (RESP2)",
            2,
            vec![
                c(0, "CLIENT REPLY OFF"),
                c(0, "SUBSCRIBE q"),
                c(1, "PUBLISH q m"),
                c(0, "CLIENT REPLY ON"),
                c(0, "RESET"),
                c(0, "CLIENT REPLY SKIP"),
                c(0, "ECHO skipped"),
                c(0, "ECHO shown"),
                c(0, "CLIENT REPLY FOO"),
            ],
        ),
        (
            "CLIENT REPLY in RESP3",
            2,
            vec![
                c(0, "HELLO 3"),
                c(0, "CLIENT REPLY OFF"),
                c(0, "SUBSCRIBE q"),
                c(1, "PUBLISH q m"),
                c(0, "CLIENT REPLY ON"),
            ],
        ),
        (
            "RESET drops subscriptions silently; QUIT replies then closes",
            2,
            vec![
                c(0, "SUBSCRIBE q"),
                c(0, "RESET"),
                c(0, "PING"),
                c(1, "PUBSUB NUMSUB q"),
                c(0, "SUBSCRIBE q"),
                c(0, "QUIT").closing(),
                c(1, "PUBSUB NUMSUB q"),
                c(1, "QUIT x").closing(),
            ],
        ),
        (
            "inline commands and protocol leniency",
            1,
            vec![
                raw(0, b"PING\r\n", false),
                raw(0, b"PING\n", false),
                raw(0, b"SUBSCRIBE x y\r\n", false),
                raw(0, b"ECHO \"a b\\x41\"\r\n", false),
                raw(0, b"*0\r\n*-1\r\n\r\n   \r\n", false),
                raw(0, b"*1\r\n$4\r\nPINGX\r\n", false),
                raw(0, b"ECHO 'it\\'s'\r\n", false),
            ],
        ),
    ]
}

/// COMMAND and CLIENT: what tools read about the server and its clients.
pub(crate) fn introspection() -> Vec<Case> {
    vec![
        (
            "COMMAND INFO and DOCS describe respub's commands as Redis does",
            1,
            vec![
                c(
                    0,
                    "COMMAND INFO publish subscribe psubscribe ssubscribe spublish ping hello",
                ),
                c(0, "COMMAND INFO nosuchcommand echo"),
                c(0, "COMMAND INFO client|setname pubsub|numsub"),
                // Containers (PUBSUB, CLIENT, COMMAND) list their subcommands in
                // Redis' dict order, which is seeded per process: not compared.
                c(0, "COMMAND DOCS publish hello auth info nosuch"),
                c(0, "COMMAND DOCS PUBLISH"),
                c(0, "HELLO 3"),
                c(0, "COMMAND INFO publish unsubscribe time"),
                c(0, "COMMAND DOCS publish select quit reset"),
            ],
        ),
        (
            "CLIENT KILL, LIST and REPLY argument errors",
            1,
            vec![
                c(0, "CLIENT KILL ID"),
                c(0, "CLIENT KILL ID x"),
                c(0, "CLIENT KILL ID 0"),
                c(0, "CLIENT KILL TYPE bogus"),
                c(0, "CLIENT KILL SKIPME maybe"),
                c(0, "CLIENT KILL FOO bar"),
                c(0, "CLIENT KILL ID 5 TYPE"),
                c(0, "CLIENT KILL 1.2.3.4:5"),
                c(0, "CLIENT KILL TYPE master"),
                c(0, "CLIENT KILL"),
                c(0, "CLIENT LIST TYPE bogus"),
                c(0, "CLIENT LIST ID x"),
                c(0, "CLIENT LIST FOO"),
                c(0, "CLIENT LIST TYPE replica"),
                c(0, "CLIENT REPLY"),
                c(0, "CLIENT INFO x"),
                c(0, "CLIENT GETNAME x"),
                c(0, "CLIENT SETINFO LIB-NAME")
                    .on_7_2(b"-ERR wrong number of arguments for 'client|setinfo' command\r\n"),
                c(0, "INFO nosuchsection"),
                c(0, "TIME x"),
                c(0, "COMMAND COUNT x"),
                c(0, "COMMAND NOPE"),
            ],
        ),
    ]
}

/// CONFIG GET defaults and CONFIG SET errors.
pub(crate) fn config() -> Vec<Case> {
    vec![(
        "CONFIG GET defaults and CONFIG SET errors",
        1,
        vec![
            c(0, "CONFIG GET maxclients"),
            // Several patterns come back in Redis' dict order: one per step.
            c(0, "CONFIG GET timeout"),
            c(0, "CONFIG GET tcp-keepalive"),
            c(0, "CONFIG GET proto-max-bulk-len"),
            c(0, "CONFIG GET client-query-buffer-limit"),
            c(0, "CONFIG GET client-output-buffer-limit"),
            c(0, "CONFIG GET databases"),
            c(0, "CONFIG GET nosuch"),
            c(0, "CONFIG SET nosuch 1"),
            c(0, "CONFIG SET maxclients abc"),
            c(0, "CONFIG SET maxclients"),
            c(0, "CONFIG SET timeout 0"),
            c(0, "CONFIG SET timeout 0 timeout 1"),
            c(0, "CONFIG SET client-output-buffer-limit bogus"),
            c(0, "CONFIG GET"),
            c(0, "CONFIG HELP"),
            c(0, "CONFIG REWRITE"),
            c(0, "CONFIG NOPE"),
            c(0, "HELLO 3"),
            c(0, "CONFIG GET maxclients"),
        ],
    )]
}
