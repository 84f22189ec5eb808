//! How Redis writes values into a rewritten file, and where it writes
//! the file first.

use std::fs::File;
use std::io;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// `rewriteConfigFormatMemory`: the largest of gb, mb and kb that divides
/// the count, else bytes.
pub(super) fn memory(bytes: i64) -> String {
    const UNITS: [(i64, &str); 3] = [(1 << 30, "gb"), (1 << 20, "mb"), (1 << 10, "kb")];
    UNITS
        .iter()
        .find(|(size, _)| bytes != 0 && bytes % size == 0)
        .map_or_else(
            || bytes.to_string(),
            |(size, unit)| format!("{}{unit}", bytes / size),
        )
}

/// `sdscatrepr`: the text in double quotes, with C escapes for quotes,
/// backslashes and control characters and `\xHH` for other unprintable
/// bytes, so that the file reads back as the same value.
pub(super) fn repr(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for &b in text.as_bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// A new file named `<path>.XXXXXX` beside `path` (Redis' `mkostemp`),
/// readable by all as the umask allows (Redis' `0644 & ~umask`).
pub(super) fn temp_beside(path: &Path) -> io::Result<(PathBuf, File)> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id();
    for attempt in 0..100u32 {
        let mut n = seed.wrapping_add(attempt.wrapping_mul(7919));
        let suffix: String = (0..6)
            .map(|_| {
                let c = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                    .get((n % 62) as usize)
                    .copied()
                    .unwrap_or(b'X');
                n /= 62;
                char::from(c)
            })
            .collect();
        let mut name = path.as_os_str().to_owned();
        name.push(".");
        name.push(&suffix);
        let tmp = PathBuf::from(name);
        match File::options()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::from(io::ErrorKind::AlreadyExists))
}
