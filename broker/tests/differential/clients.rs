//! Scripted cases for the CLIENT subcommands operators use: NO-EVICT,
//! NO-TOUCH, and the replies and errors of PAUSE and UNPAUSE (the pause
//! itself, which holds commands, is in `tests/client_pause.rs`).

use crate::common::diff::{Case, c};

/// Every reply and error of NO-EVICT, NO-TOUCH, PAUSE and UNPAUSE that
/// pauses nothing (a pause would hold the other cases' steps). NO-TOUCH and
/// PAUSE's overflow check are new in 7.2: against 7.0 those steps expect
/// 7.2's bytes.
pub(crate) fn flags_and_pause_errors() -> Vec<Case> {
    vec![
        (
            "CLIENT NO-EVICT and NO-TOUCH",
            1,
            vec![
                c(0, "CLIENT NO-EVICT on"),
                c(0, "CLIENT NO-EVICT OFF"),
                c(0, "CLIENT NO-EVICT maybe"),
                c(0, "CLIENT NO-EVICT"),
                c(0, "CLIENT NO-EVICT on extra"),
                c(0, "CLIENT NO-TOUCH ON").on_7_2(b"+OK\r\n"),
                c(0, "CLIENT NO-TOUCH off").on_7_2(b"+OK\r\n"),
                c(0, "CLIENT NO-TOUCH maybe").on_7_2(b"-ERR syntax error\r\n"),
                c(0, "CLIENT NO-TOUCH")
                    .on_7_2(b"-ERR wrong number of arguments for 'client|no-touch' command\r\n"),
                c(0, "CLIENT no-touch on extra")
                    .on_7_2(b"-ERR wrong number of arguments for 'client|no-touch' command\r\n"),
            ],
        ),
        (
            "CLIENT PAUSE and UNPAUSE errors",
            1,
            vec![
                c(0, "CLIENT PAUSE"),
                c(0, "CLIENT PAUSE abc"),
                c(0, "CLIENT PAUSE 1.5"),
                c(0, "CLIENT PAUSE -1"),
                c(0, "CLIENT PAUSE -1 WRITE"),
                c(0, "CLIENT PAUSE 10 bogus"),
                c(0, "CLIENT PAUSE abc bogus"),
                c(0, "CLIENT PAUSE 10 write extra"),
                c(0, "CLIENT pause 10 all a b"),
                // 7.2 refuses a timeout that overflows its clock; 7.0 wraps.
                c(0, "CLIENT PAUSE 9223372036854775807")
                    .on_7_2(b"-ERR timeout is out of range\r\n"),
                c(0, "CLIENT PAUSE 9223372036854775808"),
                c(0, "CLIENT PAUSE 0"),
                c(0, "CLIENT PAUSE 0 write"),
                c(0, "PUBLISH ch m"),
                c(0, "CLIENT UNPAUSE x"),
                c(0, "CLIENT UNPAUSE"),
                c(0, "CLIENT UNPAUSE"),
            ],
        ),
    ]
}
