//! The `--find-max` output: each scenario's table of what every stack
//! sustained, the steps of each search, and two charts (p99 against the
//! load offered, per stack; the highest sustained load, per stack).

use std::fmt::Write as _;

use plotters::prelude::*;

use super::rows::Unit;
use super::table::{format_value, render};
use crate::figures::{Saturation, StackSaturation, Step, human};

/// A value of the best step of a stack, `-` without one.
fn at_best(s: &StackSaturation, unit: Unit, get: impl Fn(&Step) -> Option<f64>) -> String {
    s.best
        .as_ref()
        .and_then(get)
        .map_or_else(|| "-".to_owned(), |v| format_value(unit, v))
}

/// The cells of the table: header then rows, one column per stack.
pub(super) fn cells(s: &Saturation) -> Vec<Vec<String>> {
    let first = s.stacks.first();
    let first_name = first.map_or("", |f| f.target.as_str());
    let first_best = first
        .and_then(|f| f.best.as_ref())
        .map(|b| b.delivered_per_sec);
    let mut header = vec![String::new()];
    header.extend(s.stacks.iter().map(|x| x.target.clone()));
    type Cell = Box<dyn Fn(&StackSaturation) -> String>;
    let rows: Vec<(String, Cell)> = vec![
        (
            "max sustained delivered/s".to_owned(),
            Box::new(|x| at_best(x, Unit::Rate, |b| Some(b.delivered_per_sec))),
        ),
        (
            format!("x {first_name}"),
            Box::new(move |x| match (x.best.as_ref(), first_best) {
                (Some(b), Some(f)) if f > 0.0 => format!("{:.2}", b.delivered_per_sec / f),
                _ => "-".to_owned(),
            }),
        ),
        (
            "offered there (deliveries/s)".to_owned(),
            Box::new(|x| at_best(x, Unit::Rate, |b| Some(b.offered_per_sec))),
        ),
        (
            "msg/s per emitter there".to_owned(),
            Box::new(|x| {
                x.best
                    .as_ref()
                    .map_or("-".to_owned(), |b| format!("{:.2}", b.rate))
            }),
        ),
        (
            "latency p50 there".to_owned(),
            Box::new(|x| at_best(x, Unit::Micros, |b| b.p50_us)),
        ),
        (
            "latency p99 there".to_owned(),
            Box::new(|x| at_best(x, Unit::Micros, |b| b.p99_us)),
        ),
        (
            "lowest unsustained offered".to_owned(),
            Box::new(|x| {
                lowest_unsustained(x).map_or("-".to_owned(), |b| human(b.offered_per_sec))
            }),
        ),
        (
            "steps (retries included)".to_owned(),
            Box::new(|x| x.steps.len().to_string()),
        ),
        (
            "search time".to_owned(),
            Box::new(|x| format!("{:.0} s", x.elapsed_secs)),
        ),
    ];
    let mut out = vec![header];
    for (label, cell) in rows {
        let mut line = vec![label];
        line.extend(s.stacks.iter().map(&cell));
        out.push(line);
    }
    out
}

/// The step with the least load offered among those at a rate no attempt
/// sustained.
fn lowest_unsustained(x: &StackSaturation) -> Option<&Step> {
    let settled = |rate: f64| x.steps.iter().any(|o| o.sustained && o.rate == rate);
    x.steps
        .iter()
        .filter(|s| !settled(s.rate))
        .min_by(|a, b| a.offered_per_sec.total_cmp(&b.offered_per_sec))
}

/// One line per step of every stack, in the order they ran.
pub(super) fn step_lines(s: &Saturation) -> Vec<String> {
    let mut out = Vec::new();
    for x in &s.stacks {
        for (i, step) in x.steps.iter().enumerate() {
            let p99 = step
                .p99_us
                .map_or_else(|| "-".to_owned(), |us| format_value(Unit::Micros, us));
            let again = if step.attempt > 1 {
                format!(" (attempt {})", step.attempt)
            } else {
                String::new()
            };
            out.push(format!(
                "{} step {}: {:.2} msg/s per emitter{again}, {}/s offered, {}/s delivered, p99 {p99}: {}",
                x.target,
                i + 1,
                step.rate,
                human(step.offered_per_sec),
                human(step.delivered_per_sec),
                step.verdict
            ));
            if let Some(f) = &step.failure {
                out.extend(f.exited.iter().flat_map(|e| {
                    std::iter::once(format!(
                        "  {} (pid {}) died: {}",
                        e.process, e.pid, e.status
                    ))
                    .chain(e.last_lines.iter().map(|l| format!("    | {l}")))
                }));
            }
        }
    }
    out
}

/// The plain-text table of one scenario's searches, then every step.
pub(crate) fn saturation_table(s: &Saturation) -> String {
    let mut out = format!(
        "== find-max {}: {}; sustained = nothing lost and p99 <= {} ms\n",
        s.params.scenario.name(),
        s.description,
        s.max_p99_ms
    );
    out.push_str(&render(&cells(s)));
    for line in step_lines(s) {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// A stack's steps as (deliveries/s offered, p99 ms, sustained).
type Curve<'a> = (&'a str, Vec<(f64, f64, bool)>);

/// Every stack's steps that have a p99, by load offered.
fn curves(s: &Saturation) -> Vec<Curve<'_>> {
    s.stacks
        .iter()
        .map(|x| {
            let mut pts: Vec<(f64, f64, bool)> = x
                .steps
                .iter()
                .filter_map(|st| {
                    let ms = st.p99_us? / 1000.0;
                    (st.offered_per_sec > 0.0 && ms > 0.0).then_some((
                        st.offered_per_sec,
                        ms,
                        st.sustained,
                    ))
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (x.target.as_str(), pts)
        })
        .collect()
}

/// p99 against the deliveries per second offered, one line per stack,
/// sustained steps filled and the others hollow, the bound in grey.
pub(super) fn p99_svg(s: &Saturation) -> anyhow::Result<String> {
    let curves = curves(s);
    let all = || curves.iter().flat_map(|(_, p)| p.iter());
    let xmin = all().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let xmax = all().map(|p| p.0).fold(0.0, f64::max);
    let (xmin, xmax) = if xmin.is_finite() && xmax > xmin {
        (xmin / 1.5, xmax * 1.5)
    } else {
        (1e3, 1e6)
    };
    let ymin = all().map(|p| p.1).fold(s.max_p99_ms, f64::min) / 1.5;
    let ymax = all().map(|p| p.1).fold(s.max_p99_ms, f64::max) * 1.5;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("p99 latency against load offered", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d((xmin..xmax).log_scale(), (ymin..ymax).log_scale())?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("deliveries/s offered (log)")
            .x_label_formatter(&|x| human(*x))
            .y_desc("p99 (ms, log)")
            .y_label_formatter(&|y| format!("{y:.1}"))
            .draw()?;
        chart.draw_series(LineSeries::new(
            vec![(xmin, s.max_p99_ms), (xmax, s.max_p99_ms)],
            BLACK.mix(0.4).stroke_width(1),
        ))?;
        for (i, (name, pts)) in curves.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|p| (p.0, p.1)),
                    color.stroke_width(2),
                ))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart.draw_series(pts.iter().map(|&(x, y, ok)| {
                let style = if ok {
                    color.filled()
                } else {
                    color.stroke_width(2)
                };
                Circle::new((x, y), 4, style)
            }))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// The highest sustained deliveries per second, one bar per stack.
pub(super) fn max_svg(s: &Saturation) -> anyhow::Result<String> {
    let bars: Vec<(&str, f64)> = s
        .stacks
        .iter()
        .map(|x| {
            let v = x.best.as_ref().map_or(0.0, |b| b.delivered_per_sec);
            (x.target.as_str(), v)
        })
        .collect();
    let ymax = bars.iter().map(|b| b.1).fold(1.0, f64::max) * 1.2;
    let n = bars.len().max(1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Highest sustained deliveries per second",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..n, 0.0..ymax)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_labels(0)
            .y_desc("delivered/s")
            .y_label_formatter(&|y| human(*y))
            .draw()?;
        for (i, (name, v)) in bars.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let x = i as f64;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x + 0.2, 0.0), (x + 0.8, *v)],
                color.filled(),
            )))?;
            let value = if *v > 0.0 {
                human(*v)
            } else {
                "none".to_owned()
            };
            let font = ("sans-serif", 12);
            for (k, text) in [value, (*name).to_owned()].into_iter().enumerate() {
                // A text's anchor is its top left: above the bar, value then name.
                let y = *v + ymax * (0.06 + 0.05 * k as f64);
                chart.draw_series(std::iter::once(Text::new(text, (x + 0.2, y), font)))?;
            }
        }
        root.present()?;
    }
    Ok(svg)
}
