//! The ring, the report and the graph with fixed clocks. The fixtures under
//! `testdata/` are redis-server 7.0.15's replies to LATENCY DOCTOR and
//! GRAPH for the same samples (made with `DEBUG SLEEP`, one a second, and
//! read back with LATENCY HISTORY and TIME).

use super::*;

const T0: i64 = 1_796_166_294;

fn series(samples: &[(i64, u32)]) -> Series {
    let mut s = Series::default();
    for &(time, latency) in samples {
        s.add(time, latency);
    }
    s
}

fn pairs(s: &Series) -> Vec<(i64, u32)> {
    s.history().map(|x| (x.time, x.latency)).collect()
}

/// The 85 samples of the `-85` fixtures: one a second from `T0`.
fn eighty_five() -> Series {
    let samples: Vec<(i64, u32)> = (0..85u32)
        .map(|i| (T0 + i64::from(i), (i * 37) % 29 + 1))
        .collect();
    series(&samples)
}

#[test]
fn one_sample_a_second_the_slowest() {
    let s = series(&[(10, 5), (10, 9), (10, 7), (11, 3), (11, 2), (13, 4)]);
    assert_eq!(pairs(&s), [(10, 9), (11, 3), (13, 4)]);
    assert_eq!(
        s.latest(),
        Sample {
            time: 13,
            latency: 4
        }
    );
    assert_eq!(s.max(), 9);
}

#[test]
fn the_ring_keeps_the_last_160_seconds_and_the_all_time_high() {
    let samples: Vec<(i64, u32)> = (1..=200)
        .map(|t| (t, if t == 5 { 999 } else { 1 }))
        .collect();
    let s = series(&samples);
    let kept = pairs(&s);
    assert_eq!(kept.len(), SERIES_LEN);
    assert_eq!(kept.first(), Some(&(41, 1)));
    assert_eq!(kept.last(), Some(&(200, 1)));
    assert_eq!(s.max(), 999, "the all-time high outlives its sample");
    assert_eq!(s.latest().time, 200);
}

#[test]
fn a_second_seen_again_after_another_is_a_new_sample() {
    // Only the previous sample is compared, as in Redis: a clock that went
    // back makes a second sample of the same second.
    let s = series(&[(10, 1), (11, 1), (10, 2)]);
    assert_eq!(pairs(&s), [(10, 1), (11, 1), (10, 2)]);
}

#[test]
fn stats_as_redis_computes_them() {
    let s = series(&[(100, 50), (101, 120), (102, 3)]);
    let stats = s.stats(102);
    assert_eq!(
        stats,
        Stats {
            samples: 3,
            avg: 57,
            min: 3,
            max: 120,
            mad: 41,
            period: 2,
        }
    );
    assert_eq!(series(&[(100, 4)]).stats(100).period, 1, "at least 1");
    assert_eq!(Series::default().stats(100), Stats::default());
}

#[test]
fn monitor_events_are_created_by_samples_and_reset_by_name_in_any_case() {
    let m = Monitor::default();
    assert!(m.events().is_empty());
    m.add(Event::FastCommand, 7, 3);
    m.add(Event::Command, 7, 12);
    m.add(Event::FastCommand, 8, u64::MAX);
    let names: Vec<&str> = m.events().iter().map(|(e, _)| e.name()).collect();
    assert_eq!(names, ["fast-command", "command"]);
    assert_eq!(m.find(b"fast-command").unwrap().1.max(), u32::MAX);
    assert!(
        m.find(b"COMMAND").is_none(),
        "HISTORY and GRAPH match exactly"
    );
    assert_eq!(m.reset(Some(b"nosuch")), 0);
    assert_eq!(m.reset(Some(b"COMMAND")), 1);
    assert_eq!(m.reset(Some(b"command")), 0);
    assert_eq!(m.reset(None), 1);
    assert!(m.events().is_empty());
}

#[test]
fn graph_of_85_samples_as_redis_draws_it() {
    let text = graph(Event::Command, &eighty_five(), T0 + 85);
    assert_eq!(text, include_str!("testdata/graph-85.txt"));
}

#[test]
fn graph_of_few_samples_as_redis_draws_it() {
    let s = series(&[(100, 50), (101, 120), (102, 3)]);
    assert_eq!(
        graph(Event::Command, &s, 102),
        format!(
            "command - high 120 ms, low 3 ms (all time high 120 ms)\n{}\n \
             # \n | \no| \n||_\n   \n210\nsss\n",
            "-".repeat(80)
        )
    );
    let one = series(&[(100, 66)]);
    assert_eq!(
        graph(Event::FastCommand, &one, 101),
        format!(
            "fast-command - high 66 ms, low 66 ms (all time high 66 ms)\n{}\n \n \n \n_\n \n1\ns\n",
            "-".repeat(80)
        )
    );
}

#[test]
fn graph_labels_seconds_minutes_hours_and_days() {
    let labels = |samples: &[(i64, u32)], now: i64| -> Vec<String> {
        let text = graph(Event::Command, &series(samples), now);
        // The title, the rule, 4 rows of sparkline and a blank line.
        text.lines().skip(7).map(str::to_owned).collect()
    };
    let days = [(1, 1), (100, 1), (4000, 1), (90_000, 1)];
    assert_eq!(labels(&days, 200_000), ["2221", "dddd"]);
    // 3600 s, 3599 s and 59 s ago.
    let hours = [(1, 1), (2, 1), (3542, 1)];
    assert_eq!(labels(&hours, 3601), ["155", "h99", " ms"]);
}

#[test]
fn doctor_as_redis_reports_one_event() {
    let events = [(Event::Command, eighty_five())];
    let text = doctor(&events, 1, 10_000, T0 + 85);
    assert_eq!(text, include_str!("testdata/doctor-85.txt"));
}

#[test]
fn doctor_as_redis_reports_both_events_with_the_slow_log_off() {
    let now = 1_796_166_446;
    let events = [
        (Event::FastCommand, series(&[(now - 1, 66)])),
        (Event::Command, series(&[(now - 1, 12), (now, 5)])),
    ];
    let text = doctor(&events, 1, -1, now);
    assert_eq!(text, include_str!("testdata/doctor-both.txt"));
}

#[test]
fn doctor_without_events() {
    assert!(doctor(&[], 0, 10_000, 1).starts_with("I'm sorry, Dave, I can't do that."));
    assert_eq!(
        doctor(&[], 5, 10_000, 1),
        "Dave, no latency spike was observed during the lifetime of this Redis instance, not in \
         the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and \
         think things over.\n"
    );
    // The slow log at or below the threshold: no tuning advice.
    let events = [(Event::Command, series(&[(1, 20)]))];
    let text = doctor(&events, 10, 10_000, 1);
    assert!(!text.contains("slowlog-log-slower-than"), "{text}");
    assert!(text.contains("- Check your Slow Log"), "{text}");
}
