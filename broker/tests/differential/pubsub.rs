//! Scripted cases for the pub/sub commands: subscribing, counts and delivery.

use crate::common::diff::{Case, c, cmd};

/// Subscribing and unsubscribing: replies, counts and the subscribed-mode
/// restrictions.
pub(crate) fn subscribing() -> Vec<Case> {
    let sub_err = |cmd: &str| {
        format!(
            "-ERR Can't execute '{cmd}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
        )
        .into_bytes()
    };
    vec![
        (
            "unsubscribe while subscribed to nothing",
            1,
            vec![
                c(0, "UNSUBSCRIBE"),
                c(0, "PUNSUBSCRIBE"),
                c(0, "SUNSUBSCRIBE"),
                c(0, "UNSUBSCRIBE x y"),
                c(0, "PING"),
                c(0, "PING hi"),
            ],
        ),
        (
            "subscribe family, counts and subscribed-mode restrictions (RESP2)",
            2,
            vec![
                c(0, "SUBSCRIBE"),
                c(0, "SUBSCRIBE foo bar foo"),
                c(0, "PSUBSCRIBE f* b?r"),
                c(0, "SSUBSCRIBE sh1 sh2"),
                c(0, "PING"),
                c(0, "PING hi"),
                c(0, "PING a b"),
                c(0, "SELECT 0"),
                c(0, "HELLO 3"),
                c(0, "NOSUCHCMD a"),
                c(0, "SUBSCRIBE"),
                c(0, "ECHO x"),
                c(0, "PUBLISH foo x"),
                c(0, "CLIENT SETINFO LIB-NAME x").on_7_2(&sub_err("client|setinfo")),
                c(0, "PUBSUB NUMSUB foo"),
                c(1, "PUBLISH foo hello"),
                c(1, "PUBLISH bar hello"),
                c(1, "PUBLISH sh1 m"),
                c(1, "SPUBLISH sh1 m"),
                c(1, "SPUBLISH foo m"),
                c(1, "PUBLISH nobody m"),
                c(1, "PUBSUB CHANNELS"),
                c(1, "PUBSUB CHANNELS f*"),
                c(1, "PUBSUB NUMSUB foo bar zzz"),
                c(1, "PUBSUB NUMSUB a a"),
                c(1, "PUBSUB NUMSUB"),
                c(1, "PUBSUB NUMPAT"),
                c(1, "PUBSUB SHARDCHANNELS"),
                c(1, "PUBSUB SHARDCHANNELS s*"),
                c(1, "PUBSUB SHARDNUMSUB sh1 x"),
                c(1, "PUBSUB NUMPAT x"),
                c(1, "PUBSUB FOO"),
                c(1, "PUBSUB"),
                c(1, "PUBSUB CHANNELS a b"),
                c(1, "PUBSUB SHARDCHANNELS a b"),
                c(1, "PUBSUB HELP"),
                c(1, "PUBSUB help x"),
                c(1, "pubsub numpat"),
                c(1, "PUBLISH a"),
                c(1, "SPUBLISH a"),
                c(0, "UNSUBSCRIBE foo nonsub"),
                c(0, "PUNSUBSCRIBE"),
                c(0, "SUNSUBSCRIBE sh1"),
                c(0, "UNSUBSCRIBE"),
                c(0, "SUNSUBSCRIBE"),
                c(0, "PING"),
            ],
        ),
    ]
}

/// Count namespaces, deliveries and RESP3 pushes.
pub(crate) fn delivery() -> Vec<Case> {
    vec![
        (
            "count namespaces: shard channels alone keep subscribed mode",
            1,
            vec![
                c(0, "SSUBSCRIBE sh"),
                c(0, "UNSUBSCRIBE"),
                c(0, "PING"),
                c(0, "PSUBSCRIBE a*"),
                c(0, "UNSUBSCRIBE"),
                c(0, "SUNSUBSCRIBE zz"),
                c(0, "PUNSUBSCRIBE"),
                c(0, "PING"),
                c(0, "SUNSUBSCRIBE"),
                c(0, "PING"),
            ],
        ),
        (
            "delivery: one message plus one pmessage per matching pattern",
            3,
            vec![
                c(0, "SUBSCRIBE foo"),
                c(0, "PSUBSCRIBE * f* f*"),
                c(1, "SUBSCRIBE foo"),
                c(2, "PUBLISH foo m"),
                cmd(2, &[b"PUBLISH", b"", b"m"]),
                c(2, "PUBSUB NUMSUB foo"),
                c(2, "PUBSUB NUMPAT"),
                cmd(2, &[b"PUBLISH", b"foo", b"\x00\r\n\xff"]),
                cmd(0, &[b"SUBSCRIBE", b""]),
                cmd(2, &[b"PUBLISH", b"", b"empty"]),
                c(2, "PUBSUB CHANNELS"),
                c(1, "PSUBSCRIBE f*"),
                c(0, "PUNSUBSCRIBE f*"),
                c(2, "PUBSUB NUMPAT"),
                c(2, "PUBLISH foo again"),
            ],
        ),
        (
            "RESP3: pushes, no restrictions, publish to self, HELLO 2 back",
            2,
            vec![
                c(0, "HELLO 3"),
                c(0, "UNSUBSCRIBE"),
                c(0, "SUBSCRIBE foo bar"),
                c(0, "PSUBSCRIBE f*"),
                c(0, "SSUBSCRIBE sh"),
                c(0, "PING"),
                c(0, "PING hi"),
                c(0, "ECHO x"),
                c(0, "PUBLISH foo self"),
                c(0, "SPUBLISH sh self"),
                c(1, "PUBLISH foo hello"),
                c(1, "SPUBLISH sh x"),
                c(0, "UNSUBSCRIBE"),
                c(0, "PUNSUBSCRIBE f* nope"),
                c(0, "SUNSUBSCRIBE"),
                c(0, "PUBSUB NUMSUB foo"),
                c(0, "CLIENT GETNAME"),
                c(0, "SUBSCRIBE q"),
                c(0, "HELLO 2"),
                c(0, "ECHO x"),
                c(0, "HELLO"),
                c(0, "PING"),
            ],
        ),
    ]
}
