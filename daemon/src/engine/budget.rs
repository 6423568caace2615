//! Error-budget ledgers for burn-rate rules: per queue, one bucket a minute of the contacts that
//! met or missed each service standard (the service level, and each response clock), kept for
//! the longest window a burn-rate rule of the queue looks back over. Memory is fixed per queue:
//! at most a day of minutes.

use crate::config::Millis;
use crate::rules::burn_rate::Standard;

const MINUTE: Millis = 60_000;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// Per standard (`Standard::index`): contacts that met it and that missed it.
    met: [u32; Standard::COUNT],
    missed: [u32; Standard::COUNT],
}

#[derive(Debug)]
pub struct Ledger {
    buckets: Box<[Bucket]>,
    /// Minute number (time / 1 min) of the newest bucket.
    head: i64,
}

impl Ledger {
    /// A ledger that can answer for windows up to `span`.
    pub fn new(span: Millis) -> Self {
        let n = (span / MINUTE).max(1) as usize + 1;
        Self {
            buckets: vec![Bucket::default(); n].into_boxed_slice(),
            head: i64::MIN,
        }
    }

    fn len(&self) -> i64 {
        self.buckets.len() as i64
    }

    fn advance(&mut self, now: Millis) {
        let m = now.div_euclid(MINUTE);
        if self.head == i64::MIN || m - self.head >= self.len() {
            self.buckets.fill(Bucket::default());
        } else {
            for k in self.head + 1..=m {
                self.buckets[k.rem_euclid(self.len()) as usize] = Bucket::default();
            }
        }
        self.head = self.head.max(m);
    }

    /// Counts one contact at `at` as having met (or missed) `standard`; older than the ledger
    /// reaches is ignored.
    pub fn record(&mut self, at: Millis, standard: Standard, met: bool) {
        let m = at.div_euclid(MINUTE);
        if m > self.head {
            self.advance(at);
        } else if self.head - m >= self.len() {
            return;
        }
        let b = &mut self.buckets[m.rem_euclid(self.len()) as usize];
        let i = standard.index();
        if met {
            b.met[i] += 1;
        } else {
            b.missed[i] += 1;
        }
    }

    /// Contacts that met and that missed `standard` over the `window` up to `now`, counting
    /// the current minute and whole minutes before it.
    pub fn counts(&self, now: Millis, window: Millis, standard: Standard) -> (u32, u32) {
        let m = now.div_euclid(MINUTE);
        let minutes = (window / MINUTE).clamp(1, self.len());
        let i = standard.index();
        let (mut met, mut missed) = (0, 0);
        for k in m - minutes + 1..=m {
            if k > self.head || self.head - k >= self.len() {
                continue;
            }
            let b = &self.buckets[k.rem_euclid(self.len()) as usize];
            met += b.met[i];
            missed += b.missed[i];
        }
        (met, missed)
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
    }
}
