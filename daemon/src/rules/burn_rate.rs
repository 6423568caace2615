//! `burn_rate` rules: a service standard judged over the budget it allows, not sample by
//! sample (multiwindow, multi-burn-rate alerting as in Google's SRE workbook, "Alerting on
//! SLOs"). The error budget is `1 - target` of the contacts over a budget period (a shift, a
//! day): 80/20 lets one contact in five wait longer. The burn rate over a window is the share
//! of contacts that missed the standard divided by that budget; a tier fires when the burn rate
//! over both its long and its short window reaches its factor: the long window proves the
//! breach lasts, the short one that it is still going on (so it clears within minutes of
//! recovery). A momentary dip moves neither.

use floorwatch_protocol::{Language, Severity};

use super::{Context, KindSpec, RuleKind, Verdict};
use crate::config::parse::{Cx, Tab};
use crate::config::{Clock, Millis, format_duration};
use crate::engine::{Detail, Figures, round};
use crate::words::{self, Said};

/// A service standard contacts meet or miss one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standard {
    /// Answered within the queue's service-level threshold (by its formula).
    ServiceLevel,
    /// A response clock stopped within its limit.
    Clock(Clock),
}

impl Standard {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "service_level" => Some(Standard::ServiceLevel),
            _ => Clock::parse(s).map(Standard::Clock),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Standard::ServiceLevel => "service level",
            Standard::Clock(c) => c.describe(),
        }
    }
}

/// One severity's windows and factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tier {
    pub severity: Severity,
    pub long: Millis,
    pub short: Millis,
    /// Burn-rate factor both windows must reach.
    pub burn: f64,
}

#[derive(Debug, Clone)]
pub struct BurnRule {
    pub standard: Standard,
    /// The share of contacts that must meet the standard; `None`: the queue's service-level
    /// target.
    pub target: Option<f64>,
    pub budget_period: Millis,
    /// Worst severity first.
    pub tiers: Vec<Tier>,
    /// Fewer contacts than this in a tier's long window and it is not judged.
    pub min_volume: u32,
}

pub(crate) const SPEC: KindSpec = KindSpec {
    name: "burn_rate",
    keys: &[&[
        "standard",
        "target",
        "budget_period",
        "min_volume",
        "info",
        "warning",
        "critical",
        "crisis",
    ]],
    parse,
};

/// The figure a restored incident's peak is read from.
pub const PEAK: &str = "burn_rate";

/// A clock's target when the rule names none: nine contacts in ten within the limit.
const CLOCK_TARGET: f64 = 0.9;

fn parse(cx: &mut Cx, tab: &Tab, _: &Context) -> Option<RuleKind> {
    let standard = cx
        .word(
            tab,
            "standard",
            Standard::parse,
            "service_level, first, next, follow_up",
        )
        .unwrap_or(Standard::ServiceLevel);
    let target = cx.ratio(tab, "target");
    if let Some(t) = target
        && t >= 1.0
    {
        let span = tab.get("target").unwrap().span();
        cx.err(
            &span,
            format!(
                "{}: `target` must be below 1 (a target of 100% leaves no budget to burn)",
                tab.what
            ),
        );
    }
    let mut tiers = Vec::new();
    for severity in Severity::ALL.into_iter().rev() {
        let Some(t) = cx.sub_table(tab, severity.as_str(), &["long", "short", "burn"]) else {
            continue;
        };
        let long = cx.required(&t, "long").and(cx.duration(&t, "long"));
        let short = cx.required(&t, "short").and(cx.duration(&t, "short"));
        let burn = cx.required(&t, "burn").and(cx.number(&t, "burn"));
        let (Some(long), Some(short), Some((burn, span))) = (long, short, burn) else {
            continue;
        };
        if short > long {
            cx.err(
                &t.span,
                format!(
                    "{}: `short` ({}) must not be longer than `long` ({})",
                    t.what,
                    format_duration(short),
                    format_duration(long)
                ),
            );
        }
        if burn <= 0.0 {
            cx.err(
                &span,
                format!("{}: `burn` must be above 0, found {burn}", t.what),
            );
        }
        tiers.push(Tier {
            severity,
            long,
            short,
            burn,
        });
    }
    if tiers.is_empty() {
        cx.err(
            &tab.span,
            format!(
                "{} has no tiers: set at least one of info, warning, critical, crisis as {{ long = \"1h\", short = \"5m\", burn = 2.0 }}",
                tab.what
            ),
        );
    }
    Some(RuleKind::BurnRate(BurnRule {
        standard,
        target,
        budget_period: cx.duration(tab, "budget_period").unwrap_or(8 * 3_600_000),
        tiers,
        min_volume: cx.count(tab, "min_volume").unwrap_or(20) as u32,
    }))
}

/// Contacts that met and missed the standard over one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub met: u32,
    pub missed: u32,
}

impl Counts {
    pub fn total(self) -> u32 {
        self.met + self.missed
    }
    /// The burn rate: the share that missed, over the budget.
    fn burn(self, budget: f64) -> f64 {
        if self.total() == 0 {
            return 0.0;
        }
        f64::from(self.missed) / f64::from(self.total()) / budget
    }
}

/// The rule's reading of a queue: the counts over each tier's windows.
#[derive(Debug, Clone)]
pub struct Reading {
    pub target: f64,
    /// Per tier: (long window, short window).
    pub windows: Vec<(Counts, Counts)>,
}

impl BurnRule {
    /// The longest window the rule reads, for the queue's ledger.
    pub fn span(&self) -> Millis {
        self.tiers.iter().map(|t| t.long).max().unwrap_or(0)
    }

    /// The target in force: the rule's own, else the queue's service-level target (clocks: 90%).
    pub fn target(&self, queue_target: f64) -> f64 {
        self.target.unwrap_or(match self.standard {
            Standard::ServiceLevel => queue_target,
            Standard::Clock(_) => CLOCK_TARGET,
        })
    }

    /// `counts(window)`: met and missed over the window up to now.
    pub fn read(&self, queue_target: f64, counts: impl Fn(Millis) -> Counts) -> Reading {
        Reading {
            target: self.target(queue_target),
            windows: self
                .tiers
                .iter()
                .map(|t| (counts(t.long), counts(t.short)))
                .collect(),
        }
    }

    fn budget(r: &Reading) -> f64 {
        (1.0 - r.target).max(1e-6)
    }

    /// The worst tier whose windows both burn at its factor (and hold enough contacts).
    fn firing(&self, r: &Reading) -> Option<usize> {
        let budget = Self::budget(r);
        self.tiers.iter().zip(&r.windows).position(|(t, (l, s))| {
            l.total() >= self.min_volume
                && s.total() > 0
                && l.burn(budget) >= t.burn
                && s.burn(budget) >= t.burn
        })
    }

    pub fn judge(&self, r: &Reading) -> Verdict {
        let budget = Self::budget(r);
        let firing = self.firing(r);
        // Clear once the short window of the least tier is back under its factor.
        let clear = match (self.tiers.last(), r.windows.last()) {
            (Some(t), Some((_, s))) => firing.is_none() && s.burn(budget) < t.burn,
            _ => true,
        };
        Verdict {
            level: firing.map(|i| self.tiers[i].severity),
            clear,
            badness: r.windows.first().map_or(0.0, |(l, _)| l.burn(budget)),
        }
    }

    pub fn describe(&self, queue: &str, r: &Reading) -> Detail {
        let budget = Self::budget(r);
        let i = self.firing(r).unwrap_or(0);
        let (Some(t), Some((l, s))) = (self.tiers.get(i), r.windows.get(i)) else {
            return Detail::default();
        };
        let share = |c: &Counts| {
            if c.total() == 0 {
                "no contacts".to_string()
            } else {
                words::percent(f64::from(c.met) / f64::from(c.total()))
            }
        };
        let share_zh = |c: &Counts| {
            if c.total() == 0 {
                "无联系".to_string()
            } else {
                words::percent(f64::from(c.met) / f64::from(c.total()))
            }
        };
        let burn = l.burn(budget);
        let spent_in = if burn > 0.0 {
            format!(
                "; at this rate the {} budget is spent in {}",
                format_duration(self.budget_period),
                format_duration(
                    ((self.budget_period as f64 / burn / 60_000.0).round() as Millis).max(1)
                        * 60_000
                )
            )
        } else {
            String::new()
        };
        let zh = Language::Chinese;
        let title = match self.standard {
            Standard::ServiceLevel => Said::new(
                format!(
                    "{queue}: service level {} over {} (target {:.0}%)",
                    share(l),
                    format_duration(t.long),
                    r.target * 100.0
                ),
                format!(
                    "{queue}：近{}服务水平 {}（目标 {:.0}%）",
                    words::duration(t.long, zh),
                    share_zh(l),
                    r.target * 100.0
                ),
            ),
            Standard::Clock(c) => Said::new(
                format!(
                    "{queue}: {} of {}s in time over {} (target {:.0}%)",
                    share(l),
                    c.describe(),
                    format_duration(t.long),
                    r.target * 100.0
                ),
                format!(
                    "{queue}：近{}{}及时率 {}（目标 {:.0}%）",
                    words::duration(t.long, zh),
                    words::clock(c, zh),
                    share_zh(l),
                    r.target * 100.0
                ),
            ),
        };
        Detail {
            title,
            figures: Figures(vec![
                (PEAK, round(burn)),
                ("short_burn_rate", round(s.burn(budget))),
                (
                    "met_long",
                    round(f64::from(l.met) / f64::from(l.total().max(1))),
                ),
                (
                    "met_short",
                    round(f64::from(s.met) / f64::from(s.total().max(1))),
                ),
                ("target", r.target),
                ("contacts_long", f64::from(l.total())),
            ]),
            summary: format!(
                "{queue}: {} at {} over {} and {} over {}, target {:.0}%{spent_in}",
                self.standard.describe(),
                share(l),
                format_duration(t.long),
                share(s),
                format_duration(t.short),
                r.target * 100.0,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> BurnRule {
        BurnRule {
            standard: Standard::ServiceLevel,
            target: None,
            budget_period: 8 * 3_600_000,
            tiers: vec![
                Tier {
                    severity: Severity::Critical,
                    long: 3_600_000,
                    short: 300_000,
                    burn: 2.0,
                },
                Tier {
                    severity: Severity::Warning,
                    long: 1_800_000,
                    short: 300_000,
                    burn: 1.5,
                },
            ],
            min_volume: 20,
        }
    }

    fn counts(met: u32, missed: u32) -> Counts {
        Counts { met, missed }
    }

    #[test]
    fn both_windows_must_burn_and_a_dip_stays_quiet() {
        let r = rule();
        // 80/20: the budget is 20%. 50% missed over the hour and the last 5 min: burn 2.5.
        let reading = Reading {
            target: 0.8,
            windows: vec![
                (counts(50, 50), counts(5, 5)),
                (counts(25, 25), counts(5, 5)),
            ],
        };
        assert_eq!(r.judge(&reading).level, Some(Severity::Critical));
        // A five-minute dip inside a good hour: the short window burns, the long does not.
        let dip = Reading {
            target: 0.8,
            windows: vec![
                (counts(90, 10), counts(2, 8)),
                (counts(45, 10), counts(2, 8)),
            ],
        };
        let v = r.judge(&dip);
        assert_eq!(v.level, None);
        assert!(!v.clear, "the short window still burns: not yet clear");
        // Recovered: the long window still remembers, the short one is fine: it clears.
        let recovered = Reading {
            target: 0.8,
            windows: vec![
                (counts(50, 50), counts(10, 0)),
                (counts(25, 25), counts(10, 0)),
            ],
        };
        let v = r.judge(&recovered);
        assert_eq!(v.level, None);
        assert!(v.clear);
        // Too few contacts in the long window: not judged.
        let thin = Reading {
            target: 0.8,
            windows: vec![(counts(1, 9), counts(1, 9)), (counts(1, 9), counts(1, 9))],
        };
        assert_eq!(r.judge(&thin).level, None);
        // The warning tier alone.
        let warn = Reading {
            target: 0.8,
            windows: vec![
                (counts(70, 30), counts(7, 3)),
                (counts(30, 15), counts(6, 4)),
            ],
        };
        assert_eq!(r.judge(&warn).level, Some(Severity::Warning));
        let d = r.describe("phone-general", &reading);
        assert!(
            d.summary
                .starts_with("phone-general: service level at 50% over 1h and 50% over 5m, target 80%; at this rate the 8h budget is spent in 3h12m"),
            "{}",
            d.summary
        );
    }
}
