//! Error-budget ledgers for burn-rate rules: per queue, one bucket a minute of the contacts that
//! met or missed each service standard (the service level, and each response clock), kept for
//! the longest window a burn-rate rule of the queue looks back over. Memory is fixed per queue:
//! at most a day of minutes.

use crate::config::Millis;
use crate::rules::burn_rate::Standard;

const MINUTE: Millis = 60_000;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Bucket {
    /// Per standard (`Standard::index`): contacts that met it and that missed it.
    met: [u32; Standard::COUNT],
    missed: [u32; Standard::COUNT],
}

/// Kept as running totals: each minute's slot holds everything recorded up to the end of that
/// minute, so a window's counts are one subtraction, however long the window (a ledger is read
/// on every evaluation of its queue).
#[derive(Debug)]
pub struct Ledger {
    totals: Box<[Bucket]>,
    /// Minute number (time / 1 min) of the newest slot.
    head: i64,
}

impl Ledger {
    /// A ledger that can answer for windows up to `span` (and a few minutes more: events may
    /// be stamped ahead of the clock, moving the newest slot past `now`).
    pub fn new(span: Millis) -> Self {
        const AHEAD_MINUTES: usize = 10;
        let n = (span / MINUTE).max(1) as usize + 1 + AHEAD_MINUTES;
        Self {
            totals: vec![Bucket::default(); n].into_boxed_slice(),
            head: i64::MIN,
        }
    }

    fn len(&self) -> i64 {
        self.totals.len() as i64
    }

    fn slot(&self, minute: i64) -> usize {
        minute.rem_euclid(self.len()) as usize
    }

    /// Moves the newest slot to minute `m`; the minutes between carry the running totals on.
    fn advance(&mut self, m: i64) {
        if self.head == i64::MIN {
            self.head = m;
            return;
        }
        let last = self.totals[self.slot(self.head)];
        for k in (self.head + 1).max(m - self.len() + 1)..=m {
            let i = self.slot(k);
            self.totals[i] = last;
        }
        self.head = self.head.max(m);
    }

    /// Counts one contact at `at` as having met (or missed) `standard`; older than the ledger
    /// reaches is ignored.
    pub fn record(&mut self, at: Millis, standard: Standard, met: bool) {
        let m = at.div_euclid(MINUTE);
        if self.head == i64::MIN || m > self.head {
            self.advance(m);
        } else if self.head - m >= self.len() {
            return;
        }
        let i = standard.index();
        // A late record raises the totals of its minute and of every minute since.
        for k in m..=self.head {
            // Running totals wrap; a window's difference stays exact.
            let b = &mut self.totals[self.slot(k)];
            if met {
                b.met[i] = b.met[i].wrapping_add(1);
            } else {
                b.missed[i] = b.missed[i].wrapping_add(1);
            }
        }
    }

    /// Contacts that met and that missed `standard` over the `window` up to `now`, counting
    /// the current minute and whole minutes before it.
    pub fn counts(&self, now: Millis, window: Millis, standard: Standard) -> (u32, u32) {
        if self.head == i64::MIN {
            return (0, 0);
        }
        let m = now.div_euclid(MINUTE);
        let minutes = (window / MINUTE).max(1);
        let end = m.min(self.head);
        // The totals just before the window opens: nothing older than the ledger counts.
        let before = m - minutes;
        if before >= end {
            return (0, 0);
        }
        let i = standard.index();
        let at_end = self.totals[self.slot(end)];
        // Older than the ring (events stamped far ahead of the clock): from its oldest minute.
        let b = self.totals[self.slot(before.max(self.head - self.len() + 1))];
        let (met0, missed0) = (b.met[i], b.missed[i]);
        (
            at_end.met[i].wrapping_sub(met0),
            at_end.missed[i].wrapping_sub(missed0),
        )
    }
}

impl Standard {
    pub const COUNT: usize = 4;

    pub fn index(self) -> usize {
        match self {
            Standard::ServiceLevel => 0,
            Standard::Clock(c) => 1 + c as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Clock;

    #[test]
    fn counts_cover_the_window_and_forget_what_fell_out() {
        let mut l = Ledger::new(60 * MINUTE);
        let sl = Standard::ServiceLevel;
        l.record(0, sl, true);
        l.record(30 * MINUTE, sl, false);
        l.record(59 * MINUTE, sl, false);
        l.record(59 * MINUTE, Standard::Clock(Clock::First), true);
        assert_eq!(l.counts(59 * MINUTE, 60 * MINUTE, sl), (1, 2));
        assert_eq!(l.counts(59 * MINUTE, 5 * MINUTE, sl), (0, 1));
        assert_eq!(
            l.counts(59 * MINUTE, 5 * MINUTE, Standard::Clock(Clock::First)),
            (1, 0)
        );
        // An hour on, only the last minute's miss is left in a one-hour window.
        l.record(90 * MINUTE, sl, true);
        assert_eq!(l.counts(90 * MINUTE, 60 * MINUTE, sl), (1, 1));
        // A gap longer than the ledger empties it; a record older than it is ignored.
        l.record(500 * MINUTE, sl, true);
        l.record(100 * MINUTE, sl, false);
        assert_eq!(l.counts(500 * MINUTE, 60 * MINUTE, sl), (1, 0));
        // An event stamped minutes ahead of the clock: the window up to now leaves it out and
        // still starts where it should.
        l.record(505 * MINUTE, sl, false);
        assert_eq!(l.counts(500 * MINUTE, 60 * MINUTE, sl), (1, 0));
        assert_eq!(l.counts(505 * MINUTE, 60 * MINUTE, sl), (1, 1));
        // A late record within reach counts in its minute and in the windows after it.
        l.record(499 * MINUTE, sl, false);
        assert_eq!(l.counts(500 * MINUTE, 2 * MINUTE, sl), (1, 1));
        assert_eq!(l.counts(505 * MINUTE, 5 * MINUTE, sl), (0, 1));
    }
}
