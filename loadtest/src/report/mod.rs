//! Output: the table on stdout, the JSON file, and the HTML page with SVG
//! charts.
//!
//! Every figure is shown for each target with its ratio to the first
//! target, because the point of the tool is "respub versus redis-server on
//! the same machine, same workload", not absolute numbers.
//!
//! The report renders [`crate::figures`] and nothing else: it knows neither
//! the command line nor the modes that produced the figures.

mod failover;
mod html;
mod node_failure;
mod rows;
mod saturation;
mod svg;
mod table;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests_saturation;

use std::path::Path;

use anyhow::Context;

use crate::figures::Report;

pub(crate) use html::write_html;
pub(crate) use saturation::saturation_table;
pub(crate) use table::table;

/// Writes the JSON file to `json` and the HTML report into `dir`, each
/// when asked for, and says where they went.
pub(crate) fn write_files(
    report: &Report,
    json: Option<&Path>,
    dir: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(path) = json {
        write_json(report, path)?;
        println!("JSON written to {}", path.display());
    }
    if let Some(dir) = dir {
        write_html(report, dir)?;
        println!(
            "HTML report written to {}",
            dir.join("index.html").display()
        );
    }
    Ok(())
}

/// Writes the JSON file.
pub(crate) fn write_json(report: &Report, path: &Path) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
