//! Each scope's figures over time, for the wall-board's trend lines and an incident's chart.
//!
//! Every `step` of the engine's clock (the live stream's trend step) the engine samples each
//! queue's window figures and each complaint group's count against its usual. The samples are
//! kept for `KEPT` and are part of the engine's state: a restart's warm-up replay of the journal
//! records them again on the events' own clock, so trend lines and charts survive restarts and
//! say the same on every node of a cluster. Memory is bounded: the scopes share `BUDGET`
//! samples (32 bytes each at most, so 16 MiB). At the default 30 s a scope keeps its two days
//! while fewer than 91 scopes are watched; with more, each keeps a shorter span (a thousand
//! queues: four hours), but never less than `MIN_KEPT` (an hour), which takes over from the
//! budget past 4,369 scopes (the limits allow 1,000 queues and 500 categories a spike rule).

use std::collections::VecDeque;

use floorwatch_protocol::{ChartSeries, CountPoint, QueueMetrics, TrendPoint};
use rustc_hash::FxHashMap;

use super::calendar::ms_to_utc;
use super::{Engine, expected_in, hours_of_week};
use crate::config::Millis;
use crate::rules::RuleKind;

/// How long samples are kept (a warm-up replay rebuilds at most the state horizon of them).
pub const KEPT: Millis = 2 * 24 * 3_600_000;
/// Samples kept in all, over every scope.
pub const BUDGET: usize = 512 * 1024;
/// Samples a scope keeps however many scopes share the budget.
pub const MIN_KEPT: usize = 120;

/// One queue sample, compact (`NaN` for a figure the queue did not have).
#[derive(Debug, Clone, Copy)]
struct QueueSample {
    at: Millis,
    waiting: u32,
    longest_wait_s: f32,
    service_level: f32,
    asa_s: f32,
    abandonment_rate: f32,
}

#[derive(Debug, Clone, Copy)]
struct CountSample {
    at: Millis,
    count: u32,
    usual: f32,
}

#[derive(Debug)]
pub struct History {
    step: Millis,
    /// Samples a scope keeps at most over `KEPT`.
    most: usize,
    next_at: Millis,
    /// By the engine's queue index.
    queues: Vec<VecDeque<QueueSample>>,
    /// By (spike rule index, group scope id).
    groups: FxHashMap<(u16, u32), VecDeque<CountSample>>,
}

fn opt(v: Option<f64>) -> f32 {
    v.map_or(f32::NAN, |v| v as f32)
}

fn back(v: f32) -> Option<f64> {
    (!v.is_nan()).then_some(f64::from(v))
}

impl History {
    pub fn new(step: Millis) -> Self {
        let step = step.max(1_000);
        History {
            step,
            most: (KEPT / step) as usize,
            next_at: Millis::MIN,
            queues: Vec::new(),
            groups: FxHashMap::default(),
        }
    }

    pub fn step(&self) -> Millis {
        self.step
    }

    /// The instant of the sample due at `now` (the latest point of the step's grid), if one is;
    /// the next is then set a step on. Samples are stamped on the grid, so a live engine
    /// ticking every 250 ms and a replay ticking every second stamp the same instants.
    pub fn due(&mut self, now: Millis) -> Option<Millis> {
        if now < self.next_at {
            return None;
        }
        let at = now.div_euclid(self.step) * self.step;
        self.next_at = at + self.step;
        Some(at)
    }

    /// Samples each scope keeps now: its share of the budget, within `MIN_KEPT..=most`.
    fn kept(&self) -> usize {
        let scopes = (self.queues.len() + self.groups.len()).max(1);
        (BUDGET / scopes).clamp(MIN_KEPT.min(self.most), self.most)
    }

    /// Adds a sample, dropping the oldest beyond `kept` (a ring shrinks here when more scopes
    /// came to share the budget).
    fn push<T>(ring: &mut VecDeque<T>, kept: usize, v: T) {
        while ring.len() >= kept {
            ring.pop_front();
        }
        ring.push_back(v);
    }

    pub fn queue(&mut self, q: u16, at: Millis, m: &QueueMetrics) {
        let q = q as usize;
        if self.queues.len() <= q {
            self.queues.resize_with(q + 1, VecDeque::new);
        }
        let s = QueueSample {
            at,
            waiting: m.waiting,
            longest_wait_s: m.longest_wait_s as f32,
            service_level: opt(m.service_level),
            asa_s: opt(m.asa_s),
            abandonment_rate: opt(m.abandonment_rate),
        };
        let kept = self.kept();
        Self::push(&mut self.queues[q], kept, s);
    }

    pub fn group(&mut self, rule: u16, scope: u32, at: Millis, count: u32, usual: Option<f64>) {
        self.groups.entry((rule, scope)).or_default();
        let kept = self.kept();
        let s = CountSample {
            at,
            count,
            usual: opt(usual),
        };
        if let Some(ring) = self.groups.get_mut(&(rule, scope)) {
            Self::push(ring, kept, s);
        }
    }

    /// A queue's samples from `from` to `to`, at most `max` of them (evenly thinned).
    pub fn queue_points(&self, q: u16, from: Millis, to: Millis, max: usize) -> Vec<TrendPoint> {
        let Some(ring) = self.queues.get(q as usize) else {
            return Vec::new();
        };
        thin(ring.iter().filter(|s| s.at >= from && s.at <= to), max)
            .into_iter()
            .map(|s| TrendPoint {
                at: ms_to_utc(s.at),
                waiting: s.waiting,
                longest_wait_s: f64::from(s.longest_wait_s),
                service_level: back(s.service_level),
                asa_s: back(s.asa_s),
                abandonment_rate: back(s.abandonment_rate),
            })
            .collect()
    }

    pub fn group_points(
        &self,
        rule: u16,
        scope: u32,
        from: Millis,
        to: Millis,
        max: usize,
    ) -> Vec<CountPoint> {
        let Some(ring) = self.groups.get(&(rule, scope)) else {
            return Vec::new();
        };
        thin(ring.iter().filter(|s| s.at >= from && s.at <= to), max)
            .into_iter()
            .map(|s| CountPoint {
                at: ms_to_utc(s.at),
                count: s.count,
                usual: back(s.usual),
            })
            .collect()
    }
}

impl Engine {
    /// Takes this step's sample of every queue and complaint group, stamped `at` (on the grid)
    /// with the figures as of the engine's clock.
    pub(super) fn sample_history(&mut self, at: Millis) {
        let now = self.now;
        for (q, rt) in self.queues.iter().enumerate() {
            let m = rt.state.metrics(
                now,
                &self.cfg.queues[rt.state.profile],
                self.cfg.daemon.snapshot_stale_after,
                false,
            );
            self.history.queue(q as u16, at, &m);
        }
        let cfg = self.cfg.clone();
        let Some(longest) = super::judge::longest_spike_window(&cfg) else {
            return;
        };
        let hours = hours_of_week(now - longest, now, &cfg);
        for (i, rule) in cfg.rules.iter().enumerate() {
            if let RuleKind::ComplaintSpike(s) = &rule.kind {
                for g in &self.groups[i] {
                    let usual = expected_in(g, now - s.window, now, s.prior_per_hour, &hours);
                    self.history
                        .group(i as u16, g.scope, at, g.observed(now), Some(usual));
                }
            }
        }
    }

    /// Seconds between samples.
    pub fn history_step_s(&self) -> u32 {
        (self.history.step() / 1000) as u32
    }

    /// Each queue's samples since `from`, for the live stream's trend lines.
    pub fn queue_trends(&self, from: Millis) -> Vec<(String, Vec<TrendPoint>)> {
        self.queues
            .iter()
            .enumerate()
            .map(|(q, rt)| {
                let points = self
                    .history
                    .queue_points(q as u16, from, self.now, usize::MAX);
                (rt.state.name.to_string(), points)
            })
            .collect()
    }

    /// What an incident of `rule` on `scope` plots from `from` to `to`, in at most `max` points:
    /// a complaint spike its group's count against the usual, anything on a queue the queue's
    /// figures.
    pub fn chart_series(
        &self,
        rule: &str,
        scope: &str,
        from: Millis,
        to: Millis,
        max: usize,
    ) -> ChartSeries {
        let found = self.cfg.rules.iter().position(|r| r.name == rule);
        if let Some(i) = found
            && let RuleKind::ComplaintSpike(s) = &self.cfg.rules[i].kind
        {
            let points = self
                .scope_ix
                .get(scope)
                .map(|id| self.history.group_points(i as u16, *id, from, to, max))
                .unwrap_or_default();
            return ChartSeries::Complaints {
                window_s: (s.window / 1000) as u32,
                points,
            };
        }
        match self.queue_ix.get(scope) {
            Some(q) => {
                let rt = &self.queues[*q as usize];
                ChartSeries::Queue {
                    service_level_target: self.cfg.queues[rt.state.profile].service_level_target,
                    points: self.history.queue_points(*q, from, to, max),
                }
            }
            None => ChartSeries::None,
        }
    }
}

/// Every k-th item, k chosen so that at most `max` remain, the last one always among them.
fn thin<'a, T: 'a + Copy>(items: impl Iterator<Item = &'a T> + Clone, max: usize) -> Vec<T> {
    let n = items.clone().count();
    let max = max.max(2);
    let every = n.saturating_sub(1).div_ceil(max - 1).max(1);
    items
        .enumerate()
        .filter(|(i, _)| i % every == 0 || *i + 1 == n)
        .map(|(_, s)| *s)
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_on_the_steps_grid_kept_for_two_days_and_thinned_on_demand() {
        let mut h = History::new(30_000);
        assert_eq!(h.due(10_000), Some(0), "stamped on the grid");
        assert_eq!(h.due(29_999), None, "next on the grid, at 30 s");
        assert_eq!(h.due(30_250), Some(30_000));
        let m = |w| QueueMetrics {
            waiting: w,
            service_level: Some(0.5),
            ..Default::default()
        };
        for i in 0..(KEPT / 30_000 + 10) {
            h.queue(2, i * 30_000, &m(i as u32));
        }
        let all = h.queue_points(2, 0, Millis::MAX, usize::MAX);
        assert_eq!(all.len() as i64, KEPT / 30_000, "the oldest dropped");
        assert_eq!(all[0].waiting, 10);
        assert_eq!(all[0].service_level, Some(0.5));
        assert_eq!(all[0].asa_s, None);
        let few = h.queue_points(2, 0, Millis::MAX, 100);
        assert!(few.len() <= 100 && few.len() > 90, "{}", few.len());
        assert_eq!(few.last().unwrap().waiting, all.last().unwrap().waiting);
        assert!(h.queue_points(0, 0, Millis::MAX, 10).is_empty());
        assert!(h.queue_points(9, 0, Millis::MAX, 10).is_empty());
        // A thousand queues share the budget: each keeps a shorter span, memory stays bounded.
        let mut many = History::new(30_000);
        for i in 0..2_000 {
            for q in 0..1_000u16 {
                many.queue(q, i * 30_000, &m(1));
            }
        }
        let total: usize = many.queues.iter().map(VecDeque::len).sum();
        assert!(total <= BUDGET, "{total}");
        assert_eq!(many.queues[0].len(), BUDGET / 1_000);
        assert_eq!(std::mem::size_of::<QueueSample>(), 32);
        h.group(1, 4, 60_000, 12, None);
        h.group(1, 4, 90_000, 20, Some(2.5));
        let g = h.group_points(1, 4, 70_000, 100_000, 10);
        assert_eq!(g.len(), 1);
        assert_eq!((g[0].count, g[0].usual), (20, Some(2.5)));
    }
}
