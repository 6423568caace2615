//! `complaint_deadline` rules: complaints of some grades still open past their handling deadline
//! (from `[complaints.deadlines]`, or the rule's own `deadline`).

use floorwatch_protocol::{Grade, Severity};

use super::{Context, KindSpec, RuleKind, Verdict};
use crate::config::Millis;
use crate::config::parse::{Cx, Tab};
use crate::engine::{Detail, Figures};
use crate::words::{self, Said};

#[derive(Debug, Clone)]
pub struct DeadlineRule {
    /// Grades watched; empty means all.
    pub grades: Vec<Grade>,
    /// Replaces the grade's deadline from `[complaints]` for this rule.
    pub deadline: Option<Millis>,
    pub severity: Severity,
}

pub(crate) const SPEC: KindSpec = KindSpec {
    name: "complaint_deadline",
    keys: &[&["grades", "deadline", "severity"]],
    parse,
};

/// The figure a restored incident's peak is read from.
pub const PEAK: &str = "overdue";

fn parse(cx: &mut Cx, tab: &Tab, _: &Context) -> Option<RuleKind> {
    Some(RuleKind::ComplaintDeadline(DeadlineRule {
        grades: cx.words(tab, "grades", Grade::parse, &Grade::expected()),
        deadline: cx.duration(tab, "deadline"),
        severity: super::severity(cx, tab, Severity::Critical),
    }))
}

impl DeadlineRule {
    pub fn watches(&self, grade: Grade) -> bool {
        self.grades.is_empty() || self.grades.contains(&grade)
    }

    /// `n` complaints past their deadline.
    pub fn judge(&self, n: u32) -> Verdict {
        Verdict {
            level: (n > 0).then_some(self.severity),
            clear: n == 0,
            badness: f64::from(n),
        }
    }

    pub fn describe(&self, n: u32) -> Detail {
        let what = if self.grades.is_empty() {
            "complaints".to_string()
        } else {
            let g: Vec<_> = self.grades.iter().map(|g| g.as_str()).collect();
            format!("{} complaints", g.join("/"))
        };
        let what_zh: Vec<_> = self.grades.iter().map(|g| words::grade_zh(*g)).collect();
        let summary = format!("{n} {what} past their handling deadline");
        Detail {
            figures: Figures(vec![(PEAK, f64::from(n))]),
            title: Said::new(
                summary.clone(),
                format!("{n} 件{}投诉已过处理时限", what_zh.join("/")),
            ),
            summary,
        }
    }
}
