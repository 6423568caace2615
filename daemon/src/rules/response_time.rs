//! `response_time` rules: breaches of a per-contact response clock (first, next, follow-up),
//! counted over a window, and contacts approaching breach at once.

use floorwatch_protocol::{Language, Priority, Severity};

use super::{Context, KindSpec, RuleKind, Verdict};
use crate::config::parse::{Cx, Tab};
use crate::config::{Clock, Millis, format_duration};
use crate::engine::{Detail, Figures};
use crate::words::{self, Said};

#[derive(Debug, Clone)]
pub struct ResponseRule {
    pub clock: Clock,
    /// Priorities watched; empty means all.
    pub priorities: Vec<Priority>,
    /// Breaches are counted over this window.
    pub window: Millis,
    /// This many breaches in the window fire at `severity`.
    pub breaches: u32,
    /// This many contacts approaching breach at once fire a warning (if set).
    pub approaching: Option<u32>,
    pub severity: Severity,
}

pub(crate) const SPEC: KindSpec = KindSpec {
    name: "response_time",
    keys: &[&[
        "clock",
        "priorities",
        "window",
        "breaches",
        "approaching",
        "severity",
    ]],
    parse,
};

/// The figure a restored incident's peak is read from.
pub const PEAK: &str = "breaches";

fn parse(cx: &mut Cx, tab: &Tab, _: &Context) -> Option<RuleKind> {
    cx.required(tab, "clock");
    let clock = cx.word(tab, "clock", Clock::parse, "first, next, follow_up");
    Some(RuleKind::ResponseTime(ResponseRule {
        clock: clock.unwrap_or(Clock::First),
        priorities: cx.words(tab, "priorities", Priority::parse, &Priority::expected()),
        window: cx.duration(tab, "window").unwrap_or(15 * 60_000),
        breaches: cx.count(tab, "breaches").unwrap_or(1).max(1) as u32,
        approaching: cx.count(tab, "approaching").map(|n| n.max(1) as u32),
        severity: super::severity(cx, tab, Severity::Critical),
    }))
}

impl ResponseRule {
    /// Whether a contact of this priority on this clock counts for the rule.
    pub fn watches(&self, clock: Clock, priority: Priority) -> bool {
        self.clock == clock && (self.priorities.is_empty() || self.priorities.contains(&priority))
    }

    /// `n` breaches in the window and `approaching` contacts near breach.
    pub fn judge(&self, n: u32, approaching: u32) -> Verdict {
        let level = if n >= self.breaches {
            Some(self.severity)
        } else if self.approaching.is_some_and(|m| approaching >= m) {
            Some(Severity::Warning)
        } else {
            None
        };
        Verdict {
            level,
            clear: n == 0 && self.approaching.is_none_or(|m| approaching < m),
            badness: f64::from(n) + f64::from(approaching) / 1000.0,
        }
    }

    pub fn describe(&self, queue: &str, n: u32, approaching: u32) -> Detail {
        let zh = Language::Chinese;
        let title = if n >= self.breaches || approaching == 0 {
            Said::new(
                format!(
                    "{queue}: {n} {}s late in {}",
                    self.clock.describe(),
                    format_duration(self.window)
                ),
                format!(
                    "{queue}：{}内 {n} 个{}超时",
                    words::duration(self.window, zh),
                    words::clock(self.clock, zh)
                ),
            )
        } else {
            Said::new(
                format!(
                    "{queue}: {approaching} contacts about to miss the {} limit",
                    self.clock.describe()
                ),
                format!(
                    "{queue}：{approaching} 个联系即将超出{}时限",
                    words::clock(self.clock, zh)
                ),
            )
        };
        Detail {
            figures: Figures(vec![
                (PEAK, f64::from(n)),
                ("approaching", f64::from(approaching)),
            ]),
            title,
            summary: format!(
                "{queue}: {n} {} breaches in {} ({} fire it); {approaching} contacts approaching breach",
                self.clock.describe(),
                format_duration(self.window),
                self.breaches,
            ),
        }
    }
}
