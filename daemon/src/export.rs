//! The post-crisis review document (复盘) of one incident, as JSON or Markdown: a summary, the
//! figures at open, peak and close, the chart of its scope's figures (the series in the JSON, a
//! link to the daemon's SVG in the Markdown), and the whole timeline.

use std::collections::BTreeSet;

use floorwatch_protocol::{
    Incident, IncidentChart, IncidentDetail, PageTarget, TimelineEntry, Values,
};
use serde::Serialize;

use crate::config::format_duration;

#[derive(Debug, Serialize)]
pub struct Review<'a> {
    pub incident: &'a Incident,
    pub summary: Summary,
    pub figures: Figures<'a>,
    /// The scope's figures across the incident's life, its events marked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<IncidentChart>,
    /// Where the daemon draws the chart as SVG, for the Markdown to link.
    #[serde(skip)]
    pub chart_url: Option<String>,
    pub timeline: &'a [TimelineEntry],
}

#[derive(Debug, Serialize)]
pub struct Summary {
    /// Seconds from opening to acknowledgement, if acknowledged.
    pub time_to_acknowledge_s: Option<f64>,
    /// Seconds from opening to resolution, if resolved.
    pub duration_s: Option<f64>,
    /// The people and tokens that acted (acknowledged, noted, resolved, started a drill).
    pub people: Vec<String>,
    /// The targets a page reached (delivered), apart from the people who acted.
    pub targets_reached: Vec<String>,
    pub notes: usize,
}

#[derive(Debug, Serialize)]
pub struct Figures<'a> {
    pub at_open: &'a Values,
    pub at_peak: &'a Values,
    pub at_close: Option<&'a Values>,
}

impl<'a> Review<'a> {
    /// The review of `d`, whose pages reached `reached` (targets of its delivered pages).
    pub fn of(d: &'a IncidentDetail, reached: impl IntoIterator<Item = PageTarget>) -> Self {
        let i = &d.incident;
        let secs = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| (t - i.opened_at).num_milliseconds() as f64 / 1000.0)
        };
        let people: BTreeSet<String> = d
            .timeline
            .iter()
            .filter(|e| !crate::engine::is_machine(&e.actor))
            .map(|e| e.actor.clone())
            .collect();
        Review {
            incident: i,
            summary: Summary {
                time_to_acknowledge_s: secs(i.acknowledged_at),
                duration_s: secs(i.resolved_at),
                people: people.into_iter().collect(),
                targets_reached: reached
                    .into_iter()
                    .map(|t| t.to_string())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                notes: d
                    .timeline
                    .iter()
                    .filter(|e| e.kind == floorwatch_protocol::TimelineKind::Note)
                    .count(),
            },
            figures: Figures {
                at_open: &i.values_at_open,
                at_peak: &i.values_at_peak,
                at_close: i.values_at_close.as_ref(),
            },
            chart: None,
            chart_url: None,
            timeline: &d.timeline,
        }
    }

    pub fn with_chart(mut self, chart: IncidentChart, svg_url: String) -> Self {
        self.chart = Some(chart);
        self.chart_url = Some(svg_url);
        self
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub fn markdown(r: &Review) -> String {
    let i = r.incident;
    let mut out = format!("# Incident #{}: {}\n\n", i.id, cell(&i.title));
    if let Some(zh) = i.title_zh.as_deref().filter(|t| *t != i.title) {
        out += &format!("{}\n\n", cell(zh));
    }
    out += "| | |\n|---|---|\n";
    out += &format!("| Rule | {} ({}) |\n", cell(&i.rule), i.kind);
    out += &format!("| Scope | {} |\n", cell(&i.scope));
    out += &format!("| Severity | {} |\n", i.severity);
    out += &format!("| Status | {} |\n", i.status);
    out += &format!("| Opened | {} |\n", time(&i.opened_at));
    if let (Some(t), Some(by)) = (&i.acknowledged_at, &i.acknowledged_by) {
        let after = r
            .summary
            .time_to_acknowledge_s
            .map(|s| format!(", {} after opening", format_duration((s * 1000.0) as i64)))
            .unwrap_or_default();
        out += &format!("| Acknowledged | {} by {}{after} |\n", time(t), cell(by));
    }
    if let Some(t) = &i.resolved_at {
        let by = i.resolved_by.as_deref().unwrap_or("?");
        out += &format!("| Resolved | {} by {} |\n", time(t), cell(by));
    }
    if let Some(d) = r.summary.duration_s {
        out += &format!("| Duration | {} |\n", format_duration((d * 1000.0) as i64));
    }
    if i.reopened > 0 {
        out += &format!("| Reopened (flapping) | {} times |\n", i.reopened);
    }
    if !r.summary.people.is_empty() {
        out += &format!(
            "| People involved | {} |\n",
            cell(&r.summary.people.join(", "))
        );
    }
    if !r.summary.targets_reached.is_empty() {
        out += &format!(
            "| Targets reached | {} |\n",
            cell(&r.summary.targets_reached.join(", "))
        );
    }
    if let Some(r) = &i.runbook {
        // The plan as it read when the incident opened: what the floor was told to do.
        out += "\n## Runbook\n\n";
        out += &r.en;
        out += "\n";
        if r.zh != r.en {
            out += &format!("\n{}\n", r.zh);
        }
    }
    out += "\n## Figures\n\n| metric | at open | at peak | at close |\n|---|---|---|---|\n";
    let mut names: BTreeSet<&String> = i.values_at_open.keys().collect();
    names.extend(i.values_at_peak.keys());
    if let Some(c) = &i.values_at_close {
        names.extend(c.keys());
    }
    let show = |v: Option<&f64>| v.map(|v| format!("{v}")).unwrap_or_else(|| "-".into());
    for n in names {
        out += &format!(
            "| {n} | {} | {} | {} |\n",
            show(i.values_at_open.get(n)),
            show(i.values_at_peak.get(n)),
            show(i.values_at_close.as_ref().and_then(|c| c.get(n)))
        );
    }
    if let Some(url) = &r.chart_url {
        // The scope is the floor's text: no brackets in the image's words, or it could make a link.
        let scope: String = i
            .scope
            .chars()
            .filter(|c| !matches!(c, '[' | ']' | '(' | ')' | '|' | '\n'))
            .collect();
        out += &format!("\n## Chart\n\n![{scope} across the incident, its events marked]({url})\n");
    }
    out += "\n## Timeline\n\n| # | time | who | what | details |\n|---|---|---|---|---|\n";
    for e in r.timeline {
        out += &format!(
            "| {} | {} | {} | {} | {} |\n",
            e.seq,
            time(&e.at),
            cell(&e.actor),
            e.kind.as_str(),
            cell(&e.message)
        );
    }
    out += "\n## Review\n\n- What happened:\n- What worked:\n- What to change (plan, thresholds, staffing):\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwatch_protocol::{Severity, TimelineKind};

    #[test]
    fn people_are_the_ones_who_acted_and_targets_are_apart() {
        let at = chrono::DateTime::from_timestamp_millis(1_795_424_400_000).unwrap();
        let entry = |seq, actor: &str, kind| TimelineEntry {
            incident_id: 1,
            seq,
            at,
            actor: actor.into(),
            kind,
            message: "m".into(),
            values: Values::new(),
        };
        let d = IncidentDetail {
            incident: Incident::new(
                1,
                "depth".into(),
                "queue_depth".into(),
                "phone-a".into(),
                Severity::Critical,
                "t".into(),
                at,
                Values::new(),
            ),
            timeline: vec![
                entry(1, "engine", TimelineKind::Opened),
                entry(2, "outbox", TimelineKind::Delivered),
                entry(3, "li.lei", TimelineKind::Acknowledged),
                entry(4, "ops", TimelineKind::Note),
            ],
        };
        let r = Review::of(
            &d,
            [
                "webhook:floor-chat",
                "email:directors",
                "webhook:floor-chat",
            ]
            .map(|t| PageTarget::parse(t).unwrap()),
        );
        assert_eq!(r.summary.people, ["li.lei", "ops"]);
        assert_eq!(
            r.summary.targets_reached,
            ["email:directors", "webhook:floor-chat"]
        );
        let md = markdown(&r);
        assert!(md.contains("| People involved | li.lei, ops |"), "{md}");
        assert!(
            md.contains("| Targets reached | email:directors, webhook:floor-chat |"),
            "{md}"
        );
        assert!(!md.contains("## Runbook"), "no runbook, no heading");
    }

    #[test]
    fn the_review_has_the_runbook_the_floor_was_given_and_both_titles() {
        let at = chrono::DateTime::from_timestamp_millis(1_795_424_400_000).unwrap();
        let mut i = Incident::new(
            1,
            "depth".into(),
            "queue_depth".into(),
            "phone-a".into(),
            Severity::Critical,
            "phone-a: 30 callers waiting".into(),
            at,
            Values::new(),
        );
        i.title_zh = Some("phone-a：30 个来电排队中".into());
        i.runbook = Some(floorwatch_protocol::Said::new(
            "Call the vendor",
            "联系厂商",
        ));
        let d = IncidentDetail {
            incident: i,
            timeline: Vec::new(),
        };
        let md = markdown(&Review::of(&d, []));
        assert!(
            md.starts_with(
                "# Incident #1: phone-a: 30 callers waiting\n\nphone-a：30 个来电排队中\n"
            ),
            "{md}"
        );
        assert!(
            md.contains("## Runbook\n\nCall the vendor\n\n联系厂商\n"),
            "{md}"
        );
    }
}
