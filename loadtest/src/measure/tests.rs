//! The detectors, histograms, series and `/proc` parsing on known input.

use super::process::{parse_cpu_ticks, parse_rss};
use super::seq::SeqChecker;
use super::*;

#[test]
fn detectors_fire_on_gap_repeat_and_swap() {
    // 2 never arrives (gap), 4 arrives twice (repeat), 6 before 5 (swap).
    let mut c = SeqChecker::default();
    for s in [0, 1, 3, 4, 4, 6, 5, 7] {
        c.observe(s);
    }
    assert_eq!(
        c.finish(8),
        SeqReport {
            lost: 1,
            duplicates: 1,
            reordered: 1
        }
    );
    // The publisher sent two more that never came: tail loss.
    assert_eq!(c.finish(10).lost, 3);
}

#[test]
fn detectors_stay_quiet_on_a_clean_stream() {
    let mut c = SeqChecker::default();
    (0..1000).for_each(|s| c.observe(s));
    assert_eq!(c.finish(1000), SeqReport::default());
}

#[test]
fn late_arrival_then_repeat_of_it() {
    let mut c = SeqChecker::default();
    for s in [0, 5, 2, 2, 1, 3, 4] {
        c.observe(s);
    }
    // 2, 1, 3, 4 all arrive after 5: four reordered; the second 2 is a repeat.
    assert_eq!(
        c.finish(6),
        SeqReport {
            lost: 0,
            duplicates: 1,
            reordered: 4
        }
    );
}

#[test]
fn tracker_counts_unseen_streams_as_lost() {
    let mut t = SeqTracker::default();
    t.observe((0, 0), 0);
    t.observe((2, 0), 0);
    t.observe((0, 0), 1);
    t.observe((2, 0), 1);
    assert_eq!(t.finish((0, 0), 2), SeqReport::default());
    assert_eq!(t.finish((2, 0), 2), SeqReport::default());
    assert_eq!(t.finish((1, 0), 7).lost, 7);
}

#[test]
fn histogram_percentiles_and_merge() {
    let mut a = Latency::new(3).unwrap();
    let mut b = Latency::new(3).unwrap();
    (1..=100).for_each(|i| a.record(i * 1_000));
    b.record(1_000_000);
    a.merge(&b).unwrap();
    let s = a.summary();
    assert_eq!(s.count, 101);
    assert!((s.p50_us - 51.0).abs() < 0.1, "{s:?}");
    assert!((s.max_us - 1000.0).abs() < 1.0, "{s:?}");
    let cdf = a.cdf();
    assert!(cdf.last().unwrap().1 > 0.999);
}

#[test]
fn proc_stat_parsing_survives_odd_names() {
    let line = "123 (a) b) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
    assert_eq!(parse_cpu_ticks(line), Some(300));
    let me = std::process::id();
    assert!(cpu_seconds(me).unwrap() >= 0.0);
    assert!(rss(me).unwrap().rss_bytes > 0);
}

#[test]
fn series_bins_and_merges() {
    let mut a = Series::default();
    a.add(0, 1);
    a.add(BIN_NS * 2 + 1, 3);
    let mut b = Series::default();
    b.add(BIN_NS * 3, 5);
    a.merge(&b);
    assert_eq!(a.bins, vec![1, 0, 3, 5]);
    assert_eq!(a.rates(), vec![10.0, 0.0, 30.0]);
}

#[test]
fn memory_of_an_exited_process_is_an_error_that_says_so() {
    // A crashed child stays a zombie until reaped: /proc/PID/status is
    // still there, without VmRSS (as the kernel writes it, abridged).
    let zombie = "Name:\tnode\nState:\tZ (zombie)\nTgid:\t15847\nThreads:\t1\n";
    let err = parse_rss(zombie).unwrap_err();
    assert!(
        format!("{err:#}").contains("has exited (Z (zombie))"),
        "{err:#}"
    );
    let alive = "Name:\tnode\nState:\tS (sleeping)\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
    let rss = parse_rss(alive).unwrap();
    assert_eq!(
        (rss.rss_bytes, rss.peak_rss_bytes),
        (1024 * 1024, 2048 * 1024)
    );
}
