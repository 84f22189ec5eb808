//! `notify-keyspace-events`: respub has no keyspace, so it never sends a
//! keyspace event, but it checks and shows the setting exactly as Redis
//! does, so that configuration tools see the value they wrote and a typo
//! fails as it would on redis-server.

use super::error::DirectiveError;

/// The classes a bare `A` stands for, in the order Redis prints them when
/// they are not all set: `g$lshzxetd`.
const ALL: &[(u8, u16)] = &[
    (b'g', 1 << 2),
    (b'$', 1 << 3),
    (b'l', 1 << 4),
    (b's', 1 << 5),
    (b'h', 1 << 6),
    (b'z', 1 << 7),
    (b'x', 1 << 8),
    (b'e', 1 << 9),
    (b't', 1 << 10),
    (b'd', 1 << 13),
];

/// Classes outside `A`, each printed after those that precede it.
const NEW: (u8, u16) = (b'n', 1 << 14);
const KEYSPACE: (u8, u16) = (b'K', 1 << 0);
const KEYEVENT: (u8, u16) = (b'E', 1 << 1);
const KEY_MISS: (u8, u16) = (b'm', 1 << 11);

fn all_mask() -> u16 {
    ALL.iter().fold(0, |mask, (_, bit)| mask | bit)
}

/// The flags of a `notify-keyspace-events` value.
///
/// # Errors
///
/// Redis' error for any character that names no class.
pub(super) fn parse(text: &str) -> Result<u16, DirectiveError> {
    text.bytes().try_fold(0, |flags, c| {
        let bit = match c {
            b'A' => all_mask(),
            _ => ALL
                .iter()
                .chain(&[NEW, KEYSPACE, KEYEVENT, KEY_MISS])
                .find(|(name, _)| *name == c)
                .map(|(_, bit)| *bit)
                .ok_or_else(|| {
                    DirectiveError::Invalid(
                        "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into(),
                    )
                })?,
        };
        Ok(flags | bit)
    })
}

/// The value as CONFIG GET shows it: `A` when every class of it is set
/// (and then, as in Redis, `n` is not shown), else each class in Redis'
/// order; then `K`, `E`, `m`.
pub(super) fn format(flags: u16) -> String {
    let mut out = String::new();
    let has = |bit: u16| flags & bit == bit;
    if has(all_mask()) {
        out.push('A');
    } else {
        for (name, bit) in ALL.iter().chain(&[NEW]) {
            if has(*bit) {
                out.push(char::from(*name));
            }
        }
    }
    for (name, bit) in [KEYSPACE, KEYEVENT, KEY_MISS] {
        if has(bit) {
            out.push(char::from(name));
        }
    }
    out
}
