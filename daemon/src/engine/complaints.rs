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

pub use super::weekly::{HOUR, HOURS_PER_WEEK, HourOfWeek};

#[derive(Debug, Clone)]
pub struct OpenComplaint {
    /// Deadline rules (by rule index) this complaint is overdue for.
    pub overdue_for: Vec<u16>,
    pub opened: Millis,
    pub grade: floorwatch_protocol::Grade,
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
    /// Complaints per hour of the week, usually.
    pub week: HourOfWeek,
}

impl Group {
    pub fn new(key: &str, scope: u32) -> Self {
        Self {
            key: key.into(),
            scope,
            recent: VecDeque::new(),
            week: HourOfWeek::default(),
        }
    }

    pub fn count(&mut self, at: Millis) {
        self.recent.push_back(at);
        self.week.count(at);
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
                    opened: at,
                    grade: floorwatch_protocol::Grade::General,
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
}
