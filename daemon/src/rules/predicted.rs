//! `predicted_service_level` rules: a warning before the breach. From the queue as it stands
//! now (the agents staffed and the contacts in the system, from the ACD's readings), the demand
//! (arrivals over the queue's window blended with what this hour of the week usually brings), the
//! handle time and the callers' patience, Erlang A (M/M/n+M: a queue whose callers give up)
//! gives the service level to expect over the next `horizon`. It fires when that falls below
//! the target by `margin`, and only while the floor feels it now (an agent free and nobody
//! waiting is no emergency, whatever the model says): the last minutes' demand lags a planned
//! shift change with demand falling to match, but agents sit free through it.

use floorwatch_protocol::{Language, Severity};

use super::{Context, KindSpec, RuleKind, Verdict};
use crate::config::parse::{Cx, Tab};
use crate::config::{Millis, format_duration};
use crate::engine::{Detail, Figures, round};
use crate::words::{self, Said};

#[derive(Debug, Clone)]
pub struct ForecastRule {
    /// How far ahead the service level is predicted.
    pub horizon: Millis,
    /// Fires at `severity` when the prediction is this far below the queue's target ...
    pub margin: f64,
    pub severity: Severity,
    /// ... and critical when it is this far below (a collapse coming), if set.
    pub critical_margin: Option<f64>,
}

pub(crate) const SPEC: KindSpec = KindSpec {
    name: "predicted_service_level",
    keys: &[&["horizon", "margin", "severity", "critical_margin"]],
    parse,
};

/// The figure a restored incident's peak is read from.
pub const PEAK: &str = "predicted_service_level";

fn parse(cx: &mut Cx, tab: &Tab, _: &Context) -> Option<RuleKind> {
    let margin = cx.ratio(tab, "margin").unwrap_or(0.05);
    let critical_margin = cx.ratio(tab, "critical_margin");
    if let Some(c) = critical_margin
        && c <= margin
    {
        let span = tab.get("critical_margin").unwrap().span();
        cx.err(
            &span,
            format!(
                "{}: `critical_margin` ({c}) must be more than `margin` ({margin})",
                tab.what
            ),
        );
    }
    Some(RuleKind::Predicted(ForecastRule {
        horizon: cx.duration(tab, "horizon").unwrap_or(15 * 60_000),
        margin,
        severity: super::severity(cx, tab, Severity::Warning),
        critical_margin,
    }))
}

/// The queue as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inputs {
    /// Arrivals per second to expect (blended).
    pub arrivals_per_s: f64,
    /// The arrivals per second over the queue's window, and what this hour usually brings (if
    /// learned), before blending.
    pub recent_per_s: f64,
    pub usual_per_s: Option<f64>,
    pub aht_s: f64,
    /// Mean time a caller waits before giving up.
    pub patience_s: f64,
    pub agents: u32,
    /// Contacts being served or waiting now.
    pub in_system: u32,
    /// Agents free now.
    pub free_agents: u32,
    pub waiting: u32,
    /// The service-level threshold T and the target.
    pub threshold_s: f64,
    pub target: f64,
}

/// A prediction and what it was made from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forecast {
    pub service_level: f64,
    pub inputs: Inputs,
}

impl ForecastRule {
    pub fn forecast(&self, x: Inputs) -> Option<Forecast> {
        Some(Forecast {
            service_level: predict(&x, self.horizon as f64 / 1000.0)?,
            inputs: x,
        })
    }

    pub fn judge(&self, f: Option<&Forecast>) -> Verdict {
        let Some(f) = f else {
            return Verdict {
                level: None,
                clear: true,
                badness: f64::NEG_INFINITY,
            };
        };
        let floor = f.inputs.target - self.margin;
        let pressed = f.inputs.free_agents == 0 || f.inputs.waiting > 0;
        let collapse = self
            .critical_margin
            .is_some_and(|c| f.service_level < f.inputs.target - c);
        let level = if collapse {
            Some(Severity::Critical.max(self.severity))
        } else {
            (f.service_level < floor).then_some(self.severity)
        };
        Verdict {
            level: level.filter(|_| pressed),
            clear: f.service_level >= floor + self.margin / 2.0,
            badness: -f.service_level,
        }
    }

    pub fn describe(&self, queue: &str, f: Option<&Forecast>) -> Detail {
        let Some(f) = f else {
            return Detail {
                title: Said::new(
                    format!("{queue}: no prediction (no staffing reading or no traffic)"),
                    format!("{queue}：无法预测（没有人力读数或没有话务）"),
                ),
                summary: format!(
                    "{queue}: the service level cannot be predicted without a fresh reading of the agents staffed and some traffic"
                ),
                ..Detail::default()
            };
        };
        let x = &f.inputs;
        let pct = words::percent;
        let usual = x
            .usual_per_s
            .map(|u| format!(", usually {:.0}/h", u * 3600.0))
            .unwrap_or_default();
        Detail {
            figures: Figures(vec![
                (PEAK, round(f.service_level)),
                ("arrivals_per_hour", round(x.arrivals_per_s * 3600.0)),
                ("aht_s", round(x.aht_s)),
                ("patience_s", round(x.patience_s)),
                ("agents", f64::from(x.agents)),
                ("waiting", f64::from(x.waiting)),
                ("target", x.target),
            ]),
            title: Said::new(
                format!(
                    "{queue}: service level heading for {} in the next {} (target {})",
                    pct(f.service_level),
                    format_duration(self.horizon),
                    pct(x.target)
                ),
                format!(
                    "{queue}：预计未来{}服务水平降到 {}（目标 {}）",
                    words::duration(self.horizon, Language::Chinese),
                    pct(f.service_level),
                    pct(x.target)
                ),
            ),
            summary: format!(
                "{queue}: {} expected over the next {} by Erlang A, target {} (fires below {}): {} agents, {} waiting, {:.0} arrivals/h (over the window {:.0}/h{usual}), handle time {:.0}s, patience {:.0}s",
                pct(f.service_level),
                format_duration(self.horizon),
                pct(x.target),
                pct(x.target - self.margin),
                x.agents,
                x.waiting,
                x.arrivals_per_s * 3600.0,
                x.recent_per_s * 3600.0,
                x.aht_s,
                x.patience_s,
            ),
        }
    }
}

/// The share of contacts arriving over the next `horizon_s` that are answered within the
/// threshold, by Erlang A: the stationary distribution of contacts in the system (a birth-death
/// chain: arrivals at λ, service at μ per busy agent, giving up at θ per waiting caller), shifted
/// by the backlog above the usual queue that the contacts waiting now add, as it drains (a fluid
/// path: the spare agents and those giving up take it down). Each moment's arrivals are weighted
/// by their chance of being answered within T before giving up. O(states), so it can run every
/// few seconds on a queue of thousands of agents. `None` without handle time or traffic.
pub fn predict(x: &Inputs, horizon_s: f64) -> Option<f64> {
    if x.aht_s <= 0.0 || x.arrivals_per_s <= 0.0 || horizon_s <= 0.0 {
        return None;
    }
    if x.agents == 0 {
        return Some(0.0);
    }
    let n = x.agents as usize;
    let (lambda, mu) = (x.arrivals_per_s, 1.0 / x.aht_s);
    let theta = 1.0 / x.patience_s.max(1.0);
    let death = |k: usize| k.min(n) as f64 * mu + k.saturating_sub(n) as f64 * theta;
    // Room above the agents for the stationary queue (an overloaded queue settles where those
    // giving up balance the excess) and for the backlog now.
    let settled = ((lambda - n as f64 * mu) / theta).max(0.0);
    let room = (6.0 * (n as f64).sqrt() + 2.0 * settled).ceil() as usize + 30;
    let k_max = n + room.min(20_000);
    let answered = answered_within(n, mu, theta, x.threshold_s, k_max);
    // Stationary distribution, built out from its mode (where arrivals stop outpacing
    // departures) so every product stays at most 1: no overflow over thousands of states.
    let mode = (1..=k_max)
        .find(|&k| lambda < death(k))
        .map_or(k_max, |k| k - 1);
    let mut pi = vec![0.0; k_max + 1];
    pi[mode] = 1.0;
    for k in mode + 1..=k_max {
        pi[k] = pi[k - 1] * lambda / death(k);
    }
    for k in (0..mode).rev() {
        pi[k] = pi[k + 1] * death(k + 1) / lambda;
    }
    let total: f64 = pi.iter().sum();
    let queue_now = x.in_system.saturating_sub(x.agents) as f64;
    let queue_usual: f64 = pi
        .iter()
        .enumerate()
        .map(|(k, p)| p * k.saturating_sub(n) as f64)
        .sum::<f64>()
        / total;
    // The backlog above the usual queue drains by the spare agents' capacity and by callers
    // giving up: e' = -(spare + θ e).
    let spare = (n as f64 * mu - lambda).max(0.0);
    let excess0 = (queue_now - queue_usual).max(0.0);
    let excess = |t: f64| ((excess0 + spare / theta) * (-theta * t).exp() - spare / theta).max(0.0);
    // Without a backlog above the usual, the stationary answer holds for the whole horizon.
    let samples = if excess0 > 0.0 { 12 } else { 1 };
    let mut sum = 0.0;
    for i in 0..samples {
        let t = (i as f64 + 0.5) / samples as f64 * horizon_s;
        let shift = excess(t).round() as usize;
        let sl: f64 = pi
            .iter()
            .enumerate()
            .map(|(k, p)| p * answered[(k + shift).min(k_max)])
            .sum::<f64>()
            / total;
        sum += sl;
    }
    Some((sum / samples as f64).clamp(0.0, 1.0))
}

/// Per state k (contacts in the system found on arrival): the chance of being answered within
/// `t_s` before giving up. Below `n` an agent is free; at queue position j the caller moves up
/// when an agent frees (nμ) or one ahead gives up ((j-1)θ), and gives up at θ.
fn answered_within(n: usize, mu: f64, theta: f64, t_s: f64, k_max: usize) -> Vec<f64> {
    let rate = |j: usize| n as f64 * mu + (j as f64 - 1.0) * theta;
    // Positions from which the front is within reach: the expected time to move up from them
    // is under twice T (beyond, the chance of being answered in time is nil).
    let mut reach = 0.0;
    let positions = (1..=k_max + 1 - n)
        .take_while(|&j| {
            reach += 1.0 / rate(j);
            reach < 2.0 * t_s + 1.0
        })
        .count()
        .max(1);
    // Euler steps: stable while a step's total rate stays below 1.
    let steps = ((t_s * (rate(positions) + theta) / 0.8).ceil() as usize).clamp(20, 20_000);
    let dt = t_s / steps as f64;
    // u[j]: answered within the time left from position j; u[0] = 1 (being answered).
    let mut u = vec![0.0; positions + 1];
    u[0] = 1.0;
    for _ in 0..steps {
        // Descending, so u[j - 1] is still the previous step's value.
        for j in (1..=positions).rev() {
            u[j] += dt * (rate(j) * (u[j - 1] - u[j]) - theta * u[j]);
        }
    }
    (0..=k_max)
        .map(|k| match k.checked_sub(n) {
            None => 1.0,
            Some(q) => u.get(q + 1).copied().unwrap_or(0.0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(per_hour: f64, agents: u32, in_system: u32) -> Inputs {
        Inputs {
            arrivals_per_s: per_hour / 3600.0,
            recent_per_s: per_hour / 3600.0,
            usual_per_s: None,
            aht_s: 180.0,
            patience_s: 150.0,
            agents,
            in_system,
            free_agents: agents.saturating_sub(in_system),
            waiting: in_system.saturating_sub(agents),
            threshold_s: 20.0,
            target: 0.8,
        }
    }

    #[test]
    fn staffed_to_demand_meets_the_target_short_staffed_does_not() {
        // 900 calls/h of 3 minutes: 45 erlangs. 52 agents meet 80/20 comfortably.
        let good = predict(&inputs(900.0, 52, 45), 900.0).unwrap();
        assert!(good > 0.85, "{good}");
        // Lose a third of them with demand unchanged: the service level collapses.
        let short = predict(&inputs(900.0, 34, 34), 900.0).unwrap();
        assert!(short < 0.4, "{short}");
        // A planned shift change: agents and demand fall together; still about the target.
        let shift = predict(&inputs(540.0, 32, 27), 900.0).unwrap();
        assert!(shift > 0.75, "{shift}");
        // Thousands of agents: as cheap (the engine bench's centre is forty times this one).
        let big = predict(&inputs(36_000.0, 2_000, 1_800), 900.0).unwrap();
        assert!(big > 0.85, "{big}");
        // A backlog now drags the next minutes down even with enough agents.
        let backlog = predict(&inputs(900.0, 52, 52 + 60), 300.0).unwrap();
        assert!(backlog < good - 0.2, "{backlog} vs {good}");
        assert_eq!(predict(&inputs(900.0, 0, 10), 900.0), Some(0.0));
        assert_eq!(predict(&inputs(0.0, 10, 0), 900.0), None);
    }

    #[test]
    fn fires_below_the_margin_and_says_why() {
        let rule = ForecastRule {
            horizon: 15 * 60_000,
            margin: 0.05,
            severity: Severity::Warning,
            critical_margin: None,
        };
        let f = rule.forecast(inputs(900.0, 34, 34)).unwrap();
        assert_eq!(rule.judge(Some(&f)).level, Some(Severity::Warning));
        let d = rule.describe("phone-general", Some(&f));
        assert!(
            d.title
                .en
                .starts_with("phone-general: service level heading for")
                && d.title.en.ends_with("in the next 15m (target 80%)"),
            "{}",
            d.title.en
        );
        assert!(
            d.title
                .zh
                .starts_with("phone-general：预计未来15分钟服务水平降到")
                && d.title.zh.ends_with("（目标 80%）"),
            "{}",
            d.title.zh
        );
        assert!(d.summary.contains("34 agents"), "{}", d.summary);
        let fine = rule.forecast(inputs(900.0, 52, 45)).unwrap();
        let v = rule.judge(Some(&fine));
        assert!(v.level.is_none() && v.clear);
        assert!(rule.judge(None).clear);
        let collapsing = ForecastRule {
            critical_margin: Some(0.3),
            ..rule.clone()
        };
        assert_eq!(collapsing.judge(Some(&f)).level, Some(Severity::Critical));
        // The model says trouble, but agents sit free and nobody waits: not yet.
        let calm = rule.forecast(inputs(900.0, 34, 30)).unwrap();
        assert!(calm.service_level < 0.75);
        assert_eq!(rule.judge(Some(&calm)).level, None);
    }
}
