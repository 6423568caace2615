//! Complaints: open ones with their grade deadlines, and the counts that spike rules compare with
//! an hour-of-week baseline.
//!
//! As with contacts, memory follows what is open: deadline timers of handled complaints are
//! dropped when the heap outgrows the open complaints, and handled ids are remembered (so a
//! re-send is a duplicate) for the state horizon but at most `CLOSED_KEPT`; an `opened` event no
//! later than a handling forgotten early is refused, as it could be a re-send.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rustc_hash::FxHashMap;

#[cfg(test)]
use super::closed_ids::CLOSED_KEPT;
use super::closed_ids::ClosedIds;
use crate::config::Millis;

pub const HOUR: Millis = 3_600_000;
pub const HOURS_PER_WEEK: usize = 168;
/// After this many weeks of history an hour's baseline becomes a moving average that forgets
/// old weeks, so it follows a center that grows or shrinks.
const BASELINE_MEMORY_WEEKS: f64 = 8.0;

#[derive(Debug, Clone)]
pub struct OpenComplaint {
    /// Deadline rules (by rule index) this complaint is overdue for.
    pub overdue_for: Vec<u16>,
}

/// A deadline timer: the complaint `id` becomes overdue for `rule` at `due`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeadlineTimer {
    pub due: Millis,
    pub id: u64,
    pub rule: u16,
}

#[derive(Debug, Default)]
pub struct Complaints {
    pub open: FxHashMap<u64, OpenComplaint>,
    /// Handled ids, so a re-sent event of a handled complaint is a duplicate.
    closed: ClosedIds,
    timers: BinaryHeap<Reverse<DeadlineTimer>>,
    pub categories: FxHashMap<Box<str>, u16>,
}

impl Complaints {
    pub fn was_closed(&self, id: u64) -> bool {
        self.closed.contains(id)
    }

    pub fn close(&mut self, id: u64, at: Millis) -> Option<OpenComplaint> {
        let c = self.open.remove(&id)?;
        self.closed.insert(id, at);
        Some(c)
    }

    /// A complaint opened at `at` may be a re-send of one whose id was forgotten early: the
    /// time of the latest handling forgotten early, if `at` is not after it.
    pub fn maybe_forgotten(&self, at: Millis) -> Option<Millis> {
        self.closed.maybe_forgotten(at)
    }

    /// Adds a deadline timer; drops the timers of handled complaints first when they would
    /// outnumber the open ones' (a complaint has at most one per deadline rule).
    pub fn schedule(&mut self, t: DeadlineTimer, rules: usize) {
        if self.timers.len() >= rules.max(1) * self.open.len() + 4096 {
            let open = &self.open;
            self.timers.retain(|Reverse(t)| open.contains_key(&t.id));
        }
        self.timers.push(Reverse(t));
    }

    /// The next deadline timer due at or before `now`.
    pub fn pop_due(&mut self, now: Millis) -> Option<DeadlineTimer> {
        match self.timers.peek() {
            Some(Reverse(t)) if t.due <= now => self.timers.pop().map(|Reverse(t)| t),
            _ => None,
        }
    }

    pub fn forget_closed_before(&mut self, before: Millis) {
        self.closed.forget_before(before);
    }
}

/// Counts and baseline of one complaint group (all, a category, a channel or a keyword) for one
/// spike rule.
#[derive(Debug, Clone)]
pub struct Group {
    pub key: Box<str>,
    /// Interned scope id, for the rule instance.
    pub scope: u32,
    /// Times of the complaints inside the rule's window.
    pub recent: VecDeque<Millis>,
    /// Complaints per hour number (time / HOUR), for the current and the previous hour.
    pub hours: [(i64, u32); 2],
    /// Expected complaints per hour, per hour of the week, and how many weeks each has seen.
    pub baseline: Box<[f64; HOURS_PER_WEEK]>,
    pub samples: Box<[u32; HOURS_PER_WEEK]>,
    /// Per hour of the week: the hour number folded in last, with the baseline and samples as
    /// they were before it. A window reaching back into that hour is judged against these, so a
    /// running wave never becomes its own baseline.
    before_last: Box<[(i64, f64, u32); HOURS_PER_WEEK]>,
}

impl Group {
    pub fn new(key: &str, scope: u32) -> Self {
        Self {
            key: key.into(),
            scope,
            recent: VecDeque::new(),
            hours: [(i64::MIN, 0); 2],
            baseline: Box::new([0.0; HOURS_PER_WEEK]),
            samples: Box::new([0; HOURS_PER_WEEK]),
            before_last: Box::new([(i64::MIN, 0.0, 0); HOURS_PER_WEEK]),
        }
    }

    pub fn count(&mut self, at: Millis) {
        self.recent.push_back(at);
        let h = at.div_euclid(HOUR);
        if let Some(slot) = self.hours.iter_mut().find(|(hour, _)| *hour == h) {
            slot.1 += 1;
        } else if h > self.hours[1].0 {
            self.hours = [self.hours[1], (h, 1)];
        }
    }

    pub fn evict(&mut self, before: Millis) {
        while self.recent.front().is_some_and(|t| *t < before) {
            self.recent.pop_front();
        }
    }

    /// Complaints in the window ending at `now`.
    pub fn observed(&self, now: Millis) -> u32 {
        // Mostly in time order: only the few stamped ahead of the clock sit at the back.
        let ahead = self.recent.iter().rev().take_while(|t| **t > now).count();
        (self.recent.len() - ahead) as u32
    }

    pub fn count_in_hour(&self, hour: i64) -> u32 {
        self.hours
            .iter()
            .find(|(h, _)| *h == hour)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }

    /// Expected complaints per hour in hour number `hour` (hour-of-week `how`), from the weeks
    /// before it: never from that hour's own count.
    pub fn rate(&self, hour: i64, how: usize, prior: f64) -> f64 {
        let (baseline, samples) = match self.before_last[how] {
            (h, b, n) if h == hour => (b, n),
            _ => (self.baseline[how], self.samples[how]),
        };
        if samples == 0 { prior } else { baseline }
    }

    /// Folds one finished hour's count (hour number `hour`) into its hour-of-week baseline.
    pub fn learn(&mut self, hour: i64, how: usize, count: u32) {
        self.before_last[how] = (hour, self.baseline[how], self.samples[how]);
        let n = f64::from(self.samples[how]);
        let weight = 1.0 / (n + 1.0).min(BASELINE_MEMORY_WEEKS);
        self.baseline[how] += weight * (f64::from(count) - self.baseline[how]);
        self.samples[how] = self.samples[how].saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hour that just ended is folded into its baseline, but a window reaching back into it
    /// is still judged against the weeks before: a wave is never its own baseline.
    #[test]
    fn an_hour_is_never_judged_against_itself() {
        let mut g = Group::new("complaints", 0);
        let (monday9, how) = (10_000i64, 9usize);
        g.learn(monday9 - 168, how, 2);
        g.learn(monday9, how, 60);
        assert_eq!(
            g.rate(monday9, how, 1.0),
            2.0,
            "this week's wave is left out"
        );
        assert!(g.rate(monday9 + 168, how, 1.0) > 2.0, "next week it counts");
        // Never learned: the prior.
        assert_eq!(g.rate(monday9 + 1, how + 1, 1.5), 1.5);
    }

    /// A flood of complaints opened and handled: timers and handled ids stay bounded by what is
    /// open; an opening before the ids forgotten early is flagged.
    #[test]
    fn memory_follows_the_open_complaints() {
        let mut cs = Complaints::default();
        let day = 86_400_000;
        for id in 0..600_000u64 {
            let at = id as Millis;
            cs.open.insert(
                id,
                OpenComplaint {
                    overdue_for: Vec::new(),
                },
            );
            cs.schedule(
                DeadlineTimer {
                    due: at + 30 * day,
                    id,
                    rule: 0,
                },
                1,
            );
            cs.close(id, at);
        }
        assert!(cs.open.is_empty());
        assert!(cs.timers.len() <= 4096 + 1, "{}", cs.timers.len());
        assert_eq!(cs.closed.len(), CLOSED_KEPT);
        assert!(cs.was_closed(599_999) && !cs.was_closed(0));
        assert!(cs.maybe_forgotten(10).is_some());
        assert!(cs.maybe_forgotten(600_000).is_none());
        assert!(cs.pop_due(29 * day).is_none());
    }

    #[test]
    fn baseline_averages_then_forgets() {
        let mut g = Group::new("complaints", 0);
        g.learn(5, 5, 10);
        g.learn(5 + 168, 5, 20);
        assert!((g.baseline[5] - 15.0).abs() < 1e-9);
        assert_eq!(g.rate(6, 6, 2.5), 2.5);
    }
}
