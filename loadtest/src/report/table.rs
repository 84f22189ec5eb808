//! The plain-text table of one scenario, and the cells it shares with the
//! HTML page.

use std::fmt::Write as _;

use super::rows::{Unit, rows};
use crate::figures::{RunResult, ScenarioReport, human};

pub(super) fn format_value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Rate => human(v),
        Unit::Micros => {
            if v >= 1_000_000.0 {
                format!("{:.2} s", v / 1e6)
            } else if v >= 10_000.0 {
                format!("{:.1} ms", v / 1000.0)
            } else if v >= 1_000.0 {
                format!("{:.2} ms", v / 1000.0)
            } else {
                format!("{v:.1} µs")
            }
        }
        Unit::Count => format!("{v:.0}"),
        Unit::Millis => format!("{v:.1} ms"),
        Unit::Seconds => format!("{v:.3} s"),
        Unit::Bytes => {
            let a = v.abs();
            if a >= 1024.0 * 1024.0 {
                format!("{:.1} MiB", v / 1024.0 / 1024.0)
            } else if a >= 10.0 * 1024.0 {
                format!("{:.1} KiB", v / 1024.0)
            } else {
                format!("{v:.0} B")
            }
        }
    }
}

/// The cells of a table: header then rows, all as strings.
pub(super) fn cells(s: &ScenarioReport) -> Vec<Vec<String>> {
    let mut header = vec!["".to_owned()];
    for (i, r) in s.results.iter().enumerate() {
        header.push(r.target.clone());
        if i > 0 {
            header.push(format!(
                "x {}",
                s.results.first().map_or("", |f| f.target.as_str())
            ));
        }
    }
    let mut out = vec![header];
    if s.results.iter().any(|r| r.failure.is_some()) {
        let mut line = vec!["status".to_owned()];
        for (i, r) in s.results.iter().enumerate() {
            line.push(if r.failure.is_some() { "FAILED" } else { "ok" }.to_owned());
            if i > 0 {
                line.push(String::new());
            }
        }
        out.push(line);
    }
    // A failed run has no figures: its zeros would read as measured.
    let get = |row: &super::rows::Row, r: &RunResult| {
        if r.failure.is_some() {
            None
        } else {
            (row.get)(r)
        }
    };
    for row in rows(s) {
        let first = s.results.first().and_then(|r| get(&row, r));
        let mut line = vec![row.label.clone()];
        for (i, r) in s.results.iter().enumerate() {
            let v = get(&row, r);
            line.push(v.map_or_else(|| "-".to_owned(), |v| format_value(row.unit, v)));
            if i > 0 {
                let ratio = match (v, first) {
                    (Some(v), Some(f)) if row.ratio && f != 0.0 => format!("{:.2}", v / f),
                    _ => "-".to_owned(),
                };
                line.push(ratio);
            }
        }
        out.push(line);
    }
    out
}

/// The plain-text table of one scenario.
pub(crate) fn table(s: &ScenarioReport) -> String {
    let rounds = if s.rounds > 1 {
        format!(", {} rounds merged", s.rounds)
    } else {
        String::new()
    };
    let mut out = format!("== {}: {}{rounds}\n", s.params.name(), s.description);
    out.push_str(&render(&cells(s)));
    run_notes(s, &mut out);
    for line in notes(s) {
        let _ = writeln!(out, "note: {line}");
    }
    out
}

/// `cells` as aligned columns, the header underlined.
pub(super) fn render(cells: &[Vec<String>]) -> String {
    let ncols = cells.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..ncols)
        .map(|c| {
            cells
                .iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, row) in cells.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let w = widths.get(c).copied().unwrap_or(0);
            if c == 0 {
                let _ = write!(line, "{cell:<w$}");
            } else {
                let _ = write!(line, "  {cell:>w$}");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
        if i == 0 {
            let total: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
            let _ = writeln!(out, "{}", "-".repeat(total));
        }
    }
    out
}

/// What the table cannot show: every failed run's error, dead processes
/// and their last lines, each prefixed by the target.
pub(super) fn notes(s: &ScenarioReport) -> Vec<String> {
    let mut out = Vec::new();
    for r in &s.results {
        if let Some(f) = &r.failure {
            out.extend(f.lines().iter().map(|l| format!("{}: {l}", r.target)));
        }
    }
    out
}

/// The table's notes: failover rounds and failed subscribers.
fn run_notes(s: &ScenarioReport, out: &mut String) {
    for r in &s.results {
        for line in super::failover::notes(r) {
            let _ = writeln!(out, "note: {}: {line}", r.target);
        }
        if let Some(f) = &r.first_failure {
            let _ = writeln!(
                out,
                "note: {}: {} subscriber(s) failed: {f}",
                r.target, r.subscriber_failures
            );
        }
    }
}
