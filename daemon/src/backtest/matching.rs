//! Matching page decisions against labels, and the summary figures: recall, delay per class,
//! false pages, pages on hard negatives.
//!
//! The rules, kept simple:
//! - a page decision matches an `expect = "page"` label when its time is in
//!   [from, to + 30 min] and its scope is one of the label's (`Label::covers_scope`: equal, or
//!   a complaint group of it; any scope when the label names none). For a `complaints` label,
//!   only complaint rules count, and the overall complaint group (`complaints`) counts too;
//! - the label is caught by its first matching decision; the delay runs from `from`;
//! - an `expect = "quiet"` label is breached by every decision in [from, to] on its scopes;
//! - a false page is a decision that matches no `page` label.

use serde::Serialize;

use super::{Count, PageDecision, counts};
use crate::config::Millis;
use crate::sim::{Class, Expect, Label};

/// How long after a crisis label's end a page still counts as caused by it.
pub const GRACE: Millis = 30 * 60_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelOutcome {
    /// The label judged (its fields sit beside the outcome's in the JSON).
    #[serde(flatten)]
    pub label: Label,
    /// Page decisions that match it (crisis) or breach it (hard negative).
    pub page_decisions: usize,
    /// A crisis: caught, and how long after `from` the first page came.
    pub caught: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_s: Option<f64>,
    /// The first page: `rule on scope`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_page: Option<String>,
    pub by_target: Vec<Count>,
    pub by_rule: Vec<Count>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassDelay {
    pub class: Class,
    pub target_s: f64,
    pub crises: usize,
    pub caught: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_delay_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelSummary {
    pub crises: usize,
    pub caught: usize,
    /// caught / crises; none without crisis labels.
    pub recall: Option<f64>,
    pub delays: Vec<ClassDelay>,
    pub false_pages: usize,
    pub false_pages_per_queue_week: f64,
    /// Page decisions inside a hard negative's span, on its scopes.
    pub hard_negative_pages: usize,
    pub outcomes: Vec<LabelOutcome>,
    /// The false pages by rule, noisiest first.
    pub false_by_rule: Vec<Count>,
}

fn matches_crisis(l: &Label, p: &PageDecision) -> bool {
    let t = p.at_ms();
    if t < l.from_ms() || t > l.to_ms() + GRACE {
        return false;
    }
    match l.class {
        Class::Complaints => {
            p.is_complaint() && (p.scope == "complaints" || l.covers_scope(&p.scope))
        }
        _ => l.covers_scope(&p.scope),
    }
}

fn breaches_quiet(l: &Label, p: &PageDecision) -> bool {
    (l.from_ms()..=l.to_ms()).contains(&p.at_ms()) && l.covers_scope(&p.scope)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Matches `pages` (in time order) against `labels`; `queue_weeks` scales the false pages.
pub fn match_labels(labels: &[Label], pages: &[PageDecision], queue_weeks: f64) -> LabelSummary {
    let mut outcomes = Vec::new();
    let mut explained = vec![false; pages.len()];
    let mut on_quiet = vec![false; pages.len()];
    for l in labels {
        let hit: Vec<usize> = (0..pages.len())
            .filter(|&i| match l.expect {
                Expect::Page => matches_crisis(l, &pages[i]),
                Expect::Quiet => breaches_quiet(l, &pages[i]),
            })
            .collect();
        for &i in &hit {
            match l.expect {
                Expect::Page => explained[i] = true,
                Expect::Quiet => on_quiet[i] = true,
            }
        }
        let first = hit.first().map(|&i| &pages[i]);
        let caught = l.expect == Expect::Page && first.is_some();
        outcomes.push(LabelOutcome {
            label: l.clone(),
            page_decisions: hit.len(),
            caught,
            delay_s: first
                .filter(|_| caught)
                .map(|p| (p.at_ms() - l.from_ms()) as f64 / 1000.0),
            first_page: first.map(|p| format!("{} on {}", p.rule, p.scope)),
            by_target: counts(
                hit.iter()
                    .flat_map(|&i| pages[i].targets.iter().map(String::as_str)),
            ),
            by_rule: counts(hit.iter().map(|&i| pages[i].rule.as_str())),
        });
    }
    let crises: Vec<&LabelOutcome> = outcomes
        .iter()
        .filter(|o| o.label.expect == Expect::Page)
        .collect();
    let caught = crises.iter().filter(|o| o.caught).count();
    let delays = Class::ALL
        .into_iter()
        .filter_map(|class| {
            let of: Vec<&&LabelOutcome> =
                crises.iter().filter(|o| o.label.class == class).collect();
            (!of.is_empty()).then(|| ClassDelay {
                class,
                target_s: class.delay_target() as f64 / 1000.0,
                crises: of.len(),
                caught: of.iter().filter(|o| o.caught).count(),
                median_delay_s: median(of.iter().filter_map(|o| o.delay_s).collect()),
            })
        })
        .collect();
    let false_idx: Vec<usize> = (0..pages.len()).filter(|&i| !explained[i]).collect();
    LabelSummary {
        crises: crises.len(),
        caught,
        recall: (!crises.is_empty()).then(|| caught as f64 / crises.len() as f64),
        delays,
        false_pages: false_idx.len(),
        false_pages_per_queue_week: if queue_weeks > 0.0 {
            false_idx.len() as f64 / queue_weeks
        } else {
            0.0
        },
        hard_negative_pages: on_quiet.iter().filter(|q| **q).count(),
        false_by_rule: counts(false_idx.iter().map(|&i| pages[i].rule.as_str())),
        outcomes,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use floorwatch_protocol::Severity;

    use super::*;
    use crate::sim::Kind;

    const T: Millis = 1_795_424_400_000;
    const MIN: Millis = 60_000;

    fn ts(t: Millis) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(t).unwrap()
    }

    fn page(at: Millis, rule: &str, kind: &str, scope: &str) -> PageDecision {
        PageDecision {
            at: ts(at),
            incident: at as u64,
            rule: rule.into(),
            kind: kind.into(),
            scope: scope.into(),
            severity: Severity::Critical,
            reason: "opened",
            targets: vec!["webhook:floor-chat".into(), "oncall:duty-managers".into()],
            key: (0, 0),
        }
    }

    fn label(name: &str, kind: Kind, from: Millis, to: Millis, scopes: &[&str]) -> Label {
        Label {
            name: name.into(),
            kind,
            class: kind.class(),
            expect: kind.expect(),
            from: ts(from),
            to: ts(to),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn crises_are_caught_on_their_scopes_within_the_grace() {
        let labels = [
            label(
                "drop",
                Kind::StaffingDrop,
                T,
                T + 60 * MIN,
                &["phone-general"],
            ),
            label(
                "wave",
                Kind::ComplaintWave,
                T + 120 * MIN,
                T + 160 * MIN,
                &["billing"],
            ),
            label(
                "mail",
                Kind::EmailBacklog,
                T + 300 * MIN,
                T + 400 * MIN,
                &["email-support"],
            ),
        ];
        let pages = [
            // Another queue during the drop: false.
            page(
                T + 2 * MIN,
                "service-level",
                "service_level",
                "phone-billing",
            ),
            page(T + 5 * MIN, "understaffed", "metric", "phone-general"),
            // Within the 30-minute grace after the drop: still the drop's.
            page(
                T + 85 * MIN,
                "service-level",
                "service_level",
                "phone-general",
            ),
            // A queue rule on the category's name is no complaint page.
            page(T + 125 * MIN, "queue-depth", "queue_depth", "billing"),
            page(
                T + 130 * MIN,
                "by-category",
                "complaint_spike",
                "category:billing",
            ),
            // Past the grace: false.
            page(
                T + 200 * MIN,
                "by-category",
                "complaint_spike",
                "category:billing",
            ),
        ];
        let s = match_labels(&labels, &pages, 4.0);
        assert_eq!((s.crises, s.caught), (3, 2));
        assert_eq!(s.recall, Some(2.0 / 3.0));
        let o = &s.outcomes;
        assert_eq!(o[0].delay_s, Some(300.0));
        assert_eq!(o[0].page_decisions, 2);
        assert_eq!(o[0].by_target[0].pages, 2);
        assert_eq!(o[1].delay_s, Some(600.0));
        assert_eq!(
            o[1].first_page.as_deref(),
            Some("by-category on category:billing")
        );
        assert!(!o[2].caught);
        assert_eq!(s.false_pages, 3);
        assert_eq!(s.false_pages_per_queue_week, 0.75);
        let q = s.delays.iter().find(|d| d.class == Class::Queue).unwrap();
        assert_eq!((q.crises, q.caught, q.median_delay_s), (1, 1, Some(300.0)));
        let e = s.delays.iter().find(|d| d.class == Class::Email).unwrap();
        assert_eq!((e.caught, e.median_delay_s), (0, None));
    }

    #[test]
    fn hard_negatives_count_pages_inside_their_span_on_their_scopes() {
        let labels = [
            label(
                "campaign",
                Kind::Campaign,
                T,
                T + 60 * MIN,
                &["phone-general"],
            ),
            label("night", Kind::QuietNight, T + 600 * MIN, T + 960 * MIN, &[]),
        ];
        let pages = [
            page(T + 10 * MIN, "depth", "queue_depth", "phone-general"),
            page(T + 20 * MIN, "depth", "queue_depth", "phone-billing"),
            page(T + 61 * MIN, "depth", "queue_depth", "phone-general"),
            page(T + 700 * MIN, "overdue", "complaint_deadline", "complaints"),
        ];
        let s = match_labels(&labels, &pages, 1.0);
        assert_eq!(s.recall, None);
        assert_eq!(s.hard_negative_pages, 2);
        assert_eq!(s.outcomes[0].page_decisions, 1);
        assert_eq!(s.outcomes[1].page_decisions, 1);
        assert!(!s.outcomes[0].caught);
        // No crisis label: every page is false.
        assert_eq!(s.false_pages, 4);
        assert_eq!(median(vec![3.0, 1.0, 2.0, 10.0]), Some(2.5));
    }
}
