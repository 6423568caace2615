//! One queue's live figures: a bucketed sliding window of what happened to its contacts, the
//! contacts still waiting, and the latest reading from the ACD.

use std::cell::Cell;
use std::collections::BTreeSet;

use floorwatch_protocol::{FirstResponse, Priority, QueueMetrics};

use super::budget::Ledger;
use super::weekly::HourOfWeek;
use crate::config::{Clock, Millis, QueueProfile, SlFormula};
use crate::rules::burn_rate::Standard;
use crate::rules::predicted::Inputs;

/// The window is kept as this many buckets; its edge moves one bucket at a time.
const BUCKETS: usize = 60;

/// Erlang C's demand is the lesser of the arrival rate over a recent span and over a sustained
/// one. The recent span follows demand down: after a planned shift change with demand falling
/// to match, the agents required fall with it within minutes, instead of carrying the busier
/// quarter-hour before the change. The sustained span keeps a burst of a few minutes from
/// reading as demand the floor was staffed short of. An unplanned staffing drop leaves both
/// unchanged, so it shows at once.
const DEMAND_SPAN: Millis = 2 * 60_000;
const SUSTAINED_DEMAND_SPAN: Millis = 15 * 60_000;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    offered: u32,
    answered: u32,
    answered_in_t: u32,
    abandoned: u32,
    abandoned_short: u32,
    abandoned_after_t: u32,
    wait_sum_ms: i64,
    /// How long those who gave up had waited.
    abandon_wait_sum_ms: i64,
    handled: u32,
    handle_sum_ms: i64,
    /// First replies due in this bucket: given in time, or not.
    first_met: u32,
    first_missed: u32,
}

impl Bucket {
    fn add(&mut self, o: &Bucket) {
        self.offered += o.offered;
        self.answered += o.answered;
        self.answered_in_t += o.answered_in_t;
        self.abandoned += o.abandoned;
        self.abandoned_short += o.abandoned_short;
        self.abandoned_after_t += o.abandoned_after_t;
        self.wait_sum_ms += o.wait_sum_ms;
        self.abandon_wait_sum_ms += o.abandon_wait_sum_ms;
        self.handled += o.handled;
        self.handle_sum_ms += o.handle_sum_ms;
        self.first_met += o.first_met;
        self.first_missed += o.first_missed;
    }
}

/// A reading pushed by the ACD (`"type":"queue"` events).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading {
    pub at: Millis,
    pub waiting: Option<u32>,
    pub longest_wait_ms: Option<Millis>,
    pub agents_available: Option<u32>,
    pub agents_busy: Option<u32>,
}

#[derive(Debug)]
pub struct QueueState {
    pub name: Box<str>,
    /// Index of the `[[queue]]` profile that matched.
    pub profile: usize,
    bucket_ms: Millis,
    buckets: Box<[Bucket; BUCKETS]>,
    /// Bucket number (time / bucket_ms) of the newest bucket.
    head: i64,
    /// Contacts waiting, oldest first: (arrived, contact slot).
    pub waiting: BTreeSet<(Millis, u32)>,
    pub reading: Option<Reading>,
    pub open_contacts: u32,
    /// Erlang C's answer and the window bucket it was worked out in.
    erlang: Cell<Option<(i64, Option<u32>)>>,
    /// Contacts that met or missed each standard, when a burn-rate rule watches the queue.
    pub ledger: Option<Ledger>,
    /// Arrivals per hour of the week, when a predicted service level watches the queue.
    pub arrivals: Option<HourOfWeek>,
    /// When a contact was last answered.
    last_answer: Millis,
}

/// What happened to a contact, for the window.
pub enum Outcome {
    Arrived,
    Answered { wait: Millis },
    Abandoned { wait: Millis },
    Handled { handle: Millis },
}

impl QueueState {
    pub fn new(name: &str, profile_idx: usize, profile: &QueueProfile) -> Self {
        Self {
            name: name.into(),
            profile: profile_idx,
            bucket_ms: (profile.window / BUCKETS as i64).max(1),
            buckets: Box::new([Bucket::default(); BUCKETS]),
            head: i64::MIN,
            waiting: BTreeSet::new(),
            reading: None,
            open_contacts: 0,
            erlang: Cell::new(None),
            ledger: None,
            arrivals: None,
            last_answer: Millis::MIN,
        }
    }

    /// Moves the window's leading edge to `now`, dropping buckets that fell out of it.
    pub fn advance(&mut self, now: Millis) {
        let b = now.div_euclid(self.bucket_ms);
        if self.head == i64::MIN || b - self.head >= BUCKETS as i64 {
            *self.buckets = [Bucket::default(); BUCKETS];
        } else {
            for n in self.head + 1..=b {
                self.buckets[n.rem_euclid(BUCKETS as i64) as usize] = Bucket::default();
            }
        }
        if b > self.head {
            self.head = b;
        }
    }

    /// Records an outcome at time `at`; one older than the window is ignored.
    pub fn record(&mut self, at: Millis, what: Outcome, profile: &QueueProfile) {
        let b = at.div_euclid(self.bucket_ms);
        if b > self.head {
            self.advance(at);
        } else if self.head - b >= BUCKETS as i64 {
            return;
        }
        if let Some(met) = meets_service_level(&what, profile)
            && let Some(l) = &mut self.ledger
        {
            l.record(at, Standard::ServiceLevel, met);
        }
        let bucket = &mut self.buckets[b.rem_euclid(BUCKETS as i64) as usize];
        if let (Outcome::Arrived, Some(a)) = (&what, &mut self.arrivals) {
            a.count(at);
        }
        match what {
            Outcome::Arrived => bucket.offered += 1,
            Outcome::Answered { wait } => {
                self.last_answer = self.last_answer.max(at);
                bucket.answered += 1;
                bucket.wait_sum_ms += wait.max(0);
                if wait <= profile.service_level_threshold {
                    bucket.answered_in_t += 1;
                }
            }
            Outcome::Abandoned { wait } => {
                bucket.abandoned += 1;
                bucket.abandon_wait_sum_ms += wait.max(0);
                if wait < profile.short_abandon {
                    bucket.abandoned_short += 1;
                }
                if wait > profile.service_level_threshold {
                    bucket.abandoned_after_t += 1;
                }
            }
            Outcome::Handled { handle } => {
                bucket.handled += 1;
                bucket.handle_sum_ms += handle.max(0);
            }
        }
    }

    /// A response clock stopped at `at`: within its limit (`met`) or breached.
    pub fn record_clock(&mut self, at: Millis, clock: Clock, met: bool) {
        if let Some(l) = &mut self.ledger {
            l.record(at, Standard::Clock(clock), met);
        }
        if clock != Clock::First {
            return;
        }
        let b = at.div_euclid(self.bucket_ms);
        if b > self.head {
            self.advance(at);
        } else if self.head - b >= BUCKETS as i64 {
            return;
        }
        let bucket = &mut self.buckets[b.rem_euclid(BUCKETS as i64) as usize];
        if met {
            bucket.first_met += 1;
        } else {
            bucket.first_missed += 1;
        }
    }

    /// Arrivals per second over the last `span` of complete buckets (at least one), so that a
    /// capacity figure follows demand as it changes, not the whole window's average.
    fn recent_rate(&self, span: Millis) -> f64 {
        let n = (span / self.bucket_ms).clamp(1, BUCKETS as i64 - 1);
        let offered: u32 = (1..=n)
            .map(|k| self.buckets[(self.head - k).rem_euclid(BUCKETS as i64) as usize].offered)
            .sum();
        f64::from(offered) / (n * self.bucket_ms) as f64 * 1000.0
    }

    /// What Erlang A needs to predict the service level from now: `None` without a fresh
    /// reading of the agents staffed or without handle times. Demand is the window's arrival
    /// rate (a 5-minute one is too noisy to project over a quarter-hour: it sees every burst
    /// as a collapse), blended with `usual_per_hour`, what this hour of the week usually
    /// brings, by how many arrivals the window saw (a quiet queue leans on history, a busy one
    /// on the present).
    pub fn forecast_inputs(&self, m: &QueueMetrics, usual_per_hour: Option<f64>) -> Option<Inputs> {
        let agents = m.agents_available? + m.agents_busy?;
        let aht_s = m.aht_s?;
        let seen = m.offered;
        let recent = f64::from(seen) / (self.bucket_ms * BUCKETS as i64) as f64 * 1000.0;
        let usual = usual_per_hour.map(|u| u / 3600.0);
        let arrivals_per_s = match usual {
            Some(u) => {
                let w = f64::from(seen) / (f64::from(seen) + 10.0);
                w * recent + (1.0 - w) * u
            }
            None => recent,
        };
        let t = self.totals();
        let waited_s = (t.wait_sum_ms + t.abandon_wait_sum_ms) as f64 / 1000.0;
        let gave_up = t.abandoned - t.abandoned_short;
        // Few abandons say little about patience: assume three minutes until they do.
        let patience_s = if gave_up >= 3 {
            (waited_s / f64::from(gave_up)).clamp(10.0, 3600.0)
        } else {
            180.0
        };
        Some(Inputs {
            arrivals_per_s,
            recent_per_s: recent,
            usual_per_s: usual,
            aht_s,
            patience_s,
            agents,
            in_system: m.agents_busy? + m.waiting,
            free_agents: m.agents_available?,
            waiting: m.waiting,
            threshold_s: m.service_level_threshold_s,
            target: m.service_level_target,
        })
    }

    fn totals(&self) -> Bucket {
        let mut t = Bucket::default();
        for b in self.buckets.iter() {
            t.add(b);
        }
        t
    }

    /// The queue's figures at `now`. Readings from the ACD win over derived counts while fresh.
    /// `erlang`: also work out the agents required (Erlang C, O(agents)), at most once per
    /// bucket of the window: a capacity figure over 15 minutes needs no fresher answer.
    pub fn metrics(
        &self,
        now: Millis,
        profile: &QueueProfile,
        stale_after: Millis,
        erlang: bool,
    ) -> QueueMetrics {
        let t = self.totals();
        let fresh = self.reading.filter(|r| now - r.at <= stale_after);
        let derived_longest = self
            .waiting
            .first()
            .map(|(arrived, _)| (now - arrived).max(0))
            .unwrap_or(0);
        let (waiting, longest_ms) = match fresh {
            Some(r) => (
                r.waiting.unwrap_or(self.waiting.len() as u32),
                r.longest_wait_ms
                    .map(|l| l + (now - r.at).max(0) * i64::from(r.waiting.unwrap_or(1) > 0))
                    .unwrap_or(derived_longest),
            ),
            None => (self.waiting.len() as u32, derived_longest),
        };
        let counted_abandons = match profile.service_level_formula {
            SlFormula::ExcludeShortAbandons => t.abandoned - t.abandoned_short,
            SlFormula::AbandonsAfterThreshold => t.abandoned_after_t,
            SlFormula::AllAbandons => t.abandoned,
            SlFormula::AnsweredOnly => 0,
        };
        let sl_base = t.answered + counted_abandons;
        let service_level = (sl_base > 0).then(|| f64::from(t.answered_in_t) / f64::from(sl_base));
        let real_abandons = t.abandoned - t.abandoned_short;
        let abandon_base = t.answered + real_abandons;
        let aht_s = (t.handled > 0).then(|| t.handle_sum_ms as f64 / 1000.0 / f64::from(t.handled));
        let window_s = (self.bucket_ms * BUCKETS as i64) as f64 / 1000.0;
        let key = self.head;
        let agents_required = match self.erlang.get() {
            _ if !erlang => None,
            Some((k, v)) if k == key => v,
            _ => {
                let v = aht_s.and_then(|aht| {
                    erlang_c_agents(
                        self.recent_rate(DEMAND_SPAN)
                            .min(self.recent_rate(SUSTAINED_DEMAND_SPAN)),
                        aht,
                        profile.service_level_threshold as f64 / 1000.0,
                        profile.service_level_target,
                    )
                });
                self.erlang.set(Some((key, v)));
                v
            }
        };
        QueueMetrics {
            queue: self.name.to_string(),
            channel: Some(profile.channel),
            waiting,
            longest_wait_s: longest_ms as f64 / 1000.0,
            service_level,
            service_level_target: profile.service_level_target,
            service_level_threshold_s: profile.service_level_threshold as f64 / 1000.0,
            asa_s: (t.answered > 0).then(|| t.wait_sum_ms as f64 / 1000.0 / f64::from(t.answered)),
            abandonment_rate: (abandon_base > 0)
                .then(|| f64::from(real_abandons) / f64::from(abandon_base)),
            aht_s,
            agents_available: fresh.and_then(|r| r.agents_available),
            agents_busy: fresh.and_then(|r| r.agents_busy),
            agents_required,
            offered: t.offered,
            answered: t.answered,
            abandoned: t.abandoned,
            open_contacts: self.open_contacts,
            window_s,
            unanswered_for_s: if waiting == 0 {
                0.0
            } else {
                (now.saturating_sub(self.last_answer).max(0) as f64 / 1000.0)
                    .min(longest_ms as f64 / 1000.0)
            },
            stale: None,
            // The oldest one waiting is filled in by the engine, which holds the contacts.
            first_response: Priority::ALL
                .iter()
                .any(|p| profile.response.limit(Clock::First, *p).is_some())
                .then(|| FirstResponse {
                    compliance: (t.first_met + t.first_missed > 0)
                        .then(|| f64::from(t.first_met) / f64::from(t.first_met + t.first_missed)),
                    ..Default::default()
                }),
            predicted: None,
        }
    }
}

/// Whether a contact leaving the queue met the service level (`None`: it does not count, by
/// the queue's formula): the same rule as the window's service level, one contact at a time.
fn meets_service_level(what: &Outcome, profile: &QueueProfile) -> Option<bool> {
    let t = profile.service_level_threshold;
    match *what {
        Outcome::Answered { wait } => Some(wait <= t),
        Outcome::Abandoned { wait } => {
            let counted = match profile.service_level_formula {
                SlFormula::ExcludeShortAbandons => wait >= profile.short_abandon,
                SlFormula::AbandonsAfterThreshold => wait > t,
                SlFormula::AllAbandons => true,
                SlFormula::AnsweredOnly => false,
            };
            counted.then_some(false)
        }
        _ => None,
    }
}

/// Agents needed so that `target` of contacts are answered within `t_s`, by Erlang C, for
/// `rate` arrivals per second each taking `aht_s` seconds.
pub fn erlang_c_agents(rate: f64, aht_s: f64, t_s: f64, target: f64) -> Option<u32> {
    if rate <= 0.0 || aht_s <= 0.0 {
        return None;
    }
    let load = rate * aht_s; // offered traffic in erlangs
    let mut erlang_b = 1.0;
    for n in 1..=10_000u32 {
        let nf = f64::from(n);
        erlang_b = load * erlang_b / (nf + load * erlang_b);
        if nf <= load {
            continue;
        }
        let wait_prob = nf * erlang_b / (nf - load * (1.0 - erlang_b));
        let sl = 1.0 - wait_prob * (-(nf - load) * t_s / aht_s).exp();
        if sl >= target {
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_textbook_example() {
        // 360 calls/h with AHT 4 min = 24 erlangs. Erlang C gives a service level of 76.1% in
        // 20 s with 28 agents and 84.0% with 29, so 80/20 needs 29.
        let n = erlang_c_agents(0.1, 240.0, 20.0, 0.8).unwrap();
        assert_eq!(n, 29);
        assert!(erlang_c_agents(0.0, 240.0, 20.0, 0.8).is_none());
    }
}
