//! LATENCY GRAPH: an event's samples as the ASCII sparkline Redis draws
//! (`latencyCommandGenSparkeline` and `sparkline.c`, filled style, 4 rows,
//! 80 columns), each column labelled with how long ago it was sampled.

use super::{Event, Series};

/// Columns per block of the graph; more samples continue in a new block.
const COLUMNS: usize = 80;
/// Rows of the sparkline itself, above the labels.
const ROWS: usize = 4;
/// The filled style's characters, lowest first; `|` fills below them.
const FILL: [u8; 3] = *b"_o#";
/// Blank lines between the sparkline and the labels.
const LABEL_MARGIN: usize = 1;

/// The graph of `series` at `now`.
pub fn graph(event: Event, series: &Series, now: i64) -> String {
    let points: Vec<(u32, String)> = series
        .history()
        .map(|s| (s.latency, age(now - s.time)))
        .collect();
    let low = points.iter().map(|p| p.0).min().unwrap_or(0);
    let high = points.iter().map(|p| p.0).max().unwrap_or(0);
    let mut out = format!(
        "{} - high {high} ms, low {low} ms (all time high {} ms)\n",
        event.name(),
        series.max()
    );
    out.push_str(&"-".repeat(COLUMNS));
    out.push('\n');
    for (i, block) in points.chunks(COLUMNS).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render(&mut out, block, f64::from(low), f64::from(high));
    }
    out
}

/// How long ago, as Redis labels it: seconds, minutes, hours or days.
fn age(elapsed: i64) -> String {
    if elapsed < 60 {
        format!("{elapsed}s")
    } else if elapsed < 3600 {
        format!("{}m", elapsed / 60)
    } else if elapsed < 3600 * 24 {
        format!("{}h", elapsed / 3600)
    } else {
        format!("{}d", elapsed / (3600 * 24))
    }
}

/// One block: each column's height is its value's place between `low`
/// and `high` (the whole graph's, not the block's) in 12 steps, drawn
/// over 4 rows of 3 characters; then a blank line and the labels, one
/// character a row.
fn render(out: &mut String, block: &[(u32, String)], low: f64, high: f64) {
    if block.is_empty() {
        return;
    }
    let steps = FILL.len() * ROWS;
    let range = if high > low { high - low } else { 1.0 };
    let heights: Vec<usize> = block
        .iter()
        .map(|(value, _)| {
            // Redis truncates the scaled value before dividing, then the
            // quotient, as C's int conversions do.
            let scaled = ((f64::from(*value) - low) * steps as f64).trunc();
            let step = (scaled / range).trunc();
            (step.max(0.0) as usize).min(steps - 1)
        })
        .collect();
    for row in 0..ROWS {
        let line: String = heights
            .iter()
            .map(|&step| {
                let floor = (ROWS - row - 1) * FILL.len();
                match step.checked_sub(floor) {
                    Some(i) => FILL.get(i).map_or('|', |&c| char::from(c)),
                    None => ' ',
                }
            })
            .collect();
        out.push_str(&line);
        out.push('\n');
    }
    let tallest = block.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
    for _ in 0..LABEL_MARGIN {
        out.push_str(&" ".repeat(block.len()));
        out.push('\n');
    }
    for at in 0..tallest {
        let line: String = block
            .iter()
            .map(|(_, label)| label.as_bytes().get(at).map_or(' ', |&c| char::from(c)))
            .collect();
        out.push_str(&line);
        out.push('\n');
    }
}
