//! What everyone recorded in one failover run, turned into its timeline
//! and counts.
//!
//! A message counts as published when the server acknowledged it; such a
//! message that a subscriber never received is lost for that subscriber,
//! so per subscriber `delivered + lost = published`. An attempt without an
//! acknowledgement failed; if it arrives anyway, the server handled it and
//! the reply died with the connection.

use std::net::SocketAddr;

use super::publisher::PubOut;
use super::sentinel::{Event, addr_of};
use super::subscriber::SubOut;
use crate::figures::{FailoverFigures, FailoverRound, RunResult};

/// Everything a run recorded.
#[derive(Debug)]
pub(super) struct Recorded {
    pub(super) kill_ns: u64,
    pub(super) old_master: SocketAddr,
    pub(super) replicas: Vec<SocketAddr>,
    pub(super) pubs: Vec<PubOut>,
    pub(super) subs: Vec<SubOut>,
    pub(super) events: Vec<Event>,
}

impl Recorded {
    /// Milliseconds from the kill to `ns`.
    fn ms(&self, ns: u64) -> f64 {
        (ns as f64 - self.kill_ns as f64) / 1e6
    }

    /// The first event of `kind` on any sentinel.
    fn first_event(&self, kind: &[u8]) -> Option<&Event> {
        self.events
            .iter()
            .filter(|e| e.kind == kind)
            .min_by_key(|e| e.at_ns)
    }

    /// The master `+switch-master` named, else the node the publishers
    /// last published on, if it is not the old one.
    fn new_master(&self) -> Option<SocketAddr> {
        if let Some(e) = self.first_event(b"+switch-master") {
            let words: Vec<&[u8]> = e.text.split(|&b| b == b' ').collect();
            if let [_, _, _, ip, port] = words.as_slice() {
                return addr_of(ip, port);
            }
        }
        self.pubs
            .iter()
            .flat_map(|p| p.attempts.iter().rev().find_map(|a| a.on))
            .find(|&a| a != self.old_master)
    }

    /// The latest over `items` of `get`, `None` if any has none.
    fn last_of<T>(items: &[T], get: impl Fn(&T) -> Option<u64>) -> Option<u64> {
        items
            .iter()
            .map(get)
            .collect::<Option<Vec<u64>>>()?
            .into_iter()
            .max()
    }

    /// The timeline.
    fn round(&self, new_master: Option<SocketAddr>) -> FailoverRound {
        let after = |ns: u64| ns > self.kill_ns;
        let first_delivery = new_master.and_then(|m| {
            self.subs
                .iter()
                .flat_map(|s| s.arrivals.iter().zip(&self.pubs))
                .flat_map(|(arr, p)| arr.iter().zip(&p.attempts))
                .filter(|(at, a)| **at != 0 && a.on == Some(m))
                .map(|(&at, _)| at)
                .min()
        });
        let publishers_back = Self::last_of(&self.pubs, |p| {
            p.attempts
                .iter()
                .find(|a| a.on.is_some() && after(a.sent_ns))
                .map(|a| a.sent_ns)
        });
        let epoch_after = |s: &SubOut| s.epochs.iter().find(|e| after(e.subscribed_ns)).cloned();
        let resubscribed = Self::last_of(&self.subs, |s| epoch_after(s).map(|e| e.subscribed_ns));
        let back = Self::last_of(&self.subs, |s| {
            s.epochs
                .iter()
                .filter(|e| after(e.subscribed_ns))
                .find_map(|e| e.first_delivery_ns)
        });
        FailoverRound {
            old_master: self.old_master.to_string(),
            replicas: self.replicas.iter().map(ToString::to_string).collect(),
            new_master: new_master.map(|a| a.to_string()),
            odown_ms: self.first_event(b"+odown").map(|e| self.ms(e.at_ns)),
            promoted_ms: self
                .first_event(b"+promoted-slave")
                .map(|e| self.ms(e.at_ns)),
            switch_ms: self
                .first_event(b"+switch-master")
                .map(|e| self.ms(e.at_ns)),
            first_delivery_ms: first_delivery.map(|ns| self.ms(ns)),
            publishers_back_ms: publishers_back.map(|ns| self.ms(ns)),
            resubscribed_ms: resubscribed.map(|ns| self.ms(ns)),
            subscribers_back_ms: back.map(|ns| self.ms(ns)),
        }
    }
}

/// The figures of one run.
pub(super) fn tally(rec: &Recorded) -> RunResult {
    let new_master = rec.new_master();
    let mut fig = FailoverFigures {
        rounds: vec![rec.round(new_master)],
        ..FailoverFigures::default()
    };
    let mut r = RunResult {
        subscribers: rec.subs.len(),
        ..RunResult::default()
    };
    for p in &rec.pubs {
        let back = p
            .attempts
            .iter()
            .position(|a| a.on.is_some() && a.sent_ns > rec.kill_ns)
            .unwrap_or(p.attempts.len());
        for (i, a) in p.attempts.iter().enumerate() {
            r.published_total += 1;
            match a.on {
                Some(_) => {
                    r.published += 1;
                    fig.receivers_reported += a.receivers;
                }
                None => fig.publish_failed += 1,
            }
            if a.sent_ns > rec.kill_ns && i < back {
                fig.outage_publishes += 1;
            }
        }
    }
    for s in &rec.subs {
        for (id, (arrivals, p)) in (0u32..).zip(s.arrivals.iter().zip(&rec.pubs)) {
            for (seq, a) in p.attempts.iter().enumerate() {
                let got = arrivals.get(seq).is_some_and(|&at| at != 0);
                match (a.on.is_some(), got) {
                    (true, true) => r.delivered += 1,
                    (true, false) => {
                        r.seq.lost += 1;
                        if a.sent_ns > rec.kill_ns {
                            fig.lost_after_kill += 1;
                        }
                    }
                    (false, true) => fig.delivered_after_failure += 1,
                    (false, false) => {}
                }
            }
            let verdict = s.seq.finish((id, 0), p.attempts.len() as u64);
            r.seq.duplicates += verdict.duplicates;
            r.seq.reordered += verdict.reordered;
        }
        r.unexpected += s.unexpected;
        if !s
            .epochs
            .iter()
            .any(|e| e.subscribed_ns > rec.kill_ns && e.first_delivery_ns.is_some())
        {
            r.subscriber_failures += 1;
            if r.first_failure.is_none() {
                r.first_failure = Some(match &s.last_error {
                    Some(e) => format!("not back after the kill (last error: {e})"),
                    None => "not back after the kill".to_owned(),
                });
            }
        }
    }
    r.expected_deliveries = r.published * rec.subs.len() as u64;
    r.delivered_total = r.delivered + fig.delivered_after_failure;
    r.failover = Some(fig);
    r
}
