//! Scripted cases for malformed requests.

use crate::common::diff::{Case, raw};

/// Malformed requests: one exact error text, then the connection closes.
pub(crate) fn protocol_errors() -> Vec<Case> {
    vec![
        (
            "protocol error: bad count",
            1,
            vec![raw(0, b"*x\r\n", true)],
        ),
        (
            "protocol error: count over INT_MAX",
            1,
            vec![raw(0, b"*2147483648\r\n", true)],
        ),
        (
            "protocol error: expected $",
            1,
            vec![raw(0, b"*1\r\n:4\r\n", true)],
        ),
        (
            "protocol error: negative bulk",
            1,
            vec![raw(0, b"*1\r\n$-5\r\n", true)],
        ),
        (
            "protocol error: null bulk",
            1,
            vec![raw(0, b"*1\r\n$-1\r\n", true)],
        ),
        (
            "protocol error: bulk too big",
            1,
            vec![raw(0, b"*1\r\n$536870913\r\n", true)],
        ),
        (
            "protocol error: unbalanced quotes",
            1,
            vec![raw(0, b"ECHO 'unbalanced\r\n", true)],
        ),
        (
            "protocol error: quote then text",
            1,
            vec![raw(0, b"PING \"a\"b\r\n", true)],
        ),
        (
            "protocol error after pipelined commands",
            1,
            vec![raw(0, b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n!\r\n", true)],
        ),
        (
            "protocol error: inline too big",
            1,
            vec![raw(0, &[b'a'; 70 * 1024], true)],
        ),
        (
            "protocol error: bulk count line too big",
            1,
            vec![raw(
                0,
                &[&b"*1\r\n$"[..], &[b'1'; 70 * 1024]].concat(),
                true,
            )],
        ),
    ]
}
