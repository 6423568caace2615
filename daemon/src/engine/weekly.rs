//! What an hour of the week usually brings: counts per hour folded into a baseline per hour of
//! the week (Monday 09:00 is compared with other Mondays at 09:00). Complaint spikes judge
//! against it; the predicted service level blends it with the arrivals just seen.

use crate::config::Millis;

pub const HOUR: Millis = 3_600_000;
pub const HOURS_PER_WEEK: usize = 168;
/// After this many weeks of history an hour's baseline becomes a moving average that forgets
/// old weeks, so it follows a center that grows or shrinks.
const BASELINE_MEMORY_WEEKS: f64 = 8.0;

#[derive(Debug, Clone)]
pub struct HourOfWeek {
    /// Counts per hour number (time / HOUR), for the current and the previous hour.
    hours: [(i64, u32); 2],
    /// Expected count per hour, per hour of the week, and how many weeks each has seen.
    pub baseline: Box<[f64; HOURS_PER_WEEK]>,
    pub samples: Box<[u32; HOURS_PER_WEEK]>,
    /// Per hour of the week: the hour number folded in last, with the baseline and samples as
    /// they were before it. A window reaching back into that hour is judged against these, so a
    /// running wave never becomes its own baseline.
    before_last: Box<[(i64, f64, u32); HOURS_PER_WEEK]>,
}

impl Default for HourOfWeek {
    fn default() -> Self {
        Self {
            hours: [(i64::MIN, 0); 2],
            baseline: Box::new([0.0; HOURS_PER_WEEK]),
            samples: Box::new([0; HOURS_PER_WEEK]),
            before_last: Box::new([(i64::MIN, 0.0, 0); HOURS_PER_WEEK]),
        }
    }
}

impl HourOfWeek {
    pub fn count(&mut self, at: Millis) {
        let h = at.div_euclid(HOUR);
        if let Some(slot) = self.hours.iter_mut().find(|(hour, _)| *hour == h) {
            slot.1 += 1;
        } else if h > self.hours[1].0 {
            self.hours = [self.hours[1], (h, 1)];
        }
    }

    pub fn count_in_hour(&self, hour: i64) -> u32 {
        self.hours
            .iter()
            .find(|(h, _)| *h == hour)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }

    /// Expected count per hour in hour number `hour` (hour-of-week `how`), from the weeks
    /// before it: never from that hour's own count. `None` before any week was seen.
    pub fn learned(&self, hour: i64, how: usize) -> Option<f64> {
        let (baseline, samples) = match self.before_last[how] {
            (h, b, n) if h == hour => (b, n),
            _ => (self.baseline[how], self.samples[how]),
        };
        (samples > 0).then_some(baseline)
    }

    /// `learned`, or `prior` before any week was seen.
    pub fn rate(&self, hour: i64, how: usize, prior: f64) -> f64 {
        self.learned(hour, how).unwrap_or(prior)
    }

    /// Folds one finished hour's count (hour number `hour`) into its hour-of-week baseline.
    pub fn learn(&mut self, hour: i64, how: usize, count: u32) {
        self.before_last[how] = (hour, self.baseline[how], self.samples[how]);
        let n = f64::from(self.samples[how]);
        let weight = 1.0 / (n + 1.0).min(BASELINE_MEMORY_WEEKS);
        self.baseline[how] += weight * (f64::from(count) - self.baseline[how]);
        self.samples[how] = self.samples[how].saturating_add(1);
    }

    /// Folds the hour `hour` just finished with what was counted in it.
    pub fn fold(&mut self, hour: i64, how: usize) {
        let n = self.count_in_hour(hour);
        self.learn(hour, how, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hour that just ended is folded into its baseline, but a window reaching back into it
    /// is still judged against the weeks before: a wave is never its own baseline.
    #[test]
    fn an_hour_is_never_judged_against_itself() {
        let mut g = HourOfWeek::default();
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
        assert_eq!(g.learned(monday9 + 1, how + 1), None);
    }

    #[test]
    fn baseline_averages_then_forgets() {
        let mut g = HourOfWeek::default();
        g.learn(5, 5, 10);
        g.learn(5 + 168, 5, 20);
        assert!((g.baseline[5] - 15.0).abs() < 1e-9);
        assert_eq!(g.rate(6, 6, 2.5), 2.5);
        g.count(7 * HOUR);
        g.count(7 * HOUR + 1);
        g.fold(7, 7);
        assert_eq!(g.learned(8, 7), Some(2.0));
    }
}
