//! The labelled scenarios: one injection at a given time (`floorwatch simulate --scenario
//! staffing-drop`), or a whole labelled week with one of each crisis and each hard negative on
//! different days, at seeded times in busy hours; and the labels that describe them.

use chrono::{Datelike, TimeZone, Timelike, Weekday};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::Scenario;
use super::labels::{Kind, Label, Labels};
use super::plan::{DAY, HOUR, Injection, MINUTE};
use crate::config::Millis;

/// The complaint groups an outage's complaints land in (alerts.toml's spike rules): overall,
/// the network category, the outage keywords.
const OUTAGE_COMPLAINT_SCOPES: [&str; 4] = ["complaints", "network", "outage", "cannot connect"];

impl Injection {
    /// `kind` from `from` to `to`, at its usual size and on its usual queues; `rng` picks the
    /// size where it varies (the share of agents lost, the category of a wave).
    pub fn new(kind: Kind, from: Millis, to: Millis, rng: &mut StdRng) -> Injection {
        let (queues, category, factor): (Vec<&str>, Option<&str>, f64) = match kind {
            Kind::Outage => (vec![], None, 1.0),
            Kind::StaffingDrop => {
                let q = ["phone-general", "phone-billing"][rng.random_range(0..2)];
                (vec![q], None, rng.random_range(0.35..0.5))
            }
            Kind::ComplaintWave => {
                let c = ["billing", "delivery", "service"][rng.random_range(0..3)];
                (vec![], Some(c), 20.0)
            }
            Kind::EmailBacklog => (vec!["email-support"], None, 0.0),
            Kind::FeedOutage => (vec!["phone-general"], None, 1.0),
            Kind::ShiftChange => (vec!["phone-general", "phone-billing"], None, 0.6),
            Kind::Campaign => (vec!["phone-general"], None, 1.6),
            Kind::Holiday => (vec![], None, 0.3),
            Kind::QuietNight => (vec![], None, 1.0),
        };
        Injection {
            kind,
            from,
            to,
            queues: queues.iter().map(|q| q.to_string()).collect(),
            category: category.map(str::to_string),
            factor,
        }
    }

    /// Its label: the scopes a page should (or must not) come on.
    pub fn label(&self, s: &Scenario, name: String) -> Label {
        let all_queues = || s.queues.iter().map(|q| q.name.to_string()).collect();
        let scopes: Vec<String> = match self.kind {
            Kind::Outage => {
                let mut v: Vec<String> = all_queues();
                v.extend(OUTAGE_COMPLAINT_SCOPES.iter().map(|s| s.to_string()));
                v
            }
            Kind::ComplaintWave => self.category.iter().cloned().collect(),
            Kind::Holiday | Kind::QuietNight => Vec::new(),
            _ => self.queues.clone(),
        };
        // A late e-mail breaches its standard 4 hours after the cause: the label runs until then.
        let to = match self.kind {
            Kind::EmailBacklog => self.to + 4 * HOUR,
            _ => self.to,
        };
        let ts = |t: Millis| chrono::DateTime::from_timestamp_millis(t).unwrap_or_default();
        Label {
            name,
            kind: self.kind,
            class: self.kind.class(),
            expect: self.kind.expect(),
            from: ts(self.from),
            to: ts(to.min(s.start + s.duration)),
            scopes,
        }
    }
}

/// How long an injection lasts when nothing says otherwise.
pub fn default_length(kind: Kind) -> Millis {
    match kind {
        Kind::Outage => 40 * MINUTE,
        Kind::StaffingDrop => 75 * MINUTE,
        Kind::ComplaintWave => 40 * MINUTE,
        Kind::EmailBacklog => 4 * HOUR,
        Kind::FeedOutage => 20 * MINUTE,
        Kind::ShiftChange => 90 * MINUTE,
        Kind::Campaign => 3 * HOUR,
        Kind::Holiday | Kind::QuietNight => DAY,
    }
}

impl Scenario {
    /// The mid-size center with one `kind` injected at `at` (from the start) for `length`.
    pub fn single(
        kind: Kind,
        start: Millis,
        duration: Millis,
        seed: u64,
        at: Millis,
        length: Millis,
    ) -> Scenario {
        let mut s = Scenario::mid_size_center(start, duration, seed);
        let mut rng = StdRng::seed_from_u64(seed ^ 0x1abe1);
        if kind != Kind::QuietNight {
            let from = start + at;
            s.injections
                .push(Injection::new(kind, from, from + length, &mut rng));
        }
        s
    }

    /// A labelled week (or `duration`): from local midnight of `start`'s day, one of each crisis
    /// and each hard negative on different days (e-mail backlog, campaign and holiday on
    /// weekdays), at seeded times in busy hours. What does not fit in `duration` is left out.
    pub fn labelled(start: Millis, duration: Millis, seed: u64) -> Scenario {
        let mut s = Scenario::mid_size_center(start, duration, seed);
        let l = s.local(start);
        let midnight =
            s.tz.with_ymd_and_hms(l.year(), l.month(), l.day(), 0, 0, 0)
                .earliest()
                .map_or(start, |m| m.timestamp_millis());
        s.start = midnight;
        let mut rng = StdRng::seed_from_u64(seed ^ 0x1abe1);
        let days = (duration / DAY) as usize;
        let (mut weekdays, mut others): (Vec<usize>, Vec<usize>) = (0..days).partition(|d| {
            !matches!(
                s.local(midnight + *d as Millis * DAY + 12 * HOUR).weekday(),
                Weekday::Sat | Weekday::Sun
            )
        });
        weekdays.shuffle(&mut rng);
        let picky = [Kind::EmailBacklog, Kind::Campaign, Kind::Holiday];
        let mut plan: Vec<(Kind, usize)> = Vec::new();
        for k in picky {
            if let Some(d) = weekdays.pop() {
                plan.push((k, d));
            }
        }
        others.extend(weekdays);
        others.shuffle(&mut rng);
        for k in [
            Kind::Outage,
            Kind::StaffingDrop,
            Kind::ComplaintWave,
            Kind::ShiftChange,
        ] {
            if let Some(d) = others.pop() {
                plan.push((k, d));
            }
        }
        plan.sort_by_key(|(_, d)| *d);
        for (kind, d) in plan {
            let day = midnight + d as Millis * DAY;
            // Busy hours, local; planned changes on the half hour.
            let five = |lo: i64, hi: i64, rng: &mut StdRng| rng.random_range(lo / 5..hi / 5) * 5;
            let (from, length) = match kind {
                Kind::Outage => (
                    day + 10 * HOUR + five(0, 300, &mut rng) * MINUTE,
                    (30 + five(0, 15, &mut rng)) * MINUTE,
                ),
                Kind::StaffingDrop => (
                    day + 10 * HOUR + five(0, 240, &mut rng) * MINUTE,
                    (60 + five(0, 35, &mut rng)) * MINUTE,
                ),
                Kind::ComplaintWave => (
                    day + 10 * HOUR + five(0, 300, &mut rng) * MINUTE,
                    40 * MINUTE,
                ),
                Kind::EmailBacklog => (day + 9 * HOUR + five(30, 120, &mut rng) * MINUTE, 4 * HOUR),
                Kind::ShiftChange => (
                    day + 12 * HOUR + rng.random_range(0..2) * 30 * MINUTE,
                    90 * MINUTE,
                ),
                Kind::Campaign => (
                    day + 10 * HOUR + rng.random_range(0..3) * 30 * MINUTE,
                    3 * HOUR,
                ),
                Kind::Holiday | Kind::QuietNight | Kind::FeedOutage => (day, DAY),
            };
            s.injections
                .push(Injection::new(kind, from, from + length, &mut rng));
        }
        // The feed outage shares the e-mail backlog's weekday (it touches phones only), late in
        // the afternoon after the backlog's injection ends, on one phone queue; drawn apart so
        // the other injections stay where they were.
        let mut feed_rng = StdRng::seed_from_u64(seed ^ 0xfeed);
        if let Some(day) = s
            .injections
            .iter()
            .find(|i| i.kind == Kind::EmailBacklog)
            .map(|i| i.from - (i.from - midnight).rem_euclid(DAY))
        {
            let from = day + 16 * HOUR + feed_rng.random_range(0..12) * 5 * MINUTE;
            let mut i = Injection::new(Kind::FeedOutage, from, from + 20 * MINUTE, &mut feed_rng);
            i.queues = vec![["phone-general", "phone-billing"][feed_rng.random_range(0..2)].into()];
            s.injections.push(i);
            s.injections.sort_by_key(|i| i.from);
        }
        s
    }

    /// The labels of the scenario: its injections (and the demo's outage), then every quiet
    /// night (00:00-06:00 local) wholly inside the trace that no injection touches.
    pub fn labels(&self) -> Labels {
        let mut labels = Vec::new();
        let mut count = std::collections::HashMap::<Kind, u32>::new();
        let mut name = |k: Kind| {
            let n = count.entry(k).or_default();
            *n += 1;
            format!("{}-{n}", k.as_str())
        };
        let mut rng = StdRng::seed_from_u64(0);
        let outage = self
            .outage
            .map(|(a, b)| Injection::new(Kind::Outage, self.start + a, self.start + b, &mut rng));
        for i in outage.iter().chain(&self.injections) {
            labels.push(i.label(self, name(i.kind)));
        }
        if self.daily_curve {
            let end = self.start + self.duration;
            let mut day = self.start - self.start.rem_euclid(HOUR);
            while day < end {
                let l = self.local(day);
                if l.hour() == 0 {
                    let (from, to) = (day, day + 6 * HOUR);
                    let touched = self.injections.iter().any(|i| i.from < to && i.to > from);
                    if from >= self.start && to <= end && !touched {
                        let night = Injection::new(Kind::QuietNight, from, to, &mut rng);
                        labels.push(night.label(self, name(Kind::QuietNight)));
                    }
                }
                day += HOUR;
            }
        }
        labels.sort_by_key(|l| l.from);
        Labels { labels }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_labelled_week_has_each_kind_once_on_different_days() {
        let s = Scenario::labelled(1_795_424_400_000, 7 * DAY, 3);
        let labels = s.labels().labels;
        for k in Kind::ALL {
            let n = labels.iter().filter(|l| l.kind == k).count();
            match k {
                Kind::QuietNight => assert!(n >= 4, "{n} quiet nights"),
                _ => assert_eq!(n, 1, "{k:?}"),
            }
        }
        let inj = &s.injections;
        for (a, b) in inj.iter().zip(inj.iter().skip(1)) {
            assert!(a.to <= b.from, "{a:?} overlaps {b:?}");
            // The feed outage (phones) shares the e-mail backlog's day.
            if b.kind != Kind::FeedOutage {
                assert_ne!(s.local(a.from).day(), s.local(b.from).day());
            }
        }
        for i in inj {
            if matches!(i.kind, Kind::EmailBacklog | Kind::Campaign | Kind::Holiday) {
                let wd = s.local(i.from).weekday();
                assert!(!matches!(wd, Weekday::Sat | Weekday::Sun), "{i:?}");
            }
        }
        // Seeded: the same seed places the same week.
        assert_eq!(
            s.injections,
            Scenario::labelled(1_795_424_400_000, 7 * DAY, 3).injections
        );
    }
}
