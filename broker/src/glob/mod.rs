//! Glob matching with the exact semantics of Redis' `stringmatchlen`
//! (`src/util.c`), used by PSUBSCRIBE delivery and `PUBSUB CHANNELS`.
//!
//! Clients rely on its quirks (`socket.io#/#*` must match `socket.io#/#`),
//! so the rules are reproduced byte for byte, including the odd ones:
//!
//! * no pattern but the empty one matches the empty channel (`*` does not);
//! * `[]` never matches, `[^]` matches any byte, a reversed range is swapped;
//! * `[a-]` is the range `]`..`a` and leaves the class open;
//! * an unterminated class runs to the end of the pattern;
//! * range bounds compare as signed C `char`s, as on x86 Linux;
//! * `*` recursion stops at 1000 levels, as Redis does.
//!
//! `skip_longer` is Redis' `skipLongerMatches` short cut: once a `*` has
//! tried every suffix and failed, no outer `*` can succeed either, which
//! keeps patterns such as `*a*a*a*a*b` linear instead of exponential.

/// Whether `pattern` matches `string` under Redis' glob rules.
pub fn matches(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, &mut skip_longer, 0)
}

/// Compares as C's signed `char` does on the platforms Redis is built for.
fn signed(b: u8) -> i32 {
    i32::from(b as i8)
}

fn match_impl(pattern: &[u8], string: &[u8], skip_longer: &mut bool, nesting: u32) -> bool {
    if nesting > 1000 {
        return false;
    }
    let mut p = 0usize; // index into pattern
    let mut s = 0usize; // index into string
    let plen = pattern.len();
    let slen = string.len();
    let pat = |i: usize| pattern.get(i).copied();
    while p < plen && s < slen {
        let c = string.get(s).copied().unwrap_or(0);
        match pat(p) {
            Some(b'*') => return star(pattern, p, string, s, skip_longer, nesting),
            Some(b'?') => {
                s += 1;
            }
            Some(b'[') => {
                let (matched, end) = class(pattern, p + 1, c);
                if !matched {
                    return false;
                }
                p = end;
                s += 1;
            }
            Some(b'\\') => {
                if plen - p >= 2 {
                    p += 1;
                }
                if pat(p) != Some(c) {
                    return false;
                }
                s += 1;
            }
            Some(other) => {
                if other != c {
                    return false;
                }
                s += 1;
            }
            None => return false,
        }
        p += 1;
        if s == slen {
            while pat(p) == Some(b'*') {
                p += 1;
            }
            break;
        }
    }
    p >= plen && s == slen
}

/// A `*` at `p`: tries the rest of the pattern against every suffix of the
/// string from `s`, the shortest first.
#[inline]
fn star(
    pattern: &[u8],
    mut p: usize,
    string: &[u8],
    mut s: usize,
    skip_longer: &mut bool,
    nesting: u32,
) -> bool {
    let plen = pattern.len();
    while p + 1 < plen && pattern.get(p + 1) == Some(&b'*') {
        p += 1;
    }
    if p + 1 == plen {
        return true;
    }
    let rest = pattern.get(p + 1..).unwrap_or_default();
    while s < string.len() {
        let tail = string.get(s..).unwrap_or_default();
        if match_impl(rest, tail, skip_longer, nesting + 1) {
            return true;
        }
        if *skip_longer {
            return false;
        }
        s += 1;
    }
    *skip_longer = true;
    false
}

/// The `[...]` class whose first byte after `[` is at `p`, against byte
/// `c`: whether it matches, and the index of its last byte (the `]`, or
/// the byte before the end of an unterminated class, so that the caller's
/// common advance lands exactly on the end).
#[inline]
fn class(pattern: &[u8], mut p: usize, c: u8) -> (bool, usize) {
    let plen = pattern.len();
    let pat = |i: usize| pattern.get(i).copied();
    let not = pat(p) == Some(b'^');
    if not {
        p += 1;
    }
    let mut matched = false;
    loop {
        let remaining = plen.saturating_sub(p);
        match pat(p) {
            Some(b'\\') if remaining >= 2 => {
                p += 1;
                if pat(p) == Some(c) {
                    matched = true;
                }
            }
            Some(b']') => break,
            None => {
                p -= 1;
                break;
            }
            Some(start) if remaining >= 3 && pat(p + 1) == Some(b'-') => {
                let end = pat(p + 2).unwrap_or(0);
                let (mut lo, mut hi) = (signed(start), signed(end));
                if lo > hi {
                    std::mem::swap(&mut lo, &mut hi);
                }
                p += 2;
                if (lo..=hi).contains(&signed(c)) {
                    matched = true;
                }
            }
            Some(other) => {
                if other == c {
                    matched = true;
                }
            }
        }
        p += 1;
    }
    (matched != not, p)
}

/// The literal bytes every matching string starts with: the pattern up to
/// its first `*`, `?`, `[` or `\`.
///
/// Sound for indexing because the matcher compares leading literal bytes one
/// for one: if `matches(p, s)` then `s` starts with `literal_prefix(p)`
/// (the empty string matches only the empty pattern, whose prefix is empty).
pub fn literal_prefix(pattern: &[u8]) -> &[u8] {
    let end = pattern
        .iter()
        .position(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
        .unwrap_or(pattern.len());
    pattern.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests;
