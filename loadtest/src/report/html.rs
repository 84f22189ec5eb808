//! The HTML page: every scenario's table and charts on one page, and each
//! chart as its own SVG file next to it.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use super::saturation;
use super::svg::{cdf_svg, throughput_svg};
use super::table::{cells, notes};
use crate::figures::Report;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `cells` as an HTML table, the first row as its header.
fn push_table(html: &mut String, cells: &[Vec<String>]) {
    html.push_str("<table>\n");
    for (r, row) in cells.iter().enumerate() {
        let tag = if r == 0 { "th" } else { "td" };
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<{tag}>{}</{tag}>", escape(cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
}

/// `lines` as preformatted text, if there are any.
fn push_pre(html: &mut String, lines: &[String]) {
    if !lines.is_empty() {
        let _ = writeln!(html, "<pre>{}</pre>", escape(&lines.join("\n")));
    }
}

/// Writes `DIR/index.html` (tables and inline charts) plus each chart as
/// its own SVG file.
pub(crate) fn write_html(report: &Report, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut html = String::new();
    let _ = writeln!(
        html,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>respub-loadtest</title>\n<style>\
         body{{font-family:sans-serif;margin:2em;max-width:1100px}}\
         table{{border-collapse:collapse;margin:1em 0}}\
         td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}\
         .charts{{display:flex;flex-wrap:wrap;gap:1em}}\
         </style></head><body>\n<h1>respub-loadtest</h1>\n<p>Targets: {}. Ratios are to the first target.</p>",
        escape(&report.targets.join(", "))
    );
    for (i, s) in report.scenarios.iter().enumerate() {
        let name = s.params.name();
        let _ = writeln!(
            html,
            "<h2>{}</h2>\n<p>{}</p>",
            escape(name),
            escape(&s.description)
        );
        push_table(&mut html, &cells(s));
        push_pre(&mut html, &notes(s));
        if s.params.has_deliveries() {
            let cdf = cdf_svg(s)?;
            let tput = throughput_svg(s)?;
            let base = format!("{:02}-{name}", i + 1);
            std::fs::write(dir.join(format!("{base}-latency-cdf.svg")), &cdf)?;
            std::fs::write(dir.join(format!("{base}-throughput.svg")), &tput)?;
            let _ = writeln!(html, "<div class=\"charts\">{cdf}{tput}</div>");
        }
    }
    for (i, s) in report.saturation.iter().enumerate() {
        let name = s.params.scenario.name();
        let _ = writeln!(
            html,
            "<h2>find-max {}</h2>\n<p>{}; sustained = nothing lost and p99 &lt;= {} ms</p>",
            escape(name),
            escape(&s.description),
            s.max_p99_ms
        );
        push_table(&mut html, &saturation::cells(s));
        push_pre(&mut html, &saturation::step_lines(s));
        let base = format!("max-{:02}-{name}", i + 1);
        let p99 = saturation::p99_svg(s)?;
        let max = saturation::max_svg(s)?;
        std::fs::write(dir.join(format!("{base}-p99.svg")), &p99)?;
        std::fs::write(dir.join(format!("{base}-sustained.svg")), &max)?;
        let _ = writeln!(html, "<div class=\"charts\">{p99}{max}</div>");
    }
    html.push_str("</body></html>\n");
    let index = dir.join("index.html");
    std::fs::write(&index, html).with_context(|| format!("writing {}", index.display()))
}
