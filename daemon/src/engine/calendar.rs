//! Schedules at run time: "is this instant inside the schedule?" and "add N hours of open time".
//!
//! A schedule is a set of cron-started windows in a time zone, less holidays. Asking cron for every
//! check would be slow, so each schedule keeps the concrete intervals for a span around the
//! instants it is asked about, and rebuilds that span when asked outside it.

use chrono::{DateTime, TimeZone, Utc};

use crate::config::{Millis, ScheduleSpec};

const DAY: Millis = 86_400_000;
/// How much of the timeline one rebuild covers, each side of the instant asked about.
const SPAN: Millis = 8 * DAY;

#[derive(Debug, Clone)]
pub struct Schedule {
    spec: ScheduleSpec,
    /// Sorted, merged `[start, end)` intervals covering `covered`.
    intervals: Vec<(Millis, Millis)>,
    covered: (Millis, Millis),
}

impl Schedule {
    pub fn new(spec: ScheduleSpec) -> Self {
        Self {
            spec,
            intervals: Vec::new(),
            covered: (0, 0),
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn contains(&mut self, t: Millis) -> bool {
        self.cover(t, t + 1);
        let i = self.intervals.partition_point(|iv| iv.1 <= t);
        self.intervals.get(i).is_some_and(|iv| iv.0 <= t)
    }

    /// The instant at which `duration` of open time has passed since `start`: a business-hours
    /// clock that stops outside the schedule.
    pub fn add_open_time(&mut self, start: Millis, duration: Millis) -> Millis {
        let mut t = start;
        let mut left = duration;
        // A schedule with no open time in a year would never let the clock run: fall back to
        // wall time rather than loop.
        let give_up = start + 366 * DAY;
        while t < give_up {
            self.cover(t, t + 1);
            let i = self.intervals.partition_point(|iv| iv.1 <= t);
            match self.intervals.get(i) {
                Some(&(s, e)) => {
                    let from = t.max(s);
                    if from + left <= e {
                        return from + left;
                    }
                    left -= e - from;
                    t = e;
                }
                None => t = self.covered.1,
            }
        }
        start + duration
    }

    fn cover(&mut self, from: Millis, to: Millis) {
        if from >= self.covered.0 && to <= self.covered.1 {
            return;
        }
        let lo = from - SPAN;
        let hi = to + SPAN;
        let tz = self.spec.timezone;
        let mut all = Vec::new();
        for w in &self.spec.windows {
            let begin = tz.from_utc_datetime(&ms_to_utc(lo - w.length).naive_utc());
            for start in w.cron.after(&begin) {
                let s = start.timestamp_millis();
                if s >= hi {
                    break;
                }
                if self.spec.holidays.contains(&start.date_naive()) {
                    continue;
                }
                all.push((s, s + w.length));
            }
        }
        all.sort_unstable();
        let mut merged: Vec<(Millis, Millis)> = Vec::with_capacity(all.len());
        for (s, e) in all {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.intervals = merged;
        self.covered = (lo, hi);
    }
}

pub fn ms_to_utc(ms: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CronWindow;

    fn office() -> Schedule {
        Schedule::new(ScheduleSpec {
            name: "office".into(),
            timezone: chrono_tz::Asia::Shanghai,
            windows: vec![CronWindow {
                cron: "0 0 9 * * Mon-Fri".parse().unwrap(),
                length: 9 * 3_600_000,
            }],
            holidays: vec![chrono::NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()],
        })
    }

    fn t(s: &str) -> Millis {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn contains_follows_local_office_hours() {
        let mut s = office();
        // 2026-11-23 is a Monday. 09:30 Shanghai = 01:30 UTC.
        assert!(s.contains(t("2026-11-23T01:30:00Z")));
        assert!(!s.contains(t("2026-11-23T00:59:59Z")));
        assert!(!s.contains(t("2026-11-23T10:00:00Z"))); // 18:00 local: closed
        assert!(!s.contains(t("2026-11-28T03:00:00Z"))); // Saturday
        assert!(!s.contains(t("2026-12-25T03:00:00Z"))); // holiday
    }

    #[test]
    fn business_clock_pauses_overnight_and_at_weekends() {
        let mut s = office();
        // Friday 16:00 local + 4 business hours = Monday 11:00 local.
        let due = s.add_open_time(t("2026-11-27T16:00:00+08:00"), 4 * 3_600_000);
        assert_eq!(due, t("2026-11-30T11:00:00+08:00"));
        // Started at night: the clock starts at 09:00.
        let due = s.add_open_time(t("2026-11-24T22:00:00+08:00"), 3_600_000);
        assert_eq!(due, t("2026-11-25T10:00:00+08:00"));
    }
}
