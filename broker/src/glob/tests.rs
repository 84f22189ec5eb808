#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;

/// An independent reference: the pattern is first cut into tokens with
/// Redis' class rules, then matched by dynamic programming over
/// (token, position), with the one rule that is not ordinary glob: an
/// empty string matches only an empty pattern.
#[derive(Debug, Clone)]
enum Tok {
    Star,
    Any,
    Lit(u8),
    Class { not: bool, items: Vec<(i32, i32)> },
}

fn tokenize(p: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'*' => {
                out.push(Tok::Star);
                i += 1;
            }
            b'?' => {
                out.push(Tok::Any);
                i += 1;
            }
            b'\\' if i + 1 < p.len() => {
                out.push(Tok::Lit(p[i + 1]));
                i += 2;
            }
            b'[' => {
                i += 1;
                let not = p.get(i) == Some(&b'^');
                if not {
                    i += 1;
                }
                let mut items = Vec::new();
                loop {
                    if i >= p.len() {
                        break; // unterminated: the class takes the rest
                    }
                    if p[i] == b'\\' && i + 1 < p.len() {
                        let v = signed(p[i + 1]);
                        items.push((v, v));
                        i += 2;
                    } else if p[i] == b']' {
                        i += 1;
                        break;
                    } else if i + 2 < p.len() && p[i + 1] == b'-' {
                        let (a, b) = (signed(p[i]), signed(p[i + 2]));
                        items.push((a.min(b), a.max(b)));
                        i += 3;
                    } else {
                        let v = signed(p[i]);
                        items.push((v, v));
                        i += 1;
                    }
                }
                out.push(Tok::Class { not, items });
            }
            b => {
                out.push(Tok::Lit(b));
                i += 1;
            }
        }
    }
    out
}

fn reference(pattern: &[u8], s: &[u8]) -> bool {
    if s.is_empty() {
        return pattern.is_empty();
    }
    let toks = tokenize(pattern);
    // dp[t][k]: tokens[t..] match s[k..]
    let mut dp = vec![vec![false; s.len() + 1]; toks.len() + 1];
    dp[toks.len()][s.len()] = true;
    for t in (0..toks.len()).rev() {
        for k in (0..=s.len()).rev() {
            dp[t][k] = match &toks[t] {
                Tok::Star => dp[t + 1][k] || (k < s.len() && dp[t][k + 1]),
                _ if k == s.len() => false,
                Tok::Any => dp[t + 1][k + 1],
                Tok::Lit(b) => *b == s[k] && dp[t + 1][k + 1],
                Tok::Class { not, items } => {
                    let c = signed(s[k]);
                    let hit = items.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c));
                    hit != *not && dp[t + 1][k + 1]
                }
            };
        }
    }
    dp[0][0]
}

fn all_strings(alphabet: &[u8], max_len: usize) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new()];
    let mut frontier = vec![Vec::new()];
    for _ in 0..max_len {
        let mut next = Vec::new();
        for s in &frontier {
            for &a in alphabet {
                let mut t: Vec<u8> = s.clone();
                t.push(a);
                next.push(t);
            }
        }
        out.extend(next.iter().cloned());
        frontier = next;
    }
    out
}

#[test]
fn exhaustive_against_reference() {
    let patterns = all_strings(b"a*?[]^-\\", 5);
    let strings = all_strings(b"a]-\\^", 3);
    let mut checked = 0u64;
    for p in &patterns {
        for s in &strings {
            assert_eq!(
                matches(p, s),
                reference(p, s),
                "pattern {:?} string {:?}",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(s)
            );
            checked += 1;
        }
    }
    assert!(checked > 1_000_000);
}

#[test]
fn high_bytes_compare_signed_in_ranges() {
    // 0xc3 is negative as a C char, so [a-\xc3] is the range \xc3..a.
    assert!(matches(b"[a-\xc3]", b"\xc4"));
    assert!(matches(b"[a-\xc3]", b"0"));
    assert!(!matches(b"[a-\xc3]", b"b"));
    assert_eq!(
        matches(b"[a-\xc3]", b"\xc4"),
        reference(b"[a-\xc3]", b"\xc4")
    );
}

/// The verification grid of Redis' observed behaviour: 25 channels and
/// the number of them each pattern matches.
#[test]
fn redis_grid() {
    let channels: Vec<&[u8]> = vec![
        b"foo",
        b"fo",
        b"f",
        b"Foo",
        b"fooo",
        b"bar",
        b"baz",
        b"bzr",
        b"b-r",
        b"b]r",
        b"b\\r",
        b"b*r",
        b"b?r",
        b"a.b",
        b"a/b",
        b"ab",
        b"",
        b"x\nY",
        "é".as_bytes(),
        b"[abc]",
        b"hello",
        b"hallo",
        b"hllo",
        b"heeeello",
        b"\\",
    ];
    let grid: &[(&[u8], usize)] = &[
        (b"*", 24),
        (b"f*", 4),
        (b"f?o", 1),
        (b"fo*", 3),
        (b"F*", 1),
        (b"[bf]*", 12),
        (b"[^b]*", 16),
        (b"b[a-z]r", 2),
        (b"b[z-a]r", 2),
        (b"b[^a]r", 6),
        (b"b\\*r", 1),
        (b"b\\?r", 1),
        (b"b[\\]]r", 1),
        (b"b[]]r", 0),
        (b"b[]r", 0),
        (b"b[^]r", 7),
        (b"b[a-]r", 0),
        (b"h*llo", 4),
        (b"**", 24),
        ("é".as_bytes(), 1),
        (b"b[-a]r", 2),
        (b"b[ar", 0),
        (b"b\\r", 0),
        (b"b\\\\r", 1),
        (b"\\", 1),
        (b"\\\\", 1),
        (b"h[ae]llo", 2),
        (b"h?llo", 2),
        (b"f[o", 1),
        (b"[^", 2),
        (b"*o", 8),
        (b"[abc]", 0),
        (b"\\[abc\\]", 1),
        (b"x?Y", 1),
        (b"?", 2),
        (b"??", 3),
        (b"", 1),
        (b"a?b", 2),
        (b"[", 0),
        (b"?\xc2\xa9", 0),
    ];
    for (pattern, want) in grid {
        let n = channels.iter().filter(|c| matches(pattern, c)).count();
        assert_eq!(n, *want, "pattern {:?}", String::from_utf8_lossy(pattern));
    }
}

#[test]
fn every_match_starts_with_the_literal_prefix() {
    for p in all_strings(b"a*?[]^-\\", 4) {
        for s in all_strings(b"a]-\\^", 3) {
            if matches(&p, &s) {
                assert!(s.starts_with(literal_prefix(&p)), "{p:?} {s:?}");
            }
        }
    }
    assert_eq!(literal_prefix(b"socket.io#/#*"), b"socket.io#/#");
    assert_eq!(literal_prefix(b"a\\*"), b"a");
}

#[test]
fn pathological_pattern_is_fast_and_correct() {
    let pattern = b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
    let s = vec![b'a'; 4096];
    assert!(!matches(pattern, &s));
}
