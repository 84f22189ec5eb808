//! Redis' `sdssplitargs`: an inline request or a configuration line into
//! arguments, with its quoting rules, which both must follow to the byte.

/// Splits an inline line into arguments with the rules of Redis'
/// `sdssplitargs`: spaces separate, `"..."` understands `\xHH`, `\n`, `\r`,
/// `\t`, `\b`, `\a` and `\<any>`, `'...'` understands only `\'`, and a
/// closing quote must be followed by a space or the end. `None` means
/// unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // sdssplitargs treats the line as a C string: a NUL ends it.
    let line = match memchr::memchr(0, line) {
        Some(i) => line.get(..i).unwrap_or_default(),
        None => line,
    };
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while line.get(i).is_some_and(|b| is_space(*b)) {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let (arg, next) = split_one(line, i)?;
        args.push(arg);
        i = next;
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The argument that starts at `i`, and where the scan goes on after it.
fn split_one(line: &[u8], mut i: usize) -> Option<(Vec<u8>, usize)> {
    let mut current = Vec::new();
    loop {
        match line.get(i).copied() {
            None => break,
            Some(b) if is_space(b) => break,
            Some(b'"') => i = double_quoted(line, i + 1, &mut current)?,
            Some(b'\'') => i = single_quoted(line, i + 1, &mut current)?,
            Some(other) => {
                current.push(other);
                i += 1;
            }
        }
    }
    Some((current, i))
}

/// The rest of a `"..."` from `i` into `out`; returns the index after the
/// closing quote, or `None` if the quote is unbalanced.
fn double_quoted(line: &[u8], mut i: usize, out: &mut Vec<u8>) -> Option<usize> {
    loop {
        match line.get(i).copied()? {
            b'\\' => {
                let next = line.get(i + 1).copied();
                let hex = line
                    .get(i + 2)
                    .copied()
                    .and_then(hex_value)
                    .zip(line.get(i + 3).copied().and_then(hex_value));
                if let (Some(b'x'), Some((high, low))) = (next, hex) {
                    out.push(high * 16 + low);
                    i += 4;
                    continue;
                }
                out.push(match next? {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 0x08,
                    b'a' => 0x07,
                    other => other,
                });
                i += 2;
            }
            b'"' => return closing_quote(line, i),
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
}

/// The rest of a `'...'` from `i` into `out`, as [`double_quoted`].
fn single_quoted(line: &[u8], mut i: usize, out: &mut Vec<u8>) -> Option<usize> {
    loop {
        match line.get(i).copied()? {
            b'\\' if line.get(i + 1) == Some(&b'\'') => {
                out.push(b'\'');
                i += 2;
            }
            b'\'' => return closing_quote(line, i),
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
}

/// A closing quote at `i` must be followed by a space or the end.
fn closing_quote(line: &[u8], i: usize) -> Option<usize> {
    if line.get(i + 1).is_some_and(|b| !is_space(*b)) {
        None
    } else {
        Some(i + 1)
    }
}
