//! `floorwatch backtest`: how many pages a configuration sends over a recorded trace, and, with
//! labels (`sim::labels`), which crises it caught, how fast, and how often it paged for nothing.
//!
//! A page is one `Effect::Dispatch` whose reason is opened, escalated or raised (a resolve
//! message is not a page). The pages decided together (one incident, one timeline entry, to
//! every target of its level) are one page decision: what a person lives through as one page,
//! and the headline figure. Its time is the engine's time when it was decided (to the event).
//! Nobody acknowledges in a backtest: an incident that lasts climbs and repeats its escalation
//! policy, and each climb is a page decision. Drills (`[[drill]]` crons) are counted apart.

mod matching;
mod report;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use floorwatch_protocol::{Severity, TimelineKind};
use serde::Serialize;

use crate::config::{Config, Millis};
use crate::engine::{DispatchReason, Effect};
use crate::ingest::replay::replay_texts;
use crate::sim::Labels;
pub use matching::{LabelOutcome, LabelSummary, match_labels};
pub use report::markdown;

/// One page decision: an incident paged (opened, escalated or raised) to one or more targets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageDecision {
    pub at: DateTime<Utc>,
    pub incident: u64,
    pub rule: String,
    /// The rule's kind (queue_depth, complaint_spike, ...).
    pub kind: String,
    /// A queue, or a complaint group such as `category:billing`.
    pub scope: String,
    pub severity: Severity,
    pub reason: &'static str,
    pub targets: Vec<String>,
    /// The decision (incident, timeline entry) it was.
    #[serde(skip)]
    key: (u64, u32),
}

impl PageDecision {
    pub fn at_ms(&self) -> Millis {
        self.at.timestamp_millis()
    }

    /// A complaint rule's page (spike or deadline).
    pub fn is_complaint(&self) -> bool {
        self.kind.starts_with("complaint")
    }
}

/// Gathers the page decisions and opened incidents out of an engine's effects.
#[derive(Debug, Default)]
pub struct Collector {
    pub pages: Vec<PageDecision>,
    pub opened: usize,
    /// Every incident as it opened (warnings too), for lead times.
    pub openings: Vec<Opening>,
    /// Page decisions of drills, kept out of the figures.
    pub drill_pages: usize,
}

impl Collector {
    pub fn take(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        for f in fx.drain(..) {
            match f {
                Effect::Timeline(e) if e.kind == TimelineKind::Opened => self.opened += 1,
                Effect::Incident(i) if self.openings.last().is_none_or(|o| o.incident < i.id) => {
                    self.openings.push(Opening {
                        at: i.opened_at,
                        incident: i.id,
                        rule: i.rule.clone(),
                        kind: i.kind.clone(),
                        scope: i.scope.clone(),
                    })
                }
                Effect::Dispatch(d) if d.reason != DispatchReason::Resolved => {
                    // One decision, whatever its targets.
                    let key = d.key.decision();
                    if d.incident.drill {
                        // The first target of each decision counts it.
                        self.drill_pages += usize::from(d.key.index == 0);
                        continue;
                    }
                    match self.pages.last_mut() {
                        Some(last) if last.key == key => last.targets.push(d.target.to_string()),
                        _ => self.pages.push(PageDecision {
                            at: DateTime::from_timestamp_millis(now).unwrap_or_default(),
                            incident: d.incident.id,
                            rule: d.incident.rule.clone(),
                            kind: d.incident.kind.clone(),
                            scope: d.incident.scope.clone(),
                            severity: d.incident.severity,
                            reason: d.reason.as_str(),
                            targets: vec![d.target.to_string()],
                            key,
                        }),
                    }
                }
                _ => {}
            }
        }
    }
}

/// An incident as it opened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Opening {
    pub at: DateTime<Utc>,
    pub incident: u64,
    pub rule: String,
    pub kind: String,
    pub scope: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Count {
    pub name: String,
    pub pages: usize,
}

/// Counts by name, noisiest first (then by name).
pub fn counts<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<Count> {
    let mut m: BTreeMap<&str, usize> = BTreeMap::new();
    for n in names {
        *m.entry(n).or_default() += 1;
    }
    let mut v: Vec<Count> = m
        .into_iter()
        .map(|(name, pages)| Count {
            name: name.to_string(),
            pages,
        })
        .collect();
    v.sort_by(|a, b| b.pages.cmp(&a.pages).then_with(|| a.name.cmp(&b.name)));
    v
}

/// What a backtest found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The trace (or data dir) replayed.
    pub source: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub days: f64,
    pub events: usize,
    pub accepted: u64,
    pub duplicates: u64,
    pub refused: usize,
    /// The first refusals, `line N: why`.
    pub refusals: Vec<String>,
    pub replay_secs: f64,
    pub events_per_s: f64,
    pub incidents_opened: usize,
    /// The headline: pages as a person lives them.
    pub page_decisions: usize,
    /// Distinct incidents paged at least once.
    pub incidents_paged: usize,
    /// Page decisions of drills (not in the other figures).
    pub drill_pages: usize,
    /// Every incident as it opened, in order (not in the JSON: the pages are the report).
    #[serde(skip)]
    pub openings: Vec<Opening>,
    /// Pages counted per target (a decision to three targets is three).
    pub pages: usize,
    /// Page decisions at crisis severity.
    pub crisis_pages: usize,
    /// Queues seen in the trace.
    pub queues: usize,
    pub pages_per_queue_week: f64,
    pub by_rule: Vec<Count>,
    pub by_scope: Vec<Count>,
    /// By local day (the configuration's time zone).
    pub by_day: Vec<Count>,
    pub by_target: Vec<Count>,
    /// With labels: crises caught and missed, hard negatives, false pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<LabelSummary>,
    pub decisions: Vec<PageDecision>,
}

impl Report {
    /// Queue-weeks of the trace: queues seen x its length in weeks.
    pub fn queue_weeks(&self) -> f64 {
        self.queues as f64 * self.days / 7.0
    }
}

/// Replays `texts` (NDJSON, in order) through `cfg` as fast as it goes and reports its pages,
/// matched against `labels` when given. `None` when the texts hold no valid event.
pub fn backtest<S: AsRef<str>>(
    cfg: &Arc<Config>,
    texts: &[S],
    labels: Option<&Labels>,
    source: &str,
) -> Option<Report> {
    let mut c = Collector::default();
    let done = replay_texts(cfg, texts, None, |now, fx| c.take(now, fx))?;
    let r = &done.replay.report;
    let days = (done.to - done.from).max(1) as f64 / 86_400_000.0;
    let queues = done.engine.snapshot().queues.len();
    let pages = c.pages;
    let tz = cfg.daemon.timezone;
    let day = |p: &PageDecision| p.at.with_timezone(&tz).format("%Y-%m-%d %a").to_string();
    let days_named: Vec<String> = pages.iter().map(day).collect();
    let mut by_day = counts(days_named.iter().map(String::as_str));
    by_day.sort_by(|a, b| a.name.cmp(&b.name));
    let queue_weeks = queues as f64 * days / 7.0;
    let per_queue_week = |n: usize| {
        if queue_weeks > 0.0 {
            n as f64 / queue_weeks
        } else {
            0.0
        }
    };
    let labels = labels.map(|l| match_labels(&l.labels, &pages, queue_weeks));
    Some(Report {
        source: source.to_string(),
        from: DateTime::from_timestamp_millis(done.from).unwrap_or_default(),
        to: DateTime::from_timestamp_millis(done.to).unwrap_or_default(),
        days,
        events: done.events,
        accepted: r.accepted,
        duplicates: r.duplicates,
        refused: r.refused.len(),
        refusals: r
            .refused
            .iter()
            .take(10)
            .map(|x| format!("line {}: {}", x.line, x.error))
            .collect(),
        replay_secs: done.secs,
        events_per_s: done.events as f64 / done.secs.max(1e-9),
        incidents_opened: c.opened,
        page_decisions: pages.len(),
        incidents_paged: pages
            .iter()
            .map(|p| p.incident)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        drill_pages: c.drill_pages,
        openings: c.openings,
        pages: pages.iter().map(|p| p.targets.len()).sum(),
        crisis_pages: pages
            .iter()
            .filter(|p| p.severity == Severity::Crisis)
            .count(),
        queues,
        pages_per_queue_week: per_queue_week(pages.len()),
        by_rule: counts(pages.iter().map(|p| p.rule.as_str())),
        by_scope: counts(pages.iter().map(|p| p.scope.as_str())),
        by_day,
        by_target: counts(
            pages
                .iter()
                .flat_map(|p| p.targets.iter().map(String::as_str)),
        ),
        labels,
        decisions: pages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_noisiest_first() {
        let c = counts(["b", "a", "b", "c", "a", "b"]);
        let names: Vec<_> = c.iter().map(|c| (c.name.as_str(), c.pages)).collect();
        assert_eq!(names, [("b", 3), ("a", 2), ("c", 1)]);
    }

    #[test]
    fn an_outage_pages_and_is_caught() {
        let cfg = Arc::new(
            crate::config::parse_config(crate::config::EMBEDDED, "alerts.toml", None).unwrap(),
        );
        let s = crate::sim::Scenario::outage_demo(1_795_424_400_000, 3);
        let text = crate::sim::to_ndjson(&crate::sim::simulate(&s));
        let labels = s.labels();
        let r = backtest(&cfg, &[text], Some(&labels), "demo").unwrap();
        assert_eq!(r.refused, 0, "{:?}", r.refusals);
        assert!(r.page_decisions > 0);
        assert!(r.pages >= r.page_decisions);
        let l = r.labels.unwrap();
        assert_eq!(l.caught, 2, "{:#?}", l.outcomes);
        assert_eq!(l.recall, Some(1.0));
    }

    #[test]
    fn drills_are_counted_apart() {
        let cfg = Arc::new(
            crate::config::parse_config(crate::config::EMBEDDED, "alerts.toml", None).unwrap(),
        );
        let mut e = crate::engine::Engine::new(cfg, 1_795_424_400_000);
        let mut fx = Vec::new();
        e.start_drill("carrier-outage", "test", &mut fx).unwrap();
        let mut c = Collector::default();
        c.take(e.now(), &mut fx);
        assert_eq!((c.pages.len(), c.drill_pages), (0, 1), "{:?}", c.pages);
    }
}
