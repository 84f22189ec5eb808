//! The SVG charts of one scenario: latency CDF and throughput over time.

use plotters::prelude::*;

use crate::figures::{ScenarioReport, human};

/// "Nines" of a quantile: 0.9 -> 1, 0.99 -> 2. The CDF's y axis uses it so
/// that the tail, where brokers differ, gets as much room as the median.
pub(super) fn nines(q: f64) -> f64 {
    (-(1.0 - q).max(1e-6).log10()).clamp(0.0, 6.0)
}

pub(super) fn nines_label(y: f64) -> String {
    let q = 1.0 - 10f64.powf(-y);
    let pct = q * 100.0;
    if y < 0.5 {
        "0%".into()
    } else {
        let digits = (y.round() as usize).saturating_sub(2);
        format!("{pct:.digits$}%")
    }
}

/// Latency CDF of every target: x = latency (log µs), y = fraction of
/// deliveries at or below it, on a nines scale.
pub(super) fn cdf_svg(s: &ScenarioReport) -> anyhow::Result<String> {
    let curves: Vec<(&str, Vec<(f64, f64)>)> = s
        .results
        .iter()
        .map(|r| {
            let pts = r
                .latency_cdf
                .iter()
                .filter(|(us, _)| *us > 0.0)
                .map(|&(us, q)| (us, nines(q)))
                .collect();
            (r.target.as_str(), pts)
        })
        .collect();
    let xs = curves.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x));
    let xmin = xs.clone().fold(f64::INFINITY, f64::min);
    let xmax = xs.fold(0.0, f64::max);
    let (xmin, xmax) = if xmin.is_finite() && xmax > xmin {
        (xmin * 0.9, xmax * 1.1)
    } else {
        (1.0, 1000.0)
    };
    let ymax = curves
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(3.0, f64::max)
        .ceil();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Latency CDF", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d((xmin..xmax).log_scale(), 0.0..ymax)?;
        chart
            .configure_mesh()
            .x_desc("end-to-end latency (µs, log)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc("deliveries at or below")
            .y_labels((ymax as usize) + 1)
            .y_label_formatter(&|y| nines_label(*y))
            .draw()?;
        for (i, (name, pts)) in curves.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// Deliveries per second over time for every target (warm-up included,
/// marked by a vertical line).
pub(super) fn throughput_svg(s: &ScenarioReport) -> anyhow::Result<String> {
    let curves: Vec<(&str, Vec<(f64, f64)>)> = s
        .results
        .iter()
        .map(|r| {
            let bin = r.series.bin_secs;
            let pts = r
                .series
                .delivered_per_sec
                .iter()
                .enumerate()
                .map(|(i, &v)| ((i as f64 + 0.5) * bin, v))
                .collect();
            (r.target.as_str(), pts)
        })
        .collect();
    let xmax = curves
        .iter()
        .flat_map(|(_, p)| p.last().map(|(x, _)| *x))
        .fold(1.0, f64::max);
    let ymax = curves
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(1.0, f64::max)
        * 1.1;
    let warmup = s.results.first().map_or(0.0, |r| r.series.warmup_secs);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Deliveries per second over time", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..xmax, 0.0..ymax)?;
        chart
            .configure_mesh()
            .x_desc("seconds since publishing started")
            .y_desc("delivered/s")
            .y_label_formatter(&|y| human(*y))
            .draw()?;
        if warmup > 0.0 {
            chart.draw_series(LineSeries::new(
                vec![(warmup, 0.0), (warmup, ymax)],
                BLACK.mix(0.3).stroke_width(1),
            ))?;
        }
        for (i, (name, pts)) in curves.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}
